-- Every order, for administrators across accounts too: a scan of (key, id) that stops after the
-- page, as `(account_id, key, id)` is for one account. Without these an administrator's page
-- sorted by elapsed time read and sorted the whole table (175 ms at 1M jobs).
-- `jobs_created_idx` (created_at, id, status, deadline_at) already serves CREATED_AT.
-- `status` rides along as a key column so an exact-status filter is checked in the index
-- (an Index Cond) instead of on each row fetched: ERROR by queue time read 38 000 rows from
-- the heap, the jobs never started, before its first ERROR (216 ms; 21 000 buffers). It costs
-- PostgreSQL no extra index entries (every update that changes a status also changes
-- `updated_at`, so it is not HOT and writes every index anyway), 4 bytes per entry.
CREATE INDEX jobs_submitted_idx ON jobs (submitted_at, id, status);
CREATE INDEX jobs_updated_idx   ON jobs (updated_at, id, status);
CREATE INDEX jobs_status_idx    ON jobs (status, id);
CREATE INDEX jobs_elapsed_idx   ON jobs (elapsed_ms NULLS FIRST, id, status);
CREATE INDEX jobs_queue_idx     ON jobs (queue_ms NULLS FIRST, id, status);
CREATE INDEX jobs_bytes_idx     ON jobs (input_byte_amount, id, status);
CREATE INDEX jobs_total_idx     ON jobs (total, id, status);
-- Counts by status over a date range come from `job_counts` now; a page of one account's jobs
-- filtered by status walks (account_id, created_at, id) or, for pending jobs, the partial
-- `jobs_pending_created_idx`. One index fewer to write on every status change.
DROP INDEX jobs_account_status_created_idx;
