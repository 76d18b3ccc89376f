CREATE TABLE job_daily (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    day         INTEGER NOT NULL,
    created     INTEGER NOT NULL CHECK (created >= 0),
    PRIMARY KEY (account_id, day)
);
INSERT INTO job_daily (account_id, day, created)
SELECT account_id, day, sum(created) FROM job_counts WHERE account_id <> 0 GROUP BY 1, 2;
CREATE INDEX job_daily_day_idx ON job_daily (day) INCLUDE (created);
DROP TABLE job_counts;
