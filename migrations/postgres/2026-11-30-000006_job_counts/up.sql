-- Job counts by account, UTC creation day (days since 1970-01-01), model and the two job flags,
-- with how many of those jobs reached each final status. Written in the same transaction as
-- every insert into jobs (`created`) and every change to a final status (the status's column):
-- a final status never changes again and `created_at` never changes, so each job moves one
-- row's columns exactly twice in its life, and never a row of a pending status (pending jobs
-- are counted live: few, and found by the partial index on `status <= 1`).
-- `account_id = 0` rows hold the sum over every account (the administrators' view), so a
-- count across accounts sums one row per day and model instead of one per account too; real
-- account ids start at 1.
-- `slot` spreads one cell's writes over several rows: a writer adds to slot `job id % 16`, so
-- concurrent transactions finishing jobs of the same account, day and model rarely wait for
-- each other's row lock (PostgreSQL holds it until the commit's WAL flush). Readers sum every
-- slot; `db::rollup::compact` folds the slots of past days back into slot 0 (hourly).
-- No CHECK (created >= completed + …): a final status's upsert proposes a row with created = 0,
-- and both backends check the proposed row before ON CONFLICT turns it into an update. The
-- tests recount the rollup from `jobs` instead (tests/common/invariants.rs).
-- It replaces `job_daily` (jobs created per account and day): `created` summed over the
-- models and flags is that count.
CREATE TABLE job_counts (
    account_id                  BIGINT NOT NULL,
    day                         INTEGER NOT NULL,
    model_id                    BIGINT NOT NULL REFERENCES models (id),
    explain                     BOOLEAN NOT NULL,
    image_classification_model  BOOLEAN NOT NULL,
    slot                        INTEGER NOT NULL,
    created                     INTEGER NOT NULL CHECK (created >= 0),
    completed                   INTEGER NOT NULL CHECK (completed >= 0),
    canceled                    INTEGER NOT NULL CHECK (canceled >= 0),
    timedout                    INTEGER NOT NULL CHECK (timedout >= 0),
    error                       INTEGER NOT NULL CHECK (error >= 0),
    PRIMARY KEY (account_id, day, model_id, explain, image_classification_model, slot)
);
INSERT INTO job_counts
SELECT account_id, (created_at::date - DATE '1970-01-01'), model_id, explain,
       image_classification_model, 0, count(*),
       count(*) FILTER (WHERE status = 2), count(*) FILTER (WHERE status = 3),
       count(*) FILTER (WHERE status = 4), count(*) FILTER (WHERE status = 5)
FROM jobs GROUP BY 1, 2, 3, 4, 5;
INSERT INTO job_counts
SELECT 0, day, model_id, explain, image_classification_model, 0, sum(created), sum(completed),
       sum(canceled), sum(timedout), sum(error)
FROM job_counts GROUP BY 2, 3, 4, 5;
DROP TABLE job_daily;
