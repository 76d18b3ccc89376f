-- The cells keep their format: only the totals, the month values and the marks go.
DELETE FROM job_stats WHERE jobs = 0;
CREATE TABLE job_stats_packed_previous (
    account_id BIGINT NOT NULL,
    grain      INTEGER NOT NULL CHECK (grain IN (0, 1)),
    period     INTEGER NOT NULL,
    cells      BLOB NOT NULL,
    PRIMARY KEY (account_id, grain, period)
);
INSERT INTO job_stats_packed_previous (account_id, grain, period, cells)
SELECT account_id, grain, period, cells FROM job_stats_packed WHERE grain <> 2;
DROP TABLE job_stats_packed;
ALTER TABLE job_stats_packed_previous RENAME TO job_stats_packed;
