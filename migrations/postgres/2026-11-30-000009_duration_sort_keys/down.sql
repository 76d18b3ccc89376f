DROP INDEX jobs_account_elapsed_idx;
DROP INDEX jobs_account_queue_idx;
DROP INDEX jobs_elapsed_idx;
DROP INDEX jobs_queue_idx;
CREATE INDEX jobs_account_elapsed_idx ON jobs (account_id, elapsed_ms NULLS FIRST, id);
CREATE INDEX jobs_account_queue_idx   ON jobs (account_id, queue_ms NULLS FIRST, id);
CREATE INDEX jobs_elapsed_idx ON jobs (elapsed_ms NULLS FIRST, id, status);
CREATE INDEX jobs_queue_idx   ON jobs (queue_ms NULLS FIRST, id, status);
