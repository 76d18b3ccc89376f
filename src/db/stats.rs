//! Counters of the SQL statements the service runs, fed by Diesel's instrumentation hook on
//! every pooled connection. Tests use them to prove a page costs a fixed number of statements;
//! `/metrics` exports them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// Statement counters shared by all connections of one [`Db`](super::Db).
#[derive(Debug, Default)]
pub struct DbStats {
    statements: AtomicU64,
    cached: AtomicU64,
    cached_live: AtomicU64,
}

impl DbStats {
    /// Statements started since the pool was opened (queries, plus `BEGIN`/`COMMIT`).
    pub fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Statements prepared and kept in a connection's prepared-statement cache. Grows while
    /// connections meet new query shapes and then stays still: a statement that is not
    /// cacheable is parsed and planned on every execution instead, and never counted here.
    pub fn cached(&self) -> u64 {
        self.cached.load(Ordering::Relaxed)
    }

    /// Statements held right now in the caches of open connections: bounded by the pool's size
    /// times [`MAX_CACHED_STATEMENTS`](super::pool::MAX_CACHED_STATEMENTS), because a
    /// connection whose cache is full is retired (`db::pool`).
    pub fn cached_live(&self) -> u64 {
        self.cached_live.load(Ordering::Relaxed)
    }

    /// A connection holding `n` cached statements was closed.
    pub(crate) fn forget_cached(&self, n: usize) {
        self.cached_live.fetch_sub(n as u64, Ordering::Relaxed);
    }

    /// An instrumentation hook that counts into these stats and into `own` (the connection's
    /// cached statements); installed on each new connection.
    pub(crate) fn instrumentation(
        self: &Arc<Self>,
        own: Arc<AtomicUsize>,
    ) -> impl Instrumentation + use<> {
        let stats = Arc::clone(self);
        move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                stats.statements.fetch_add(1, Ordering::Relaxed);
                // The exact statements with their binds, for `LOG_LEVEL=job_history::sql=trace`
                // (the benchmark replays them with pgbench).
                tracing::trace!(target: "job_history::sql", "{query}");
            }
            InstrumentationEvent::CacheQuery { .. } => {
                stats.cached.fetch_add(1, Ordering::Relaxed);
                stats.cached_live.fetch_add(1, Ordering::Relaxed);
                own.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}
