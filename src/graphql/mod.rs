//! The GraphQL schema: types, queries, loaders and errors. [`build_schema`] is used by the
//! server and by tests without HTTP; `schema.graphql` at the repository root is its SDL, and a
//! test fails when the two drift apart.

pub mod error;
pub mod history;
pub mod loaders;
pub mod node;
pub mod query;
pub mod scalars;
pub mod types;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

use crate::db::Db;

pub use loaders::Loaders;
pub use query::Query;

/// The service's schema type.
pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the schema over `db`.
pub fn build_schema(db: Db) -> AppSchema {
    schema_builder().data(db).finish()
}

/// The schema without data, for printing the SDL.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// Executes `request` against `schema` with fresh per-request loaders over `db`.
pub async fn execute(
    schema: &AppSchema,
    db: &Db,
    request: async_graphql::Request,
) -> async_graphql::Response {
    schema.execute(Loaders::attach(request, db)).await
}

fn schema_builder() -> async_graphql::SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query, EmptyMutation, EmptySubscription)
}
