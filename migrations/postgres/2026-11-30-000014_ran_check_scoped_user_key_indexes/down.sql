DROP INDEX jobs_submitted_by_idx;
CREATE INDEX jobs_submitted_by_idx ON jobs (submitted_by, created_at);
DROP INDEX jobs_user_idx;
CREATE INDEX jobs_user_idx ON jobs (user_id, created_at);
ALTER TABLE jobs DROP CONSTRAINT jobs_ran_check;
