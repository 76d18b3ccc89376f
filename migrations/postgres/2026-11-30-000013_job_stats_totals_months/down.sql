-- The cells keep their format: only the totals, the month values and the marks go.
DELETE FROM job_stats WHERE jobs = 0;
DELETE FROM job_stats_packed WHERE grain = 2;
ALTER TABLE job_stats_packed DROP CONSTRAINT job_stats_packed_grain_check;
ALTER TABLE job_stats_packed ADD CONSTRAINT job_stats_packed_grain_check CHECK (grain IN (0, 1));
ALTER TABLE job_stats_packed DROP COLUMN totals;
