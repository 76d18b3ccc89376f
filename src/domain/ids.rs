//! Id newtypes: one type per table's primary key, so a user id can never be passed where a job
//! id is meant. Each is stored as `BigInt` on both backends and goes in and out of Diesel
//! queries typed (`AsExpression`, `FromSqlRow`), and is printed as the bare number.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::BigInt;

/// Declares an id newtype over `i64` with its Diesel mapping to `BigInt`. A macro because the
/// five types differ only in name and documentation.
macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow,
        )]
        #[diesel(sql_type = BigInt)]
        pub struct $name(pub i64);

        impl<DB: Backend> ToSql<BigInt, DB> for $name
        where
            i64: ToSql<BigInt, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.0.to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<BigInt, DB> for $name
        where
            i64: FromSql<BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                i64::from_sql(bytes).map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id! {
    /// `jobs.id`.
    JobId
}
id! {
    /// `accounts.id`.
    AccountId
}
id! {
    /// `users.id`.
    UserId
}
id! {
    /// `models.id`.
    ModelId
}
id! {
    /// `api_keys.id`.
    KeyId
}
