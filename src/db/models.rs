//! Row types: what is read from and written to each table.
#![allow(missing_docs)] // field names mirror the columns documented in the migrations

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{accounts, api_keys, job_inputs, jobs, models, users};
use crate::domain::{AccountId, InputStatus, JobId, JobStatus, KeyId, ModelId, Role, UserId};

/// An account (a tenant).
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: AccountId,
    pub identifier: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// A new account.
#[derive(Insertable, Debug)]
#[diesel(table_name = accounts)]
pub struct NewAccount {
    pub identifier: String,
    pub name: String,
    pub created_at: NaiveDateTime,
}

/// A user of an account.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub identifier: String,
    pub external_identifier: String,
    pub account_id: AccountId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub status: String,
    pub title: String,
    pub created_at: NaiveDateTime,
}

/// A new user.
#[derive(Insertable, Debug)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub identifier: String,
    pub external_identifier: String,
    pub account_id: AccountId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub status: String,
    pub title: String,
    pub created_at: NaiveDateTime,
}

/// A stored API key: only the hash of its secret.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: KeyId,
    pub prefix: String,
    pub secret_hash: String,
    pub user_id: UserId,
    pub account_id: AccountId,
    pub role: Role,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A new API key.
#[derive(Insertable, Debug)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey {
    pub prefix: String,
    pub secret_hash: String,
    pub user_id: UserId,
    pub account_id: AccountId,
    pub role: Role,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

/// A model of the catalogue.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = models)]
pub struct Model {
    pub id: ModelId,
    pub identifier: String,
    pub version: String,
    pub name: String,
}

/// A new catalogue entry.
#[derive(Insertable, Debug)]
#[diesel(table_name = models)]
pub struct NewModel {
    pub identifier: String,
    pub version: String,
    pub name: String,
}

/// A job as stored.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: JobId,
    pub job_identifier: String,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub submitted_by: String,
    pub model_id: ModelId,
    pub status: JobStatus,
    pub explain: bool,
    pub image_classification_model: bool,
    pub timeout_ms: Option<i64>,
    pub deadline_at: Option<NaiveDateTime>,
    pub total: i32,
    pub pending: i32,
    pub completed: i32,
    pub failed: i32,
    pub input_byte_amount: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub queue_ms: Option<i64>,
    pub elapsed_ms: Option<i64>,
}

/// A new job.
#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = jobs)]
pub struct NewJob {
    pub job_identifier: String,
    pub account_id: AccountId,
    pub user_id: UserId,
    pub submitted_by: String,
    pub model_id: ModelId,
    pub status: JobStatus,
    pub explain: bool,
    pub image_classification_model: bool,
    pub timeout_ms: Option<i64>,
    pub deadline_at: Option<NaiveDateTime>,
    pub total: i32,
    pub pending: i32,
    pub completed: i32,
    pub failed: i32,
    pub input_byte_amount: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub queue_ms: Option<i64>,
    pub elapsed_ms: Option<i64>,
}

/// One input of a job.
#[derive(Queryable, Selectable, Identifiable, Clone, Debug)]
#[diesel(table_name = job_inputs)]
pub struct JobInput {
    pub id: i64,
    pub job_id: JobId,
    pub position: i32,
    pub name: String,
    pub status: InputStatus,
    pub byte_amount: i64,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub error_message: Option<String>,
}

/// A new job input.
#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = job_inputs)]
pub struct NewJobInput {
    pub job_id: JobId,
    pub position: i32,
    pub name: String,
    pub status: InputStatus,
    pub byte_amount: i64,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    pub error_message: Option<String>,
}
