//! Job lifecycle writes: submit, cancel, start, report an input's result, and the timeout
//! sweep. Each is one transaction begun as a writer ([`Db::write`](super::Db::write): on SQLite
//! `BEGIN IMMEDIATE`, so concurrent writers queue for the lock instead of failing, even
//! `submit`, whose first statement reads the model). Cancel, start and report change the job
//! by one conditional `UPDATE … WHERE status … RETURNING`, atomic under any concurrency:
//! counters move by `pending = pending - 1` in the database, never by read-modify-write, and
//! the table's CHECK keeps `total = pending + completed + failed`.
//!
//! Each write returns the job row as it committed it, so the caller answers and publishes
//! from it without reading the job again.
//!
//! **The rule for writes that must be atomic**: a data function that writes more than one
//! statement (`submit`, `cancel`, `start`, `report` here, and
//! [`super::people::find_or_create_owner`]) takes the transaction as `tx: &mut Tx<'_>`, which
//! only [`Db::write`](super::Db::write) makes, so a call outside one does not compile; it
//! opens no transaction of its own.
//! So several of them can share one transaction, and each request's statements stay what they
//! were (no `SAVEPOINT`s; SQLite's `BEGIN IMMEDIATE` cannot nest anyway). The timeout sweep
//! is [`overdue`] (a read) and then [`time_out`] per job, each in its own transaction, so a
//! long sweep holds no lock for long.
//!
//! Each write also moves the rollups in its transaction: `job_counts` ([`super::rollup`]) counts
//! a job inserted as created and a job reaching a final status under that status; `job_stats`
//! ([`super::statistics::rollup`]) adds a job's figures once, when it reaches its final status
//! (one statement). The rollups' rows are written last, after the job's, always `job_counts`
//! before `job_stats`, so a transaction holds those shared rows only until commit.
//!
//! **What a write costs** (issue 13 measured it): every statement a write sends is kept
//! prepared ([`super::cached`]); a job row is written once per transition — the queue and
//! elapsed times are computed by the transition's own `UPDATE` ([`super::millis`]), and the
//! report that takes the last pending input also sets the final status there — because every
//! new version of a row writes an entry in each of the table's indexes; and the statements
//! nothing reads back (a new job's inputs, the rollups' upserts) go as one
//! [`Batch`], pipelined on PostgreSQL.

use chrono::NaiveDateTime;
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::Integer;
use diesel_async::RunQueryDsl;

use super::batch::Batch;
use super::cached::CacheDsl;
use super::millis::millis_since;
use super::models::{Job, NewJob, NewJobInput};
use super::schema::{job_inputs, jobs, models};
use super::{Conn, DbError, Tx, rollup, statistics};
use crate::domain::{AccountId, InputStatus, JobId, JobStatus, ModelId, Scope, UserId};

/// Why a lifecycle change was refused. Nothing was written when it is returned.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// No such model (identifier and version) in the catalogue.
    #[error("no model {identifier} version {version} in the catalogue")]
    UnknownModel {
        /// Model identifier asked for.
        identifier: String,
        /// Version asked for.
        version: String,
    },
    /// No such job visible to the caller.
    #[error("no job with identifier {0}")]
    JobNotFound(String),
    /// The job is not in a status this change applies to.
    #[error("cannot {action} a job that is {status}; only {allowed} jobs can be")]
    WrongStatus {
        /// What was attempted.
        action: &'static str,
        /// The job's (effective) status.
        status: &'static str,
        /// Which statuses allow it.
        allowed: &'static str,
    },
    /// The job has no input with that name.
    #[error("job {job} has no input named {input:?}")]
    InputNotFound {
        /// Job identifier.
        job: String,
        /// Input name.
        input: String,
    },
    /// The input's result was already reported.
    #[error("input {input:?} of job {job} was already reported as {status}")]
    AlreadyReported {
        /// Job identifier.
        job: String,
        /// Input name.
        input: String,
        /// Its status.
        status: &'static str,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for LifecycleError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Who submits a job: the job is written into this account.
#[derive(Clone, Debug)]
pub struct Submitter {
    /// The submitter's account.
    pub account_id: AccountId,
    /// The submitting user.
    pub user_id: UserId,
    /// The key prefix (`submittedBy`).
    pub key_prefix: String,
}

/// A job to submit (validated by the caller: inputs non-empty with unique names).
#[derive(Clone, Debug)]
pub struct JobSpec {
    /// Model identifier.
    pub model_identifier: String,
    /// Model version.
    pub model_version: String,
    /// (name, byte amount) per input, in order.
    pub inputs: Vec<(String, i64)>,
    /// Explanation requested.
    pub explain: bool,
    /// Timeout in ms.
    pub timeout_ms: Option<i64>,
    /// Image classification model.
    pub image_classification_model: bool,
}

/// Outcome of one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Processed.
    Completed,
    /// Failed.
    Failed,
}

/// A job the sweeper recorded as TIMEDOUT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut {
    /// The job's account.
    pub account_id: AccountId,
    /// The job.
    pub job_id: JobId,
}

fn effective(job: &Job, now: NaiveDateTime) -> JobStatus {
    if job.status.is_pending() && job.deadline_at.is_some_and(|d| d <= now) {
        JobStatus::Timedout
    } else {
        job.status
    }
}

/// The `account_id` bounds of `scope` for the transitions' `BETWEEN`: one statement text
/// serves both kinds of scope (the whole id range for [`Scope::All`]).
fn account_bounds(scope: Scope) -> (AccountId, AccountId) {
    match scope {
        Scope::Account(a) => (a, a),
        Scope::All => (AccountId(i64::MIN), AccountId(i64::MAX)),
    }
}

/// Why a transition that matched nothing was refused: `NOT_FOUND` when the job is not
/// visible (`found` is `None`), else the job's effective status in a `WrongStatus`.
fn refusal(
    found: Option<Job>,
    identifier: &str,
    now: NaiveDateTime,
    action: &'static str,
    allowed: &'static str,
) -> LifecycleError {
    match found {
        None => LifecycleError::JobNotFound(identifier.to_string()),
        Some(job) => LifecycleError::WrongStatus {
            action,
            status: effective(&job, now).as_str(),
            allowed,
        },
    }
}

/// The job `$identifier` visible in `$scope`, as a `QueryResult<Option<Job>>`. A macro: it
/// runs on either backend's connection type (see [`crate::on_backend!`]).
macro_rules! find_visible {
    ($conn:expr, $scope:expr, $identifier:expr) => {{
        let mut q = jobs::table
            .filter(jobs::job_identifier.eq($identifier.to_string()))
            .select(Job::as_select())
            .into_boxed();
        if let Some(account) = Scope::account($scope) {
            q = q.filter(jobs::account_id.eq(account));
        }
        q.first::<Job>($conn).await.optional()
    }};
}

/// Applies a transition to the job `$identifier` when it is visible in `$scope`, its stored
/// status passes `$status`, and its deadline is ahead: one conditional `UPDATE … RETURNING`,
/// as a `QueryResult<Option<Job>>` (`None` when nothing matched). A macro: it runs on either
/// backend's connection type (see [`crate::on_backend!`]).
macro_rules! transition {
    ($conn:expr, $identifier:expr, $scope:expr, $now:expr, $status:expr, $set:expr) => {{
        let (lo, hi) = account_bounds($scope);
        diesel::update(
            jobs::table
                .filter(jobs::job_identifier.eq($identifier))
                .filter($status)
                .filter(jobs::deadline_at.is_null().or(jobs::deadline_at.gt($now)))
                .filter(jobs::account_id.between(lo, hi)),
        )
        .set($set)
        .returning(Job::as_returning())
        .cached()
        .get_result::<Job>($conn)
        .await
        .optional()
    }};
}

/// The row of a new SUBMITTED job with every input pending.
fn new_job(who: &Submitter, spec: &JobSpec, model_id: ModelId, now: NaiveDateTime) -> NewJob {
    let total = i32::try_from(spec.inputs.len()).unwrap_or(i32::MAX);
    // Validated by the caller to fit; saturating rather than panicking or wrapping regardless.
    let bytes = spec
        .inputs
        .iter()
        .fold(0_i64, |sum, (_, b)| sum.saturating_add(*b));
    NewJob {
        job_identifier: uuid::Uuid::new_v4().to_string(),
        account_id: who.account_id,
        user_id: who.user_id,
        submitted_by: who.key_prefix.clone(),
        model_id,
        status: JobStatus::Submitted,
        explain: spec.explain,
        image_classification_model: spec.image_classification_model,
        timeout_ms: spec.timeout_ms,
        deadline_at: spec
            .timeout_ms
            .map(|ms| now + chrono::Duration::milliseconds(ms)),
        total,
        pending: total,
        completed: 0,
        failed: 0,
        input_byte_amount: bytes,
        created_at: now,
        updated_at: now,
        submitted_at: now,
        started_at: None,
        finished_at: None,
        queue_ms: None,
        elapsed_ms: None,
    }
}

/// The rows of a new job's inputs, all pending.
fn new_inputs(job_id: JobId, spec: &JobSpec) -> impl Iterator<Item = NewJobInput> + '_ {
    spec.inputs
        .iter()
        .enumerate()
        .map(move |(position, (name, byte_amount))| NewJobInput {
            job_id,
            position: i32::try_from(position).unwrap_or(i32::MAX),
            name: name.clone(),
            status: InputStatus::Pending,
            byte_amount: *byte_amount,
            started_at: None,
            finished_at: None,
            error_message: None,
        })
}

/// Creates a SUBMITTED job with its inputs in the submitter's account; returns the new row.
pub async fn submit(
    tx: &mut Tx<'_>,
    who: &Submitter,
    spec: &JobSpec,
    now: NaiveDateTime,
) -> Result<Job, LifecycleError> {
    let job = crate::on_backend!(tx.conn(), c => {
        let model_id = models::table
            .filter(models::identifier.eq(&spec.model_identifier))
            .filter(models::version.eq(&spec.model_version))
            .select(models::id)
            .first::<ModelId>(c)
            .await
            .optional()?
            .ok_or_else(|| LifecycleError::UnknownModel {
                identifier: spec.model_identifier.clone(),
                version: spec.model_version.clone(),
            })?;
        diesel::insert_into(jobs::table)
            .values(&new_job(who, spec, model_id, now))
            .returning(Job::as_returning())
            .cached()
            .get_result::<Job>(c)
            .await?
    });
    // The inputs and the rollup's rows in one batch, the rollup last, so its rows (shared by
    // every job of their day) are locked only until commit.
    let mut batch = Batch::default();
    for input in new_inputs(job.id, spec) {
        batch.push(
            diesel::insert_into(job_inputs::table)
                .values(input)
                .cached(),
        );
    }
    rollup::bump_created(&mut batch, &job);
    batch.run(tx).await?;
    Ok(job)
}

/// Moves both rollups for `job`, just changed: `job_counts` then `job_stats`, in one batch,
/// when it reached its final status; nothing while it is pending.
async fn bump_final(tx: &mut Tx<'_>, job: &Job) -> Result<(), DbError> {
    let mut batch = Batch::default();
    rollup::bump_final(&mut batch, job);
    statistics::rollup::bump_final(&mut batch, job);
    batch.run(tx).await
}

/// SUBMITTED or IN_PROGRESS → CANCELED, for a job visible in `scope`; returns the job as
/// written.
pub async fn cancel(
    tx: &mut Tx<'_>,
    scope: Scope,
    identifier: &str,
    now: NaiveDateTime,
) -> Result<Job, LifecycleError> {
    let job = crate::on_backend!(tx.conn(), c => {
        let set = (
            jobs::status.eq(JobStatus::Canceled),
            jobs::finished_at.eq(Some(now)),
            jobs::updated_at.eq(now),
            jobs::elapsed_ms.eq(millis_since(jobs::started_at, now)), // NULL: never started
        );
        let pending = jobs::status.le(JobStatus::InProgress);
        let Some(job) = transition!(c, identifier, scope, now, pending, set)? else {
            let found = find_visible!(c, scope, identifier)?;
            return Err(refusal(found, identifier, now, "cancel", "SUBMITTED or IN_PROGRESS"));
        };
        job
    });
    bump_final(tx, &job).await?;
    Ok(job)
}

/// SUBMITTED → IN_PROGRESS for a job visible in `scope`; records the start, so `queueTime`
/// is known. Returns the job as written.
pub async fn start(
    tx: &mut Tx<'_>,
    scope: Scope,
    identifier: &str,
    now: NaiveDateTime,
) -> Result<Job, LifecycleError> {
    crate::on_backend!(tx.conn(), c => {
        let set = (
            jobs::status.eq(JobStatus::InProgress),
            jobs::started_at.eq(Some(now)),
            jobs::updated_at.eq(now),
            jobs::queue_ms.eq(millis_since(jobs::submitted_at, now)),
        );
        let submitted = jobs::status.eq(JobStatus::Submitted);
        let Some(job) = transition!(c, identifier, scope, now, submitted, set)? else {
            let found = find_visible!(c, scope, identifier)?;
            return Err(refusal(found, identifier, now, "start", "SUBMITTED"));
        };
        Ok(job)
    })
}

/// Records one input's outcome for a job visible in `scope`; when no input is pending any
/// more the job becomes COMPLETED (ERROR when every input failed), with its elapsed time.
/// Returns the job as written.
pub async fn report(
    tx: &mut Tx<'_>,
    scope: Scope,
    identifier: &str,
    input: &str,
    outcome: Outcome,
    error: Option<&str>,
    now: NaiveDateTime,
) -> Result<Job, LifecycleError> {
    let (done, failed, input_status) = match outcome {
        Outcome::Completed => (1, 0, InputStatus::Completed),
        Outcome::Failed => (0, 1, InputStatus::Failed),
    };
    let job = crate::on_backend!(tx.conn(), c => {
        // The counters move atomically in the database (this also locks the job row, so
        // concurrent reports on one job queue here); the report that takes the last pending
        // input (`pending = 1` before it) also sets the final status — ERROR when no input
        // completed — and the elapsed time, in the same statement.
        let last = jobs::pending.eq(1);
        let none_completed = (jobs::completed + done).eq(0);
        let status = case_when::<_, _, Integer>(last.and(none_completed), JobStatus::Error)
            .when(last, JobStatus::Completed.into_sql::<Integer>())
            .otherwise(jobs::status);
        let elapsed = case_when(last, millis_since(jobs::started_at, now));
        let set = (
            jobs::pending.eq(jobs::pending - 1),
            jobs::completed.eq(jobs::completed + done),
            jobs::failed.eq(jobs::failed + failed),
            jobs::updated_at.eq(now),
            jobs::status.eq(status),
            jobs::finished_at.eq(case_when(last, Some(now)).otherwise(jobs::finished_at)),
            jobs::elapsed_ms.eq(elapsed.otherwise(jobs::elapsed_ms)),
        );
        let running = jobs::status.eq(JobStatus::InProgress).and(jobs::pending.gt(0));
        let Some(job) = transition!(c, identifier, scope, now, running, set)? else {
            let found = find_visible!(c, scope, identifier)?;
            return Err(refusal(found, identifier, now, "report results for", "IN_PROGRESS"));
        };
        let reported = diesel::update(
            job_inputs::table
                .filter(job_inputs::job_id.eq(job.id))
                .filter(job_inputs::name.eq(input))
                .filter(job_inputs::status.eq(InputStatus::Pending)),
        )
        .set((
            job_inputs::status.eq(input_status),
            job_inputs::started_at.eq(job.started_at.or(Some(now))),
            job_inputs::finished_at.eq(Some(now)),
            job_inputs::error_message.eq(error.filter(|_| outcome == Outcome::Failed)),
        ))
        .cached()
        .execute(c)
        .await?;
        if reported == 0 {
            // Rolled back with the counters: the error leaves the transaction.
            let existing: Option<InputStatus> = job_inputs::table
                .filter(job_inputs::job_id.eq(job.id))
                .filter(job_inputs::name.eq(input))
                .select(job_inputs::status)
                .first(c)
                .await
                .optional()?;
            return Err(not_reported(existing, identifier, input));
        }
        job
    });
    bump_final(tx, &job).await?; // nothing while inputs are pending
    Ok(job)
}

/// Why an input's outcome could not be recorded: it was reported already (`existing` is its
/// status), or the job has no such input.
fn not_reported(existing: Option<InputStatus>, job: &str, input: &str) -> LifecycleError {
    let (job, input) = (job.to_string(), input.to_string());
    match existing {
        Some(status) => LifecycleError::AlreadyReported {
            job,
            input,
            status: match status {
                InputStatus::Completed => "COMPLETED",
                InputStatus::Failed => "FAILED",
                InputStatus::Pending => "PENDING",
            },
        },
        None => LifecycleError::InputNotFound { job, input },
    }
}

/// A pending job past its deadline, found by [`overdue`] and recorded by [`time_out`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overdue {
    /// The job.
    pub job_id: JobId,
    /// When it started, if it did.
    pub started_at: Option<NaiveDateTime>,
    /// Its deadline: when it timed out.
    pub deadline_at: NaiveDateTime,
}

/// Up to `limit` jobs stored as pending whose deadline is at or before `now`, in every account
/// (the sweeper acts for no caller).
pub async fn overdue(
    conn: &mut Conn<'_>,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<Overdue>, DbError> {
    type Candidate = (JobId, Option<NaiveDateTime>, Option<NaiveDateTime>);
    let rows: Vec<Candidate> = crate::on_backend!(conn, c => {
        jobs::table
            .filter(jobs::status.le(JobStatus::InProgress))
            .filter(jobs::deadline_at.le(now))
            .select((jobs::id, jobs::started_at, jobs::deadline_at))
            .limit(limit)
            .load(c)
            .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(job_id, started_at, deadline_at)| {
            Some(Overdue {
                job_id,
                started_at,
                deadline_at: deadline_at?,
            })
        })
        .collect())
}

/// Records TIMEDOUT for `job` as of its deadline, with the rollup's count, unless it is no
/// longer pending (another replica's sweeper, or a report, got there first: `None`). Safe
/// with several replicas sweeping at once: the row changes once (`WHERE status <= 1`).
pub async fn time_out(tx: &mut Tx<'_>, job: Overdue) -> Result<Option<TimedOut>, DbError> {
    let at = job.deadline_at;
    let elapsed = job.started_at.map(|s| (at - s).num_milliseconds().max(0));
    let updated: Option<Job> = crate::on_backend!(tx.conn(), c => {
        diesel::update(jobs::table.find(job.job_id).filter(jobs::status.le(JobStatus::InProgress)))
            .set((
                jobs::status.eq(JobStatus::Timedout),
                jobs::finished_at.eq(Some(at)),
                jobs::updated_at.eq(at),
                jobs::elapsed_ms.eq(elapsed),
            ))
            .returning(Job::as_returning())
            .cached()
            .get_result(c)
            .await
            .optional()?
    });
    let Some(job) = updated else {
        return Ok(None);
    };
    bump_final(tx, &job).await?;
    Ok(Some(TimedOut {
        account_id: job.account_id,
        job_id: job.id,
    }))
}
