//! How the vocabulary's enums are stored: statuses as their `Integer` codes (their
//! discriminants, see [`JobStatus::code`]), roles as `Text` names. A code or name the enum does
//! not know fails the row's deserialization (the tables' CHECK constraints keep them out).
//!
//! Statuses are bound per backend, by value: Diesel's generic `ToSql` borrows what it binds for
//! as long as the statement, which a code computed from the enum does not live, whereas
//! PostgreSQL writes the bytes at once and SQLite takes an owned value.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Integer, Text};
use diesel::sqlite::Sqlite;

use super::{InputStatus, JobStatus, Role};

/// Binds `code` on PostgreSQL.
fn bind_pg(code: i32, out: &mut Output<'_, '_, Pg>) -> serialize::Result {
    ToSql::<Integer, Pg>::to_sql(&code, &mut out.reborrow())
}

/// Binds `code` on SQLite.
fn bind_sqlite(code: i32, out: &mut Output<'_, '_, Sqlite>) -> serialize::Result {
    out.set_value(code);
    Ok(IsNull::No)
}

impl ToSql<Integer, Pg> for JobStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        bind_pg(self.code(), out)
    }
}

impl ToSql<Integer, Sqlite> for JobStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        bind_sqlite(self.code(), out)
    }
}

impl<DB: Backend> FromSql<Integer, DB> for JobStatus
where
    i32: FromSql<Integer, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Self::try_from(i32::from_sql(bytes)?)?)
    }
}

impl ToSql<Integer, Pg> for InputStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        bind_pg(self.code(), out)
    }
}

impl ToSql<Integer, Sqlite> for InputStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        bind_sqlite(self.code(), out)
    }
}

impl<DB: Backend> FromSql<Integer, DB> for InputStatus
where
    i32: FromSql<Integer, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        Ok(Self::try_from(i32::from_sql(bytes)?)?)
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
        Self::parse(&name).ok_or_else(|| format!("unknown role {name} in the database").into())
    }
}
