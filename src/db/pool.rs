//! The pools' connection manager: diesel-async's, plus a bound on the memory each connection's
//! prepared-statement cache may hold.
//!
//! Diesel keeps every cacheable statement a connection has prepared, without a size limit
//! (`CacheSize` is only `Unbounded` or `Disabled`). The history's SQL differs with the set of
//! filters present, the order, the direction and the cursor, so the number of distinct
//! statements is in the hundreds of thousands, and a client that walks through them grows
//! every pooled connection's cache: measured on SQLite, ~14.5 KB of the server's memory per
//! cached statement (3 000 new shapes: RSS 44 → 88 MB), and on PostgreSQL a plan in the server
//! process for each. [`Manager`] counts the statements each connection caches and retires a
//! connection once it has cached [`MAX_CACHED_STATEMENTS`]: the pool drops it when it comes
//! back, and opens a fresh one when needed. Everyday traffic (a few hundred shapes spread
//! over the pool) stays under the bound and keeps its prepared statements.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, PoolError, PoolableConnection,
};

use super::DbStats;

/// Statements one connection may cache before it is retired. With 16 connections this bounds
/// SQLite's statement memory to ~60 MB; a steady mix of a few hundred shapes stays below it.
pub const MAX_CACHED_STATEMENTS: usize = 256;

/// diesel-async's bb8 manager, counting what each connection caches (see the module doc).
pub struct Manager<C: PoolableConnection + 'static> {
    inner: AsyncDieselConnectionManager<C>,
    stats: Arc<DbStats>,
}

impl<C: PoolableConnection + 'static> Manager<C> {
    /// Wraps `inner`; statements are counted into `stats` as well as per connection.
    pub fn new(inner: AsyncDieselConnectionManager<C>, stats: Arc<DbStats>) -> Self {
        Self { inner, stats }
    }
}

/// A pooled connection with the number of statements it has cached; derefs to the connection.
pub struct Counted<C> {
    conn: C,
    cached: Arc<AtomicUsize>,
    stats: Arc<DbStats>,
}

impl<C> Counted<C> {
    /// Whether this connection has cached as many statements as it may.
    fn is_full(&self) -> bool {
        self.cached.load(Ordering::Relaxed) >= MAX_CACHED_STATEMENTS
    }
}

impl<C> Deref for Counted<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.conn
    }
}

impl<C> DerefMut for Counted<C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.conn
    }
}

impl<C> Drop for Counted<C> {
    fn drop(&mut self) {
        // Its statements go with it.
        self.stats
            .forget_cached(self.cached.load(Ordering::Relaxed));
    }
}

impl<C> bb8::ManageConnection for Manager<C>
where
    C: PoolableConnection + 'static,
    AsyncDieselConnectionManager<C>: bb8::ManageConnection<Connection = C, Error = PoolError>,
{
    type Connection = Counted<C>;
    type Error = PoolError;

    async fn connect(&self) -> Result<Counted<C>, PoolError> {
        let mut conn = self.inner.connect().await?;
        let cached = Arc::new(AtomicUsize::new(0));
        conn.set_instrumentation(self.stats.instrumentation(Arc::clone(&cached)));
        Ok(Counted {
            conn,
            cached,
            stats: Arc::clone(&self.stats),
        })
    }

    async fn is_valid(&self, conn: &mut Counted<C>) -> Result<(), PoolError> {
        self.inner.is_valid(&mut conn.conn).await
    }

    fn has_broken(&self, conn: &mut Counted<C>) -> bool {
        // A full cache is retired like a broken connection: bb8 drops it on return.
        conn.is_full() || self.inner.has_broken(&mut conn.conn)
    }
}

/// Whether a checked-out connection can be handed out (see [`super::health::checkout`]).
pub fn is_broken<C: PoolableConnection>(conn: &mut Counted<C>) -> bool {
    PoolableConnection::is_broken(&mut conn.conn)
}
