//! [`fixed`]: a constant piece of SQL that keeps its statement cacheable.
//!
//! `diesel::dsl::sql` marks every statement it appears in as unsafe to cache, because its
//! text may change from one call to the next. On PostgreSQL that means a fresh
//! parse and plan on every execution (diesel-async prepares, runs and closes it). The
//! fragments here are `&'static str`, and their statements are keyed by their SQL text in
//! Diesel's statement cache (`HAS_STATIC_QUERY_ID = false`), so a statement containing one is
//! prepared once per connection and its plan reused.

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping,
    is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};

/// A constant SQL expression of SQL type `ST`; see [`fixed`].
#[derive(Debug, Clone, Copy)]
pub struct Fixed<ST> {
    sql: &'static str,
    sql_type: PhantomData<ST>,
}

/// `sql` as an expression of SQL type `ST`, written into the statement as it is. For SQL the
/// query builder cannot express, such as `created_at DESC NULLS LAST` or a predicate spelled
/// exactly like a partial index's.
pub fn fixed<ST>(sql: &'static str) -> Fixed<ST> {
    Fixed {
        sql,
        sql_type: PhantomData,
    }
}

impl<ST: TypedExpressionType> Expression for Fixed<ST> {
    type SqlType = ST;
}

impl<ST, DB: Backend> QueryFragment<DB> for Fixed<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.sql);
        Ok(())
    }
}

impl<ST> QueryId for Fixed<ST> {
    type QueryId = ();
    /// The text differs between values of one type: cache by SQL text, never by type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS, ST> SelectableExpression<QS> for Fixed<ST> where Self: Expression {}

impl<QS, ST> AppearsOnTable<QS> for Fixed<ST> where Self: Expression {}

impl<ST, GB> ValidGrouping<GB> for Fixed<ST> {
    type IsAggregate = is_aggregate::Never;
}
