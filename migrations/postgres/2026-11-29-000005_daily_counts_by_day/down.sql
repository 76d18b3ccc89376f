DROP INDEX job_daily_day_idx;
