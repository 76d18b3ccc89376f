CREATE INDEX jobs_account_status_created_idx ON jobs (account_id, status, created_at, deadline_at);
DROP INDEX jobs_submitted_idx;
DROP INDEX jobs_updated_idx;
DROP INDEX jobs_status_idx;
DROP INDEX jobs_elapsed_idx;
DROP INDEX jobs_queue_idx;
DROP INDEX jobs_bytes_idx;
DROP INDEX jobs_total_idx;
