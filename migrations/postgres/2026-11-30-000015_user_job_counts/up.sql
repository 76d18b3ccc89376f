-- Job counts per submitting user, over the user's whole history: how many jobs the user
-- created and how many of them reached each final status, as `job_counts` holds them per
-- account, day and model. A count whose only conditions are users and statuses (`user: "an"`
-- matches 176 000 of 1M jobs) sums the matched users' rows instead of counting their jobs
-- (`db::count`). Written in the same transactions as `job_counts` (`db::rollup`), after its
-- rows; pending jobs are counted live, as there.
-- No day: a user's rows are bounded (16 slots per user and account) whatever the history's
-- length, so nothing folds them; a count with a creation range goes to `jobs_user_idx`.
-- `account_id` is the jobs' account (a user's jobs are all in the user's account today; the
-- key does not rely on it, and a user key's count sums its account's rows only).
-- `slot` = job id % 16, as in `job_counts`: one user's jobs finishing at once (a pipeline
-- behind one key) do not queue on one row's lock.
CREATE TABLE user_job_counts (
    user_id     BIGINT NOT NULL REFERENCES users (id),
    account_id  BIGINT NOT NULL,
    slot        INTEGER NOT NULL,
    created     INTEGER NOT NULL CHECK (created >= 0),
    completed   INTEGER NOT NULL CHECK (completed >= 0),
    canceled    INTEGER NOT NULL CHECK (canceled >= 0),
    timedout    INTEGER NOT NULL CHECK (timedout >= 0),
    error       INTEGER NOT NULL CHECK (error >= 0),
    PRIMARY KEY (user_id, account_id, slot)
);
INSERT INTO user_job_counts
SELECT user_id, account_id, 0, count(*),
       count(*) FILTER (WHERE status = 2), count(*) FILTER (WHERE status = 3),
       count(*) FILTER (WHERE status = 4), count(*) FILTER (WHERE status = 5)
FROM jobs GROUP BY 1, 2;
