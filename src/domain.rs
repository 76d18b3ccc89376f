//! The vocabulary of the Jobs API: job and input statuses and key roles with their storage
//! codes, the id newtypes ([`ids`]) and the caller's [`Scope`]. Statuses are stored as small
//! integers in lifecycle order (each enum's discriminants), so the pending group is
//! `status <= 1` and sorting by status sorts by progress; [`sql`] maps each enum to its column
//! type, so queries bind and read them typed. This module imports nothing of the project.

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
// (Not in the `///` above: it is the SDL's description.) The discriminants are the codes
// stored in `jobs.status`, in lifecycle order as the migration's comment lists them: the one
// mapping, which `code` reads, `TryFrom<i32>` inverts and the Diesel mapping binds.
#[derive(
    Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow,
)]
#[diesel(sql_type = Integer)]
#[repr(i32)]
pub enum JobStatus {
    /// Accepted and waiting for a worker.
    Submitted = 0,
    /// A worker is processing its inputs.
    InProgress = 1,
    /// Every input was processed (some may have failed).
    Completed = 2,
    /// Canceled by a user before it finished.
    Canceled = 3,
    /// Still pending when its timeout elapsed.
    Timedout = 4,
    /// Every input failed, or the job could not run.
    Error = 5,
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

    /// The stored code: the discriminant, the one mapping between statuses and `jobs.status`
    /// (`TryFrom<i32>` inverts it; the Diesel mapping binds it).
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// SUBMITTED or IN_PROGRESS.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Submitted | Self::InProgress)
    }

    /// COMPLETED or ERROR: a job stored with this status ran to its end, so its queue time
    /// and elapsed time are both known (a job reaches them only through its inputs' reports,
    /// after it started; PostgreSQL checks it with `jobs_ran_check`, migration `…000014`).
    /// The duration orders rely on it to skip the jobs without a duration.
    pub fn ran(self) -> bool {
        matches!(self, Self::Completed | Self::Error)
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
// The discriminants are the codes stored in `job_inputs.status`, read and inverted as
// `JobStatus`'s are.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Integer)]
#[repr(i32)]
pub enum InputStatus {
    /// Not processed yet.
    Pending = 0,
    /// Processed successfully.
    Completed = 1,
    /// Processing failed; see `errorMessage`.
    Failed = 2,
}

impl InputStatus {
    /// All input statuses in storage order.
    pub const ALL: [InputStatus; 3] = [Self::Pending, Self::Completed, Self::Failed];

    /// The stored code.
    pub const fn code(self) -> i32 {
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
}

/// A stored status code that no status has: a corrupt row (the tables' CHECK constraints keep
/// such codes out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {code} in the database")]
pub struct UnknownCode {
    /// Which kind of status (`job status`, `input status`).
    pub what: &'static str,
    /// The code read.
    pub code: i32,
}

impl TryFrom<i32> for JobStatus {
    type Error = UnknownCode;

    /// The status stored as `code`: [`JobStatus::code`] inverted over every status.
    fn try_from(code: i32) -> Result<Self, UnknownCode> {
        let what = "job status";
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or(UnknownCode { what, code })
    }
}

impl TryFrom<i32> for InputStatus {
    type Error = UnknownCode;

    /// The status stored as `code`: [`InputStatus::code`] inverted over every status.
    fn try_from(code: i32) -> Result<Self, UnknownCode> {
        let what = "input status";
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or(UnknownCode { what, code })
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

    use async_graphql::resolver_utils::EnumType;

    /// The `-- status: 0 NAME, 1 NAME, …` comment above `table` in both backends' first
    /// migration, as (code, name) pairs.
    fn migration_codes(table: &str) -> Vec<(i32, String)> {
        let sql = [
            include_str!("../migrations/postgres/2026-11-28-000001_create_tables/up.sql"),
            include_str!("../migrations/sqlite/2026-11-28-000001_create_tables/up.sql"),
        ];
        let [postgres, sqlite] = sql.map(|sql| {
            let create = sql.find(&format!("CREATE TABLE {table} ")).expect(table);
            let comment = sql[..create].rfind("-- status: ").expect("status comment");
            let line = sql[comment..].lines().next().unwrap();
            line["-- status: ".len()..]
                .split(", ")
                .map(|pair| {
                    let (code, name) = pair.split_once(' ').expect(pair);
                    (code.parse().expect(code), name.to_string())
                })
                .collect::<Vec<_>>()
        });
        assert_eq!(postgres, sqlite, "both backends' migrations say the same");
        postgres
    }

    /// Every variant (as GraphQL lists them) with its name and code, checked to round-trip and
    /// to be in `all`.
    fn variants<S>(all: &[S], code: fn(S) -> i32) -> Vec<(i32, String)>
    where
        S: EnumType + std::fmt::Debug + TryFrom<i32, Error = UnknownCode>,
    {
        assert_eq!(all.len(), S::items().len(), "ALL lists every variant");
        S::items()
            .iter()
            .map(|item| {
                assert!(all.contains(&item.value), "{:?} in ALL", item.value);
                assert_eq!(
                    S::try_from(code(item.value)),
                    Ok(item.value),
                    "{}",
                    item.name
                );
                (code(item.value), item.name.to_string())
            })
            .collect()
    }

    #[test]
    fn job_status_codes_round_trip_and_match_the_migration() {
        let mut codes = variants(&JobStatus::ALL, JobStatus::code);
        codes.sort();
        assert_eq!(codes, migration_codes("jobs"));
        let ordered: Vec<_> = JobStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(
            ordered,
            [0, 1, 2, 3, 4, 5],
            "ALL is in lifecycle (code) order"
        );
        for bad in [-1, 6, i32::MIN, i32::MAX] {
            let what = "job status";
            assert_eq!(
                JobStatus::try_from(bad),
                Err(UnknownCode { what, code: bad })
            );
        }
        // The SQL's pending group (`jobs.status <= 1`, the partial indexes' predicate).
        for s in JobStatus::ALL {
            assert_eq!(s.is_pending(), s.code() <= 1, "{s:?}");
        }
    }

    #[test]
    fn input_status_codes_round_trip_and_match_the_migration() {
        let mut codes = variants(&InputStatus::ALL, InputStatus::code);
        codes.sort();
        assert_eq!(codes, migration_codes("job_inputs"));
        for bad in [-1, 3] {
            let what = "input status";
            assert_eq!(
                InputStatus::try_from(bad),
                Err(UnknownCode { what, code: bad })
            );
        }
    }

    #[test]
    fn roles_round_trip() {
        for r in [Role::User, Role::Worker, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
