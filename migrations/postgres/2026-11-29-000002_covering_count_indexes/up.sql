-- Make the history's COUNT an index-only scan: the status filter's columns (status, and
-- deadline_at for pending jobs that timed out) ride along in the indexes that serve the
-- created_at range, cross-account (administrators) and per account. Same key columns on both
-- backends (SQLite has no INCLUDE); keyset order on (created_at, id) is unchanged.
DROP INDEX jobs_created_idx;
CREATE INDEX jobs_created_idx ON jobs (created_at, id, status, deadline_at);
DROP INDEX jobs_account_status_created_idx;
CREATE INDEX jobs_account_status_created_idx ON jobs (account_id, status, created_at, deadline_at);
