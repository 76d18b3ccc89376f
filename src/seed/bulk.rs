//! The bulk loader's statements, each a plain function over [`SyncConn`]: a dedicated
//! *synchronous* connection of either backend — an [`AsyncConnectionWrapper`] on PostgreSQL, a
//! plain `SqliteConnection` on SQLite — because diesel-async's SQLite wrapper cannot run
//! multi-row `INSERT`s (diesel_async issue #277). Which statements run, in which transactions,
//! is decided in [`super`]; what each backend likes (rows per statement, session settings, the
//! catalog query listing secondary indexes) is its [`Tuning`].

use std::collections::HashMap;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;

use crate::db::DbError;
use crate::db::models::{Model, NewAccount, NewApiKey, NewJob, NewJobInput, NewModel, NewUser};
use crate::db::schema::{accounts, api_keys, job_inputs, jobs, models, users};
use crate::domain::{AccountId, JobId, UserId};

/// A PostgreSQL connection driven synchronously.
pub type PgSync = AsyncConnectionWrapper<AsyncPgConnection>;

/// A dedicated synchronous connection of either backend, borrowed for the load.
pub enum SyncConn<'c> {
    /// PostgreSQL.
    Postgres(&'c mut PgSync),
    /// Embedded SQLite.
    Sqlite(&'c mut SqliteConnection),
}

/// `$body` with `$c` bound to the concrete connection in `$conn` (a `&mut SyncConn<'_>`): a
/// macro because one body must compile for two connection types (as `on_backend!` for pools).
macro_rules! on_sync {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            SyncConn::Postgres(c) => {
                let $c = &mut **c;
                $body
            }
            SyncConn::Sqlite(c) => {
                let $c = &mut **c;
                $body
            }
        }
    };
}

/// How a backend likes its bulk load. Full chunks of rows go through `&[T; N]`, which Diesel
/// caches as a prepared statement (no re-parse per chunk). PostgreSQL wants few round trips
/// (big statements, within its 65 535 bind limit); SQLite wants small statements, whose
/// statement journals stay cheap (measured: 100 rows per statement loads ~3x faster than
/// 1 000).
pub struct Tuning {
    /// Job rows per `INSERT`.
    pub job_rows: usize,
    /// Input rows per `INSERT`.
    pub input_rows: usize,
    /// Lists the secondary indexes of `jobs` and `job_inputs` as (name, definition): those that
    /// can be dropped and re-created, i.e. not backing a constraint.
    index_catalog: &'static str,
    /// Session settings for the load.
    setup: &'static str,
}

/// PostgreSQL's [`Tuning`].
pub const PG_TUNING: Tuning = Tuning {
    job_rows: 1_000,
    input_rows: 3_000,
    index_catalog: "SELECT i.relname::text AS name, pg_get_indexdef(i.oid) AS definition \
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
        JOIN pg_class t ON t.oid = x.indrelid \
        WHERE t.relname IN ('jobs', 'job_inputs') \
        AND t.relnamespace = current_schema()::regnamespace \
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
    setup: "SET maintenance_work_mem = '256MB'",
};

/// SQLite's [`Tuning`].
pub const SQLITE_TUNING: Tuning = Tuning {
    job_rows: 100,
    input_rows: 300,
    index_catalog: "SELECT name, sql AS definition FROM sqlite_master \
        WHERE type = 'index' AND tbl_name IN ('jobs', 'job_inputs') AND sql IS NOT NULL",
    setup: "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
        PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
};

/// A secondary index as the catalog describes it.
#[derive(diesel::QueryableByName)]
pub struct IndexDef {
    /// Its name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    /// The `CREATE INDEX` statement that re-creates it.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub definition: String,
}

/// Rows the database held before the seed.
#[derive(Clone, Copy, Debug)]
pub struct Existing {
    /// Accounts.
    pub accounts: i64,
    /// Users.
    pub users: i64,
    /// Jobs.
    pub jobs: i64,
}

impl SyncConn<'_> {
    /// This backend's [`Tuning`].
    fn tuning(&self) -> &'static Tuning {
        match self {
            Self::Postgres(_) => &PG_TUNING,
            Self::Sqlite(_) => &SQLITE_TUNING,
        }
    }
}

/// Runs `body` in one write transaction. On SQLite it begins as a writer (`BEGIN IMMEDIATE`),
/// like the server's ([`crate::db::Db::write`]): a seed next to a running server queues for the
/// write lock instead of failing when the server commits between the seed's first read and
/// its first write.
pub fn write_tx<T>(
    conn: &mut SyncConn<'_>,
    body: impl FnOnce(&mut SyncConn<'_>) -> Result<T, DbError>,
) -> Result<T, DbError> {
    match conn {
        SyncConn::Postgres(c) => c.transaction(|c| body(&mut SyncConn::Postgres(c))),
        SyncConn::Sqlite(c) => c.immediate_transaction(|c| body(&mut SyncConn::Sqlite(c))),
    }
}

/// Applies the backend's session settings for the load.
pub fn set_up(conn: &mut SyncConn<'_>) -> QueryResult<()> {
    let setup = conn.tuning().setup;
    on_sync!(conn, c => c.batch_execute(setup))
}

/// Runs one SQL statement given as text (`DROP INDEX`, a catalog's `CREATE INDEX`, `ANALYZE`).
pub fn execute(conn: &mut SyncConn<'_>, sql: &str) -> QueryResult<()> {
    on_sync!(conn, c => diesel::sql_query(sql).execute(c).map(drop))
}

/// The secondary indexes of `jobs` and `job_inputs`, as the catalog defines them.
pub fn secondary_indexes(conn: &mut SyncConn<'_>) -> QueryResult<Vec<IndexDef>> {
    let catalog = conn.tuning().index_catalog;
    on_sync!(conn, c => diesel::sql_query(catalog).load(c))
}

/// How many accounts, users and jobs there are.
pub fn existing(conn: &mut SyncConn<'_>) -> QueryResult<Existing> {
    on_sync!(conn, c => Ok(Existing {
        accounts: accounts::table.count().get_result(c)?,
        users: users::table.count().get_result(c)?,
        jobs: jobs::table.count().get_result(c)?,
    }))
}

/// Adds the models of `rows` that are missing; returns every model, by id.
pub fn ensure_models(conn: &mut SyncConn<'_>, rows: &[NewModel]) -> QueryResult<Vec<Model>> {
    on_sync!(conn, c => {
        for row in rows {
            // One by one: SQLite cannot combine a multi-row insert with ON CONFLICT.
            diesel::insert_into(models::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(c)?;
        }
        models::table.order(models::id).select(Model::as_select()).load(c)
    })
}

/// Inserts `rows` in one statement; returns their ids in order.
pub fn insert_accounts(
    conn: &mut SyncConn<'_>,
    rows: &[NewAccount],
) -> QueryResult<Vec<AccountId>> {
    on_sync!(conn, c => {
        diesel::insert_into(accounts::table).values(rows).returning(accounts::id).get_results(c)
    })
}

/// Inserts `rows` in one statement; returns each user's id and account in order.
pub fn insert_users(
    conn: &mut SyncConn<'_>,
    rows: &[NewUser],
) -> QueryResult<Vec<(UserId, AccountId)>> {
    on_sync!(conn, c => {
        let returning = (users::id, users::account_id);
        diesel::insert_into(users::table).values(rows).returning(returning).get_results(c)
    })
}

/// Inserts `rows` in one statement.
pub fn insert_keys(conn: &mut SyncConn<'_>, rows: &[NewApiKey]) -> QueryResult<()> {
    on_sync!(conn, c => diesel::insert_into(api_keys::table).values(rows).execute(c).map(drop))
}

/// Inserts `rows` in statements of the backend's [`Tuning::job_rows`]; returns each job's
/// identifier and id.
pub fn insert_jobs(
    conn: &mut SyncConn<'_>,
    rows: &[NewJob],
) -> QueryResult<HashMap<String, JobId>> {
    match conn {
        SyncConn::Postgres(_) => insert_jobs_by::<{ PG_TUNING.job_rows }>(conn, rows),
        SyncConn::Sqlite(_) => insert_jobs_by::<{ SQLITE_TUNING.job_rows }>(conn, rows),
    }
}

/// [`insert_jobs`] in statements of `N` rows (the last one shorter).
fn insert_jobs_by<const N: usize>(
    conn: &mut SyncConn<'_>,
    rows: &[NewJob],
) -> QueryResult<HashMap<String, JobId>> {
    let mut ids = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(N) {
        let insert = diesel::insert_into(jobs::table);
        let returning = (jobs::job_identifier, jobs::id);
        let chunk_ids: Vec<(String, JobId)> = on_sync!(conn, c => {
            match <&[NewJob; N]>::try_from(chunk) {
                Ok(full) => insert.values(full).returning(returning).get_results(c)?,
                Err(_) => insert.values(chunk).returning(returning).get_results(c)?,
            }
        });
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

/// Inserts `rows` in statements of the backend's [`Tuning::input_rows`].
pub fn insert_inputs(conn: &mut SyncConn<'_>, rows: &[NewJobInput]) -> QueryResult<()> {
    match conn {
        SyncConn::Postgres(_) => insert_inputs_by::<{ PG_TUNING.input_rows }>(conn, rows),
        SyncConn::Sqlite(_) => insert_inputs_by::<{ SQLITE_TUNING.input_rows }>(conn, rows),
    }
}

/// [`insert_inputs`] in statements of `N` rows (the last one shorter).
fn insert_inputs_by<const N: usize>(
    conn: &mut SyncConn<'_>,
    rows: &[NewJobInput],
) -> QueryResult<()> {
    for chunk in rows.chunks(N) {
        let insert = diesel::insert_into(job_inputs::table);
        on_sync!(conn, c => match <&[NewJobInput; N]>::try_from(chunk) {
            Ok(full) => insert.values(full).execute(c)?,
            Err(_) => insert.values(chunk).execute(c)?,
        });
    }
    Ok(())
}

/// Writes the rollup counts gathered in `tally` (see [`crate::db::rollup::Tally`]) and forgets
/// them.
pub fn write_tally(
    conn: &mut SyncConn<'_>,
    tally: &mut crate::db::rollup::Tally,
) -> QueryResult<()> {
    for upsert in tally.drain() {
        on_sync!(conn, c => diesel::query_dsl::methods::ExecuteDsl::execute(upsert, c))?;
    }
    for upsert in tally.drain_people() {
        on_sync!(conn, c => diesel::query_dsl::methods::ExecuteDsl::execute(upsert, c))?;
    }
    Ok(())
}

/// Rows of `job_stats` per statement when the seeder writes them.
const STATS_ROWS_PER_STATEMENT: usize = 100;

/// Writes the statistics gathered in `tally` (see [`crate::db::statistics::rollup::Tally`])
/// and forgets them.
pub fn write_stats(
    conn: &mut SyncConn<'_>,
    tally: &mut crate::db::statistics::rollup::Tally,
) -> QueryResult<()> {
    for upsert in tally.drain(STATS_ROWS_PER_STATEMENT) {
        on_sync!(conn, c => diesel::query_dsl::methods::ExecuteDsl::execute(upsert, c))?;
    }
    Ok(())
}
