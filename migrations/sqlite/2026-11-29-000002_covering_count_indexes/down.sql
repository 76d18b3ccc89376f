DROP INDEX jobs_created_idx;
CREATE INDEX jobs_created_idx ON jobs (created_at, id);
DROP INDEX jobs_account_status_created_idx;
CREATE INDEX jobs_account_status_created_idx ON jobs (account_id, status, created_at);
