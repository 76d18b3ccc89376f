//! Driving the real router in process (`tower::ServiceExt::oneshot`, no socket): the one place
//! tests build the app, write a GraphQL request and read the reply.
#![allow(dead_code)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header, request};
use job_history::db::Db;
use job_history::http::{self, AppState, HttpConfig};
use serde_json::Value;
use tower::ServiceExt;

/// The GraphQL-over-HTTP media type.
pub const GQL: &str = "application/graphql-response+json";

/// Largest reply body a test reads.
const MAX_REPLY: usize = 16 << 20;

/// A whole reply: status, headers and body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
}

impl Reply {
    /// The body as JSON, failing the test when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The `content-type` header, or "".
    pub fn content_type(&self) -> String {
        self.headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

/// The router over `db` with `config`.
pub fn app(db: &Db, config: HttpConfig) -> Router {
    http::router(AppState::new(db.clone(), config))
}

/// Sends `request` through `app` and reads the whole reply.
pub async fn send(app: Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), MAX_REPLY)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        bytes,
    }
}

/// The `Authorization` value for a full key (`PREFIX.SECRET`).
pub fn api_key(key: &str) -> String {
    format!("ApiKey {key}")
}

/// A `POST /graphql` with a JSON body and `authorization` (a whole header value) when given;
/// add headers to it, then `.body(…)`.
pub fn graphql_post(authorization: Option<&str>) -> request::Builder {
    let request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    match authorization {
        Some(a) => request.header(header::AUTHORIZATION, a),
        None => request,
    }
}

/// The JSON body of a GraphQL request.
pub fn graphql_body(query: &str, variables: Value) -> Body {
    Body::from(serde_json::json!({ "query": query, "variables": variables }).to_string())
}

/// Marks `request` as coming from `peer`, as the real listener does (the per-address limit
/// reads it).
pub fn from_peer(mut request: Request<Body>, peer: SocketAddr) -> Request<Body> {
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

/// POSTs `query` with `variables` to a fresh router over `db` with `config`, with
/// `authorization` (a whole header value) when given.
pub async fn post_with(
    db: &Db,
    config: HttpConfig,
    authorization: Option<&str>,
    query: &str,
    variables: Value,
) -> Reply {
    let request = graphql_post(authorization)
        .body(graphql_body(query, variables))
        .unwrap();
    send(app(db, config), request).await
}

/// POSTs `query` as `key` (a full key) with the default settings.
pub async fn post(db: &Db, key: &str, query: &str, variables: Value) -> Reply {
    post_with(
        db,
        HttpConfig::default(),
        Some(&api_key(key)),
        query,
        variables,
    )
    .await
}

/// A `GET` of `path` with no headers.
pub async fn get(app: Router, path: &str) -> Reply {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

/// The first error's `extensions.code` of a GraphQL answer, or "".
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// A REST request (`/api/…`) with `method` on `path` as `key` (a full key) when given.
pub fn rest_request(method: &str, path: &str, key: Option<&str>) -> request::Builder {
    let request = Request::builder().method(method).uri(path);
    match key {
        Some(key) => request.header(header::AUTHORIZATION, api_key(key)),
        None => request,
    }
}

/// Sends a REST request through `app`: `method` on `path` as `key`, with a JSON `body` when
/// given.
pub async fn rest(
    app: &Router,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let request = rest_request(method, path, key);
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    send(app.clone(), request.unwrap()).await
}
