-- The earliest and latest `updated_at` of each rollup cell's jobs in a final status. A final
-- status never changes again, nor does that job's `updated_at`, so the two only widen: the
-- writer that records a final status (cancel, the report that finishes a job, the sweeper's
-- TIMEDOUT) widens its cell's span in the upsert it already makes (`db::rollup`). Every slot
-- of a cell may hold a span; readers take the smallest and the largest.
-- With the live spans of the jobs still stored as pending, they bound the update times of the
-- jobs a creation range holds (`db::update_span`): a page of a past month ordered by the update
-- time then starts its scan of the update index at the month's last update instead of
-- stepping over every job updated since (issue 13, shape 30).
-- Filled from the jobs already stored, for accounts' rows and the all-accounts rows (every
-- slot of a cell gets the cell's span).
ALTER TABLE job_counts
    ADD COLUMN final_updated_min TIMESTAMP,
    ADD COLUMN final_updated_max TIMESTAMP;
UPDATE job_counts c
SET final_updated_min = s.lo, final_updated_max = s.hi
FROM (
    SELECT account_id, (created_at::date - DATE '1970-01-01') AS day, model_id, explain,
           image_classification_model, min(updated_at) AS lo, max(updated_at) AS hi
    FROM jobs WHERE status >= 2 GROUP BY 1, 2, 3, 4, 5
) s
WHERE c.account_id = s.account_id AND c.day = s.day AND c.model_id = s.model_id
  AND c.explain = s.explain AND c.image_classification_model = s.image_classification_model;
UPDATE job_counts c
SET final_updated_min = s.lo, final_updated_max = s.hi
FROM (
    SELECT day, model_id, explain, image_classification_model,
           min(final_updated_min) AS lo, max(final_updated_max) AS hi
    FROM job_counts WHERE account_id <> 0 GROUP BY 1, 2, 3, 4
) s
WHERE c.account_id = 0 AND c.day = s.day AND c.model_id = s.model_id
  AND c.explain = s.explain AND c.image_classification_model = s.image_classification_model;
