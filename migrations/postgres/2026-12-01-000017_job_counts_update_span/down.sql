ALTER TABLE job_counts DROP COLUMN final_updated_min, DROP COLUMN final_updated_max;
