-- A job is submitted when it is created or moments later: see the PostgreSQL migration of the
-- same name. SQLite cannot add a CHECK to a table that exists, so the rule is two triggers,
-- after a check of the rows already stored: a scratch table whose CHECK fails the migration
-- when any row breaks the rule.
-- Timestamps are text here (`YYYY-MM-DD HH:MM:SS.ffffff`, the fraction only when not zero);
-- `strftime('%f')` keeps milliseconds, so the bound is a minute less under a millisecond:
-- stricter than what queries assume, never looser.
CREATE TABLE jobs_submission_check (broken INTEGER NOT NULL CHECK (broken = 0));
INSERT INTO jobs_submission_check
SELECT count(*) FROM jobs
WHERE submitted_at < created_at
   OR submitted_at > strftime('%Y-%m-%d %H:%M:%f', created_at, '+1 minute');
DROP TABLE jobs_submission_check;

CREATE TRIGGER jobs_submitted_soon_after_created_insert BEFORE INSERT ON jobs
WHEN NEW.submitted_at < NEW.created_at
  OR NEW.submitted_at > strftime('%Y-%m-%d %H:%M:%f', NEW.created_at, '+1 minute')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: jobs_submitted_soon_after_created');
END;

CREATE TRIGGER jobs_submitted_soon_after_created_update
BEFORE UPDATE OF created_at, submitted_at ON jobs
WHEN NEW.submitted_at < NEW.created_at
  OR NEW.submitted_at > strftime('%Y-%m-%d %H:%M:%f', NEW.created_at, '+1 minute')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: jobs_submitted_soon_after_created');
END;
