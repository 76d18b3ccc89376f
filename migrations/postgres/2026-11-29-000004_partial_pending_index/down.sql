DROP INDEX jobs_pending_created_idx;
CREATE INDEX jobs_status_created_idx ON jobs (status, created_at, deadline_at);
