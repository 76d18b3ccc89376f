//! How GraphQL answers are written over HTTP: the media type chosen from `Accept`
//! ([`negotiate`]), the one JSON writer of response bodies (`write_body`), an executed
//! response's status ([`executed`]), and every refusal — an [`ApiError`] with its status, code,
//! message and headers ([`refusal`]). The refusals of the layers around `/graphql` (the body
//! limit's 413, the outer timeout's 504, a panic's 500) are rewritten into the same form
//! ([`shape_refusals`], [`panic_response`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::ServerError;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::HttpConfig;
use crate::graphql::error::ApiError;

/// The GraphQL-over-HTTP media type.
pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
/// The legacy media type.
pub const JSON: &str = "application/json";

/// The media type a response is sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`.
    GraphqlResponse,
    /// `application/json`.
    Json,
}

impl MediaType {
    /// The `Content-Type` header value.
    pub fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response media type from `Accept`; `None` when nothing acceptable is offered.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let types: Vec<String> = accept
        .split(',')
        .filter(|part| !part.contains("q=0") || part.contains("q=0."))
        .map(|part| {
            part.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    if types.iter().any(|t| t == GRAPHQL_RESPONSE) {
        Some(MediaType::GraphqlResponse)
    } else if types
        .iter()
        .any(|t| t == JSON || t == "*/*" || t == "application/*")
    {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// The body of a request that executed nothing: no `data` entry at all (GraphQL over HTTP),
/// and the rest serialized as async-graphql's `Response` is, keys in its order (a
/// `serde_json::Value` would sort them: `"locations": [{"column": …, "line": …}]`).
#[derive(Serialize)]
struct Unexecuted<'a> {
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

/// Sent when even an error cannot be serialized (it cannot happen: every field is a string).
const INTERNAL_ERROR: &str = concat!(
    r#"{"errors":[{"message":"internal server error","#,
    r#""extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#
);

/// Writes a response with `status` in `media`: the one place response JSON is written. A
/// response that executed nothing has no `data` entry. Straight to bytes, in the response's
/// own key order: going through a `serde_json::Value` would cost a tree of maps per response
/// (~5 % of the server's CPU on a 50-job page) and sort every object's keys.
fn write_body(
    status: StatusCode,
    media: MediaType,
    response: &async_graphql::Response,
    executed: bool,
) -> Response {
    let body = if executed {
        serde_json::to_vec(response)
    } else {
        serde_json::to_vec(&Unexecuted {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    };
    let body = body.unwrap_or_else(|_| INTERNAL_ERROR.into());
    let mut http = (status, body).into_response();
    http.headers_mut()
        .insert(header::CONTENT_TYPE, media.header());
    http
}

/// The answer to an executed (or attempted) GraphQL request. Errors with no path happened
/// before execution (parse, validation, variables, limits): under the GraphQL media type that
/// is a 400 without `data`; everything else is a 200.
pub fn executed(response: &async_graphql::Response, media: MediaType) -> Response {
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if request_error && media == MediaType::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    write_body(status, media, response, !request_error)
}

/// A request refused before execution: the error's status and headers (`Retry-After`,
/// `WWW-Authenticate`, `Allow`), and a body with it alone.
pub fn refusal(error: &ApiError, media: MediaType) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let response = async_graphql::Response::from_errors(vec![error.to_server_error()]);
    let mut http = write_body(status, media, &response, false);
    refusal_headers(error, http.headers_mut());
    http
}

/// The headers a refusal carries whatever its body: `Retry-After` (429), `WWW-Authenticate`
/// (401), `Allow` (405). GraphQL and REST refusals both set them here.
pub fn refusal_headers(error: &ApiError, headers: &mut HeaderMap) {
    if let Some(seconds) = error.retry_after() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let ApiError::Unauthenticated(_) = error {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("ApiKey realm=\"job-history\""),
        );
    }
    if let ApiError::MethodNotAllowed { allow, .. } = error {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
}

/// Turns what the layers around `/graphql` and `/api` answer by themselves into each API's
/// error form: the body limit's 413 (from tower-http, or from reading a body with no length
/// announced), the outer timeout's 504 and the router's 405 are plain text or empty otherwise.
/// Other routes are untouched.
pub async fn shape_refusals(
    State(config): State<Arc<HttpConfig>>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let rest = path == "/api" || path.starts_with("/api/");
    if path != "/graphql" && !rest {
        return next.run(request).await;
    }
    let media = negotiate(request.headers()).unwrap_or(MediaType::Json);
    let response = next.run(request).await;
    let status = response.status();
    let graphql = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(GRAPHQL_RESPONSE) || v.starts_with(JSON));
    if graphql || status.is_success() {
        return response;
    }
    let refused = outer_refusal(status, &config);
    let mut shaped = if rest {
        super::rest::error::answer(&refused)
    } else {
        refusal(&refused, media)
    };
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}

/// The error an outer layer meant by answering `status` by itself.
fn outer_refusal(status: StatusCode, config: &HttpConfig) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(format!(
            "the request body is larger than {} bytes: send a shorter document or fewer \
             variables (MAX_BODY_BYTES)",
            config.max_body_bytes
        )),
        StatusCode::GATEWAY_TIMEOUT => ApiError::RequestTimeout(format!(
            "the request took longer than {} ms and was abandoned",
            config.request_timeout.as_millis()
        )),
        _ => ApiError::BadRequest {
            status: status.as_u16(),
            message: status
                .canonical_reason()
                .unwrap_or("the request was refused")
                .to_string(),
        },
    }
}

/// What a panic tells a client: an internal error whose message (the panic's, logged with an
/// error id when the error is answered) is never sent.
pub fn panic_error(panic: &(dyn std::any::Any + Send + 'static)) -> ApiError {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    ApiError::internal(format!("panic: {detail}"))
}

/// The answer to a request whose handler panicked (`CatchPanicLayer`): a GraphQL error with
/// an error id; the panic's message is logged with the id, never sent. (`/api` answers its
/// own panics in Modzy's form: `rest::guard`.)
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    refusal(&panic_error(panic.as_ref()), MediaType::Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn accept(v: &str) -> Option<MediaType> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        negotiate(&h)
    }

    #[tokio::test]
    async fn a_panic_answers_a_graphql_error_with_an_id_and_no_details() {
        use tower::ServiceExt;
        let app = axum::Router::new()
            .route(
                "/graphql",
                axum::routing::get(|| async {
                    if true {
                        panic!("secret detail");
                    }
                    "unreachable"
                }),
            )
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                panic_response,
            ));
        let request = axum::http::Request::get("/graphql")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            MediaType::Json.header()
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("(error id "), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }

    #[test]
    fn refusals_carry_their_status_and_headers() {
        let limited = refusal(&ApiError::key_rate_limited(7), MediaType::GraphqlResponse);
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "7");
        let method = ApiError::MethodNotAllowed {
            allow: "POST",
            message: "x".into(),
        };
        let method = refusal(&method, MediaType::Json);
        assert_eq!(method.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(method.headers()[header::ALLOW], "POST");
        let unauthenticated = refusal(&ApiError::Unauthenticated("x".into()), MediaType::Json);
        assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
        assert!(
            unauthenticated
                .headers()
                .contains_key(header::WWW_AUTHENTICATE)
        );
    }

    #[test]
    fn the_fallback_body_is_json() {
        let body: Value = serde_json::from_str(INTERNAL_ERROR).unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "INTERNAL_SERVER_ERROR"
        );
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(accept("application/json"), Some(MediaType::Json));
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(accept("*/*"), Some(MediaType::Json));
        assert_eq!(accept("text/html"), None);
    }
}
