-- Per-status totals and month values for the packed statistics (`db::statistics::packed`).
-- `totals` holds, in the cells' format, one cell per final status summed over every model: a
-- bucket's total or a chart by status alone reads 4 cells instead of every model's. Month
-- values (grain 2, `period` = months since January 1970) are the sums of their days' values,
-- rebuilt by the compaction whenever it stores a day: a long range's groups add ~6 months
-- instead of ~180 days. Both are written by the compaction only.
ALTER TABLE job_stats_packed ADD COLUMN totals BYTEA;
ALTER TABLE job_stats_packed DROP CONSTRAINT job_stats_packed_grain_check;
ALTER TABLE job_stats_packed ADD CONSTRAINT job_stats_packed_grain_check CHECK (grain IN (0, 1, 2));
-- Values folded before this migration have no totals and their months no value: mark every
-- unit for the next compaction with a row of no job (which it folds as nothing, storing the
-- value again with its totals, and each day's month). Readers are correct meanwhile: a value
-- without totals is summed from its cells, a month without a value from its days.
INSERT INTO job_stats (account_id, grain, period, model_id, status, slot, jobs, inputs, inputs_completed, inputs_failed, input_bytes, queue_count, queue_sum, queue_max, queue_hist, elapsed_count, elapsed_sum, elapsed_max, elapsed_hist)
SELECT p.account_id, p.grain, p.period, m.id, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', 0, 0, 0, ''
FROM job_stats_packed p CROSS JOIN (SELECT min(id) AS id FROM models) m
WHERE m.id IS NOT NULL
ON CONFLICT DO NOTHING;
