ALTER TABLE job_counts DROP COLUMN final_updated_max;
ALTER TABLE job_counts DROP COLUMN final_updated_min;
