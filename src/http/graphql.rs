//! `GET|POST /graphql`, following the GraphQL-over-HTTP specification:
//!
//! - POST takes `application/json` bodies (`query`, `variables`, `operationName`,
//!   `extensions`); GET takes the same as URL parameters and only runs queries (a mutation
//!   over GET is 405 with `Allow: POST`). Other methods are 405.
//! - The response type follows `Accept`: `application/graphql-response+json` when the client
//!   names it, `application/json` when it names that, sends `*/*` or sends no `Accept` (legacy
//!   clients), 406 otherwise.
//! - A malformed HTTP request (bad JSON, no `query`, wrong parameter types) is 400. A document
//!   that fails to parse or validate is 400 under `application/graphql-response+json` and 200
//!   under `application/json`, as the specification requires; executed requests are 200.
//! - Every request but pure introspection needs `Authorization: ApiKey PREFIX.SECRET`:
//!   401 `UNAUTHENTICATED` (with `WWW-Authenticate`) otherwise; then the key's rate limit
//!   (429 `RATE_LIMITED` with `Retry-After`); then execution within the request timeout
//!   (504 `TIMEOUT`).
//!
//! [`handle`] reads the parameters ([`super::params`]), runs them through the pipeline within
//! the request timeout (`execute`), and writes the answer ([`super::reply`]).

use std::net::{IpAddr, SocketAddr};

use async_graphql::parser::types::OperationType;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;

use super::AppState;
use super::params::{self, Params};
use super::reply::{self, MediaType};
use crate::graphql::error::ApiError;

/// Handles one GraphQL-over-HTTP request.
pub async fn handle(
    State(state): State<AppState>,
    connect_info: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    body: Bytes,
) -> Response {
    let Some(media) = reply::negotiate(&headers) else {
        let refused = ApiError::BadRequest {
            status: StatusCode::NOT_ACCEPTABLE.as_u16(),
            message: "accept application/graphql-response+json or application/json".into(),
        };
        return reply::refusal(&refused, MediaType::Json);
    };
    let client = connect_info.map(|Extension(ConnectInfo(addr))| addr.ip());
    let answer = match read(&state, &method, &headers, raw_query.as_deref(), &body) {
        Ok(params) => execute(&state, &headers, client, params).await,
        Err(refused) => Err(refused),
    };
    match answer {
        Ok(response) => reply::executed(&response, media),
        Err(refused) => reply::refusal(&refused, media),
    }
}

/// The request's parameters, refused when a GET asks for a mutation or subscription.
fn read(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    raw_query: Option<&str>,
    body: &Bytes,
) -> Result<Params, ApiError> {
    let params = params::read(method, headers, raw_query, body)?;
    if method == Method::GET
        && state.schema.document(&params.query).is_some_and(|doc| {
            matches!(
                params.operation_type(&doc),
                Some(OperationType::Mutation | OperationType::Subscription)
            )
        })
    {
        return Err(ApiError::MethodNotAllowed {
            allow: "POST",
            message: "mutations are only accepted over POST".into(),
        });
    }
    Ok(params)
}

/// Admits and executes within the request timeout, which covers everything that may wait on
/// the database, authentication included; records the request's metrics. `Err`: refused.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<IpAddr>,
    params: Params,
) -> Result<async_graphql::Response, ApiError> {
    let started = std::time::Instant::now();
    let operation = params.operation_name.clone();
    let timeout = state.config.request_timeout;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let outcome = tokio::time::timeout(
        timeout,
        authorize_and_execute(state, authorization, client, params),
    )
    .await
    .map_err(|_| {
        ApiError::RequestTimeout(format!(
            "the request took longer than {} ms and was abandoned: ask for less",
            timeout.as_millis()
        ))
    })?;
    let response = outcome?;
    state.metrics.observe(
        operation.as_deref(),
        started.elapsed(),
        !response.errors.is_empty(),
    );
    Ok(response)
}

/// Admits the request through the shared pipeline ([`super::pipeline`]) and executes.
async fn authorize_and_execute(
    state: &AppState,
    authorization: Option<&str>,
    client: Option<IpAddr>,
    params: Params,
) -> Result<async_graphql::Response, ApiError> {
    let caller = state
        .admit(authorization, client, || {
            state
                .schema
                .document(&params.query)
                .is_some_and(|doc| params.is_introspection_only(&doc))
        })
        .await?;
    Ok(crate::graphql::execute(&state.schema, &state.db, caller, params.into_request()).await)
}
