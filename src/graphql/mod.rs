//! The GraphQL schema: types, queries, loaders, limits and errors. [`build_schema`] is used by
//! the server and by tests without HTTP; `schema.graphql` at the repository root is its SDL,
//! and a test fails when the two drift apart.

pub mod documents;
pub mod error;
pub mod figures;
pub mod history;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod node;
pub mod query;
pub mod scalars;
pub mod shape;
pub mod statistics;
pub mod subscription;
pub mod types;

use std::sync::Arc;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Data, Executor, Request, Response, Schema};

use crate::auth::Caller;
use crate::db::Db;
use documents::DocumentCache;
use error::{ApiError, ApiResult};
use figures::IntrospectionSizes;

pub use limits::Limits;
pub use loaders::Loaders;
pub use mutation::Mutation;
pub use query::Query;
pub use subscription::Subscriptions;

/// The schema with its abuse limits applied and its parsed documents kept: what HTTP and
/// websockets execute against.
#[derive(Clone)]
pub struct AppSchema {
    schema: Schema<Query, Mutation, Subscriptions>,
    limits: Limits,
    sizes: Arc<IntrospectionSizes>,
    documents: Arc<DocumentCache>,
}

impl AppSchema {
    async fn run(&self, mut request: Request) -> Response {
        if let Err(refusal) = self.prepare(&mut request) {
            return Response::from_errors(vec![refusal]);
        }
        let query = request.query.clone();
        let response = self.schema.execute(request).await;
        limits::cap_errors(shape::response(response, || self.documents.get(&query)))
    }

    /// The parsed document of `text`, shared with execution's cache (`None`: a syntax error).
    pub fn document(&self, text: &str) -> Option<Arc<ExecutableDocument>> {
        self.documents.get(text)
    }

    /// Gives `request` its parsed document (a copy of the kept one) once it passes the
    /// limits, judged before async-graphql's own checks (see [`limits`]). A document that does
    /// not parse is left to the executor, which reports the syntax error.
    fn prepare(&self, request: &mut Request) -> Result<(), async_graphql::ServerError> {
        if let Some(doc) = self.documents.get(&request.query) {
            self.limits
                .check(&doc, &self.sizes, &request.variables)
                .map_err(|e| e.to_server_error())?;
            request.set_parsed_query(ExecutableDocument::clone(&doc));
        }
        Ok(())
    }
}

impl Executor for AppSchema {
    fn execute(&self, request: Request) -> impl Future<Output = Response> + Send {
        self.run(request)
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if let Err(refusal) = self.prepare(&mut request) {
            return stream::once(async move { Response::from_errors(vec![refusal]) }).boxed();
        }
        let (documents, query) = (Arc::clone(&self.documents), request.query.clone());
        Executor::execute_stream(&self.schema, request, session_data)
            .map(move |response| {
                limits::cap_errors(shape::response(response, || documents.get(&query)))
            })
            .boxed()
    }
}

/// Schema settings.
#[derive(Clone, Copy, Debug)]
pub struct SchemaConfig {
    /// Abuse limits, and whether `__schema`/`__type` are answered (GraphiQL needs them).
    pub limits: Limits,
}

impl SchemaConfig {
    /// The defaults, written once (see [`Limits::DEFAULT`]).
    pub const DEFAULT: Self = Self {
        limits: Limits::DEFAULT,
    };
}

impl Default for SchemaConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Builds the schema over `db`, publishing and receiving job events through `events`.
pub fn build_schema(db: Db, events: crate::events::EventBus, config: &SchemaConfig) -> AppSchema {
    let limits = config.limits;
    let mut builder = schema_builder()
        .data(db)
        .data(events)
        // Depth and complexity are judged before execution (`limits`); this guard is
        // async-graphql's own, for the directives its validation would otherwise report one
        // error each.
        .limit_directives(limits.directives);
    if !limits.introspection {
        builder = builder.disable_introspection();
    }
    let schema = builder.finish();
    AppSchema {
        sizes: Arc::new(IntrospectionSizes::of_sdl(&schema.sdl())),
        schema,
        limits,
        documents: Arc::default(),
    }
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
    request: Request,
) -> Response {
    schema.run(for_caller(request, db, caller, true)).await
}

/// Runs `request` for `caller` as a stream (an operation started on a websocket): the same
/// preparation as [`execute`], except that a subscription gets no loaders (each of its events
/// must read users and inputs anew, not from a cache filled by an earlier event).
pub fn execute_stream(
    schema: &AppSchema,
    db: &Db,
    caller: Option<Caller>,
    request: Request,
    session_data: Option<Arc<Data>>,
) -> BoxStream<'static, Response> {
    let subscription = schema.document(&request.query).is_some_and(|doc| {
        operation(&doc, request.operation_name.as_deref())
            .is_some_and(|op| op.ty == async_graphql::parser::types::OperationType::Subscription)
    });
    Executor::execute_stream(
        schema,
        for_caller(request, db, caller, !subscription),
        session_data,
    )
}

/// The operation of `doc` that would run: the one named `name`, else the only one (a document
/// with several and no name does not run: the executor says so).
pub fn operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d async_graphql::parser::types::OperationDefinition> {
    let mut operations = doc.operations.iter();
    let (_, operation) = match name {
        Some(name) => operations.find(|(n, _)| n.is_some_and(|n| n.as_str() == name))?,
        None => {
            let only = operations.next()?;
            if operations.next().is_some() {
                return None;
            }
            only
        }
    };
    Some(&operation.node)
}

/// `request` with `caller` and, when `loaders`, fresh per-request loaders over `db`.
fn for_caller(request: Request, db: &Db, caller: Option<Caller>, loaders: bool) -> Request {
    let mut request = if loaders {
        Loaders::attach(request, db)
    } else {
        request
    };
    if let Some(caller) = caller {
        request = request.data(caller);
    }
    request
}

/// The authenticated caller of this request.
pub fn caller<'a>(ctx: &async_graphql::Context<'a>) -> ApiResult<&'a Caller> {
    ctx.data::<Caller>()
        .map_err(|_| ApiError::Unauthenticated(crate::auth::AuthError::Missing.message()))
}

fn schema_builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscriptions> {
    Schema::build(Query, Mutation, Subscriptions)
}
