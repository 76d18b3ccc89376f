-- An administrator's history count sums `job_daily` over a range of days for every account:
-- keyed by (account_id, day), that was a sequential scan of the whole table (every account,
-- every day ever), growing with the length of the history. Ordered by day and carrying the
-- count, the range is one index-only scan of its own rows.
CREATE INDEX job_daily_day_idx ON job_daily (day) INCLUDE (created);
