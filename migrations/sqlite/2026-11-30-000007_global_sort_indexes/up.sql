-- Every order for administrators across accounts; see the PostgreSQL twin (NULL sorts first
-- by SQLite's own rule).
CREATE INDEX jobs_submitted_idx ON jobs (submitted_at, id, status);
CREATE INDEX jobs_updated_idx   ON jobs (updated_at, id, status);
CREATE INDEX jobs_status_idx    ON jobs (status, id);
CREATE INDEX jobs_elapsed_idx   ON jobs (elapsed_ms, id, status);
CREATE INDEX jobs_queue_idx     ON jobs (queue_ms, id, status);
CREATE INDEX jobs_bytes_idx     ON jobs (input_byte_amount, id, status);
CREATE INDEX jobs_total_idx     ON jobs (total, id, status);
DROP INDEX jobs_account_status_created_idx;
