//! How the vocabulary's enums are stored: statuses as their `Integer` codes, roles as `Text`
//! names. A code or name the enum does not know fails the row's deserialization (the tables'
//! CHECK constraints keep them out).

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Integer, Text};

use super::{InputStatus, JobStatus, Role};

/// A stored status code no status has.
fn unknown(what: &str, code: impl std::fmt::Display) -> Box<dyn std::error::Error + Send + Sync> {
    format!("unknown {what} {code} in the database").into()
}

impl<DB: Backend> ToSql<Integer, DB> for JobStatus
where
    i32: ToSql<Integer, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        // A constant per status, so the value outlives the output.
        const CODES: [i32; 6] = [0, 1, 2, 3, 4, 5];
        CODES[*self as usize].to_sql(out)
    }
}

impl<DB: Backend> FromSql<Integer, DB> for JobStatus
where
    i32: FromSql<Integer, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let code = i32::from_sql(bytes)?;
        Self::from_code(code).ok_or_else(|| unknown("job status", code))
    }
}

impl<DB: Backend> ToSql<Integer, DB> for InputStatus
where
    i32: ToSql<Integer, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        const CODES: [i32; 3] = [0, 1, 2];
        CODES[*self as usize].to_sql(out)
    }
}

impl<DB: Backend> FromSql<Integer, DB> for InputStatus
where
    i32: FromSql<Integer, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let code = i32::from_sql(bytes)?;
        Self::from_code(code).ok_or_else(|| unknown("input status", code))
    }
}

impl<DB: Backend> ToSql<Text, DB> for Role
where
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_str().to_sql(out)
    }
}

impl<DB: Backend> FromSql<Text, DB> for Role
where
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let name = String::from_sql(bytes)?;
        Self::parse(&name).ok_or_else(|| unknown("role", name))
    }
}
