-- Job statistics by account, hour or day, model and final status; see the PostgreSQL twin.
CREATE TABLE job_stats (
    account_id        BIGINT NOT NULL,
    grain             INTEGER NOT NULL CHECK (grain IN (0, 1)),
    period            INTEGER NOT NULL,
    model_id          BIGINT NOT NULL REFERENCES models (id),
    status            INTEGER NOT NULL CHECK (status BETWEEN 2 AND 5),
    slot              INTEGER NOT NULL,
    jobs              BIGINT NOT NULL,
    inputs            BIGINT NOT NULL,
    inputs_completed  BIGINT NOT NULL,
    inputs_failed     BIGINT NOT NULL,
    input_bytes       BIGINT NOT NULL,
    queue_count       BIGINT NOT NULL,
    queue_sum         BIGINT NOT NULL,
    queue_max         BIGINT NOT NULL,
    queue_hist        TEXT NOT NULL,
    elapsed_count     BIGINT NOT NULL,
    elapsed_sum       BIGINT NOT NULL,
    elapsed_max       BIGINT NOT NULL,
    elapsed_hist      TEXT NOT NULL,
    PRIMARY KEY (account_id, grain, period, model_id, status, slot)
);
-- The rows compaction has to fold: only the recent ones are outside slot 0.
CREATE INDEX job_stats_slotted_idx ON job_stats (account_id, grain, period) WHERE slot <> 0;

-- Filled from the jobs already stored (see the PostgreSQL twin).
CREATE TEMP TABLE stats_bounds AS
WITH RECURSIVE b (i, hi) AS (
    SELECT 0, CAST(0 AS BIGINT)
    UNION ALL
    SELECT i + 1, hi + max(1, hi / 10) FROM b WHERE hi < 1000000000000000
)
SELECT i, hi FROM b;
CREATE UNIQUE INDEX temp.stats_bounds_hi ON stats_bounds (hi);
CREATE TEMP TABLE stats_points AS
SELECT j.account_id, j.model_id, j.status,
       CAST(strftime('%s', j.created_at) AS INTEGER) / 3600 AS hour,
       j.total, j.completed, j.failed, j.input_byte_amount AS bytes, j.queue_ms,
       CASE WHEN j.queue_ms IS NULL THEN NULL ELSE
           (SELECT b.i FROM stats_bounds b WHERE b.hi >= min(j.queue_ms, 1000000000000000)
            ORDER BY b.hi LIMIT 1) END AS qi,
       j.elapsed_ms,
       CASE WHEN j.elapsed_ms IS NULL THEN NULL ELSE
           (SELECT b.i FROM stats_bounds b WHERE b.hi >= min(j.elapsed_ms, 1000000000000000)
            ORDER BY b.hi LIMIT 1) END AS ei
FROM jobs j WHERE j.status >= 2;
CREATE TEMP TABLE stats_keyed AS
SELECT CASE WHEN a.all_accounts THEN 0 ELSE p.account_id END AS account_id, g.grain,
       CASE g.grain WHEN 0 THEN p.hour ELSE p.hour / 24 END AS period,
       p.model_id, p.status, p.total, p.completed, p.failed, p.bytes, p.queue_ms, p.qi,
       p.elapsed_ms, p.ei
FROM stats_points p
CROSS JOIN (SELECT 0 AS all_accounts UNION ALL SELECT 1) AS a
CROSS JOIN (SELECT 0 AS grain UNION ALL SELECT 1) AS g;
INSERT INTO job_stats
SELECT c.account_id, c.grain, c.period, c.model_id, c.status, 0, c.jobs, c.inputs,
       c.inputs_completed, c.inputs_failed, c.input_bytes, c.queue_count, c.queue_sum,
       c.queue_max, COALESCE(q.hist, ''), c.elapsed_count, c.elapsed_sum, c.elapsed_max,
       COALESCE(e.hist, '')
FROM (
    SELECT account_id, grain, period, model_id, status, count(*) AS jobs,
           sum(total) AS inputs, sum(completed) AS inputs_completed,
           sum(failed) AS inputs_failed, sum(bytes) AS input_bytes,
           count(queue_ms) AS queue_count, COALESCE(sum(queue_ms), 0) AS queue_sum,
           COALESCE(max(queue_ms), 0) AS queue_max, count(elapsed_ms) AS elapsed_count,
           COALESCE(sum(elapsed_ms), 0) AS elapsed_sum,
           COALESCE(max(elapsed_ms), 0) AS elapsed_max
    FROM stats_keyed GROUP BY account_id, grain, period, model_id, status
) c
LEFT JOIN (
    SELECT account_id, grain, period, model_id, status,
           group_concat(CAST(qi AS TEXT) || ':' || CAST(n AS TEXT), ',') AS hist
    FROM (SELECT account_id, grain, period, model_id, status, qi, count(*) AS n
          FROM stats_keyed WHERE qi IS NOT NULL
          GROUP BY account_id, grain, period, model_id, status, qi) t
    GROUP BY account_id, grain, period, model_id, status
) q USING (account_id, grain, period, model_id, status)
LEFT JOIN (
    SELECT account_id, grain, period, model_id, status,
           group_concat(CAST(ei AS TEXT) || ':' || CAST(n AS TEXT), ',') AS hist
    FROM (SELECT account_id, grain, period, model_id, status, ei, count(*) AS n
          FROM stats_keyed WHERE ei IS NOT NULL
          GROUP BY account_id, grain, period, model_id, status, ei) t
    GROUP BY account_id, grain, period, model_id, status
) e USING (account_id, grain, period, model_id, status);
DROP TABLE stats_keyed;
DROP TABLE stats_points;
DROP TABLE stats_bounds;
