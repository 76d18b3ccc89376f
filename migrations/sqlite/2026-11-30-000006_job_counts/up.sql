-- Job counts by account, UTC creation day, model and flags; see the PostgreSQL twin.
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
SELECT account_id, CAST(julianday(date(created_at)) - 2440587.5 AS INTEGER), model_id, explain,
       image_classification_model, 0, count(*),
       count(*) FILTER (WHERE status = 2), count(*) FILTER (WHERE status = 3),
       count(*) FILTER (WHERE status = 4), count(*) FILTER (WHERE status = 5)
FROM jobs GROUP BY 1, 2, 3, 4, 5;
INSERT INTO job_counts
SELECT 0, day, model_id, explain, image_classification_model, 0, sum(created), sum(completed),
       sum(canceled), sum(timedout), sum(error)
FROM job_counts GROUP BY 2, 3, 4, 5;
DROP INDEX job_daily_day_idx;
DROP TABLE job_daily;
