//! Upkeep every hour: SQLite's planner statistics, folding the rollup's write slots of past
//! days back into one row per cell ([`super::rollup::compact`]), and folding the statistics'
//! rows (every period, the current ones included) into their periods' packed values
//! ([`super::statistics::rollup::compact`]) — at start-up too, so a database upgraded to packed
//! values (migration `…000012`) is folded at once, in the background.
//!
//! PostgreSQL's autovacuum analyzes tables as they change. SQLite keeps no statistics until
//! it is asked to, and without them its planner guesses: at 1M jobs it counted the history's
//! live pending jobs through the covering `jobs_created_idx` (500 000 entries, 43 ms) instead
//! of the 236-entry partial index (3 ms). SQLite's advice for long-lived connections is
//! `PRAGMA optimize=0x10002` when opening and `PRAGMA optimize` now and then; it analyzes
//! only the tables whose statistics are missing or stale, with a bounded sample.

use std::time::Duration;

use diesel_async::SimpleAsyncConnection;

use super::{Db, DbError, Pools};

/// Brings SQLite's statistics up to date (a no-op on PostgreSQL).
pub async fn optimize(db: &Db) -> Result<(), DbError> {
    if let Pools::Sqlite(pool) = db.pools() {
        let mut conn = pool.get().await?;
        conn.batch_execute("PRAGMA optimize=0x10002").await?;
    }
    Ok(())
}

/// Folds the rollup's slots of the days before yesterday into slot 0, in transactions of at
/// most 5 000 rows; returns how many rows it removed.
pub async fn compact_rollup(db: &Db) -> Result<usize, DbError> {
    let before_day = super::daily::day_of(super::now()) - 1;
    let mut removed = 0;
    loop {
        let n = db
            .write(async |tx| super::rollup::compact(tx, before_day, 5_000).await)
            .await?;
        removed += n;
        if n < 5_000 {
            return Ok(removed);
        }
    }
}

/// Periods folded per transaction by [`compact_statistics`].
const PERIODS_PER_TX: usize = 200;

/// Units [`compact_statistics`] lists at a time, for every caller but tests that want small
/// listings.
pub const UNITS_PER_LISTING: i64 = 10_000;

/// Folds every row of `job_stats` into its period's packed value, 200 periods of one account
/// and grain per transaction; returns how many rows it removed. Units are listed
/// `limit` at a time, and listing stops once it finds fewer than `limit`: rows that writers add
/// meanwhile wait for the next pass, so a pass ends under any write rate.
pub async fn compact_statistics(db: &Db, limit: i64) -> Result<usize, DbError> {
    use super::statistics::rollup;
    let mut removed = 0;
    loop {
        let units = db
            .read(async |c| rollup::unfolded_units(c, limit).await)
            .await?;
        for batch in rollup::batches(&units, PERIODS_PER_TX) {
            removed += db
                .write(async |tx| rollup::compact(tx, &batch).await)
                .await?;
        }
        if i64::try_from(units.len()).unwrap_or(i64::MAX) < limit {
            return Ok(removed);
        }
    }
}

/// Runs [`compact_rollup`], [`compact_statistics`] and [`optimize`] every `every` until the
/// process ends.
pub async fn run(db: Db, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    let mut started = false;
    loop {
        ticks.tick().await; // the first tick is immediate
        match compact_rollup(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "folded past days' rollup slots"),
            Err(e) => tracing::warn!(error = %e, "rollup compaction failed"),
        }
        match compact_statistics(&db, UNITS_PER_LISTING).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "folded the statistics' rows into packed values"),
            Err(e) => tracing::warn!(error = %e, "statistics compaction failed"),
        }
        // Start-up has just optimized.
        if std::mem::replace(&mut started, true)
            && let Err(e) = optimize(&db).await
        {
            tracing::warn!(error = %e, "PRAGMA optimize failed");
        }
    }
}
