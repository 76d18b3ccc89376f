//! The REST form of an [`ApiError`]: Modzy's error body `{"statusCode", "status", "message"}`
//! (plus our stable `code`) with the error's own HTTP status and headers. Modzy's SDKs pick
//! their exception class from the status and show `message`; the status, the message (with
//! its error id for logged failures) and the headers are exactly what `/graphql` answers for
//! the same error, as both come from the one `ApiError`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::graphql::error::ApiError;
use crate::http::reply;

/// Modzy's error body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    /// The HTTP status, e.g. 400.
    status_code: u16,
    /// Its name, e.g. `BAD_REQUEST`.
    status: String,
    /// What went wrong and what to change.
    message: String,
    /// The stable code (`BAD_USER_INPUT`, …), as in GraphQL's `extensions.code`.
    code: &'static str,
}

/// The name of `status` in Modzy's form: `TOO_MANY_REQUESTS` for 429.
pub fn status_name(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("ERROR")
        .to_ascii_uppercase()
        .replace([' ', '-'], "_")
}

/// The whole answer to a refused or failed REST request.
pub fn answer(error: &ApiError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = Body {
        status_code: status.as_u16(),
        status: status_name(status),
        message: error.public_message(),
        code: error.code(),
    };
    let mut response = (status, super::json_bytes(&body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::JSON_TYPE),
    );
    reply::refusal_headers(error, headers);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_named_as_modzy_names_them() {
        assert_eq!(status_name(StatusCode::BAD_REQUEST), "BAD_REQUEST");
        assert_eq!(
            status_name(StatusCode::TOO_MANY_REQUESTS),
            "TOO_MANY_REQUESTS"
        );
        assert_eq!(status_name(StatusCode::UNAUTHORIZED), "UNAUTHORIZED");
    }

    #[tokio::test]
    async fn a_rate_limit_answers_429_with_retry_after_and_modzys_body() {
        let response = answer(&ApiError::key_rate_limited(3));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["statusCode"], 429);
        assert_eq!(body["status"], "TOO_MANY_REQUESTS");
        assert_eq!(body["code"], "RATE_LIMITED");
        assert!(body["message"].as_str().unwrap().contains("retry in 3 s"));
    }
}
