//! The vocabulary of the Jobs API: job and input statuses and key roles with their storage
//! codes, the id newtypes ([`ids`]) and the caller's [`Scope`]. Statuses are stored as small
//! integers in lifecycle order, so the pending group is `status <= 1` and sorting by status
//! sorts by progress; [`sql`] maps each enum to its column type, so queries bind and read them
//! typed. This module imports nothing of the project.

pub mod ids;
pub mod scope;
pub mod sql;

use async_graphql::Enum;
use diesel::deserialize::FromSqlRow;
use diesel::expression::AsExpression;
use diesel::sql_types::{Integer, Text};

pub use ids::{AccountId, JobId, KeyId, ModelId, UserId};
pub use scope::Scope;

/// Where a job is in its lifecycle.
#[derive(
    Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow,
)]
#[diesel(sql_type = Integer)]
pub enum JobStatus {
    /// Accepted and waiting for a worker.
    Submitted,
    /// A worker is processing its inputs.
    InProgress,
    /// Every input was processed (some may have failed).
    Completed,
    /// Canceled by a user before it finished.
    Canceled,
    /// Still pending when its timeout elapsed.
    Timedout,
    /// Every input failed, or the job could not run.
    Error,
}

impl JobStatus {
    /// All statuses in lifecycle (storage) order.
    pub const ALL: [JobStatus; 6] = [
        Self::Submitted,
        Self::InProgress,
        Self::Completed,
        Self::Canceled,
        Self::Timedout,
        Self::Error,
    ];

    /// The stored code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status of a stored code; unknown codes are a corrupt row.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// SUBMITTED or IN_PROGRESS.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Submitted | Self::InProgress)
    }

    /// The name used by the API (`IN_PROGRESS`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Canceled => "CANCELED",
            Self::Timedout => "TIMEDOUT",
            Self::Error => "ERROR",
        }
    }
}

/// Where one input of a job is.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Integer)]
pub enum InputStatus {
    /// Not processed yet.
    Pending,
    /// Processed successfully.
    Completed,
    /// Processing failed; see `errorMessage`.
    Failed,
}

impl InputStatus {
    /// The stored code.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The name used by the API (`PENDING`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }

    /// The status of a stored code.
    pub fn from_code(code: i32) -> Option<Self> {
        [Self::Pending, Self::Completed, Self::Failed]
            .get(usize::try_from(code).ok()?)
            .copied()
    }
}

/// What an API key may do.
#[derive(
    Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, AsExpression, FromSqlRow,
)]
#[diesel(sql_type = Text)]
pub enum Role {
    /// Reads and submits its own account's jobs.
    User,
    /// Reports job progress for its account's jobs.
    Worker,
    /// Reads every account.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Worker => "worker",
            Self::Admin => "admin",
        }
    }

    /// The role of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "worker" => Some(Self::Worker),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip_in_lifecycle_order() {
        for (i, s) in JobStatus::ALL.iter().enumerate() {
            assert_eq!(s.code(), i as i32);
            assert_eq!(JobStatus::from_code(s.code()), Some(*s));
        }
        assert_eq!(JobStatus::from_code(6), None);
        assert_eq!(JobStatus::from_code(-1), None);
        let pending: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_pending())
            .collect();
        assert_eq!(pending, [JobStatus::Submitted, JobStatus::InProgress]);
    }

    #[test]
    fn input_status_and_roles_round_trip() {
        for s in [
            InputStatus::Pending,
            InputStatus::Completed,
            InputStatus::Failed,
        ] {
            assert_eq!(InputStatus::from_code(s.code()), Some(s));
        }
        for r in [Role::User, Role::Worker, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
