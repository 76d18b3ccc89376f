//! [`Cached`]: a write statement built with Diesel's DSL, kept as a prepared statement by the
//! connection like any `SELECT`.
//!
//! Diesel marks every `UPDATE`, every `ON CONFLICT … DO UPDATE` and every insert with an
//! optional column as unsafe to cache (`AstPass::unsafe_to_cache_prepared`), because its
//! statement cache may key a statement by its Rust type alone, and those statements' SQL text
//! can change with their values (a `None` becomes `DEFAULT`, an `Option` in a changeset drops
//! its column). So each execution of them was parsed and planned afresh: on PostgreSQL, under
//! 32 concurrent writers on two cores, parsing and planning the lifecycle's few statements took
//! a seventh of the machine (perf: `standard_planner`, `raw_parser`), and SQLite prepared
//! them again every time too.
//!
//! [`Cached`] keys the statement by its **SQL text** and bind types instead
//! (`HAS_STATIC_QUERY_ID = false`), which is always correct — a different text is a different
//! cache entry — and tells the connection it may keep it. Only the lifecycle's hot statements
//! are wrapped: each has a handful of texts at most, so the per-connection cache stays small
//! (a statement whose text grows with its values, an `IN (…)` list, must not be wrapped).
//! On PostgreSQL a kept statement is planned generically after five runs (`plan_cache_mode =
//! auto`): the statements wrapped here find their row by a unique key, which a generic plan
//! does as well as a custom one.
//!
//! The connection asks the statement itself whether it may be kept
//! (`QueryFragment::is_safe_to_cache_prepared`, which [`Cached`] answers). diesel-async asks
//! the statement by value; Diesel's sync connection asks a *reference* to it, and `&T` does
//! not forward the question (it walks the AST, where the `UPDATE` says no), so the
//! [`Batch`](super::batch::Batch) hands its SQLite statements over already collected.
//! `tests/statement_cache.rs` checks on both backends that every write of a lifecycle is
//! prepared once and found again.

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A statement the connection may keep prepared, keyed by its SQL text; see the module.
#[derive(Debug, Clone, Copy)]
pub struct Cached<T>(pub T);

impl<T: Query> Query for Cached<T> {
    type SqlType = T::SqlType;
}

impl<T: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Cached<T> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    /// Safe whatever the statement: the cache key is the SQL text ([`QueryId`] below).
    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<T> QueryId for Cached<T> {
    type QueryId = ();
    /// Keyed by SQL text and bind types, never by type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// `.cached()` on any statement: [`Cached`].
pub trait CacheDsl: Sized {
    /// This statement, kept prepared by the connection (keyed by its SQL text).
    fn cached(self) -> Cached<Self> {
        Cached(self)
    }
}

impl<T> CacheDsl for T {}
