//! Job lifecycle writes: submit, cancel, start, report an input's result, and the timeout
//! sweep. Each is one transaction begun as a writer ([`crate::write_transaction!`]: on SQLite
//! `BEGIN IMMEDIATE`, so concurrent writers queue for the lock instead of failing), and whose
//! conditional `UPDATE … WHERE status …` makes the transition atomic under any concurrency:
//! counters move by `pending = pending - 1` in the database, never by read-modify-write, and
//! the table's CHECK keeps `total = pending + completed + failed`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::{Job, NewJob, NewJobInput};
use super::schema::{job_inputs, jobs, models};
use super::{Db, DbError};
use crate::domain::{InputStatus, JobStatus};
use crate::events::JobEvent;

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

/// Who submits a job.
#[derive(Clone, Debug)]
pub struct Submitter {
    /// `accounts.id`.
    pub account_id: i64,
    /// `users.id`.
    pub user_id: i64,
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

fn event(job: &Job) -> JobEvent {
    JobEvent {
        account_id: job.account_id,
        job_id: job.id,
    }
}

fn effective(job: &Job, now: NaiveDateTime) -> JobStatus {
    let stored = JobStatus::from_code(job.status).unwrap_or(JobStatus::Error);
    if stored.is_pending() && job.deadline_at.is_some_and(|d| d <= now) {
        JobStatus::Timedout
    } else {
        stored
    }
}

/// The `account_id` range a caller confined to `scope` may touch (every account for `None`):
/// one `BETWEEN` serves both cases in a single statement.
fn accounts_in(scope: Option<i64>) -> (i64, i64) {
    scope.map_or((i64::MIN, i64::MAX), |a| (a, a))
}

/// The job `$identifier` as a caller confined to `$scope` sees it (expanded per backend).
macro_rules! find_visible {
    ($conn:expr, $scope:expr, $identifier:expr) => {{
        let mut q = jobs::table
            .filter(jobs::job_identifier.eq($identifier.to_string()))
            .select(Job::as_select())
            .into_boxed();
        if let Some(account) = $scope {
            q = q.filter(jobs::account_id.eq(account));
        }
        q.first::<Job>($conn)
            .await
            .optional()?
            .ok_or_else(|| LifecycleError::JobNotFound($identifier.to_string()))
    }};
}

/// Applies a transition to the job `$identifier` when it is visible in `($lo, $hi)`, its stored
/// status passes `$status`, and its deadline is ahead: one conditional `UPDATE … RETURNING`.
/// `None` when nothing matched.
macro_rules! transition {
    ($conn:expr, $identifier:expr, ($lo:expr, $hi:expr), $now:expr, $status:expr, $set:expr) => {
        diesel::update(
            jobs::table
                .filter(jobs::job_identifier.eq($identifier))
                .filter($status)
                .filter(jobs::deadline_at.is_null().or(jobs::deadline_at.gt($now)))
                .filter(jobs::account_id.between($lo, $hi)),
        )
        .set($set)
        .returning(Job::as_returning())
        .get_result::<Job>($conn)
        .await
        .optional()?
    };
}

/// The refusal of a transition that matched nothing: `NOT_FOUND` when the job is not visible,
/// else the job's effective status in a `WrongStatus`.
macro_rules! refuse {
    ($conn:expr, $scope:expr, $identifier:expr, $now:expr, $action:expr, $allowed:expr) => {{
        let job = find_visible!($conn, $scope, $identifier)?;
        return Err(LifecycleError::WrongStatus {
            action: $action,
            status: effective(&job, $now).as_str(),
            allowed: $allowed,
        });
    }};
}

/// Creates a SUBMITTED job with its inputs; returns the new row.
pub async fn submit(
    db: &Db,
    who: &Submitter,
    spec: &JobSpec,
    now: NaiveDateTime,
) -> Result<Job, LifecycleError> {
    let total = i32::try_from(spec.inputs.len()).unwrap_or(i32::MAX);
    // Validated by the caller to fit; saturating rather than panicking or wrapping regardless.
    let bytes = spec
        .inputs
        .iter()
        .fold(0_i64, |sum, (_, b)| sum.saturating_add(*b));
    crate::write_transaction!(db, LifecycleError, conn => {
        let model_id = models::table
            .filter(models::identifier.eq(&spec.model_identifier))
            .filter(models::version.eq(&spec.model_version))
            .select(models::id)
            .first::<i64>(conn)
            .await
            .optional()?
            .ok_or_else(|| LifecycleError::UnknownModel {
                identifier: spec.model_identifier.clone(),
                version: spec.model_version.clone(),
            })?;
        let row = NewJob {
            job_identifier: uuid::Uuid::new_v4().to_string(),
            account_id: who.account_id,
            user_id: who.user_id,
            submitted_by: who.key_prefix.clone(),
            model_id,
            status: JobStatus::Submitted.code(),
            explain: spec.explain,
            image_classification_model: spec.image_classification_model,
            timeout_ms: spec.timeout_ms,
            deadline_at: spec.timeout_ms.map(|ms| now + chrono::Duration::milliseconds(ms)),
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
        };
        let job: Job = diesel::insert_into(jobs::table).values(&row).returning(Job::as_returning()).get_result(conn).await?;
        crate::add_daily!(job.account_id, super::daily::day_of(job.created_at), 1).execute(conn).await?;
        // One row per statement: diesel-async cannot run multi-row inserts on SQLite.
        for (position, (name, byte_amount)) in spec.inputs.iter().enumerate() {
            let input = NewJobInput {
                job_id: job.id,
                position: i32::try_from(position).unwrap_or(i32::MAX),
                name: name.clone(),
                status: InputStatus::Pending.code(),
                byte_amount: *byte_amount,
                started_at: None,
                finished_at: None,
                error_message: None,
            };
            diesel::insert_into(job_inputs::table).values(&input).execute(conn).await?;
        }
        Ok(job)
    })
}

/// SUBMITTED or IN_PROGRESS → CANCELED.
pub async fn cancel(
    db: &Db,
    scope: Option<i64>,
    identifier: &str,
    now: NaiveDateTime,
) -> Result<JobEvent, LifecycleError> {
    let (lo, hi) = accounts_in(scope);
    crate::write_transaction!(db, LifecycleError, conn => {
        let set = (jobs::status.eq(JobStatus::Canceled.code()), jobs::finished_at.eq(Some(now)), jobs::updated_at.eq(now));
        let pending = jobs::status.le(JobStatus::InProgress.code());
        let Some(job) = transition!(conn, identifier, (lo, hi), now, pending, set) else {
            refuse!(conn, scope, identifier, now, "cancel", "SUBMITTED or IN_PROGRESS")
        };
        if let Some(started) = job.started_at {
            diesel::update(jobs::table.find(job.id))
                .set(jobs::elapsed_ms.eq(Some((now - started).num_milliseconds())))
                .execute(conn)
                .await?;
        }
        Ok(event(&job))
    })
}

/// SUBMITTED → IN_PROGRESS; records the start, so `queueTime` is known.
pub async fn start(
    db: &Db,
    scope: Option<i64>,
    identifier: &str,
    now: NaiveDateTime,
) -> Result<JobEvent, LifecycleError> {
    let (lo, hi) = accounts_in(scope);
    crate::write_transaction!(db, LifecycleError, conn => {
        let set = (jobs::status.eq(JobStatus::InProgress.code()), jobs::started_at.eq(Some(now)), jobs::updated_at.eq(now));
        let submitted = jobs::status.eq(JobStatus::Submitted.code());
        let Some(job) = transition!(conn, identifier, (lo, hi), now, submitted, set) else {
            refuse!(conn, scope, identifier, now, "start", "SUBMITTED")
        };
        diesel::update(jobs::table.find(job.id))
            .set(jobs::queue_ms.eq(Some((now - job.submitted_at).num_milliseconds())))
            .execute(conn)
            .await?;
        Ok(event(&job))
    })
}

/// Records one input's outcome; when no input is pending any more the job becomes COMPLETED
/// (ERROR when every input failed), with its elapsed time.
pub async fn report(
    db: &Db,
    scope: Option<i64>,
    identifier: &str,
    input: &str,
    outcome: Outcome,
    error: Option<&str>,
    now: NaiveDateTime,
) -> Result<JobEvent, LifecycleError> {
    let (lo, hi) = accounts_in(scope);
    let (done, failed) = match outcome {
        Outcome::Completed => (1, 0),
        Outcome::Failed => (0, 1),
    };
    let input_status = match outcome {
        Outcome::Completed => InputStatus::Completed,
        Outcome::Failed => InputStatus::Failed,
    };
    crate::write_transaction!(db, LifecycleError, conn => {
        // First the counters, atomically in the database (this also locks the job row, so
        // concurrent reports on one job queue here).
        let set = (
            jobs::pending.eq(jobs::pending - 1),
            jobs::completed.eq(jobs::completed + done),
            jobs::failed.eq(jobs::failed + failed),
            jobs::updated_at.eq(now),
        );
        let running = jobs::status.eq(JobStatus::InProgress.code()).and(jobs::pending.gt(0));
        let Some(job) = transition!(conn, identifier, (lo, hi), now, running, set) else {
            refuse!(conn, scope, identifier, now, "report results for", "IN_PROGRESS")
        };
        let reported = diesel::update(
            job_inputs::table
                .filter(job_inputs::job_id.eq(job.id))
                .filter(job_inputs::name.eq(input))
                .filter(job_inputs::status.eq(InputStatus::Pending.code())),
        )
        .set((
            job_inputs::status.eq(input_status.code()),
            job_inputs::started_at.eq(job.started_at.or(Some(now))),
            job_inputs::finished_at.eq(Some(now)),
            job_inputs::error_message.eq(error.filter(|_| outcome == Outcome::Failed)),
        ))
        .execute(conn)
        .await?;
        if reported == 0 {
            // Rolled back with the counters: the error leaves the transaction.
            let existing: Option<i32> = job_inputs::table
                .filter(job_inputs::job_id.eq(job.id))
                .filter(job_inputs::name.eq(input))
                .select(job_inputs::status)
                .first(conn)
                .await
                .optional()?;
            return Err(match existing.and_then(InputStatus::from_code) {
                Some(status) => LifecycleError::AlreadyReported {
                    job: identifier.to_string(),
                    input: input.to_string(),
                    status: match status {
                        InputStatus::Completed => "COMPLETED",
                        InputStatus::Failed => "FAILED",
                        InputStatus::Pending => "PENDING",
                    },
                },
                None => LifecycleError::InputNotFound { job: identifier.to_string(), input: input.to_string() },
            });
        }
        if job.pending == 0 {
            let status = if job.completed == 0 { JobStatus::Error } else { JobStatus::Completed };
            diesel::update(jobs::table.find(job.id))
                .set((
                    jobs::status.eq(status.code()),
                    jobs::finished_at.eq(Some(now)),
                    jobs::elapsed_ms.eq(job.started_at.map(|s| (now - s).num_milliseconds())),
                ))
                .execute(conn)
                .await?;
        }
        Ok(event(&job))
    })
}

/// Records TIMEDOUT for pending jobs past their deadline (at most `limit` per call), as of
/// their deadline. Safe with several replicas sweeping at once: each row changes once.
pub async fn sweep(db: &Db, now: NaiveDateTime, limit: i64) -> Result<Vec<JobEvent>, DbError> {
    type Candidate = (i64, i64, Option<NaiveDateTime>, Option<NaiveDateTime>);
    crate::with_conn!(db, conn => {
        let candidates: Vec<Candidate> = jobs::table
            .filter(jobs::status.le(JobStatus::InProgress.code()))
            .filter(jobs::deadline_at.le(now))
            .select((jobs::id, jobs::account_id, jobs::started_at, jobs::deadline_at))
            .limit(limit)
            .load(conn)
            .await?;
        let mut events = Vec::new();
        for (id, account_id, started_at, deadline_at) in candidates {
            let at = deadline_at.unwrap_or(now);
            let changed = diesel::update(jobs::table.find(id).filter(jobs::status.le(JobStatus::InProgress.code())))
                .set((
                    jobs::status.eq(JobStatus::Timedout.code()),
                    jobs::finished_at.eq(Some(at)),
                    jobs::updated_at.eq(at),
                    jobs::elapsed_ms.eq(started_at.map(|s| (at - s).num_milliseconds().max(0))),
                ))
                .execute(conn)
                .await?;
            if changed == 1 {
                events.push(JobEvent { account_id, job_id: id });
            }
        }
        Ok(events)
    })
}
