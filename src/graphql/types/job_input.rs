//! `JobInput`: one input of a job, with its own processing status.

use async_graphql::Object;

use crate::db::models;
use crate::domain::InputStatus;
use crate::graphql::scalars::{DateTime, Long};

/// One input of a job.
pub struct JobInput(pub models::JobInput);

impl JobInput {
    /// Processing time of `input` in milliseconds, once finished.
    pub fn elapsed_of(input: &models::JobInput) -> Option<i64> {
        let (s, f) = (input.started_at?, input.finished_at?);
        Some((f - s).num_milliseconds())
    }
}

/// One input of a job, with its own processing status.
#[Object(serial)]
impl JobInput {
    /// The input's name, unique within its job (Modzy's input identifier).
    async fn identifier(&self) -> &str {
        &self.0.name
    }

    /// Position of the input in the submitted job, from 0.
    async fn position(&self) -> i32 {
        self.0.position
    }

    /// Whether the input was processed.
    async fn status(&self) -> InputStatus {
        self.0.status
    }

    /// Size of the input in bytes.
    async fn byte_amount(&self) -> Long {
        Long(self.0.byte_amount)
    }

    /// When processing of the input started.
    async fn started_at(&self) -> Option<DateTime> {
        self.0.started_at.map(DateTime::from_naive)
    }

    /// When processing of the input finished.
    async fn finished_at(&self) -> Option<DateTime> {
        self.0.finished_at.map(DateTime::from_naive)
    }

    /// Processing time of the input in milliseconds, once finished.
    async fn elapsed_time(&self) -> Option<Long> {
        Self::elapsed_of(&self.0).map(Long)
    }

    /// Why processing failed (FAILED inputs only).
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }
}
