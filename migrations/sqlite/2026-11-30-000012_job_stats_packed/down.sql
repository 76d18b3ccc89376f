-- Packed values cannot be unpacked in SQL: reverting drops the figures folded so far. Revert
-- `…000010_job_stats` too and apply both again to recount `job_stats` from the jobs.
DROP TABLE job_stats_packed;
CREATE INDEX job_stats_slotted_idx ON job_stats (account_id, grain, period) WHERE slot <> 0;
