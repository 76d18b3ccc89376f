-- See the PostgreSQL twin: the duration orders sort by COALESCE(duration, -1), spelled exactly
-- as in the queries (SQLite uses an index on an expression only for the same expression).
--
-- Unlike PostgreSQL, SQLite rewrites an index entry only when one of the index's own columns
-- changes, so `status` as a last key column of the global sort indexes (migration `…000007`)
-- made every status change (start, the last report, cancel, the sweeper) rewrite the entries
-- of five more indexes whose keys never change with it. Measured at 1M jobs, c=32, same binary,
-- 3 interleaved runs (bench/matrix.py writes, WRITES_ON=bench): startJob 243 -> 406 req/s and
-- reportInputResult 330 -> 367 without it, and no more 503s (write lock not granted in 5 s).
-- It stays on `jobs_updated_idx` (updated_at changes with every status change anyway) and
-- `jobs_created_idx` (since `…000002`).
DROP INDEX jobs_account_elapsed_idx;
DROP INDEX jobs_account_queue_idx;
DROP INDEX jobs_elapsed_idx;
DROP INDEX jobs_queue_idx;
DROP INDEX jobs_submitted_idx;
DROP INDEX jobs_bytes_idx;
DROP INDEX jobs_total_idx;
CREATE INDEX jobs_account_elapsed_idx ON jobs (account_id, COALESCE(elapsed_ms, -1), id);
CREATE INDEX jobs_account_queue_idx   ON jobs (account_id, COALESCE(queue_ms, -1), id);
CREATE INDEX jobs_elapsed_idx   ON jobs (COALESCE(elapsed_ms, -1), id);
CREATE INDEX jobs_queue_idx     ON jobs (COALESCE(queue_ms, -1), id);
CREATE INDEX jobs_submitted_idx ON jobs (submitted_at, id);
CREATE INDEX jobs_bytes_idx     ON jobs (input_byte_amount, id);
CREATE INDEX jobs_total_idx     ON jobs (total, id);
