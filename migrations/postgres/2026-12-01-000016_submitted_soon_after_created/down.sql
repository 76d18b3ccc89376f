ALTER TABLE jobs DROP CONSTRAINT jobs_submitted_soon_after_created;
