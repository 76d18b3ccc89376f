-- Per-status totals and month values for the packed statistics; see the PostgreSQL twin.
-- SQLite cannot change a CHECK constraint: the table is rebuilt.
CREATE TABLE job_stats_packed_next (
    account_id BIGINT NOT NULL,
    grain      INTEGER NOT NULL CHECK (grain IN (0, 1, 2)),
    period     INTEGER NOT NULL,
    cells      BLOB NOT NULL,
    totals     BLOB,
    PRIMARY KEY (account_id, grain, period)
);
INSERT INTO job_stats_packed_next (account_id, grain, period, cells)
SELECT account_id, grain, period, cells FROM job_stats_packed;
DROP TABLE job_stats_packed;
ALTER TABLE job_stats_packed_next RENAME TO job_stats_packed;
-- Every unit folded before this migration is marked for the next compaction.
INSERT OR IGNORE INTO job_stats (account_id, grain, period, model_id, status, slot, jobs, inputs, inputs_completed, inputs_failed, input_bytes, queue_count, queue_sum, queue_max, queue_hist, elapsed_count, elapsed_sum, elapsed_max, elapsed_hist)
SELECT p.account_id, p.grain, p.period, m.id, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', 0, 0, 0, ''
FROM job_stats_packed p CROSS JOIN (SELECT min(id) AS id FROM models) m
WHERE m.id IS NOT NULL;
