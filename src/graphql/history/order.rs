//! `JobOrder`: how the history is sorted. `id` always breaks ties, in the same direction.

use async_graphql::{Enum, InputObject};

use crate::db::jobs::{Sort, SortKey};

/// Fields the history can be sorted by.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobOrderField {
    /// When the job was created.
    CreatedAt,
    /// When the job was submitted.
    SubmittedAt,
    /// When the job last changed.
    UpdatedAt,
    /// Lifecycle order: SUBMITTED, IN_PROGRESS, COMPLETED, CANCELED, TIMEDOUT, ERROR.
    Status,
    /// Processing time; jobs without one count as smallest.
    ElapsedTime,
    /// Queue time; jobs without one count as smallest.
    QueueTime,
    /// Total input size.
    InputByteAmount,
    /// Number of inputs.
    Total,
}

/// Sort direction.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderDirection {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// Order of the job history.
#[derive(InputObject, Clone, Copy, Debug)]
pub struct JobOrder {
    /// The field to sort by.
    pub field: JobOrderField,
    /// The direction.
    #[graphql(default_with = "OrderDirection::Desc")]
    pub direction: OrderDirection,
}

impl Default for JobOrder {
    fn default() -> Self {
        Self {
            field: JobOrderField::CreatedAt,
            direction: OrderDirection::Desc,
        }
    }
}

impl JobOrder {
    /// The database sort.
    pub fn sort(self) -> Sort {
        let key = match self.field {
            JobOrderField::CreatedAt => SortKey::CreatedAt,
            JobOrderField::SubmittedAt => SortKey::SubmittedAt,
            JobOrderField::UpdatedAt => SortKey::UpdatedAt,
            JobOrderField::Status => SortKey::Status,
            JobOrderField::ElapsedTime => SortKey::ElapsedTime,
            JobOrderField::QueueTime => SortKey::QueueTime,
            JobOrderField::InputByteAmount => SortKey::InputByteAmount,
            JobOrderField::Total => SortKey::Total,
        };
        Sort {
            key,
            descending: self.direction == OrderDirection::Desc,
        }
    }

    /// `CREATED_AT DESC`-style label, used in cursors and messages.
    pub fn label(self) -> String {
        let field = async_graphql::Value::from(self.field);
        let direction = async_graphql::Value::from(self.direction);
        format!("{field} {direction}")
    }
}
