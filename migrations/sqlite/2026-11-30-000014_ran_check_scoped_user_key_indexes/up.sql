-- The PostgreSQL twin also adds `jobs_ran_check` (COMPLETED and ERROR jobs have both
-- durations); SQLite cannot add a CHECK to an existing table without rebuilding it, so here
-- the writers alone keep it (`db::lifecycle`, the seeder), as the tests' invariants check.
-- The user and key indexes carry the account: a user key's search by user or key prefix
-- checks the account inside the index it ranges on, and its count reads the index alone
-- (`db::filter::PlannerHints::ACCOUNT_UNINDEXED_FOR_PEOPLE`). The account comes after `id`:
-- `user_id IN (…) ORDER BY created_at DESC, id DESC LIMIT n` reads each person's newest
-- entries and stops only while their entries are in (created_at, id) order.
DROP INDEX jobs_user_idx;
CREATE INDEX jobs_user_idx ON jobs (user_id, created_at, id, account_id);
DROP INDEX jobs_submitted_by_idx;
CREATE INDEX jobs_submitted_by_idx ON jobs (submitted_by, created_at, id, account_id);
-- Statistics for the new indexes, as for the others (the planner chooses by them).
ANALYZE jobs_user_idx;
ANALYZE jobs_submitted_by_idx;
