DROP INDEX jobs_account_elapsed_idx;
DROP INDEX jobs_account_queue_idx;
DROP INDEX jobs_elapsed_idx;
DROP INDEX jobs_queue_idx;
CREATE INDEX jobs_account_elapsed_idx ON jobs (account_id, elapsed_ms, id);
CREATE INDEX jobs_account_queue_idx   ON jobs (account_id, queue_ms, id);
CREATE INDEX jobs_elapsed_idx ON jobs (elapsed_ms, id, status);
CREATE INDEX jobs_queue_idx   ON jobs (queue_ms, id, status);
