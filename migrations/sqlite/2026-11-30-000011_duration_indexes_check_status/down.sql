DROP INDEX jobs_elapsed_idx;
DROP INDEX jobs_queue_idx;
CREATE INDEX jobs_elapsed_idx ON jobs (COALESCE(elapsed_ms, -1), id);
CREATE INDEX jobs_queue_idx   ON jobs (COALESCE(queue_ms, -1), id);
