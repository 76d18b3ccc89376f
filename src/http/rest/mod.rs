//! Modzy's Jobs REST routes under `/api`, beside the GraphQL API, so Modzy's SDKs work by
//! changing only their base URL. A thin adapter: every route goes through the same admission
//! as `/graphql` ([`AppState::admit`]: the key, the per-address and per-key rate limits) within
//! the same request timeout, parses Modzy's parameters into the GraphQL API's own types and
//! calls the same functions (history page, job lookup, lifecycle writes and their events, the
//! catalogue), and answers errors as the one [`ApiError`] in Modzy's form ([`error`]).
//! Each route is counted in `/metrics` under its template (`jh_rest_*{route="GET /api/…"}`).
//!
//! | route | does |
//! |---|---|
//! | `GET /api/jobs/history` | a page of the history ([`history`]) |
//! | `GET /api/jobs/{jobIdentifier}` | one job with its inputs |
//! | `DELETE /api/jobs/{jobIdentifier}` | cancel it |
//! | `POST /api/jobs` | submit ([`jobs`]) |
//! | `GET /api/models[/{identifier}[/versions[/{version}]]]` | the catalogue ([`models`]) |
//! | `GET /api/models/requirements/account` | no hardware requirements (`[]`) |

pub mod error;
pub mod history;
pub mod jobs;
pub mod models;
pub mod pages;
pub mod wire;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, RawQuery};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use crate::auth::Caller;
use crate::graphql::error::{ApiError, ApiResult};

/// The media type of every answer.
pub const JSON_TYPE: &str = "application/json; charset=utf-8";

/// `value` as JSON bytes (every value here serializes: strings, numbers, lists).
fn json_bytes(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

/// A 200 answer with `value` as its JSON body.
fn json(value: &impl Serialize) -> Response {
    let mut response = (StatusCode::OK, json_bytes(value)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE));
    response
}

/// The routes under `/api` (to be nested there), with their own panic answer.
pub fn router() -> Router<AppState> {
    guard(routes())
}

/// `routes` whose panics answer Modzy's error body (500 `INTERNAL_SERVER_ERROR` with an error
/// id; the panic's message logged, never sent) rather than the GraphQL-shaped answer of the
/// application's outer panic layer, which cannot tell an `/api` request from another. The
/// routes' fallback is inside too.
fn guard<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |panic: Box<dyn std::any::Any + Send + 'static>| {
            error::answer(&super::reply::panic_error(panic.as_ref()))
        },
    ))
}

/// Every `/api` route and the fallback for unknown paths.
fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs/history", get(history_route))
        .route("/jobs", axum::routing::post(submit_route))
        .route("/jobs/{job}", get(job_route).delete(cancel_route))
        .route("/models", get(models_route))
        .route("/models/requirements/account", get(requirements_route))
        .route("/models/{model}", get(model_route))
        .route("/models/{model}/versions", get(versions_route))
        .route("/models/{model}/versions/{version}", get(version_route))
        .fallback(no_route)
}

/// What every route's handler extracts besides its own parameters: the state, the client's
/// address (when the listener recorded it) and the `Authorization` header. Never refuses:
/// [`Self::serve`] admits or refuses the request.
struct Incoming {
    state: AppState,
    client: Option<IpAddr>,
    authorization: Option<HeaderValue>,
}

impl FromRequestParts<AppState> for Incoming {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let client = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        Ok(Self {
            state: state.clone(),
            client: client.map(|ConnectInfo(addr)| addr.ip()),
            authorization: parts.headers.get(header::AUTHORIZATION).cloned(),
        })
    }
}

impl Incoming {
    /// Admits the request and runs `body` for the caller within the request timeout, answering
    /// a refusal or failure in Modzy's error form; counts the request under `route`.
    async fn serve(
        self,
        route: &'static str,
        body: impl AsyncFnOnce(&AppState, &Caller) -> ApiResult<Response>,
    ) -> Response {
        let started = Instant::now();
        let state = &self.state;
        let authorization = self
            .authorization
            .as_ref()
            .map(|v| v.to_str().unwrap_or("\u{0}"));
        let timeout = state.config.request_timeout;
        let work = async {
            let caller = state
                .admit(authorization, self.client, || false)
                .await?
                .ok_or_else(|| ApiError::internal("admitted without a caller"))?;
            body(state, &caller).await
        };
        let answer = match tokio::time::timeout(timeout, work).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => error::answer(&e),
            Err(_) => error::answer(&ApiError::RequestTimeout(format!(
                "the request took longer than {} ms and was abandoned: ask for less",
                timeout.as_millis()
            ))),
        };
        let failed = answer.status().is_client_error() || answer.status().is_server_error();
        state.metrics.observe_rest(route, started.elapsed(), failed);
        answer
    }
}

async fn history_route(request: Incoming, RawQuery(query): RawQuery) -> Response {
    let route = "GET /api/jobs/history";
    request
        .serve(route, async |state, caller| {
            history::answer(state, caller, query.as_deref()).await
        })
        .await
}

async fn job_route(request: Incoming, Path(job): Path<String>) -> Response {
    let route = "GET /api/jobs/{jobIdentifier}";
    request
        .serve(route, async |state, caller| {
            jobs::get(state, caller, &job).await
        })
        .await
}

async fn cancel_route(request: Incoming, Path(job): Path<String>) -> Response {
    let route = "DELETE /api/jobs/{jobIdentifier}";
    request
        .serve(route, async |state, caller| {
            jobs::cancel(state, caller, &job).await
        })
        .await
}

async fn submit_route(request: Incoming, body: Bytes) -> Response {
    let route = "POST /api/jobs";
    request
        .serve(route, async |state, caller| {
            jobs::submit(state, caller, &body).await
        })
        .await
}

async fn models_route(request: Incoming, RawQuery(query): RawQuery) -> Response {
    let route = "GET /api/models";
    request
        .serve(route, async |state, _| {
            models::list(state, query.as_deref()).await
        })
        .await
}

async fn requirements_route(request: Incoming) -> Response {
    let route = "GET /api/models/requirements/account";
    request
        .serve(route, async |_, _| Ok(models::requirements()))
        .await
}

async fn model_route(request: Incoming, Path(model): Path<String>) -> Response {
    let route = "GET /api/models/{identifier}";
    request
        .serve(route, async |state, _| models::one(state, &model).await)
        .await
}

async fn versions_route(request: Incoming, Path(model): Path<String>) -> Response {
    let route = "GET /api/models/{identifier}/versions";
    request
        .serve(route, async |state, _| {
            models::versions(state, &model).await
        })
        .await
}

async fn version_route(
    request: Incoming,
    Path((model, version)): Path<(String, String)>,
) -> Response {
    let route = "GET /api/models/{identifier}/versions/{version}";
    request
        .serve(route, async |state, _| {
            models::version(state, &model, &version).await
        })
        .await
}

/// Any other path under `/api`: 404 in Modzy's form (not counted: the label set stays fixed).
async fn no_route() -> Response {
    error::answer(&ApiError::NotFound(
        "no such route: the REST API serves /api/jobs/history, /api/jobs/{jobIdentifier}, \
         /api/jobs and /api/models"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panic_under_api_answers_modzys_error_body_with_an_id_and_no_details() {
        let app = guard(Router::new().route(
            "/jobs/history",
            get(|| async {
                if true {
                    panic!("secret detail");
                }
                "unreachable"
            }),
        ));
        let request = axum::http::Request::get("/jobs/history")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CONTENT_TYPE], JSON_TYPE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["statusCode"], 500);
        assert_eq!(body["status"], "INTERNAL_SERVER_ERROR");
        assert_eq!(body["code"], "INTERNAL_SERVER_ERROR");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("(error id "), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }
}
