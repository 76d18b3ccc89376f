//! The HTTP surface: routes and middleware. [`router`] builds the whole app over an
//! [`AppState`]; tests drive it directly, `serve` binds it to a socket.

pub mod graphql;
pub mod health;
pub mod playground;
pub mod server;

use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::db::Db;
use crate::graphql::AppSchema;

/// Largest request body accepted (GraphQL documents and variables).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The GraphQL schema.
    pub schema: AppSchema,
    /// An API key the playground prefills (`serve --demo` only).
    pub playground_key: Option<String>,
}

impl AppState {
    /// State over `db` with its schema and no playground key.
    pub fn new(db: Db) -> Self {
        Self {
            schema: crate::graphql::build_schema(db.clone()),
            db,
            playground_key: None,
        }
    }
}

/// HTTP settings.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Longest a request may take.
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The application router with its middleware.
pub fn router(state: AppState, config: &HttpConfig) -> Router {
    Router::new()
        .route("/", get(playground::page))
        .route("/assets/graphiql/{file}", get(playground::asset))
        .route("/graphql", any(graphql::handle))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::new())
}
