//! The data layer: one [`Db`] handle over either backend, and the [`with_conn!`](crate::with_conn)
//! macro that lets every query be written once. All SQL of the service lives under this module (and
//! the seeder's bulk loader), behind functions named for what they answer; nothing else imports
//! [`schema`]. Functions that read or write jobs take the caller's [`Scope`](crate::domain::Scope);
//! writes return what they wrote, and the caller publishes.
//!
//! `Db` holds a pool of either PostgreSQL ([`diesel_async::AsyncPgConnection`]) or embedded
//! SQLite ([`SyncConnectionWrapper`] around [`diesel::SqliteConnection`]) connections.
//! [`with_conn!`](crate::with_conn) checks a connection out and expands its body once per
//! backend, with `conn` bound to the concrete connection type, so one body of Diesel code
//! compiles for both. The places that know which backend they are on: connecting
//! ([`connect`]: session settings), migrations ([`migrate`]: two embedded sets), the
//! planner's statistics ([`upkeep`]: `PRAGMA optimize` on SQLite only), the event bus
//! (`crate::events`: in-process broadcast on SQLite, `LISTEN/NOTIFY` on PostgreSQL) and the
//! seeder's bulk insert (Diesel's multi-row `INSERT` goes through sync Diesel on SQLite,
//! diesel_async issue #277).

pub mod batch;
pub mod cached;
pub mod catalogue;
pub mod conn;
pub mod connect;
pub mod count;
pub mod daily;
pub mod filter;
pub mod fixed_sql;
pub mod health;
pub mod implied;
pub mod inputs;
pub mod jobs;
pub mod keys;
pub mod keyset;
pub mod lifecycle;
pub mod migrate;
pub mod millis;
pub mod models;
pub mod people;
pub mod pool;
pub mod range_scan;
pub mod rollup;
pub mod schema;
pub mod statistics;
pub mod stats;
pub mod update_span;
pub mod upkeep;

use std::sync::Arc;

use diesel::SqliteConnection;
use diesel_async::AsyncPgConnection;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;

use conn::Begin;
pub use conn::{Conn, Tx};
pub use connect::{DatabaseUrl, DbConfig, PlanCacheMode};
pub use stats::DbStats;

/// An embedded SQLite connection usable from async code.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;
/// A pool of PostgreSQL connections.
pub type PgPool = bb8::Pool<pool::Manager<AsyncPgConnection>>;
/// A pool of SQLite connections (all to the same file, WAL mode).
pub type SqlitePool = bb8::Pool<pool::Manager<SqliteConn>>;

/// Which backend a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL through `AsyncPgConnection`.
    Postgres,
    /// Embedded SQLite.
    Sqlite,
}

/// The connection pools of one backend.
#[derive(Clone)]
pub enum Pools {
    /// PostgreSQL pool.
    Postgres(PgPool),
    /// SQLite pool.
    Sqlite(SqlitePool),
}

/// A cheap-to-clone handle on the database: the pool, its statement counters and the kept
/// accounts and models.
#[derive(Clone)]
pub struct Db {
    pools: Pools,
    stats: Arc<DbStats>,
    url: DatabaseUrl,
    catalogue: Arc<catalogue::Catalogue>,
    health: Arc<health::Health>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("url", &self.url.redacted())
            .finish()
    }
}

impl Db {
    /// The pools, for [`with_conn!`](crate::with_conn) and the few backend-specific places.
    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// Which backend this handle talks to.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Counters of statements executed through this handle's connections.
    pub fn stats(&self) -> &DbStats {
        &self.stats
    }

    /// Accounts' identifiers and models kept in memory (see [`catalogue`]).
    pub fn catalogue(&self) -> &catalogue::Catalogue {
        &self.catalogue
    }

    /// Whether the database was reachable at the last connection attempt (see [`health`]).
    pub fn health(&self) -> &health::Health {
        &self.health
    }

    /// The URL this handle was opened with (print it with [`DatabaseUrl::redacted`]).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Open and idle connections, and checkouts that waited or timed out.
    pub fn pool_state(&self) -> (u32, u32, u64, u64) {
        let state = match &self.pools {
            Pools::Postgres(p) => p.state(),
            Pools::Sqlite(p) => p.state(),
        };
        let s = &state.statistics;
        (
            state.connections,
            state.idle_connections,
            s.get_waited,
            s.get_timed_out,
        )
    }

    /// Checks the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), DbError> {
        use diesel::IntoSql;
        use diesel::sql_types::Integer;
        use diesel_async::RunQueryDsl;
        self.read(async |conn: &mut Conn<'_>| {
            crate::on_backend!(conn, c => {
                diesel::select(1_i32.into_sql::<Integer>()).get_result::<i32>(c).await?;
            });
            Ok(())
        })
        .await
    }

    /// Runs `body` on a connection checked out of the pool ([`health::checkout`]: it fails fast
    /// when the database is known to be down, and keeps the pool's statement-cache bound), failing
    /// with `E::from(DbError)` when none can be had. Data functions called in `body` share the
    /// connection, each statement in its own implicit transaction.
    pub async fn read<T, E>(
        &self,
        body: impl AsyncFnOnce(&mut Conn<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError>,
    {
        match &self.pools {
            Pools::Postgres(pool) => {
                on_conn(&self.health, pool, async |c| {
                    body(&mut Conn::Postgres(c)).await
                })
                .await
            }
            Pools::Sqlite(pool) => {
                on_conn(&self.health, pool, async |c| {
                    body(&mut Conn::Sqlite(c)).await
                })
                .await
            }
        }
    }

    /// Runs `body` as one write transaction on a pooled connection (checked out as by
    /// [`Db::read`]), committing when it returns `Ok` and rolling back on `Err`: whatever the
    /// data functions it calls wrote becomes visible together or not at all. Every write
    /// transaction of the service goes through here, so the rule lives in one place:
    ///
    /// - **SQLite** begins with `BEGIN IMMEDIATE`: the transaction takes the database's single
    ///   write lock before its first statement, waiting up to `busy_timeout` for it. A deferred
    ///   `BEGIN` that reads first and writes later would instead fail with `SQLITE_BUSY` the
    ///   moment another writer committed in between (the lock upgrade cannot wait). Readers are
    ///   not blocked (WAL). A write that cannot get the lock in time fails with
    ///   [`health::Refusal::Busy`], which clients see as `SERVICE_UNAVAILABLE`.
    /// - **PostgreSQL** begins with a plain `BEGIN`: writers lock only the rows they change.
    ///
    /// `body` gets the connection as a [`Tx`], which only this function makes: the data
    /// functions that write several statements take one, so they cannot run outside a
    /// transaction. The statements are those of Diesel's `transaction`
    /// (`immediate_transaction` on SQLite), including what a failed rollback reports
    /// ([`Tx`]'s `roll_back`).
    pub async fn write<T, E>(
        &self,
        body: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + From<diesel::result::Error>,
    {
        self.transaction(Begin::Write, body).await
    }

    /// Runs `body` in one read-only snapshot on a pooled connection (checked out as by
    /// [`Db::read`]): every statement it runs sees the database as of the first one, so figures
    /// read in several statements — rollup rows, packed values and live jobs — add up even while
    /// writers and the compaction move them from one to the other. PostgreSQL: `REPEATABLE
    /// READ, READ ONLY`; SQLite: a deferred transaction (WAL: one state, no lock). `body` gets a
    /// [`Conn`], not a [`Tx`]: nothing that writes can be called in it.
    pub async fn snapshot<T, E>(
        &self,
        body: impl AsyncFnOnce(&mut Conn<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + From<diesel::result::Error>,
    {
        self.transaction(Begin::Snapshot, async |tx: &mut Tx<'_>| {
            body(tx.conn()).await
        })
        .await
    }

    /// Runs `body` in a transaction of `kind` on a pooled connection, committing when it
    /// returns `Ok` and rolling back on `Err`.
    async fn transaction<T, E>(
        &self,
        kind: Begin,
        body: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + From<diesel::result::Error>,
    {
        self.read(async |conn: &mut Conn<'_>| in_transaction(conn, kind, body).await)
            .await
    }
}

/// Runs `body` in a transaction of `kind` on `conn`, committing when it returns `Ok` and
/// rolling back on `Err`: [`Db`]'s transactions, and a data function's own snapshot
/// ([`snapshot_on`]).
async fn in_transaction<T, E>(
    conn: &mut Conn<'_>,
    kind: Begin,
    body: impl AsyncFnOnce(&mut Tx<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let mut tx = Tx::begin(conn, kind).await?;
    match body(&mut tx).await {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => Err(tx.roll_back(e).await),
    }
}

/// Runs `body` in one read-only snapshot on `conn`, as [`Db::snapshot`] does on a connection
/// of its own: for a data function whose statements must see one state of the database (a
/// page and the span it is bounded by, [`update_span`]). `conn` must not be in a transaction.
async fn snapshot_on<T>(
    conn: &mut Conn<'_>,
    body: impl AsyncFnOnce(&mut Conn<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    in_transaction(conn, Begin::Snapshot, async |tx: &mut Tx<'_>| {
        body(tx.conn()).await
    })
    .await
}

/// The current instant as stored: UTC, truncated to microseconds. Every timestamp written goes
/// through here (or is derived from it): PostgreSQL keeps microseconds while SQLite would keep
/// whatever it is given as text, and cursors carry microseconds, so finer values would break
/// keyset equality on SQLite.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// Why a database operation failed. Shown to operators (logs, CLI); the GraphQL layer maps it
/// to a generic client-facing error and never forwards the text.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had from the pool in time, or the server is unreachable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The statement failed.
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl DbError {
    /// The database's state behind this failure when a client can act on it (retry, or ask an
    /// operator), `None` when it is a bug or an unknown failure.
    pub fn refusal(&self) -> Option<health::Refusal> {
        match self {
            // No connection in time: the pool is saturated or the database unreachable.
            Self::Unavailable(_) => None,
            Self::Query(e) => health::Refusal::of(e),
        }
    }
}

impl<E: std::fmt::Display> From<bb8::RunError<E>> for DbError {
    fn from(e: bb8::RunError<E>) -> Self {
        match e {
            bb8::RunError::TimedOut => {
                DbError::Unavailable("timed out waiting for a pooled connection".into())
            }
            bb8::RunError::User(e) => DbError::Unavailable(e.to_string()),
        }
    }
}

/// Runs `body` on a connection checked out of `pool` ([`health::checkout`]), failing with
/// `E::from(DbError)` when none can be had: what [`Db::read`] calls in each backend's arm.
async fn on_conn<C, T, E>(
    health: &health::Health,
    pool: &bb8::Pool<pool::Manager<C>>,
    body: impl AsyncFnOnce(&mut C) -> Result<T, E>,
) -> Result<T, E>
where
    C: diesel_async::pooled_connection::PoolableConnection + 'static,
    pool::Manager<C>: bb8::ManageConnection<
            Connection = pool::Counted<C>,
            Error = diesel_async::pooled_connection::PoolError,
        >,
    E: From<DbError>,
{
    let mut guard = health::checkout(health, pool).await?;
    body(&mut **guard).await
}

/// `$body` (a `Result<_, DbError>`) run with `$conn` bound to a pooled connection of whichever
/// backend `$db` uses, as a `Result<_, DbError>`: [`Db::read`] with
/// [`on_backend!`](crate::on_backend) inside, for tests and one-off code that are not data
/// functions.
///
/// The body is expanded once per backend, so it must be backend-agnostic Diesel code; it is
/// the body of an async closure, so `?` in it ends the body, not the caller.
#[macro_export]
macro_rules! with_conn {
    ($db:expr, $conn:ident => $body:expr) => {
        $db.read(async |conn: &mut $crate::db::Conn<'_>| -> Result<_, $crate::db::DbError> {
            $crate::on_backend!(conn, $conn => $body)
        })
        .await
    };
}
