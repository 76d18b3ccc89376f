//! `job-history seed`: bulk-loads deterministic demo data (see [`generate`]).
//!
//! The load runs on a blocking thread with sync Diesel over a dedicated connection ([`bulk`]:
//! the statements, per backend). This module is the plan: what to write, in which
//! transactions, whether to rebuild the indexes, the per-day counts and the progress bar. A
//! generator thread produces batches while the loader writes the previous one. Each batch of
//! jobs and their inputs is one transaction (or the whole load is, when it at least doubles
//! the jobs and so rebuilds the indexes): an interrupted seed leaves whole jobs only, and
//! seeding a non-empty database only adds rows.

pub mod bulk;
pub mod catalogue;
pub mod generate;

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::Connection;
use indicatif::{ProgressBar, ProgressStyle};

use crate::db::models::{Model, NewJob, NewJobInput, NewModel};
use crate::db::{DatabaseUrl, Db, DbError};
use crate::domain::Role;
use crate::keys::IssuedKey;
use bulk::{Existing, PgSync, SyncConn};
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

/// Users (and keys) per `INSERT`.
const USERS_PER_STATEMENT: usize = 1_000;

/// The rollups of the jobs loaded, written to `job_counts`, `user_job_counts` and `job_stats`
/// when their transaction ends.
#[derive(Debug, Default)]
struct DayCounts {
    counts: crate::db::rollup::Tally,
    stats: crate::db::statistics::rollup::Tally,
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

/// Seeds `opts` into the (migrated) database `db`, then folds the statistics it wrote into
/// packed values (as the upkeep would, at once).
pub async fn seed(db: &Db, opts: SeedOptions) -> Result<SeedReport, SeedError> {
    if opts.jobs > 0 && (opts.accounts == 0 || opts.users < opts.accounts) {
        return Err(SeedError::Invalid(
            "seeding jobs needs at least one account and at least one user per account",
        ));
    }
    let url = db.url().clone();
    let unavailable = |e: diesel::ConnectionError| DbError::Unavailable(e.to_string());
    let loaded = tokio::task::spawn_blocking(move || match &url {
        DatabaseUrl::Postgres(url) => {
            let mut conn = PgSync::establish(url).map_err(unavailable)?;
            run(&mut SyncConn::Postgres(&mut conn), &opts)
        }
        DatabaseUrl::Sqlite(path) => {
            let mut conn = diesel::SqliteConnection::establish(path).map_err(unavailable)?;
            run(&mut SyncConn::Sqlite(&mut conn), &opts)
        }
    })
    .await
    .map_err(|e| DbError::Unavailable(format!("seed task failed: {e}")))?;
    let mut report = loaded?;
    let folding = Instant::now();
    crate::db::upkeep::compact_statistics(db, crate::db::upkeep::UNITS_PER_LISTING).await?;
    report.elapsed += folding.elapsed();
    Ok(report)
}

/// The whole load on `conn`: models, people, jobs, statistics.
fn run(conn: &mut SyncConn<'_>, opts: &SeedOptions) -> Result<SeedReport, DbError> {
    let started = Instant::now();
    bulk::set_up(conn)?;
    let catalogue = bulk::ensure_models(conn, &catalogue_models())?;
    let existing = bulk::existing(conn)?;
    let mut generator = Generator::new(opts.seed, salt(existing), opts.now);
    let submitters = bulk::write_tx(conn, |conn| {
        create_people(conn, &mut generator, existing, opts)
    })?;
    let load = Load {
        submitters: &submitters,
        catalogue: &catalogue,
        opts,
    };
    let inputs = if rebuilds_indexes(opts.jobs, existing.jobs) {
        // One transaction, so an interrupted load leaves the database as it was, indexes
        // included.
        bulk::write_tx(conn, |conn| {
            let indexes = bulk::secondary_indexes(conn)?;
            for index in &indexes {
                bulk::execute(conn, &format!("DROP INDEX {}", index.name))?;
            }
            let inputs = load.jobs(conn, generator, Commit::AtTheEnd)?;
            for index in &indexes {
                bulk::execute(conn, &index.definition)?;
            }
            Ok(inputs)
        })?
    } else {
        load.jobs(conn, generator, Commit::PerBatch)?
    };
    if opts.jobs > 0 {
        // Fresh statistics for the planner after a bulk load (SQLite has none until asked;
        // PostgreSQL's autovacuum would get there later). 2 s at 1M.
        bulk::execute(conn, "ANALYZE")?;
    }
    Ok(SeedReport {
        accounts: opts.accounts,
        users: opts.users,
        jobs: opts.jobs,
        inputs,
        elapsed: started.elapsed(),
    })
}

/// The generator's salt: the existing row counts, so a second run into the same database adds
/// new identifiers instead of colliding.
fn salt(existing: Existing) -> u64 {
    ((existing.accounts as u64) << 40) ^ ((existing.users as u64) << 20) ^ existing.jobs as u64
}

/// Whether a load of `adding` jobs into a table of `existing` drops the secondary indexes and
/// re-creates them at the end: when it adds at least as many as there are, building them once
/// beats maintaining them row by row (~3x on SQLite).
fn rebuilds_indexes(adding: u64, existing: i64) -> bool {
    adding as i64 >= existing.max(1)
}

/// Every model of the catalogue, one row per version.
fn catalogue_models() -> Vec<NewModel> {
    catalogue::MODELS
        .iter()
        .flat_map(|(name, identifier, versions)| {
            versions.iter().map(move |v| NewModel {
                identifier: identifier.to_string(),
                version: v.to_string(),
                name: name.to_string(),
            })
        })
        .collect()
}

/// Creates the accounts, users and one `user` key per user.
fn create_people(
    conn: &mut SyncConn<'_>,
    generator: &mut Generator,
    existing: Existing,
    opts: &SeedOptions,
) -> Result<Vec<Submitter>, DbError> {
    let new_accounts: Vec<_> = (0..opts.accounts)
        .map(|i| generator.account(existing.accounts as usize + i))
        .collect();
    let account_ids = bulk::insert_accounts(conn, &new_accounts)?;
    let mut submitters = Vec::with_capacity(opts.users);
    for chunk in (0..opts.users)
        .collect::<Vec<_>>()
        .chunks(USERS_PER_STATEMENT)
    {
        let rows: Vec<_> = chunk
            .iter()
            .map(|&i| {
                generator.user(
                    existing.users as usize + i,
                    account_ids[i % account_ids.len()],
                )
            })
            .collect();
        let created = bulk::insert_users(conn, &rows)?;
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
        bulk::insert_keys(conn, &keys)?;
    }
    Ok(submitters)
}

/// When the loaded jobs commit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Commit {
    /// Each batch in its own transaction (with its per-day counts).
    PerBatch,
    /// Inside the caller's transaction; the per-day counts are written once, at the end (fewer
    /// upserts than batch by batch).
    AtTheEnd,
}

/// What the jobs are generated from.
struct Load<'a> {
    submitters: &'a [Submitter],
    catalogue: &'a [Model],
    opts: &'a SeedOptions,
}

impl Load<'_> {
    /// Generates the jobs on a second thread and writes them batch by batch; returns the number
    /// of inputs written.
    fn jobs(
        &self,
        conn: &mut SyncConn<'_>,
        mut generator: Generator,
        commit: Commit,
    ) -> Result<u64, DbError> {
        let bar = progress_bar(self.opts);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<GeneratedJob>>(2);
        let (n, submitters, catalogue) = (self.opts.jobs, self.submitters, self.catalogue);
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
            let mut days = DayCounts::default();
            for batch in rx {
                let len = batch.len() as u64;
                inputs += match commit {
                    Commit::PerBatch => bulk::write_tx(conn, |conn| {
                        let n = insert_batch(conn, batch, &mut days)?;
                        write_days(conn, &mut days)?;
                        Ok(n)
                    })?,
                    Commit::AtTheEnd => insert_batch(conn, batch, &mut days)?,
                };
                bar.inc(len);
            }
            write_days(conn, &mut days)?;
            bar.finish_and_clear();
            Ok(inputs)
        })
    }
}

/// Inserts one batch of jobs (counting them into the rollup's `days`), then their
/// inputs; returns the number of inputs.
fn insert_batch(
    conn: &mut SyncConn<'_>,
    batch: Vec<GeneratedJob>,
    days: &mut DayCounts,
) -> Result<u64, DbError> {
    let (jobs, per_job): (Vec<NewJob>, Vec<Vec<NewJobInput>>) =
        batch.into_iter().map(|g| (g.job, g.inputs)).unzip();
    let ids = bulk::insert_jobs(conn, &jobs)?;
    let mut inputs: Vec<NewJobInput> = Vec::with_capacity(per_job.len() * 3);
    for (job, job_inputs) in jobs.iter().zip(per_job) {
        let job_id = ids[&job.job_identifier];
        inputs.extend(job_inputs.into_iter().map(|i| NewJobInput { job_id, ..i }));
    }
    count_days(&jobs, days);
    bulk::insert_inputs(conn, &inputs)?;
    Ok(inputs.len() as u64)
}

/// Counts `jobs` into the rollup tallies `days`: created, and under their status when final;
/// the figures of those in a final status.
fn count_days(jobs: &[NewJob], days: &mut DayCounts) {
    use crate::db::rollup::{Cell, Counts, Span};
    for job in jobs {
        let cell = Cell::new(
            job.created_at,
            job.model_id,
            job.explain,
            job.image_classification_model,
        );
        let span = Span::of(job.status, job.updated_at);
        days.counts.add(
            job.account_id,
            job.user_id,
            cell,
            Counts::of(job.status),
            span,
        );
        days.stats
            .add(&crate::db::statistics::figures::Point::of_new(job));
    }
}

/// Adds the counted jobs to the rollups and forgets them.
fn write_days(conn: &mut SyncConn<'_>, days: &mut DayCounts) -> Result<(), DbError> {
    bulk::write_tally(conn, &mut days.counts)?;
    Ok(bulk::write_stats(conn, &mut days.stats)?)
}

/// A progress bar of the jobs loaded, hidden unless asked for.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_rebuilt_when_a_load_at_least_doubles_the_jobs() {
        assert!(!rebuilds_indexes(0, 0), "an empty load keeps them");
        assert!(rebuilds_indexes(1, 0));
        assert!(rebuilds_indexes(100, 100));
        assert!(!rebuilds_indexes(99, 100));
    }
}
