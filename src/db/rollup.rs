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
//!
//! Each row also keeps the span of `updated_at` of its jobs in a final status ([`Span`]): a
//! final status, and that job's update time, never change again, so the span only widens, in
//! the same upsert. With the live spans of the few jobs stored as pending, they bound the update
//! times a creation range holds ([`super::update_span`]).
//!
//! `user_job_counts` holds the same counts per submitting user (and account) over the user's
//! whole history, for counts whose only conditions are users and statuses. A bump writes the
//! user's row last, after the two `job_counts` rows.

use chrono::NaiveDateTime;
use diesel::dsl::case_when;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::sqlite::Sqlite;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use super::batch::Batch;
use super::cached::CacheDsl;
use super::daily::day_of;
use super::models::Job;
use super::schema::{job_counts, user_job_counts};
use super::{DbError, Tx};
use crate::domain::{AccountId, JobStatus, ModelId, Scope, UserId};

/// The `account_id` of the rows that sum every account.
pub const ALL_ACCOUNTS: AccountId = AccountId(0);

/// Rows one cell's live writes are spread over (`slot` = job id modulo this): PostgreSQL holds
/// an updated row's lock until the commit's WAL flush, so with a single row per cell every
/// transaction finishing a job of the same account, day and model waited for the previous
/// one's flush (reportInputResult at concurrency 32 lost 45 % of its throughput). Readers sum
/// every slot; [`compact`] folds past days back into slot 0.
pub const SLOTS: i64 = 16;

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

/// A statement that runs on either backend's connection, async or sync (an [`upsert`]).
pub trait Upsert: QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send + 'static {}
impl<T: QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send + 'static> Upsert for T {}

/// The earliest and latest `updated_at` of some jobs in a final status (`job_counts`'
/// `final_updated_min` and `final_updated_max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The earliest.
    pub first: NaiveDateTime,
    /// The latest.
    pub last: NaiveDateTime,
}

impl Span {
    /// The span of one job updated at `t`.
    pub fn at(t: NaiveDateTime) -> Self {
        Self { first: t, last: t }
    }

    /// The span of a job with `status` updated at `updated_at`, for the rollup: its update
    /// time when its status is final, nothing while it is pending (its update time still moves).
    pub fn of(status: JobStatus, updated_at: NaiveDateTime) -> Option<Self> {
        (!status.is_pending()).then(|| Self::at(updated_at))
    }

    /// The span covering both, either, or neither.
    pub fn union(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(a), Some(b)) => Some(Self {
                first: a.first.min(b.first),
                last: a.last.max(b.last),
            }),
            (a, b) => a.or(b),
        }
    }
}

/// What a `job_counts` row gathers: counts and the span of final updates.
type CellSum = (Counts, Option<Span>);

/// Counts of many jobs gathered before they are written (the seeder's batches): each job is
/// added to its account's row, to the all-accounts row and to its user's row.
#[derive(Debug, Default)]
pub struct Tally {
    cells: std::collections::BTreeMap<(bool, AccountId, Cell), CellSum>,
    people: std::collections::BTreeMap<(UserId, AccountId), Counts>,
}

impl Tally {
    /// Adds a job of `account` submitted by `user` in `cell` with `counts`, and its final
    /// update's `span` (`None` while it is pending, [`Span::of`]).
    pub fn add(
        &mut self,
        account: AccountId,
        user: UserId,
        cell: Cell,
        counts: Counts,
        span: Option<Span>,
    ) {
        for a in [account, ALL_ACCOUNTS] {
            self.add_row(a, cell, counts, span);
        }
        self.people.entry((user, account)).or_default().add(counts);
    }

    /// Adds `counts` and `span` to the one row of `account` (or of every account) in `cell`,
    /// keyed so accounts' rows drain before the all-accounts rows.
    fn add_row(&mut self, account: AccountId, cell: Cell, counts: Counts, span: Option<Span>) {
        let row = self
            .cells
            .entry((account == ALL_ACCOUNTS, account, cell))
            .or_default();
        row.0.add(counts);
        row.1 = Span::union(row.1, span);
    }

    /// The upserts that write the gathered `job_counts`, emptying them: every account's rows
    /// before the all-accounts rows, each in key order, as every writer locks them. Then
    /// write [`Self::drain_people`].
    pub fn drain(&mut self) -> impl Iterator<Item = impl Upsert> {
        std::mem::take(&mut self.cells)
            .into_iter()
            .map(|((_, account, cell), (n, span))| upsert(account, cell, 0, n, span))
    }

    /// The upserts that write the gathered `user_job_counts`, emptying them, in key order.
    pub fn drain_people(&mut self) -> impl Iterator<Item = impl Upsert> {
        std::mem::take(&mut self.people)
            .into_iter()
            .map(|((user, account), n)| upsert_person(user, account, 0, n))
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

/// The five count columns of a rollup table `$t` (`job_counts`, `user_job_counts`): set to the
/// [`Counts`] `$n` (an insert's values), or, with `+`, increased by the proposed row's (an
/// upsert's update).
macro_rules! counts {
    ($t:ident, $n:expr) => {
        (
            $t::created.eq($n.created),
            $t::completed.eq($n.completed),
            $t::canceled.eq($n.canceled),
            $t::timedout.eq($n.timedout),
            $t::error.eq($n.error),
        )
    };
    ($t:ident, +) => {
        (
            $t::created.eq($t::created + excluded($t::created)),
            $t::completed.eq($t::completed + excluded($t::completed)),
            $t::canceled.eq($t::canceled + excluded($t::canceled)),
            $t::timedout.eq($t::timedout + excluded($t::timedout)),
            $t::error.eq($t::error + excluded($t::error)),
        )
    };
}

/// `$col` widened to the proposed row's value in an upsert's update: the proposed value when
/// it lies `$beyond` the stored one or nothing is stored, else the stored one (a proposed NULL
/// compares as unknown and keeps it). A `CASE` rather than `GREATEST`/`max()`, which the two
/// backends spell differently and treat NULL differently.
macro_rules! widened {
    ($col:expr, $beyond:ident) => {
        $col.eq(case_when(
            excluded($col).$beyond($col).or($col.is_null()),
            excluded($col),
        )
        .otherwise($col))
    };
}

/// `INSERT … ON CONFLICT DO UPDATE` adding `n` to the row of `account`, `cell` and `slot`, and
/// widening its span of final updates to `span`: one statement text whatever the amounts
/// (they are bound), runnable on either backend's connection, async or sync (the seeder's).
pub fn upsert(
    account: AccountId,
    cell: Cell,
    slot: i32,
    n: Counts,
    span: Option<Span>,
) -> impl QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send + 'static {
    use job_counts::dsl as t;
    diesel::insert_into(job_counts::table)
        .values((
            t::account_id.eq(account),
            t::day.eq(cell.day),
            t::model_id.eq(cell.model_id),
            t::explain.eq(cell.explain),
            t::image_classification_model.eq(cell.image_classification_model),
            t::slot.eq(slot),
            counts!(t, n),
            t::final_updated_min.eq(span.map(|s| s.first)),
            t::final_updated_max.eq(span.map(|s| s.last)),
        ))
        .on_conflict((
            t::account_id,
            t::day,
            t::model_id,
            t::explain,
            t::image_classification_model,
            t::slot,
        ))
        .do_update()
        .set((
            counts!(t, +),
            widened!(t::final_updated_min, lt),
            widened!(t::final_updated_max, gt),
        ))
        .cached()
}

/// `INSERT … ON CONFLICT DO UPDATE` adding `n` to the `user_job_counts` row of `user`,
/// `account` and `slot`, as [`upsert`] does for `job_counts`.
pub fn upsert_person(
    user: UserId,
    account: AccountId,
    slot: i32,
    n: Counts,
) -> impl QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send + 'static {
    use user_job_counts::dsl as t;
    diesel::insert_into(user_job_counts::table)
        .values((
            t::user_id.eq(user),
            t::account_id.eq(account),
            t::slot.eq(slot),
            counts!(t, n),
        ))
        .on_conflict((t::user_id, t::account_id, t::slot))
        .do_update()
        .set(counts!(t, +))
        .cached()
}

/// Adds to `batch` the upserts adding `n` to `job`'s rows, its account's and every account's
/// (in that order), then its user's, in the slot its id picks; the two `job_counts` rows'
/// spans widen to `span`.
fn bump(batch: &mut Batch, job: &Job, n: Counts, span: Option<Span>) {
    let (cell, slot) = (
        Cell::of(job),
        i32::try_from(job.id.0.rem_euclid(SLOTS)).unwrap_or(0),
    );
    batch.push(upsert(job.account_id, cell, slot, n, span));
    batch.push(upsert(ALL_ACCOUNTS, cell, slot, n, span));
    batch.push(upsert_person(job.user_id, job.account_id, slot, n));
}

/// Adds to `batch` the upserts counting `job`, just inserted, as created. Run the batch in
/// the insert's transaction.
pub fn bump_created(batch: &mut Batch, job: &Job) {
    bump(batch, job, Counts::CREATED, None);
}

/// Adds to `batch` the upserts counting `job`, just changed to its final status, under that
/// status, and widening its cell's span to its update time; nothing for a job still pending.
/// Run the batch in the change's transaction.
pub fn bump_final(batch: &mut Batch, job: &Job) {
    if !job.status.is_pending() {
        bump(
            batch,
            job,
            Counts::finished(job.status),
            Span::of(job.status, job.updated_at),
        );
    }
}

/// One `job_counts` row as [`compact`] reads it: its key (slot last) and its counts.
type Row = ((AccountId, Cell, i32), Counts);

/// Folds the slots of the days before `before_day` into slot 0, at most `limit` rows per call:
/// the rows read are deleted (each by its whole key) and their sums added to slot 0. Call in
/// a write transaction; returns how many rows it removed. Readers sum every slot, so no count
/// changes, at any moment.
pub async fn compact(tx: &mut Tx<'_>, before_day: i32, limit: i64) -> Result<usize, DbError> {
    use job_counts::dsl as t;
    type Read = (
        AccountId,
        i32,
        ModelId,
        bool,
        bool,
        i32,
        i32,
        i32,
        i32,
        i32,
        i32,
    );
    let read: Vec<Read> = crate::on_backend!(tx.conn(), c => {
        t::job_counts
            .filter(t::slot.ne(0))
            .filter(t::day.lt(before_day))
            .select((
                t::account_id,
                t::day,
                t::model_id,
                t::explain,
                t::image_classification_model,
                t::slot,
                t::created,
                t::completed,
                t::canceled,
                t::timedout,
                t::error,
            ))
            .limit(limit)
            .load(c)
            .await?
    });
    let mut rows: Vec<Row> = read
        .into_iter()
        .map(
            |(a, day, model_id, explain, image, slot, n0, n1, n2, n3, n4)| {
                let cell = Cell {
                    day,
                    model_id,
                    explain,
                    image_classification_model: image,
                };
                let n = Counts {
                    created: n0,
                    completed: n1,
                    canceled: n2,
                    timedout: n3,
                    error: n4,
                };
                ((a, cell, slot), n)
            },
        )
        .collect();
    // Deleted in the writers' lock order too: accounts' rows, then the all-accounts rows.
    rows.sort_by_key(|&((account, cell, slot), _)| (account == ALL_ACCOUNTS, account, cell, slot));
    let mut sums = Tally::default();
    for &((account, cell, slot), _) in &rows {
        // The counts the delete removed, not those read above: a job finishing in between
        // (PostgreSQL) added to the row, and its count must move to slot 0 too.
        type Taken = (
            i32,
            i32,
            i32,
            i32,
            i32,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        );
        let taken: Option<Taken> = crate::on_backend!(tx.conn(), c => {
            diesel::delete(job_counts::table.find((
                account,
                cell.day,
                cell.model_id,
                cell.explain,
                cell.image_classification_model,
                slot,
            )))
            .returning((
                t::created,
                t::completed,
                t::canceled,
                t::timedout,
                t::error,
                t::final_updated_min,
                t::final_updated_max,
            ))
            .get_result(c)
            .await
            .optional()?
        });
        if let Some((created, completed, canceled, timedout, error, first, last)) = taken {
            let n = Counts {
                created,
                completed,
                canceled,
                timedout,
                error,
            };
            let span = first.zip(last).map(|(first, last)| Span { first, last });
            sums.add_row(account, cell, n, span);
        }
    }
    for upsert in sums.drain() {
        crate::on_backend!(tx.conn(), c => upsert.execute(c).await?);
    }
    Ok(rows.len())
}
