//! The GraphQL schema: types, queries, loaders, limits and errors. [`build_schema`] is used by
//! the server and by tests without HTTP; `schema.graphql` at the repository root is its SDL,
//! and a test fails when the two drift apart.

pub mod error;
pub mod history;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod node;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod types;

use async_graphql::Schema;

use crate::auth::Caller;
use crate::db::Db;
use error::{ApiError, ApiResult};

pub use limits::Limits;
pub use loaders::Loaders;
pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscriptions;

/// The service's schema type.
pub type AppSchema = Schema<Query, Mutation, Subscriptions>;

/// Schema settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct SchemaConfig {
    /// Abuse limits, and whether `__schema`/`__type` are answered (GraphiQL needs them).
    pub limits: Limits,
}

/// Builds the schema over `db`, publishing and receiving job events through `events`.
pub fn build_schema(db: Db, events: crate::events::EventBus, config: &SchemaConfig) -> AppSchema {
    let mut builder = schema_builder()
        .data(db)
        .data(events)
        .extension(config.limits);
    if !config.limits.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The schema without data, for printing the SDL.
pub fn sdl() -> String {
    schema_builder().finish().sdl()
}

/// Executes `request` for `caller` against `schema`, with fresh per-request loaders over `db`.
/// Without a caller only introspection answers; every other field is `UNAUTHENTICATED`.
pub async fn execute(
    schema: &AppSchema,
    db: &Db,
    caller: Option<Caller>,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let mut request = Loaders::attach(request, db);
    if let Some(caller) = caller {
        request = request.data(caller);
    }
    schema.execute(request).await
}

/// The authenticated caller of this request.
pub fn caller<'a>(ctx: &async_graphql::Context<'a>) -> ApiResult<&'a Caller> {
    ctx.data::<Caller>()
        .map_err(|_| ApiError::Unauthenticated(crate::auth::AuthError::Missing.message()))
}

fn schema_builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscriptions> {
    Schema::build(Query, Mutation, Subscriptions)
}
