//! The job object as the REST routes send it: Modzy's field names, the same values the
//! GraphQL `Job` type resolves (the effective status and `updatedAt` come from the same
//! methods), with `model`, `user` and `jobInputs` inline. Serialized straight to bytes.

use std::collections::HashMap;

use serde::Serialize;

use crate::db::models;
use crate::domain::{JobId, UserId};
use crate::graphql::scalars::DateTime;
use crate::graphql::types::job::Job;
use crate::graphql::types::job_input::JobInput;

/// A catalogue entry as a job shows it.
#[derive(Serialize)]
pub struct ModelRef<'a> {
    /// Model identifier.
    pub identifier: &'a str,
    /// Version.
    pub version: &'a str,
    /// Name.
    pub name: &'a str,
}

/// The submitting user.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserBody<'a> {
    identifier: &'a str,
    external_identifier: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
    status: &'a str,
    title: &'a str,
}

/// One input.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InputBody<'a> {
    identifier: &'a str,
    position: i32,
    status: &'static str,
    byte_amount: i64,
    started_at: Option<String>,
    finished_at: Option<String>,
    elapsed_time: Option<i64>,
    error_message: Option<&'a str>,
}

/// A job, in the order of the GraphQL `Job` type's fields.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobBody<'a> {
    job_identifier: &'a str,
    submitted_by: &'a str,
    account_identifier: &'a str,
    model: ModelRef<'a>,
    status: &'static str,
    created_at: String,
    updated_at: String,
    submitted_at: String,
    total: i32,
    pending: i32,
    completed: i32,
    failed: i32,
    elapsed_time: Option<i64>,
    queue_time: Option<i64>,
    timeout: Option<i64>,
    explain: bool,
    image_classification_model: bool,
    input_byte_amount: i64,
    user: Option<UserBody<'a>>,
    job_inputs: Vec<InputBody<'a>>,
}

fn iso(t: chrono::NaiveDateTime) -> String {
    DateTime::from_naive(t).to_iso()
}

/// The users and inputs of a page of jobs ([`crate::graphql::loaders::nested`]).
pub type Nested = (
    HashMap<UserId, models::User>,
    HashMap<JobId, Vec<models::JobInput>>,
);

impl<'a> JobBody<'a> {
    /// `job` with its user and inputs from `nested`.
    pub fn new(job: &'a Job, nested: &'a Nested) -> Self {
        let (users, inputs) = nested;
        let record = job.record();
        let row = &record.job;
        let user = users.get(&row.user_id).map(|u| UserBody {
            identifier: &u.identifier,
            external_identifier: &u.external_identifier,
            first_name: &u.first_name,
            last_name: &u.last_name,
            email: &u.email,
            status: &u.status,
            title: &u.title,
        });
        let job_inputs = inputs
            .get(&row.id)
            .map(|all| all.iter().map(input).collect())
            .unwrap_or_default();
        Self {
            job_identifier: &row.job_identifier,
            submitted_by: &row.submitted_by,
            account_identifier: &record.account_identifier,
            model: ModelRef {
                identifier: &record.model.identifier,
                version: &record.model.version,
                name: &record.model.name,
            },
            status: job.effective_status().as_str(),
            created_at: iso(row.created_at),
            updated_at: iso(job.effective_updated_at()),
            submitted_at: iso(row.submitted_at),
            total: row.total,
            pending: row.pending,
            completed: row.completed,
            failed: row.failed,
            elapsed_time: row.elapsed_ms,
            queue_time: row.queue_ms,
            timeout: row.timeout_ms,
            explain: row.explain,
            image_classification_model: row.image_classification_model,
            input_byte_amount: row.input_byte_amount,
            user,
            job_inputs,
        }
    }
}

fn input(i: &models::JobInput) -> InputBody<'_> {
    InputBody {
        identifier: &i.name,
        position: i.position,
        status: i.status.as_str(),
        byte_amount: i.byte_amount,
        started_at: i.started_at.map(iso),
        finished_at: i.finished_at.map(iso),
        elapsed_time: JobInput::elapsed_of(i),
        error_message: i.error_message.as_deref(),
    }
}
