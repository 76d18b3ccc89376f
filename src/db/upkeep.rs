//! Keeping the query planner's statistics current.
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

/// Runs [`optimize`] every `every` until the process ends (returns at once on PostgreSQL).
pub async fn run(db: Db, every: Duration) {
    if !matches!(db.pools(), Pools::Sqlite(_)) {
        return;
    }
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await; // the first tick is immediate; start-up has just optimized
    loop {
        ticks.tick().await;
        if let Err(e) = optimize(&db).await {
            tracing::warn!(error = %e, "PRAGMA optimize failed");
        }
    }
}
