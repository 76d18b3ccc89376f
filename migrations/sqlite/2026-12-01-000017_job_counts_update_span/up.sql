-- The earliest and latest `updated_at` of each rollup cell's jobs in a final status: see the
-- PostgreSQL migration of the same name. Timestamps are text here in one format, so min() and
-- max() order them as time.
ALTER TABLE job_counts ADD COLUMN final_updated_min TIMESTAMP;
ALTER TABLE job_counts ADD COLUMN final_updated_max TIMESTAMP;
UPDATE job_counts
SET final_updated_min = s.lo, final_updated_max = s.hi
FROM (
    SELECT account_id, CAST(julianday(date(created_at)) - 2440587.5 AS INTEGER) AS day, model_id,
           explain, image_classification_model, min(updated_at) AS lo, max(updated_at) AS hi
    FROM jobs WHERE status >= 2 GROUP BY 1, 2, 3, 4, 5
) s
WHERE job_counts.account_id = s.account_id AND job_counts.day = s.day
  AND job_counts.model_id = s.model_id AND job_counts.explain = s.explain
  AND job_counts.image_classification_model = s.image_classification_model;
UPDATE job_counts
SET final_updated_min = s.lo, final_updated_max = s.hi
FROM (
    SELECT day, model_id, explain, image_classification_model,
           min(final_updated_min) AS lo, max(final_updated_max) AS hi
    FROM job_counts WHERE account_id <> 0 GROUP BY 1, 2, 3, 4
) s
WHERE job_counts.account_id = 0 AND job_counts.day = s.day
  AND job_counts.model_id = s.model_id AND job_counts.explain = s.explain
  AND job_counts.image_classification_model = s.image_classification_model;
