-- A page ordered by a duration with a final-status filter scans the duration's global index
-- and checks the status in it (the query writes `+jobs.status IN (…)`, see
-- `db::filter::StatusRange::UNARY_PLUS`), so the two global duration indexes carry `status`
-- again as their last column: ERROR by queue time read 40 000 rows (the jobs never started
-- come first) to find a page, ~115 ms at 1M jobs, and reads the index alone now, ~2 ms.
-- The write cost: SQLite rewrites an index entry when one of its columns changes, and these
-- entries now change with the status as well — one more entry per start (elapsed) and per
-- finish (queue); measured in the note of issue 13. The other global sort indexes keep no
-- status (migration `…000009`).
DROP INDEX jobs_elapsed_idx;
DROP INDEX jobs_queue_idx;
CREATE INDEX jobs_elapsed_idx ON jobs (COALESCE(elapsed_ms, -1), id, status);
CREATE INDEX jobs_queue_idx   ON jobs (COALESCE(queue_ms, -1), id, status);
