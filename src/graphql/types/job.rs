//! `Job`: the job object of the Jobs API, with every field of Modzy's job.

use async_graphql::{Context, ID, Object};
use chrono::NaiveDateTime;

use super::job_input::JobInput;
use super::model::Model;
use super::user::User;
use crate::db::jobs::JobRecord;
use crate::domain::JobStatus;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders;
use crate::graphql::node::{self, NodeKind};
use crate::graphql::scalars::{DateTime, Long};

/// A job as read at one instant: `now` decides whether a pending job has timed out.
#[derive(Clone, Debug)]
pub struct Job {
    record: JobRecord,
    now: NaiveDateTime,
}

impl Job {
    /// Wraps a record read at `now`.
    pub fn new(record: JobRecord, now: NaiveDateTime) -> Self {
        Self { record, now }
    }

    /// The underlying record.
    pub fn record(&self) -> &JobRecord {
        &self.record
    }

    /// The deadline, when it has passed while the job is still stored as pending.
    fn expired_at(&self) -> Option<NaiveDateTime> {
        let job = &self.record.job;
        let pending = job.status.is_pending();
        job.deadline_at.filter(|d| pending && *d <= self.now)
    }

    /// The status shown: TIMEDOUT for a pending job whose timeout has elapsed.
    pub fn effective_status(&self) -> JobStatus {
        if self.expired_at().is_some() {
            return JobStatus::Timedout;
        }
        self.record.job.status
    }

    /// The last change shown: the deadline of a job that timed out unnoticed since.
    pub fn effective_updated_at(&self) -> NaiveDateTime {
        self.expired_at().unwrap_or(self.record.job.updated_at)
    }
}

/// A machine-learning inference job: a model run over one or more inputs.
#[Object(serial)]
impl Job {
    /// Globally unique, opaque identifier (for `node(id:)`).
    pub async fn id(&self) -> ID {
        node::encode(NodeKind::Job, &self.record.job.job_identifier)
    }

    /// The job's identifier (a UUID).
    async fn job_identifier(&self) -> &str {
        &self.record.job.job_identifier
    }

    /// Prefix of the API key that submitted the job (never the secret).
    async fn submitted_by(&self) -> &str {
        &self.record.job.submitted_by
    }

    /// Identifier of the account the job belongs to.
    async fn account_identifier(&self) -> &str {
        &self.record.account_identifier
    }

    /// The model (and version) the job runs.
    async fn model(&self) -> Model {
        Model(std::sync::Arc::clone(&self.record.model))
    }

    /// Where the job is in its lifecycle. A pending job whose timeout has elapsed is TIMEDOUT.
    async fn status(&self) -> JobStatus {
        self.effective_status()
    }

    /// When the job was created.
    async fn created_at(&self) -> DateTime {
        DateTime::from_naive(self.record.job.created_at)
    }

    /// When the job last changed (its deadline, if it timed out unnoticed since).
    async fn updated_at(&self) -> DateTime {
        DateTime::from_naive(self.effective_updated_at())
    }

    /// When the job was submitted: at `createdAt` or within a minute after it.
    async fn submitted_at(&self) -> DateTime {
        DateTime::from_naive(self.record.job.submitted_at)
    }

    /// Number of inputs: always `pending + completed + failed`.
    async fn total(&self) -> i32 {
        self.record.job.total
    }

    /// Inputs not processed yet.
    async fn pending(&self) -> i32 {
        self.record.job.pending
    }

    /// Inputs processed successfully.
    async fn completed(&self) -> i32 {
        self.record.job.completed
    }

    /// Inputs whose processing failed.
    async fn failed(&self) -> i32 {
        self.record.job.failed
    }

    /// Processing time in milliseconds, from start to finish; null until the job finishes
    /// (or if it never started).
    async fn elapsed_time(&self) -> Option<Long> {
        self.record.job.elapsed_ms.map(Long)
    }

    /// Time spent waiting for a worker, in milliseconds; null until the job starts.
    async fn queue_time(&self) -> Option<Long> {
        self.record.job.queue_ms.map(Long)
    }

    /// Milliseconds after submission at which a pending job times out; null: never.
    async fn timeout(&self) -> Option<Long> {
        self.record.job.timeout_ms.map(Long)
    }

    /// Whether an explanation of the results was requested.
    async fn explain(&self) -> bool {
        self.record.job.explain
    }

    /// Whether the model is an image classification model.
    async fn image_classification_model(&self) -> bool {
        self.record.job.image_classification_model
    }

    /// Total size of the job's inputs in bytes.
    async fn input_byte_amount(&self) -> Long {
        Long(self.record.job.input_byte_amount)
    }

    /// The user who submitted the job.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let user_id = self.record.job.user_id;
        // Boxed: every field of a job is resolved through a future as large as the largest
        // field's, so an inline loader future would make each scalar field's larger too.
        Box::pin(loaders::user(ctx, user_id))
            .await?
            .map(User)
            .ok_or_else(|| ApiError::internal(format!("job's user {user_id} is missing")))
    }

    /// The job's inputs, in submitted order.
    async fn job_inputs(&self, ctx: &Context<'_>) -> ApiResult<Vec<JobInput>> {
        let inputs = Box::pin(loaders::inputs(ctx, self.record.job.id)).await?;
        Ok(inputs.into_iter().map(JobInput).collect())
    }
}
