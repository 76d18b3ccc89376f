-- See the PostgreSQL twin: the duration orders sort by COALESCE(duration, -1), spelled exactly
-- as in the queries (SQLite uses an index on an expression only for the same expression).
DROP INDEX jobs_account_elapsed_idx;
DROP INDEX jobs_account_queue_idx;
DROP INDEX jobs_elapsed_idx;
DROP INDEX jobs_queue_idx;
CREATE INDEX jobs_account_elapsed_idx ON jobs (account_id, COALESCE(elapsed_ms, -1), id);
CREATE INDEX jobs_account_queue_idx   ON jobs (account_id, COALESCE(queue_ms, -1), id);
CREATE INDEX jobs_elapsed_idx ON jobs (COALESCE(elapsed_ms, -1), id, status);
CREATE INDEX jobs_queue_idx   ON jobs (COALESCE(queue_ms, -1), id, status);
