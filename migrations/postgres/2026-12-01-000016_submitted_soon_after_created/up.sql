-- A job is submitted when it is created or moments later: `submitJob` writes one instant for
-- both, the seeder up to 40 ms apart. Said as a constraint, queries may rely on it: a creation
-- range implies a submission range one minute wider, and the reverse (`db::jobs::SUBMIT_LAG`),
-- so a page of a past month ordered by the submission time starts its scan of
-- `jobs_submitted_idx` at the month's end instead of stepping over every later job (issue 13:
-- 31 ms at 1M jobs on PostgreSQL, 120–200 ms on SQLite).
-- Checking the rows already stored reads `jobs` once (under a second at 1M jobs).
ALTER TABLE jobs ADD CONSTRAINT jobs_submitted_soon_after_created
    CHECK (submitted_at >= created_at AND submitted_at <= created_at + interval '1 minute');
