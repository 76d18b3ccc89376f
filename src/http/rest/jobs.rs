//! `GET /api/jobs/{jobIdentifier}`, `DELETE /api/jobs/{jobIdentifier}` (cancel) and
//! `POST /api/jobs` (submit): the GraphQL `job` query and the `cancelJob` / `submitJob`
//! mutations' own functions ([`crate::graphql::query::job`],
//! [`crate::graphql::mutation::cancel`], [`crate::graphql::mutation::submit`]), so the same
//! scope, roles, transaction and published event apply; only Modzy's submit body is read here.
//!
//! Submit body: `{"model": {"identifier", "version"}, "explain", "timeout", "input": {"type",
//! "sources": {SOURCE: {INPUT_NAME: CONTENT, …}, …}}}`. Each source becomes one job input named
//! after it, its byte amount the size of its contents: UTF-8 bytes of `text`, decoded bytes
//! of `embedded` data URIs (`data:…;base64,…`). Types that name data held elsewhere (`aws-s3`,
//! `azureblob`, `jdbc`, …) are refused: there is no content to size.

use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value};

use super::wire::JobBody;
use crate::auth::Caller;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::{self, Nested};
use crate::graphql::mutation::{self, InputSpec, ModelRef, SubmitJobInput};
use crate::graphql::scalars::Long;
use crate::graphql::types::job::Job;
use crate::http::AppState;

/// The input types whose content is in the request.
const TYPES: &str = "text, embedded";

/// The job as an answer, with its user and inputs.
async fn job_answer(state: &AppState, job: Job) -> ApiResult<Response> {
    let row = &job.record().job;
    let wanted = Nested {
        users: true,
        inputs: true,
    };
    let nested = loaders::nested(&state.db, &[row], wanted).await?;
    Ok(super::json(&JobBody::new(&job, &nested)).into_response())
}

/// `GET /api/jobs/{jobIdentifier}`.
pub async fn get(state: &AppState, caller: &Caller, identifier: &str) -> ApiResult<Response> {
    let job = crate::graphql::query::job(&state.db, caller.scope(), identifier).await?;
    job_answer(state, job).await
}

/// `DELETE /api/jobs/{jobIdentifier}`.
pub async fn cancel(state: &AppState, caller: &Caller, identifier: &str) -> ApiResult<Response> {
    let job = mutation::cancel(&state.db, Some(&state.events), caller, identifier).await?;
    job_answer(state, job).await
}

/// `POST /api/jobs`.
pub async fn submit(state: &AppState, caller: &Caller, body: &[u8]) -> ApiResult<Response> {
    let input = submission(body)?;
    let job = mutation::submit(
        &state.db,
        Some(&state.events),
        caller,
        &input,
        "input.sources",
    )
    .await?;
    job_answer(state, job).await
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_input(message)
}

/// A text field of `object` at `path`.
fn text<'a>(object: &'a Map<String, Value>, key: &str, path: &str) -> ApiResult<&'a str> {
    match object.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Number(_)) => Err(bad(format!("{path} must be a string, e.g. \"1.0.1\""))),
        Some(_) => Err(bad(format!("{path} must be a string"))),
        None => Err(bad(format!("{path} is required"))),
    }
}

/// Reads Modzy's submit body into the GraphQL mutation's input.
pub fn submission(body: &[u8]) -> ApiResult<SubmitJobInput> {
    let body: Value =
        serde_json::from_slice(body).map_err(|e| bad(format!("the body is not JSON: {e}")))?;
    let Value::Object(body) = body else {
        return Err(bad("the body must be a JSON object"));
    };
    let Some(Value::Object(model)) = body.get("model") else {
        return Err(bad(
            "model is required: {\"identifier\": …, \"version\": …}",
        ));
    };
    let model = ModelRef {
        identifier: text(model, "identifier", "model.identifier")?.to_string(),
        version: text(model, "version", "model.version")?.to_string(),
    };
    let explain = match body.get("explain") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("explain must be true or false")),
    };
    let timeout = match body.get("timeout") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            Some(Long(n.as_i64().ok_or_else(|| {
                bad("timeout must be a whole number of milliseconds")
            })?))
        }
        Some(_) => return Err(bad("timeout must be a whole number of milliseconds")),
    };
    let Some(Value::Object(input)) = body.get("input") else {
        return Err(bad(format!(
            "input is required: {{\"type\": one of {TYPES}, \"sources\": {{SOURCE: {{INPUT_NAME: \
             CONTENT}}}}}}"
        )));
    };
    let kind = text(input, "type", "input.type")?;
    let embedded = match kind {
        "text" => false,
        "embedded" => true,
        other => {
            return Err(bad(format!(
                "input.type {other:?} is not supported: this service sizes inputs from their \
                 content, so it takes {TYPES}"
            )));
        }
    };
    let Some(Value::Object(sources)) = input.get("sources") else {
        return Err(bad(
            "input.sources is required: {SOURCE: {INPUT_NAME: CONTENT, …}, …}",
        ));
    };
    let mut inputs = Vec::with_capacity(sources.len());
    for (source, contents) in sources {
        let Value::Object(contents) = contents else {
            return Err(bad(format!(
                "input.sources.{source} must be an object of input names to contents"
            )));
        };
        let mut bytes: i64 = 0;
        for (name, content) in contents {
            let path = format!("input.sources.{source}.{name}");
            let Value::String(content) = content else {
                return Err(bad(format!("{path} must be a string")));
            };
            let size = if embedded {
                data_uri_size(content).ok_or_else(|| {
                    bad(format!(
                        "{path} is not a data URI (data:MEDIA-TYPE;base64,DATA)"
                    ))
                })?
            } else {
                content.len()
            };
            bytes = i64::try_from(size)
                .ok()
                .and_then(|size| bytes.checked_add(size))
                .ok_or_else(|| bad(format!("input.sources.{source} is too large")))?;
        }
        inputs.push(InputSpec {
            name: source.clone(),
            byte_amount: Long(bytes),
        });
    }
    Ok(SubmitJobInput {
        model,
        inputs,
        explain,
        timeout,
        image_classification_model: false,
    })
}

/// The size of the data a data URI carries, decoded; `None` when it is not one.
fn data_uri_size(uri: &str) -> Option<usize> {
    let rest = uri.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    if meta.ends_with(";base64") {
        base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .ok()
            .map(|d| d.len())
    } else {
        Some(data.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_become_inputs_sized_by_their_content() {
        let body = br#"{"model": {"identifier": "m", "version": "1.0"}, "explain": true,
            "input": {"type": "text", "sources": {
                "a": {"input.txt": "hello", "other.txt": "\u00e9"},
                "b": {"input.txt": ""}}}}"#;
        let input = submission(body).unwrap();
        let sizes: Vec<_> = input
            .inputs
            .iter()
            .map(|i| (i.name.as_str(), i.byte_amount.0))
            .collect();
        assert_eq!(sizes, [("a", 7), ("b", 0)]);
        assert!(input.explain);
        let embedded = br#"{"model": {"identifier": "m", "version": "1"},
            "input": {"type": "embedded",
                      "sources": {"s": {"i": "data:text/plain;base64,aGVsbG8="}}}}"#;
        assert_eq!(submission(embedded).unwrap().inputs[0].byte_amount.0, 5);
    }

    #[test]
    fn bodies_that_cannot_be_submitted_say_why() {
        let e = |b: &str| submission(b.as_bytes()).unwrap_err().message();
        assert!(e("[").contains("not JSON"));
        assert!(e("{}").contains("model is required"));
        assert!(e(r#"{"model": {"identifier": "m"}}"#).contains("model.version is required"));
        assert!(
            e(r#"{"model": {"identifier": "m", "version": "1"}}"#).contains("input is required")
        );
        assert!(
            e(r#"{"model": {"identifier": "m", "version": "1"}, "input": {"type": "aws-s3"}}"#)
                .contains("not supported")
        );
        assert!(
            e(r#"{"model": {"identifier": "m", "version": "1"},
                 "input": {"type": "embedded", "sources": {"s": {"i": "plain"}}}}"#)
            .contains("not a data URI")
        );
    }
}
