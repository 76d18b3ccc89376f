//! `job-history seed`: bulk-loads deterministic demo data (see [`generate`]).
//!
//! The load runs on a blocking thread with sync Diesel over a dedicated connection — an
//! [`AsyncConnectionWrapper`] on PostgreSQL, a plain `SqliteConnection` on SQLite — so one body
//! of multi-row `INSERT`s serves both backends (diesel-async's SQLite wrapper cannot run
//! multi-row inserts, diesel_async issue #277). A generator thread produces batches while the
//! loader writes the previous one. Each batch of jobs and their inputs is one transaction: an
//! interrupted seed leaves whole jobs only, and seeding a non-empty database only adds rows.

pub mod catalogue;
pub mod generate;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use indicatif::{ProgressBar, ProgressStyle};

use crate::db::models::{Model, NewJob, NewJobInput, NewModel};
use crate::db::schema::{accounts, api_keys, job_inputs, jobs, models, users};
use crate::db::{DatabaseUrl, DbError};
use crate::domain::{AccountId, JobId, Role, UserId};
use crate::keys::IssuedKey;
use generate::{GeneratedJob, Generator, Submitter};

/// What to seed.
#[derive(Clone, Debug)]
pub struct SeedOptions {
    /// Jobs to add.
    pub jobs: u64,
    /// New accounts to create.
    pub accounts: usize,
    /// New users to create, spread over the new accounts (one API key each).
    pub users: usize,
    /// RNG seed; with the same database state and clock, the same data.
    pub seed: u64,
    /// The clock the history ends at.
    pub now: NaiveDateTime,
    /// Show a progress bar (on a terminal only).
    pub progress: bool,
}

impl SeedOptions {
    /// `jobs` jobs over 5 accounts and 50 users, seed 1, ending now, no progress bar.
    pub fn new(jobs: u64) -> Self {
        Self {
            jobs,
            accounts: 5,
            users: 50,
            seed: 1,
            now: crate::db::now(),
            progress: false,
        }
    }
}

/// What a seed run added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedReport {
    /// Accounts added.
    pub accounts: usize,
    /// Users (and keys) added.
    pub users: usize,
    /// Jobs added.
    pub jobs: u64,
    /// Job inputs added.
    pub inputs: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// Jobs per transaction (and per batch handed over by the generator thread).
const JOBS_PER_TX: usize = 5_000;

/// How each backend likes its bulk load. Rows per statement are const generics: full chunks
/// go through `&[T; N]`, which Diesel caches as a prepared statement (no re-parse per chunk).
/// PostgreSQL wants few round trips (big statements, within its 65 535 bind limit); SQLite
/// wants small statements, whose statement journals stay cheap (measured: 100 rows per
/// statement loads ~3x faster than 1 000).
struct Tuning {
    /// Lists the secondary indexes of `jobs` and `job_inputs` as (name, definition): those that
    /// can be dropped and re-created, i.e. not backing a constraint.
    index_catalog: &'static str,
    /// Session settings for the load.
    setup: &'static str,
}

const PG_TUNING: Tuning = Tuning {
    index_catalog: "SELECT i.relname::text AS name, pg_get_indexdef(i.oid) AS definition \
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
        WHERE t.relname IN ('jobs', 'job_inputs') AND t.relnamespace = current_schema()::regnamespace \
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
    setup: "SET maintenance_work_mem = '256MB'",
};

const SQLITE_TUNING: Tuning = Tuning {
    index_catalog: "SELECT name, sql AS definition FROM sqlite_master \
        WHERE type = 'index' AND tbl_name IN ('jobs', 'job_inputs') AND sql IS NOT NULL",
    setup: "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
        PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY;",
};

/// A secondary index as the catalog describes it.
#[derive(diesel::QueryableByName)]
struct IndexDef {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    definition: String,
}

/// Why a seed run failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The options cannot produce data.
    #[error("{0}")]
    Invalid(&'static str),
    /// The database failed (nothing of the failing batch was written).
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Seeds `opts` into the (migrated) database at `url`.
pub async fn seed(url: &DatabaseUrl, opts: SeedOptions) -> Result<SeedReport, SeedError> {
    if opts.jobs > 0 && (opts.accounts == 0 || opts.users < opts.accounts) {
        return Err(SeedError::Invalid(
            "seeding jobs needs at least one account and at least one user per account",
        ));
    }
    let url = url.clone();
    let loaded = tokio::task::spawn_blocking(move || match &url {
        DatabaseUrl::Postgres(url) => {
            let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url)
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
            pg::run(&mut conn, &opts)
        }
        DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path)
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
            sqlite::run(&mut conn, &opts)
        }
    })
    .await
    .map_err(|e| DbError::Unavailable(format!("seed task failed: {e}")))?;
    Ok(loaded?)
}

/// The loader, written once and compiled for each backend's synchronous connection type.
macro_rules! loader {
    ($module:ident, $conn:ty, $tuning:expr, write_transaction: $write_tx:ident, job_rows: $job_rows:literal, input_rows: $input_rows:literal) => {
        mod $module {
            use super::*;

            type Conn = $conn;
            const TUNING: Tuning = $tuning;
            const JOB_ROWS: usize = $job_rows;
            const INPUT_ROWS: usize = $input_rows;

            pub(super) fn run(conn: &mut Conn, opts: &SeedOptions) -> Result<SeedReport, DbError> {
                let started = Instant::now();
                diesel::connection::SimpleConnection::batch_execute(conn, TUNING.setup)?;
                let catalogue = ensure_catalogue(conn)?;
                let existing_accounts: i64 = accounts::table.count().get_result(conn)?;
                let existing_users: i64 = users::table.count().get_result(conn)?;
                let existing_jobs: i64 = jobs::table.count().get_result(conn)?;
                let salt = ((existing_accounts as u64) << 40)
                    ^ ((existing_users as u64) << 20)
                    ^ existing_jobs as u64;
                let mut generator = Generator::new(opts.seed, salt, opts.now);
                let submitters = conn.$write_tx(|conn| {
                    create_people(
                        conn,
                        &mut generator,
                        existing_accounts,
                        existing_users,
                        opts,
                    )
                })?;
                let inputs = if opts.jobs as i64 >= existing_jobs.max(1) {
                    // Loading at least as many jobs as there are: building the indexes once at
                    // the end beats maintaining them row by row (~3x on SQLite). One transaction,
                    // so an interrupted load leaves the database as it was, indexes included.
                    conn.$write_tx(|conn| {
                        let indexes: Vec<IndexDef> =
                            diesel::sql_query(TUNING.index_catalog).load(conn)?;
                        for index in &indexes {
                            diesel::sql_query(format!("DROP INDEX {}", index.name))
                                .execute(conn)?;
                        }
                        let inputs =
                            load_jobs(conn, generator, &submitters, &catalogue, opts, false)?;
                        for index in &indexes {
                            diesel::sql_query(&index.definition).execute(conn)?;
                        }
                        Ok::<_, DbError>(inputs)
                    })?
                } else {
                    load_jobs(conn, generator, &submitters, &catalogue, opts, true)?
                };
                if opts.jobs > 0 {
                    // Fresh statistics for the planner after a bulk load (SQLite has none
                    // until asked; PostgreSQL's autovacuum would get there later). 2 s at 1M.
                    diesel::sql_query("ANALYZE").execute(conn)?;
                }
                Ok(SeedReport {
                    accounts: opts.accounts,
                    users: opts.users,
                    jobs: opts.jobs,
                    inputs,
                    elapsed: started.elapsed(),
                })
            }

            /// Adds the catalogue models that are missing; returns the whole catalogue.
            fn ensure_catalogue(conn: &mut Conn) -> QueryResult<Vec<Model>> {
                let rows: Vec<NewModel> = catalogue::MODELS
                    .iter()
                    .flat_map(|(name, identifier, versions)| {
                        versions.iter().map(move |v| NewModel {
                            identifier: identifier.to_string(),
                            version: v.to_string(),
                            name: name.to_string(),
                        })
                    })
                    .collect();
                for row in &rows {
                    // One by one: SQLite cannot combine a multi-row insert with ON CONFLICT.
                    diesel::insert_into(models::table)
                        .values(row)
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                }
                models::table
                    .order(models::id)
                    .select(Model::as_select())
                    .load(conn)
            }

            /// Creates the accounts, users and one `user` key per user.
            fn create_people(
                conn: &mut Conn,
                generator: &mut Generator,
                existing_accounts: i64,
                existing_users: i64,
                opts: &SeedOptions,
            ) -> QueryResult<Vec<Submitter>> {
                let new_accounts: Vec<_> = (0..opts.accounts)
                    .map(|i| generator.account(existing_accounts as usize + i))
                    .collect();
                let account_ids: Vec<AccountId> = diesel::insert_into(accounts::table)
                    .values(&new_accounts)
                    .returning(accounts::id)
                    .get_results(conn)?;
                let mut submitters = Vec::with_capacity(opts.users);
                for chunk in (0..opts.users).collect::<Vec<_>>().chunks(1_000) {
                    let rows: Vec<_> = chunk
                        .iter()
                        .map(|&i| {
                            generator.user(
                                existing_users as usize + i,
                                account_ids[i % account_ids.len()],
                            )
                        })
                        .collect();
                    let created: Vec<(UserId, AccountId)> = diesel::insert_into(users::table)
                        .values(&rows)
                        .returning((users::id, users::account_id))
                        .get_results(conn)?;
                    let now = crate::db::now();
                    let keys: Vec<_> = created
                        .iter()
                        .map(|&(user_id, account_id)| {
                            let key = IssuedKey::generate();
                            submitters.push(Submitter {
                                user_id,
                                account_id,
                                key_prefix: key.prefix.clone(),
                            });
                            key.to_row(user_id, account_id, Role::User, now)
                        })
                        .collect();
                    diesel::insert_into(api_keys::table)
                        .values(&keys)
                        .execute(conn)?;
                }
                Ok(submitters)
            }

            /// Generates jobs on a second thread and writes them batch by batch.
            fn load_jobs(
                conn: &mut Conn,
                mut generator: Generator,
                submitters: &[Submitter],
                catalogue: &[Model],
                opts: &SeedOptions,
                transaction_per_batch: bool,
            ) -> Result<u64, DbError> {
                let bar = progress_bar(opts);
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<GeneratedJob>>(2);
                let n = opts.jobs;
                std::thread::scope(|scope| {
                    scope.spawn(move || {
                        let mut k = 0;
                        while k < n {
                            let end = (k + JOBS_PER_TX as u64).min(n);
                            let batch = (k..end)
                                .map(|k| generator.job(k, n, submitters, catalogue))
                                .collect();
                            if tx.send(batch).is_err() {
                                return; // the loader stopped on an error
                            }
                            k = end;
                        }
                    });
                    let mut inputs = 0;
                    // Rollup counts go with their batch's transaction; in one big transaction
                    // they are written once at the end (fewer upserts than batch by batch).
                    let mut daily = crate::db::rollup::Tally::default();
                    for batch in rx {
                        let len = batch.len() as u64;
                        inputs += if transaction_per_batch {
                            conn.$write_tx(|conn| {
                                let n = insert_batch(conn, batch, &mut daily)?;
                                write_daily(conn, &mut daily)?;
                                QueryResult::Ok(n)
                            })?
                        } else {
                            insert_batch(conn, batch, &mut daily)?
                        };
                        bar.inc(len);
                    }
                    write_daily(conn, &mut daily)?;
                    bar.finish_and_clear();
                    Ok(inputs)
                })
            }

            /// Adds the gathered rollup counts to `job_counts` and forgets them.
            fn write_daily(
                conn: &mut Conn,
                daily: &mut crate::db::rollup::Tally,
            ) -> QueryResult<()> {
                for upsert in daily.drain() {
                    diesel::query_dsl::methods::ExecuteDsl::execute(upsert, conn)?;
                }
                Ok(())
            }

            /// Inserts one batch of jobs (counting them into the rollup's `daily`), then
            /// their inputs; returns the number of inputs.
            fn insert_batch(
                conn: &mut Conn,
                batch: Vec<GeneratedJob>,
                daily: &mut crate::db::rollup::Tally,
            ) -> QueryResult<u64> {
                let (jobs, per_job): (Vec<NewJob>, Vec<Vec<NewJobInput>>) =
                    batch.into_iter().map(|g| (g.job, g.inputs)).unzip();
                let mut inputs: Vec<NewJobInput> = Vec::with_capacity(per_job.len() * 3);
                for (rows, row_inputs) in jobs.chunks(JOB_ROWS).zip(per_job.chunks(JOB_ROWS)) {
                    let insert = diesel::insert_into(jobs::table);
                    let returning = (jobs::job_identifier, jobs::id);
                    let ids: HashMap<String, JobId> = match <&[NewJob; JOB_ROWS]>::try_from(rows) {
                        Ok(full) => insert.values(full).returning(returning).get_results(conn)?,
                        Err(_) => insert.values(rows).returning(returning).get_results(conn)?,
                    }
                    .into_iter()
                    .collect();
                    for (job, job_inputs) in rows.iter().zip(row_inputs) {
                        let job_id = ids[&job.job_identifier];
                        inputs.extend(
                            job_inputs
                                .iter()
                                .cloned()
                                .map(|i| NewJobInput { job_id, ..i }),
                        );
                    }
                }
                for job in &jobs {
                    use crate::db::rollup::{Cell, Counts};
                    let cell = Cell::new(
                        job.created_at,
                        job.model_id,
                        job.explain,
                        job.image_classification_model,
                    );
                    daily.add(job.account_id, cell, Counts::of(job.status));
                }
                for rows in inputs.chunks(INPUT_ROWS) {
                    let insert = diesel::insert_into(job_inputs::table);
                    match <&[NewJobInput; INPUT_ROWS]>::try_from(rows) {
                        Ok(full) => insert.values(full).execute(conn)?,
                        Err(_) => insert.values(rows).execute(conn)?,
                    };
                }
                Ok(inputs.len() as u64)
            }
        }
    };
}

// Write transactions on SQLite begin as writers (`BEGIN IMMEDIATE`), like the server's
// (`crate::db::Db::write`): a seed next to a running server queues for the write lock
// instead of failing when the server commits between the seed's first read and its first write.
loader!(pg, AsyncConnectionWrapper<AsyncPgConnection>, PG_TUNING, write_transaction: transaction, job_rows: 1000, input_rows: 3000);
loader!(sqlite, diesel::SqliteConnection, SQLITE_TUNING, write_transaction: immediate_transaction, job_rows: 100, input_rows: 300);
fn progress_bar(opts: &SeedOptions) -> ProgressBar {
    if !opts.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(opts.jobs);
    bar.set_style(
        ProgressStyle::with_template(
            "seeding {bar:40} {human_pos}/{human_len} jobs, {per_sec}, eta {eta}",
        )
        .expect("static template"),
    );
    bar
}
