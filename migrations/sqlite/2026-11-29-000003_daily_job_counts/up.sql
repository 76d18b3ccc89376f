-- Jobs created per account and day (days since 1970-01-01, UTC); see the PostgreSQL twin.
CREATE TABLE job_daily (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    day         INTEGER NOT NULL,
    created     INTEGER NOT NULL CHECK (created >= 0),
    PRIMARY KEY (account_id, day)
);
INSERT INTO job_daily (account_id, day, created)
SELECT account_id, CAST(julianday(date(created_at)) - 2440587.5 AS INTEGER), count(*) FROM jobs GROUP BY 1, 2;
CREATE INDEX jobs_status_created_idx ON jobs (status, created_at, deadline_at);
