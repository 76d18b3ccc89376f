//! The keyset condition of a page: rows after (or before) a cursor's position `(key, id)` in a
//! sort, written as one row-value comparison, `(key, jobs.id) > (v, i)`.
//!
//! Both backends read a row-value comparison on the columns of an index, in index order, as
//! the range where the scan starts (PostgreSQL: an `Index Cond` on `ROW(key, id)`; SQLite: a
//! vector range constraint). The equivalent `key >= v AND (key > v OR (key = v AND id > i))`
//! gives the index only `key >= v`: the rows whose key equals the cursor's but whose id lies
//! before it were read and filtered one by one. For keys with many equal values that is most
//! of a deep page's work — the status order's deep page read 8 000 rows of its cursor's status
//! to return 51 (40 ms at 1M jobs), and `total` has five values.
//!
//! Diesel has no tuple comparison, and `diesel::dsl::sql` would make every statement
//! uncacheable; [`RowCompare`] is a query node of its own, with constant SQL text and bound
//! values, so its statements stay prepared once per connection.

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, AsExpression, Expression, SelectableExpression, ValidGrouping, is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, SqlType};

use super::schema::jobs;
use crate::domain::JobId;

/// `(key, jobs.id) > (value, id)`, or `<` — see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct RowCompare<K, V, I> {
    key: K,
    value: V,
    id: I,
    greater: bool,
}

/// The rows after `(value, id)` in ascending `(key, id)` order when `greater`, else those
/// before it.
pub fn beyond<K, V>(
    key: K,
    value: V,
    id: JobId,
    greater: bool,
) -> RowCompare<K, V::Expression, <JobId as AsExpression<BigInt>>::Expression>
where
    K: Expression,
    K::SqlType: SqlType,
    V: AsExpression<K::SqlType>,
{
    RowCompare {
        key,
        value: value.as_expression(),
        id: AsExpression::<BigInt>::as_expression(id),
        greater,
    }
}

impl<K, V, I> Expression for RowCompare<K, V, I> {
    type SqlType = Bool;
}

impl<K, V, I, DB> QueryFragment<DB> for RowCompare<K, V, I>
where
    DB: Backend,
    K: QueryFragment<DB>,
    V: QueryFragment<DB>,
    I: QueryFragment<DB>,
    jobs::id: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("((");
        self.key.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        jobs::id.walk_ast(out.reborrow())?;
        out.push_sql(") ");
        out.push_sql(if self.greater { ">" } else { "<" });
        out.push_sql(" (");
        self.value.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.id.walk_ast(out.reborrow())?;
        out.push_sql("))");
        Ok(())
    }
}

impl<K, V, I> QueryId for RowCompare<K, V, I> {
    type QueryId = ();
    /// The operator is part of the text, not of the type: cache by SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<K, V, I> SelectableExpression<jobs::table> for RowCompare<K, V, I>
where
    K: SelectableExpression<jobs::table>,
    Self: AppearsOnTable<jobs::table>,
{
}

impl<K, V, I> AppearsOnTable<jobs::table> for RowCompare<K, V, I>
where
    K: AppearsOnTable<jobs::table>,
    Self: Expression,
{
}

impl<K, V, I, GB> ValidGrouping<GB> for RowCompare<K, V, I> {
    type IsAggregate = is_aggregate::Never;
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::debug_query;
    use diesel::prelude::*;
    use diesel::sqlite::Sqlite;

    #[test]
    fn writes_one_row_value_comparison() {
        let q = jobs::table
            .select(jobs::id)
            .filter(beyond(jobs::status, 2, JobId(7), false));
        let sql = debug_query::<Sqlite, _>(&q).to_string();
        assert!(
            sql.contains("((`jobs`.`status`, `jobs`.`id`) < (?, ?))"),
            "{sql}"
        );
        let q = jobs::table
            .select(jobs::id)
            .filter(beyond(jobs::total, 1, JobId(7), true));
        let sql = debug_query::<Sqlite, _>(&q).to_string();
        assert!(
            sql.contains("((`jobs`.`total`, `jobs`.`id`) > (?, ?))"),
            "{sql}"
        );
    }
}
