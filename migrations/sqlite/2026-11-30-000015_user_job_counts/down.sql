DROP TABLE user_job_counts;
