-- The statistics' rollup packed by period: one row per (account, grain, period) holding every
-- cell (model × final status) of it — numbers and both histograms — as varints
-- (`db::statistics::packed` documents the format). Only the compaction writes it: writers keep
-- adding `job_stats` rows (one per cell and slot), and `db::upkeep` folds every `job_stats` row
-- into its period's packed value, so `job_stats` now holds only what was written since the last
-- pass (before this migration: everything, in slot 0, which the first passes fold). Readers add
-- both. A 180-day dashboard reads 180 packed values instead of ~16 000 rows with text
-- histograms.
CREATE TABLE job_stats_packed (
    account_id BIGINT NOT NULL,
    grain      INTEGER NOT NULL CHECK (grain IN (0, 1)),
    period     INTEGER NOT NULL,
    cells      BYTEA NOT NULL,
    PRIMARY KEY (account_id, grain, period)
);
-- A day's value across accounts is a few kilobytes: stored out of line, uncompressed (it is
-- varints already; decompressing pglz would cost more than reading the bytes).
ALTER TABLE job_stats_packed ALTER COLUMN cells SET STORAGE EXTERNAL;
-- Every `job_stats` row is now to be folded, whatever its slot: the partial index that listed
-- the slotted ones goes (the primary key lists units).
DROP INDEX job_stats_slotted_idx;
