-- The live pending jobs of a date range (subtracted from daily counts for TERMINATED) need
-- only the pending rows: a partial index is a fraction of the size of a full (status, …)
-- index, costs nothing to maintain for finished jobs, and builds in a moment during bulk
-- loads. Queries spell the predicate literally (`status <= 1`) so both planners can use it.
DROP INDEX jobs_status_created_idx;
CREATE INDEX jobs_pending_created_idx ON jobs (created_at, deadline_at) WHERE status <= 1;
