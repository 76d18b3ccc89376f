-- Jobs created per account and day (days since 1970-01-01, UTC). Maintained in the same
-- transaction as every insert into jobs, so a history COUNT over a date range sums whole days
-- here and counts only the two partial edge days (and the few live pending jobs) in jobs.
CREATE TABLE job_daily (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    day         INTEGER NOT NULL,
    created     INTEGER NOT NULL CHECK (created >= 0),
    PRIMARY KEY (account_id, day)
);
INSERT INTO job_daily (account_id, day, created)
SELECT account_id, (created_at::date - DATE '1970-01-01'), count(*) FROM jobs GROUP BY 1, 2;
-- Administrators' TERMINATED counts subtract the live pending jobs of the range.
CREATE INDEX jobs_status_created_idx ON jobs (status, created_at, deadline_at);
