//! [`millis_since`]: the whole milliseconds from a timestamp column to an instant, computed by
//! the database inside the statement that stores them.
//!
//! A job's queue time (`queue_ms`) and elapsed time (`elapsed_ms`) are stored so that the
//! history can sort by them; both are measured from a time the row already holds
//! (`submitted_at`, `started_at`). Computed in Rust they need the row first, so a start or a
//! final report wrote the job twice — the transition, then the duration — and every version of
//! a job row writes an entry in each of its indexes. Computed in SQL, the transition's one
//! `UPDATE … RETURNING` sets them.
//!
//! The two backends store timestamps differently, so the expression is spelled per backend,
//! both exact to the microsecond (every stored time is truncated to microseconds,
//! [`super::now`]) and both truncating toward zero, as chrono's `num_milliseconds` does for a
//! span that is not negative. A span that would be negative (replicas whose clocks disagree)
//! is 0. NULL when the column is NULL (a job that never started has no elapsed time).
//!
//! - PostgreSQL: `EXTRACT(EPOCH FROM interval)` is an exact `numeric`.
//! - SQLite stores `YYYY-MM-DD HH:MM:SS[.ffffff]` text (Diesel's encoding): whole seconds from
//!   `unixepoch`, microseconds from the digits after the point (padded, since a fraction that is
//!   whole milliseconds is stored with three digits and a whole second with none).

use chrono::NaiveDateTime;
use diesel::QueryResult;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, IntoNullable, Nullable, Timestamp};
use diesel::sqlite::Sqlite;

/// Milliseconds from `since` to an instant; see [`millis_since`].
#[derive(Debug, Clone, Copy)]
pub struct MillisSince<C> {
    since: C,
    now: NaiveDateTime,
}

/// The whole milliseconds from `since` (a `Timestamp` column or expression, nullable or not)
/// to `now`, never negative, NULL where `since` is.
pub fn millis_since<C>(since: C, now: NaiveDateTime) -> MillisSince<C>
where
    C: Expression,
    C::SqlType: IntoNullable<Nullable = Nullable<Timestamp>>,
{
    MillisSince { since, now }
}

impl<C: Expression> Expression for MillisSince<C> {
    type SqlType = Nullable<BigInt>;
}

impl<C: QueryId> QueryId for MillisSince<C> {
    type QueryId = MillisSince<C::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = C::HAS_STATIC_QUERY_ID;
}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for MillisSince<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for MillisSince<C> where Self: Expression {}

impl<C: SelectableExpression<QS>, QS> SelectableExpression<QS> for MillisSince<C> where
    Self: Expression
{
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for MillisSince<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // A CASE, not GREATEST, which would turn a NULL into 0.
        out.push_sql("CASE WHEN ");
        self.since.walk_ast(out.reborrow())?;
        out.push_sql(" > ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" THEN 0 ELSE CAST(TRUNC(EXTRACT(EPOCH FROM (");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" - ");
        self.since.walk_ast(out.reborrow())?;
        out.push_sql(")) * 1000) AS BIGINT) END");
        Ok(())
    }
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for MillisSince<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        // ((seconds apart) * 1e6 + (microseconds of now) - (microseconds of since)) / 1000;
        // SQLite's MAX of several arguments is NULL when one is.
        out.push_sql("MAX(0, ((unixepoch(");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(") - unixepoch(");
        self.since.walk_ast(out.reborrow())?;
        out.push_sql(")) * 1000000 + CAST(substr(");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" || '000000', 21, 6) AS INTEGER) - CAST(substr(");
        self.since.walk_ast(out.reborrow())?;
        out.push_sql(" || '000000', 21, 6) AS INTEGER)) / 1000)");
        Ok(())
    }
}
