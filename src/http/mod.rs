//! The HTTP surface: routes and middleware (GraphQL, its websocket, Modzy's REST routes under
//! `/api` in [`rest`], the playground and the dashboard with their [`assets`], health and
//! metrics). [`router`] builds the whole app over an [`AppState`]; tests drive it directly,
//! `serve` binds it to a socket.

pub mod assets;
pub mod dashboard;
pub mod graphql;
pub mod health;
pub mod params;
pub mod pipeline;
pub mod playground;
pub mod rate_limit;
pub mod reply;
pub mod rest;
pub mod server;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::{any, get};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Authenticator;
use crate::db::Db;
use crate::events::EventBus;
use crate::graphql::{AppSchema, SchemaConfig};
use crate::metrics::Metrics;
use rate_limit::{Rate, RateLimiter};

/// HTTP settings (each a `serve` flag and env var).
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Longest a request may take (`REQUEST_TIMEOUT_MS`).
    pub request_timeout: Duration,
    /// Largest request body (`MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Requests per key (`RATE_LIMIT_PER_SECOND`, `RATE_LIMIT_BURST`); `None`: unlimited.
    pub rate_limit: Option<Rate>,
    /// Requests without a valid key per client address (`ANONYMOUS_RATE_PER_SECOND`,
    /// `ANONYMOUS_RATE_BURST`); `None`: unlimited.
    pub anonymous_rate_limit: Option<Rate>,
    /// Websocket limits.
    pub ws: WsConfig,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection is kept (`HEADER_READ_TIMEOUT_MS`).
    pub header_read_timeout: Duration,
    /// Origins allowed by CORS (`CORS_ORIGINS`); empty: no CORS headers; `*`: any.
    pub cors_origins: Vec<String>,
    /// How long an authenticated key is trusted before it is looked up again.
    pub auth_cache_ttl: Duration,
    /// Schema limits and introspection.
    pub schema: SchemaConfig,
}

impl HttpConfig {
    /// The defaults, written once: `serve`'s flags take theirs from here
    /// (`crate::config`), and [`Default`] is this.
    pub const DEFAULT: Self = Self {
        request_timeout: Duration::from_secs(30),
        max_body_bytes: 256 * 1024,
        rate_limit: Some(Rate::new(50, 100)),
        anonymous_rate_limit: Some(Rate::new(10, 50)),
        ws: WsConfig::DEFAULT,
        header_read_timeout: Duration::from_secs(10),
        cors_origins: Vec::new(),
        auth_cache_ttl: Duration::from_secs(5),
        schema: SchemaConfig::DEFAULT,
    };
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Websocket limits (each a `serve` flag and env var). The largest message is the HTTP
/// body limit.
#[derive(Clone, Debug)]
pub struct WsConfig {
    /// Longest wait for `connection_init` after the upgrade (`WS_INIT_TIMEOUT_MS`).
    pub init_timeout: Duration,
    /// Most operations running at once on one connection (`WS_MAX_OPERATIONS`).
    pub max_operations: usize,
    /// Most open connections per API key on this replica (`WS_MAX_CONNECTIONS_PER_KEY`).
    pub max_connections_per_key: usize,
}

impl WsConfig {
    /// The defaults, written once (see [`HttpConfig::DEFAULT`]).
    pub const DEFAULT: Self = Self {
        init_timeout: Duration::from_secs(10),
        max_operations: 100,
        max_connections_per_key: 50,
    };
}

impl Default for WsConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The GraphQL schema.
    pub schema: AppSchema,
    /// Checks API keys.
    pub auth: Arc<Authenticator>,
    /// Job change events (subscriptions).
    pub events: EventBus,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// Per-key rate limiter, when enabled.
    pub limiter: Option<Arc<RateLimiter>>,
    /// Per-address limiter of requests without a valid key, when enabled.
    pub address_limiter: Option<Arc<RateLimiter>>,
    /// Open websockets per key.
    pub sockets: Arc<ws::SocketCounts>,
    /// The last readiness answer.
    pub readiness: Arc<health::Readiness>,
    /// The settings.
    pub config: Arc<HttpConfig>,
    /// An API key the playground and the dashboard prefill (`serve --demo` only).
    pub playground_key: Option<String>,
    /// Where the REST history's pages ended, per caller and query.
    pub pages: Arc<rest::pages::PageEnds>,
}

impl AppState {
    /// State over `db` with `config`, and no playground key.
    pub fn new(db: Db, config: HttpConfig) -> Self {
        let events = EventBus::new(db.clone());
        Self {
            schema: crate::graphql::build_schema(db.clone(), events.clone(), &config.schema),
            events,
            metrics: Arc::new(Metrics::default()),
            auth: Arc::new(Authenticator::new(db.clone(), config.auth_cache_ttl)),
            limiter: config.rate_limit.map(|r| Arc::new(RateLimiter::new(r))),
            address_limiter: config
                .anonymous_rate_limit
                .map(|r| Arc::new(RateLimiter::new(r))),
            sockets: Arc::default(),
            readiness: Arc::default(),
            db,
            config: Arc::new(config),
            playground_key: None,
            pages: Arc::default(),
        }
    }
}

/// Headers on every response unless a handler set its own.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("cross-origin-resource-policy", "same-origin"),
];

/// The application router with its middleware.
pub fn router(state: AppState) -> Router {
    let config = Arc::clone(&state.config);
    let mut app = Router::new()
        .route("/", get(playground::page))
        .route("/assets/graphiql/{file}", get(playground::asset))
        .route("/dashboard", get(dashboard::page))
        .route("/assets/dashboard/{file}", get(dashboard::asset))
        .route("/graphql", any(graphql::handle))
        .route("/graphql/ws", get(ws::handle))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .nest("/api", rest::router())
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(CompressionLayer::new())
        // /graphql answers its own timeouts as GraphQL errors; this bounds everything else.
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            config.request_timeout + Duration::from_secs(1),
        ))
        // What the two layers above answer by themselves, /graphql answers as GraphQL.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&config),
            reply::shape_refusals,
        ));
    for (name, value) in SECURITY_HEADERS {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    if let Some(cors) = cors(&config.cors_origins) {
        app = app.layer(cors);
    }
    app.layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(reply::panic_response))
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
            .max_age(Duration::from_secs(600)),
    )
}
