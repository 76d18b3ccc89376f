-- The two duration orders sort by COALESCE(duration, -1): a duration not known yet (NULL) is
-- smaller than any real one (never negative), as before, but the key is never NULL, so the
-- rows after a cursor going down are one index range (`k <= v AND …`) instead of `… OR k IS
-- NULL`, which no range covers (a page 10 000 rows deep read every row before its cursor).
-- The queries spell the expression exactly like this (`db::jobs::elapsed_key`).
DROP INDEX jobs_account_elapsed_idx;
DROP INDEX jobs_account_queue_idx;
DROP INDEX jobs_elapsed_idx;
DROP INDEX jobs_queue_idx;
CREATE INDEX jobs_account_elapsed_idx ON jobs (account_id, (COALESCE(elapsed_ms, -1)), id);
CREATE INDEX jobs_account_queue_idx   ON jobs (account_id, (COALESCE(queue_ms, -1)), id);
CREATE INDEX jobs_elapsed_idx ON jobs ((COALESCE(elapsed_ms, -1)), id, status);
CREATE INDEX jobs_queue_idx   ON jobs ((COALESCE(queue_ms, -1)), id, status);
