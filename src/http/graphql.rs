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

use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Request, ServerError, Variables};
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use super::pipeline::Refusal;
use super::{AppState, HttpConfig};
use crate::graphql::error::ApiError;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type a response is sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    Json,
}

impl MediaType {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response media type from `Accept`; `None` when nothing acceptable is offered.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
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

/// A response that never reached execution, with code `BAD_REQUEST`.
fn reject(status: StatusCode, media: MediaType, message: &str) -> Response {
    refuse(status, media, "BAD_REQUEST", message)
}

/// A response that never reached execution.
fn refuse(status: StatusCode, media: MediaType, code: &str, message: &str) -> Response {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    let body = Unexecuted {
        errors: std::slice::from_ref(&error),
        extensions: &Default::default(),
    };
    let body = serde_json::to_vec(&body).unwrap_or_else(|_| INTERNAL_ERROR.into());
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.header());
    response
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
const INTERNAL_ERROR: &str = r#"{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#;

/// Turns what the layers around `/graphql` answer by themselves into GraphQL responses: the
/// body limit's 413 (from tower-http, or from reading a body with no length announced) and
/// the outer timeout's 504 are plain text or empty otherwise. Other routes are untouched.
pub async fn shape_refusals(
    State(config): State<Arc<HttpConfig>>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    if request.uri().path() != "/graphql" {
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
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "PAYLOAD_TOO_LARGE",
            format!(
                "the request body is larger than {} bytes: send a shorter document or fewer \
                 variables (MAX_BODY_BYTES)",
                config.max_body_bytes
            ),
        ),
        StatusCode::GATEWAY_TIMEOUT => (
            "TIMEOUT",
            format!(
                "the request took longer than {} ms and was abandoned",
                config.request_timeout.as_millis()
            ),
        ),
        _ => (
            "BAD_REQUEST",
            status
                .canonical_reason()
                .unwrap_or("the request was refused")
                .to_string(),
        ),
    };
    let mut shaped = refuse(status, media, code, &message);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}

/// The answer to a request whose handler panicked (`CatchPanicLayer`): a GraphQL error with
/// an error id; the panic's message is logged with the id, never sent.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    let error: async_graphql::Error = ApiError::internal(format!("panic: {detail}")).into();
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        MediaType::Json,
        "INTERNAL_SERVER_ERROR",
        &error.message,
    )
}

/// The GraphQL parameters of a request.
#[derive(Debug)]
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
    extensions: Option<Map<String, Value>>,
}

impl Params {
    fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(mut map) = value else {
            return Err(
                "the request body must be a JSON object (batched requests are not supported)"
                    .into(),
            );
        };
        let query = match map.remove("query") {
            Some(Value::String(q)) => q,
            Some(_) => return Err("`query` must be a string".into()),
            None => return Err("the request has no `query`".into()),
        };
        let operation_name = match map.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err("`operationName` must be a string".into()),
        };
        let object = |name: &str, v: Option<Value>| match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(format!("`{name}` must be a JSON object")),
        };
        Ok(Self {
            query,
            operation_name,
            variables: object("variables", map.remove("variables"))?,
            extensions: object("extensions", map.remove("extensions"))?,
        })
    }

    fn from_query_string(raw: &str) -> Result<Self, String> {
        let mut map = Map::new();
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            let value = match k.as_ref() {
                "variables" | "extensions" => {
                    serde_json::from_str(&v).map_err(|_| format!("`{k}` must be JSON"))?
                }
                _ => Value::String(v.into_owned()),
            };
            map.insert(k.into_owned(), value);
        }
        Self::from_json(Value::Object(map))
    }

    /// The operation of `doc` that would run: the one named by `operationName`, else the only
    /// one (a document with several and no name does not run: the executor says so).
    fn operation<'d>(&self, doc: &'d ExecutableDocument) -> Option<&'d OperationDefinition> {
        crate::graphql::operation(doc, self.operation_name.as_deref())
    }

    /// The type of the operation that would run.
    fn operation_type(&self, doc: &ExecutableDocument) -> Option<OperationType> {
        self.operation(doc).map(|op| op.ty)
    }

    /// True when the operation selects only introspection fields (`__schema`, `__type`,
    /// `__typename`): those answer without a key, so GraphiQL can load the docs.
    fn is_introspection_only(&self, doc: &ExecutableDocument) -> bool {
        self.operation(doc).is_some_and(|op| {
            op.selection_set
                .node
                .items
                .iter()
                .all(|item| match &item.node {
                    Selection::Field(f) => f.node.name.node.starts_with("__"),
                    _ => false,
                })
        })
    }

    fn into_request(self) -> Request {
        let mut request = Request::new(self.query);
        if let Some(name) = self.operation_name {
            request = request.operation_name(name);
        }
        if let Some(vars) = self.variables {
            request = request.variables(Variables::from_json(Value::Object(vars)));
        }
        if let Some(ext) = self.extensions {
            for (k, v) in ext {
                if let Ok(v) = async_graphql::Value::from_json(v) {
                    request.extensions.insert(k, v);
                }
            }
        }
        request
    }
}

/// Handles one GraphQL-over-HTTP request.
pub async fn handle(
    State(state): State<AppState>,
    connect_info: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    body: Bytes,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return reject(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            "accept application/graphql-response+json or application/json",
        );
    };
    let params = if method == Method::GET {
        Params::from_query_string(raw_query.as_deref().unwrap_or(""))
    } else if method == Method::POST {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
            != JSON
        {
            return reject(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "send the request as application/json",
            );
        }
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| format!("the request body is not valid JSON: {e}"))
            .and_then(Params::from_json)
    } else {
        let mut response = reject(StatusCode::METHOD_NOT_ALLOWED, media, "use GET or POST");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        return response;
    };
    let params = match params {
        Ok(p) => p,
        Err(message) => return reject(StatusCode::BAD_REQUEST, media, &message),
    };
    if method == Method::GET
        && state.schema.document(&params.query).is_some_and(|doc| {
            matches!(
                params.operation_type(&doc),
                Some(OperationType::Mutation | OperationType::Subscription)
            )
        })
    {
        let mut response = reject(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            "mutations are only accepted over POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }

    let started = std::time::Instant::now();
    let operation = params.operation_name.clone();
    let timeout = state.config.request_timeout;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    // The timeout covers everything that may wait on the database: authentication included.
    let Ok(outcome) = tokio::time::timeout(
        timeout,
        authorize_and_execute(
            &state,
            media,
            authorization,
            connect_info.map(|Extension(ConnectInfo(addr))| addr.ip()),
            params,
        ),
    )
    .await
    else {
        let message = format!(
            "the request took longer than {} ms and was abandoned: ask for less",
            timeout.as_millis()
        );
        return refuse(StatusCode::GATEWAY_TIMEOUT, media, "TIMEOUT", &message);
    };
    let response = match outcome {
        Ok(response) => response,
        Err(refused) => return refused,
    };
    state.metrics.observe(
        operation.as_deref(),
        started.elapsed(),
        !response.errors.is_empty(),
    );
    // Errors with no path happened before execution (parse, validation, variables).
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if request_error && media == MediaType::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // Straight to bytes, in the response's own key order: going through a `serde_json::Value`
    // would cost a tree of maps per response (~5 % of the server's CPU on a 50-job page) and
    // sort every object's keys.
    let body = if request_error {
        serde_json::to_vec(&Unexecuted {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    } else {
        serde_json::to_vec(&response)
    };
    let body = body.unwrap_or_else(|_| INTERNAL_ERROR.into());
    let mut http = (status, body).into_response();
    http.headers_mut()
        .insert(header::CONTENT_TYPE, media.header());
    http
}

/// Admits the request through the shared pipeline ([`super::pipeline`]) and executes; `Err`
/// is a refusal to send as is.
async fn authorize_and_execute(
    state: &AppState,
    media: MediaType,
    authorization: Option<&str>,
    client: Option<std::net::IpAddr>,
    params: Params,
) -> Result<async_graphql::Response, Response> {
    let admitted = state
        .admit(authorization, client, || {
            state
                .schema
                .document(&params.query)
                .is_some_and(|doc| params.is_introspection_only(&doc))
        })
        .await;
    let caller = match admitted {
        Ok(caller) => caller,
        Err(refusal) => {
            let status = match &refusal {
                Refusal::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                Refusal::RateLimited(_) | Refusal::AddressLimited(_) => {
                    StatusCode::TOO_MANY_REQUESTS
                }
            };
            let mut response = refuse(status, media, refusal.code(), &refusal.message());
            if let Some(seconds) = refusal.retry_after() {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            if status == StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("ApiKey realm=\"job-history\""),
                );
            }
            return Err(response);
        }
    };
    Ok(crate::graphql::execute(&state.schema, &state.db, caller, params.into_request()).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn params_are_validated() {
        assert!(Params::from_json(json!({ "query": "{ a }" })).is_ok());
        assert!(
            Params::from_json(json!({}))
                .unwrap_err()
                .contains("no `query`")
        );
        assert!(
            Params::from_json(json!({ "query": 1 }))
                .unwrap_err()
                .contains("must be a string")
        );
        assert!(
            Params::from_json(json!({ "query": "{a}", "variables": [] }))
                .unwrap_err()
                .contains("JSON object")
        );
        assert!(Params::from_json(json!([{ "query": "{a}" }])).is_err());
        assert!(Params::from_query_string("query=%7Ba%7D&variables=%7B%7D").is_ok());
        assert!(Params::from_query_string("query=%7Ba%7D&variables=nope").is_err());
    }

    #[test]
    fn introspection_only_documents_are_recognised() {
        let p = |q: &str| {
            let doc = async_graphql::parser::parse_query(q).unwrap();
            Params::from_json(json!({ "query": q }))
                .unwrap()
                .is_introspection_only(&doc)
        };
        assert!(p("{ __schema { types { name } } }"));
        assert!(p(
            "query IntrospectionQuery { __schema { queryType { name } } __typename }"
        ));
        assert!(!p("{ __typename jobs { totalCount } }"));
        assert!(!p("{ ...F } fragment F on Query { __typename }"));
    }

    #[test]
    fn operation_type_follows_operation_name() {
        let p = Params::from_json(
            json!({ "query": "query A { a } mutation B { b }", "operationName": "B" }),
        )
        .unwrap();
        let doc = async_graphql::parser::parse_query(&p.query).unwrap();
        assert_eq!(p.operation_type(&doc), Some(OperationType::Mutation));
        // Several operations and no name: none runs.
        let p = Params::from_json(json!({ "query": "query A { a } mutation B { b }" })).unwrap();
        assert_eq!(p.operation_type(&doc), None);
        let p = Params::from_json(json!({ "query": "mutation { b }" })).unwrap();
        let single = async_graphql::parser::parse_query(&p.query).unwrap();
        assert_eq!(p.operation_type(&single), Some(OperationType::Mutation));
        let p = Params::from_json(
            json!({ "query": "query A { a } mutation B { b }", "operationName": "C" }),
        )
        .unwrap();
        assert_eq!(p.operation_type(&doc), None);
    }
}
