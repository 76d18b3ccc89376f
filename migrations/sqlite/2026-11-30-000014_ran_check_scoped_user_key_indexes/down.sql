DROP INDEX jobs_submitted_by_idx;
CREATE INDEX jobs_submitted_by_idx ON jobs (submitted_by, created_at);
DROP INDEX jobs_user_idx;
CREATE INDEX jobs_user_idx ON jobs (user_id, created_at);
-- Statistics for the new indexes, as for the others (the planner chooses by them).
ANALYZE jobs_user_idx;
ANALYZE jobs_submitted_by_idx;
