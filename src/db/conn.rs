//! [`Conn`]: a checked-out connection of either backend, what every data function takes.
//!
//! An enum rather than a generic `C: AsyncConnection`: a generic data function needs a trait
//! bound for every Diesel expression it builds (each filter, order and select), and its callers
//! would still have to match on the backend to call it. With the enum, a data function is one
//! ordinary `async fn`, and [`on_backend!`](crate::on_backend) expands its Diesel code once per
//! arm, where the concrete connection type lets each expression infer its backend. Obtained
//! from [`Db::read`](super::Db::read) (a pooled connection) or [`Db::write`](super::Db::write)
//! (the same inside one write transaction, as a [`Tx`]), so several data functions can share
//! one.

use diesel::connection::AnsiTransactionManager;
use diesel::{QueryResult, SqliteConnection};
use diesel_async::{AsyncConnection, AsyncPgConnection, TransactionManager};

use super::SqliteConn;

/// A connection of either backend, borrowed for the length of one [`Db::read`](super::Db::read)
/// or [`Db::write`](super::Db::write).
pub enum Conn<'c> {
    /// A PostgreSQL connection.
    Postgres(&'c mut AsyncPgConnection),
    /// An embedded SQLite connection.
    Sqlite(&'c mut SqliteConn),
}

/// `$body` with `$c` bound to the concrete connection inside `$conn` (a `&mut Conn<'_>`),
/// expanded once per backend. A macro because the two arms bind `$c` to two types, which one
/// function body cannot do; `?` and `return` in the body act on the enclosing function.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Postgres(c) => {
                let $c = &mut **c;
                $body
            }
            $crate::db::Conn::Sqlite(c) => {
                let $c = &mut **c;
                $body
            }
        }
    };
}

/// The statement that begins a write transaction on SQLite (see [`Db::write`](super::Db::write)).
const SQLITE_BEGIN: &str = "BEGIN IMMEDIATE";

/// A write transaction on PostgreSQL, planned by PostgreSQL's own `auto` mode whatever the
/// connection's `plan_cache_mode` (one round trip: both statements in one simple query). The
/// reads' plans depend on their values, so connections plan every execution
/// ([`PlanCacheMode`](super::PlanCacheMode)); a write's statements do not (a row by its key,
/// an upsert of a rollup cell), and re-planning them cost `submitJob` about a fifth of its
/// throughput at concurrency 32 (`bench/matrix.py writes`, 1M jobs). `SET LOCAL` ends with
/// the transaction.
const PG_WRITE: &str = "BEGIN; SET LOCAL plan_cache_mode = auto";

/// A read-only snapshot on PostgreSQL: every statement of the transaction sees the database as
/// of its first one.
const PG_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// A read snapshot on SQLite: a deferred transaction reads one state of the database (WAL) from
/// its first read to its end, and takes no write lock.
const SQLITE_SNAPSHOT: &str = "BEGIN DEFERRED";

/// Which transaction [`Tx::begin`] opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Begin {
    /// A write transaction: [`PG_WRITE`] on PostgreSQL, `BEGIN IMMEDIATE` on SQLite.
    Write,
    /// A read-only snapshot ([`PG_SNAPSHOT`], [`SQLITE_SNAPSHOT`]).
    Snapshot,
}

impl Conn<'_> {
    /// The same connection, borrowed for as long as `self` is.
    fn reborrow(&mut self) -> Conn<'_> {
        match self {
            Self::Postgres(c) => Conn::Postgres(c),
            Self::Sqlite(c) => Conn::Sqlite(c),
        }
    }
}

/// A connection inside a write transaction begun by [`Db::write`](super::Db::write), the only
/// place that makes one. A data function that writes more than one statement takes
/// `&mut Tx<'_>`, so calling it outside a transaction does not compile; reads and single
/// statements inside the transaction take `&mut Conn<'_>`, which a `&mut Tx<'_>` derefs to
/// (spelled [`Tx::conn`] where no coercion applies, as in [`on_backend!`](crate::on_backend)).
///
/// ```no_run
/// # use job_history::db::{Db, lifecycle::{self, LifecycleError}, models::Job};
/// # use job_history::domain::Scope;
/// async fn cancel(db: &Db, scope: Scope) -> Result<Job, LifecycleError> {
///     let now = job_history::db::now();
///     db.write(async |tx| lifecycle::cancel(tx, scope, "a job", now).await).await
/// }
/// ```
///
/// The same writer on a connection from [`Db::read`](super::Db::read) is refused:
///
/// ```compile_fail,E0308
/// # use job_history::db::{Db, lifecycle::{self, LifecycleError}, models::Job};
/// # use job_history::domain::Scope;
/// async fn cancel(db: &Db, scope: Scope) -> Result<Job, LifecycleError> {
///     let now = job_history::db::now();
///     db.read(async |conn| lifecycle::cancel(conn, scope, "a job", now).await).await
/// }
/// ```
pub struct Tx<'c>(Conn<'c>);

impl<'c> Tx<'c> {
    /// Begins a transaction of `kind` on `conn`.
    pub(super) async fn begin(conn: &'c mut Conn<'_>, kind: Begin) -> QueryResult<Self> {
        let mut conn = conn.reborrow();
        match (&mut conn, kind) {
            (Conn::Postgres(c), Begin::Write) => {
                diesel_async::AnsiTransactionManager::begin_transaction_sql(*c, PG_WRITE).await?
            }
            (Conn::Postgres(c), Begin::Snapshot) => {
                diesel_async::AnsiTransactionManager::begin_transaction_sql(*c, PG_SNAPSHOT).await?
            }
            (Conn::Sqlite(c), kind) => {
                let sql = match kind {
                    Begin::Write => SQLITE_BEGIN,
                    Begin::Snapshot => SQLITE_SNAPSHOT,
                };
                c.spawn_blocking(move |c: &mut SqliteConnection| {
                    AnsiTransactionManager::begin_transaction_sql(c, sql)
                })
                .await?
            }
        }
        Ok(Self(conn))
    }

    /// The connection, for reads and single statements inside the transaction.
    pub fn conn(&mut self) -> &mut Conn<'c> {
        &mut self.0
    }

    /// Commits the transaction.
    pub(super) async fn commit(mut self) -> QueryResult<()> {
        match &mut self.0 {
            Conn::Postgres(c) => manager(c).commit(c).await,
            Conn::Sqlite(c) => manager(c).commit(c).await,
        }
    }

    /// Rolls back the transaction after its body failed with `error`, and returns the error to
    /// report: as Diesel's own `transaction` does on each backend, a rollback that fails
    /// replaces `error`, except on PostgreSQL when the transaction manager is already broken.
    pub(super) async fn roll_back<E>(mut self, error: E) -> E
    where
        E: From<diesel::result::Error>,
    {
        let rolled = match &mut self.0 {
            Conn::Postgres(c) => match manager(c).roll_back(c).await {
                Err(diesel::result::Error::BrokenTransactionManager) => Ok(()),
                other => other,
            },
            Conn::Sqlite(c) => manager(c).roll_back(c).await,
        };
        match rolled {
            Ok(()) => error,
            Err(e) => e.into(),
        }
    }
}

impl<'c> std::ops::Deref for Tx<'c> {
    type Target = Conn<'c>;

    fn deref(&self) -> &Conn<'c> {
        &self.0
    }
}

impl<'c> std::ops::DerefMut for Tx<'c> {
    fn deref_mut(&mut self) -> &mut Conn<'c> {
        &mut self.0
    }
}

/// The transaction manager of `C`, named through a value so the calls above need no
/// fully qualified paths.
fn manager<C: AsyncConnection>(_: &C) -> Manager<C> {
    Manager(std::marker::PhantomData)
}

/// Calls [`TransactionManager`]'s functions for connection type `C`.
struct Manager<C>(std::marker::PhantomData<C>);

impl<C: AsyncConnection> Manager<C> {
    async fn commit(&self, c: &mut C) -> QueryResult<()> {
        <C::TransactionManager as TransactionManager<C>>::commit_transaction(c).await
    }

    async fn roll_back(&self, c: &mut C) -> QueryResult<()> {
        <C::TransactionManager as TransactionManager<C>>::rollback_transaction(c).await
    }
}
