DROP INDEX jobs_status_created_idx;
DROP TABLE job_daily;
