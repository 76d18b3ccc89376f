//! `job_counts`, the rollup the history's counts are answered from: per account, UTC creation
//! day, model and the two job flags, how many jobs were created and how many of them reached
//! each final status. Every writer moves it in the same transaction as the job it writes:
//! [`bump_created`] with the insert, [`bump_final`] with the change to a final status. Final
//! statuses never change and `created_at` never changes, so a job moves its row's columns
//! twice in its life; pending jobs are not in the rollup (they are few and counted live).
//!
//! Rows with `account_id = 0` ([`ALL_ACCOUNTS`]) sum every account, so an administrator's
//! count reads one row per day and model rather than one per account too. Every bump writes
//! the account's row first and then the all-accounts row, in that order everywhere, so
//! concurrent writers on PostgreSQL lock them in one order and cannot deadlock.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::sqlite::Sqlite;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use super::daily::day_of;
use super::models::Job;
use super::schema::job_counts;
use super::{DbError, Tx};
use crate::domain::{AccountId, JobStatus, ModelId, Scope};

/// The `account_id` of the rows that sum every account.
pub const ALL_ACCOUNTS: AccountId = AccountId(0);

/// The rollup rows a count in `scope` reads: the account's own, or the all-accounts rows.
pub fn rows_of(scope: Scope) -> AccountId {
    scope.account().unwrap_or(ALL_ACCOUNTS)
}

/// Which rollup row a job belongs to, apart from its account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    /// UTC day of `created_at` (days since 1970-01-01).
    pub day: i32,
    /// The job's model.
    pub model_id: ModelId,
    /// The job's `explain` flag.
    pub explain: bool,
    /// The job's `image_classification_model` flag.
    pub image_classification_model: bool,
}

impl Cell {
    /// The cell of `job`.
    pub fn of(job: &Job) -> Self {
        Self::new(
            job.created_at,
            job.model_id,
            job.explain,
            job.image_classification_model,
        )
    }

    /// The cell of a job created at `created_at` with this model and these flags.
    pub fn new(
        created_at: chrono::NaiveDateTime,
        model_id: ModelId,
        explain: bool,
        image_classification_model: bool,
    ) -> Self {
        Self {
            day: day_of(created_at),
            model_id,
            explain,
            image_classification_model,
        }
    }
}

/// Counts of many jobs gathered before they are written (the seeder's batches): each job is
/// added to its account's row and to the all-accounts row.
#[derive(Debug, Default)]
pub struct Tally(std::collections::BTreeMap<(bool, AccountId, Cell), Counts>);

impl Tally {
    /// Adds a job of `account` in `cell` with `counts`.
    pub fn add(&mut self, account: AccountId, cell: Cell, counts: Counts) {
        for a in [account, ALL_ACCOUNTS] {
            self.0
                .entry((a == ALL_ACCOUNTS, a, cell))
                .or_default()
                .add(counts);
        }
    }

    /// The upserts that write the gathered counts, emptying the tally: every account's rows
    /// before the all-accounts rows, each in key order, as every writer locks them.
    pub fn drain(
        &mut self,
    ) -> impl Iterator<Item = impl QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send + 'static>
    {
        std::mem::take(&mut self.0)
            .into_iter()
            .map(|((_, account, cell), n)| upsert(account, cell, n))
    }
}

/// Amounts added to a rollup row's columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Jobs created.
    pub created: i32,
    /// Jobs that completed.
    pub completed: i32,
    /// Jobs canceled.
    pub canceled: i32,
    /// Jobs that timed out.
    pub timedout: i32,
    /// Jobs that failed.
    pub error: i32,
}

impl Counts {
    /// One job created.
    pub const CREATED: Self = Self {
        created: 1,
        completed: 0,
        canceled: 0,
        timedout: 0,
        error: 0,
    };

    /// One job that reached the final `status`; nothing for a pending status.
    pub fn finished(status: JobStatus) -> Self {
        let mut c = Self::default();
        match status {
            JobStatus::Completed => c.completed = 1,
            JobStatus::Canceled => c.canceled = 1,
            JobStatus::Timedout => c.timedout = 1,
            JobStatus::Error => c.error = 1,
            JobStatus::Submitted | JobStatus::InProgress => {}
        }
        c
    }

    /// The counts of one job as stored now: created, and its final status if it has one.
    pub fn of(status: JobStatus) -> Self {
        Self {
            created: 1,
            ..Self::finished(status)
        }
    }

    /// Adds `other` to these counts.
    pub fn add(&mut self, other: Self) {
        self.created += other.created;
        self.completed += other.completed;
        self.canceled += other.canceled;
        self.timedout += other.timedout;
        self.error += other.error;
    }
}

/// `INSERT … ON CONFLICT DO UPDATE` adding `n` to the row of `account` and `cell`: one
/// statement text whatever the amounts (they are bound), runnable on either backend's
/// connection, async or sync (the seeder's).
pub fn upsert(
    account: AccountId,
    cell: Cell,
    n: Counts,
) -> impl QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send + 'static {
    use job_counts::dsl as t;
    diesel::insert_into(job_counts::table)
        .values((
            t::account_id.eq(account),
            t::day.eq(cell.day),
            t::model_id.eq(cell.model_id),
            t::explain.eq(cell.explain),
            t::image_classification_model.eq(cell.image_classification_model),
            t::created.eq(n.created),
            t::completed.eq(n.completed),
            t::canceled.eq(n.canceled),
            t::timedout.eq(n.timedout),
            t::error.eq(n.error),
        ))
        .on_conflict((
            t::account_id,
            t::day,
            t::model_id,
            t::explain,
            t::image_classification_model,
        ))
        .do_update()
        .set((
            t::created.eq(t::created + excluded(t::created)),
            t::completed.eq(t::completed + excluded(t::completed)),
            t::canceled.eq(t::canceled + excluded(t::canceled)),
            t::timedout.eq(t::timedout + excluded(t::timedout)),
            t::error.eq(t::error + excluded(t::error)),
        ))
}

/// Adds `n` to the rows of `account` and of every account for `cell` (in that order).
async fn bump(tx: &mut Tx<'_>, account: AccountId, cell: Cell, n: Counts) -> Result<(), DbError> {
    crate::on_backend!(tx.conn(), c => {
        upsert(account, cell, n).execute(c).await?;
        upsert(ALL_ACCOUNTS, cell, n).execute(c).await?;
        Ok(())
    })
}

/// Counts `job`, just inserted, as created. Call in the insert's transaction.
pub async fn bump_created(tx: &mut Tx<'_>, job: &Job) -> Result<(), DbError> {
    bump(tx, job.account_id, Cell::of(job), Counts::CREATED).await
}

/// Counts `job`, just changed to its final status, under that status. Call in the change's
/// transaction; nothing for a job still pending.
pub async fn bump_final(tx: &mut Tx<'_>, job: &Job) -> Result<(), DbError> {
    if job.status.is_pending() {
        return Ok(());
    }
    bump(
        tx,
        job.account_id,
        Cell::of(job),
        Counts::finished(job.status),
    )
    .await
}
