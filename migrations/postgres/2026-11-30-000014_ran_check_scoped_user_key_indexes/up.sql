-- A job stored as COMPLETED (2) or ERROR (5) ran to its end: it reached that status through its
-- inputs' reports, after it started, so its queue time and elapsed time are both known. Pages
-- ordered by a duration rely on it (`db::jobs::PageRequest::durations_known`): when every
-- status asked for is one of these, the scan starts past the jobs without a duration (the
-- `COALESCE(…, -1)` keys of -1 that sort first), instead of stepping over every canceled,
-- timed-out and pending job before its first row. Stated here so no writer can break it.
ALTER TABLE jobs ADD CONSTRAINT jobs_ran_check
    CHECK (status NOT IN (2, 5) OR (queue_ms IS NOT NULL AND elapsed_ms IS NOT NULL));
-- The user and key indexes carry the account: a user key's search by user or key prefix
-- (`account_id = $1 AND user_id IN (…)`) checks the account inside the index it ranges on. Without
-- it PostgreSQL ANDed a bitmap of the account's ~20 000 jobs from another index to the user
-- index's few hundred, per user (a user key's `user: "an"` over 91 days: 70 ms → 8 ms at 1M
-- jobs), and the count of such a filter reads the index alone. The account comes after `id`,
-- so each person's entries stay in (created_at, id) order, the newest-first order of a page.
DROP INDEX jobs_user_idx;
CREATE INDEX jobs_user_idx ON jobs (user_id, created_at, id, account_id);
DROP INDEX jobs_submitted_by_idx;
CREATE INDEX jobs_submitted_by_idx ON jobs (submitted_by, created_at, id, account_id);
