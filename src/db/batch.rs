//! [`Batch`]: the statements of one write transaction that nothing reads back — a new job's
//! inputs, the rollups' upserts — sent together instead of one after the other.
//!
//! Why it matters: the rollup rows a write moves are shared by every job of their day and
//! model, and a transaction holds them locked from its upsert until its commit. Sent one by
//! one, each statement costs a wait for the server's answer (PostgreSQL) or a hand-off to the
//! connection's blocking thread while SQLite's write lock is held; under 32 concurrent writers
//! on two cores each of those waits is a trip through a busy scheduler, and the locks are held
//! across all of them. A batch pays one:
//!
//! - **PostgreSQL**: the statements are *pipelined* — every one is sent before the first answer
//!   is read (`AsyncPgConnection`'s pipelining, through a shared reference). The server still
//!   runs them in order, in the same transaction; a failing statement fails the batch, and the
//!   ones after it fail too (the transaction is aborted), so nothing half-applied commits.
//!   They reach the server **in the order pushed**, which keeps every writer locking the shared
//!   rollup rows in one order (no deadlock): `try_join_all` first polls them in order; each
//!   first takes the connection's statement-cache lock (tokio's, FIFO), holds it across a
//!   first `Parse` of its text, and tokio-postgres queues the statement in the same poll that
//!   releases the lock — so a statement already prepared cannot overtake one being prepared
//!   (diesel-async 0.9's `with_prepared_statement`; re-check on upgrading it).
//! - **SQLite**: the statements run in one call on the connection's blocking thread, in order,
//!   stopping at the first error.
//!
//! Statements are boxed ([`Statement`]): a batch mixes types (an insert, three upserts of two
//! tables), and each must run on both backends, async and sync.

use diesel::QueryResult;
use diesel::SqliteConnection;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{
    CollectedQuery, MoveableBindCollector, QueryBuilder, QueryFragment, QueryId,
};
use diesel::sqlite::{Sqlite, SqliteQueryBuilder};
use diesel_async::AsyncPgConnection;
use futures_util::future::BoxFuture;

use super::{Conn, DbError};

/// A statement that runs on either backend's connection, async or sync: what a [`Batch`]
/// holds.
pub trait Statement: Send + 'static {
    /// Sends the statement on a PostgreSQL connection shared by the batch (pipelined).
    fn on_postgres<'c>(
        self: Box<Self>,
        conn: &'c AsyncPgConnection,
    ) -> BoxFuture<'c, QueryResult<usize>>;

    /// Runs the statement on a (sync) SQLite connection.
    fn on_sqlite(self: Box<Self>, conn: &mut SqliteConnection) -> QueryResult<usize>;
}

impl<T> Statement for T
where
    T: QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send + 'static,
{
    fn on_postgres<'c>(
        self: Box<Self>,
        conn: &'c AsyncPgConnection,
    ) -> BoxFuture<'c, QueryResult<usize>> {
        let mut conn = conn;
        diesel_async::RunQueryDsl::execute(*self, &mut conn)
    }

    fn on_sqlite(self: Box<Self>, conn: &mut SqliteConnection) -> QueryResult<usize> {
        // Collected first, as diesel-async's SQLite wrapper does: Diesel's sync connection
        // asks a statement *by reference* whether it may be cached, and `&T` does not forward
        // that question (it walks the AST instead), so a [`Cached`](super::cached::Cached)
        // statement would be prepared again on every run.
        let statement: &T = &self;
        let mut sql = SqliteQueryBuilder::new();
        QueryFragment::<Sqlite>::to_sql(statement, &mut sql, &Sqlite)?;
        let mut binds = <Sqlite as Backend>::BindCollector::default();
        QueryFragment::<Sqlite>::collect_binds(statement, &mut binds, &mut (), &Sqlite)?;
        let cache = QueryFragment::<Sqlite>::is_safe_to_cache_prepared(statement, &Sqlite)?;
        let collected = CollectedQuery::new(sql.finish(), cache, binds.moveable());
        diesel::query_dsl::methods::ExecuteDsl::execute(collected, conn)
    }
}

/// Statements to run together, in the order pushed, inside the caller's transaction
/// ([`Batch::run`]).
#[derive(Default)]
pub struct Batch(Vec<Box<dyn Statement>>);

impl Batch {
    /// Adds `statement` after those already pushed.
    pub fn push(&mut self, statement: impl Statement) {
        self.0.push(Box::new(statement));
    }

    /// How many statements are waiting.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no statement is waiting.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs every statement, in order, on `conn` — which must be inside a transaction when
    /// they must apply together (a [`Tx`](super::Tx) derefs to it) — and empties the batch.
    /// The first failure is returned; the transaction is then to be rolled back.
    pub async fn run(&mut self, conn: &mut Conn<'_>) -> Result<(), DbError> {
        let statements = std::mem::take(&mut self.0);
        match (statements.len(), conn) {
            (0, _) => {}
            (_, Conn::Postgres(c)) => {
                let c: &AsyncPgConnection = c;
                futures_util::future::try_join_all(
                    statements.into_iter().map(|s| s.on_postgres(c)),
                )
                .await?;
            }
            (_, Conn::Sqlite(c)) => {
                c.spawn_blocking(move |c: &mut SqliteConnection| {
                    statements
                        .into_iter()
                        .try_for_each(|s| s.on_sqlite(c).map(drop))
                })
                .await?;
            }
        }
        Ok(())
    }
}
