//! `GET /api/models`, `GET /api/models/{identifier}`, `GET /api/models/{identifier}/versions`
//! and `GET /api/models/{identifier}/versions/{version}`: the catalogue
//! ([`crate::db::catalogue::all_models`], the GraphQL `models` field's reader) grouped by model
//! in Modzy's shapes. A model: `{"modelId", "identifier", "name", "latestVersion",
//! "versions"}`; a version: `{"modelId", "identifier", "version", "name"}`. Modzy's SDK checks
//! its connection with `GET /api/models`. The list takes `modelId` (exact), `name`
//! (case-insensitive part), `sort-by` (`name`, `modelId`), `direction`, `page` and `per-page`
//! (1–1000, default 1000, what the SDK asks for); anything else is a 400. Modzy's Python SDK
//! also reads `GET /api/models/requirements/account` when it starts: an empty list here.

use std::cmp::Ordering;

use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::catalogue;
use crate::db::models::Model;
use crate::graphql::error::{ApiError, ApiResult};
use crate::http::AppState;

/// Most models per page.
pub const MAX_PER_PAGE: usize = 1000;

/// One model with its versions.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelBody<'a> {
    model_id: &'a str,
    identifier: &'a str,
    name: &'a str,
    latest_version: &'a str,
    versions: Vec<&'a str>,
}

/// One version of a model.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionBody<'a> {
    model_id: &'a str,
    identifier: &'a str,
    version: &'a str,
    name: &'a str,
}

impl<'a> From<&'a Model> for VersionBody<'a> {
    fn from(m: &'a Model) -> Self {
        Self {
            model_id: &m.identifier,
            identifier: &m.identifier,
            version: &m.version,
            name: &m.name,
        }
    }
}

/// Versions compared by their dot-separated parts, numerically where both are numbers
/// (`1.10.0` after `1.9.2`).
fn version_order(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// The catalogue's models, each with its versions in order (newest last).
fn grouped(rows: &[Model]) -> Vec<ModelBody<'_>> {
    let mut models: Vec<ModelBody<'_>> = Vec::new();
    let mut sorted: Vec<&Model> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        a.identifier
            .cmp(&b.identifier)
            .then_with(|| version_order(&a.version, &b.version))
    });
    for m in sorted {
        match models.last_mut() {
            Some(last) if last.model_id == m.identifier => {
                last.versions.push(&m.version);
                last.latest_version = &m.version;
                last.name = &m.name;
            }
            _ => models.push(ModelBody {
                model_id: &m.identifier,
                identifier: &m.identifier,
                name: &m.name,
                latest_version: &m.version,
                versions: vec![&m.version],
            }),
        }
    }
    models
}

async fn catalogue(state: &AppState) -> ApiResult<Vec<Model>> {
    Ok(state
        .db
        .read(async |c| catalogue::all_models(c).await)
        .await?)
}

fn positive(name: &str, value: &str, max: usize) -> ApiResult<usize> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            ApiError::bad_input(format!(
                "{name} must be a whole number from 1 to {max}, got {value:?}"
            ))
        })
}

/// `GET /api/models`.
pub async fn list(state: &AppState, raw_query: Option<&str>) -> ApiResult<Response> {
    let (mut id, mut name) = (None, None);
    let (mut by_name, mut descending) = (true, false);
    let (mut page, mut per_page) = (1, MAX_PER_PAGE);
    for (key, value) in url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()) {
        match &*key {
            "modelId" => id = Some(value.trim().to_string()),
            "name" => name = Some(value.trim().to_lowercase()),
            "sort-by" => {
                by_name = match &*value {
                    "name" => true,
                    "modelId" | "identifier" => false,
                    other => {
                        return Err(ApiError::bad_input(format!(
                            "sort-by {other:?} is not supported here: use name or modelId"
                        )));
                    }
                }
            }
            "direction" => {
                descending = match value.to_ascii_lowercase().as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => {
                        return Err(ApiError::bad_input(format!(
                            "direction must be asc or desc, got {value:?}"
                        )));
                    }
                }
            }
            "page" => page = positive("page", &value, usize::MAX)?,
            "per-page" => per_page = positive("per-page", &value, MAX_PER_PAGE)?,
            other => {
                return Err(ApiError::bad_input(format!(
                    "unknown parameter {other:?}: the model list takes modelId, name, sort-by, \
                     direction, page, per-page"
                )));
            }
        }
    }
    let rows = catalogue(state).await?;
    let mut models: Vec<_> = grouped(&rows)
        .into_iter()
        .filter(|m| id.as_deref().is_none_or(|id| m.model_id == id))
        .filter(|m| {
            name.as_deref()
                .is_none_or(|n| m.name.to_lowercase().contains(n))
        })
        .collect();
    models.sort_by(|a, b| {
        let order = if by_name {
            a.name.cmp(b.name).then(a.model_id.cmp(b.model_id))
        } else {
            a.model_id.cmp(b.model_id)
        };
        if descending { order.reverse() } else { order }
    });
    let start = (page - 1).saturating_mul(per_page);
    let models: Vec<_> = models.into_iter().skip(start).take(per_page).collect();
    Ok(super::json(&models).into_response())
}

/// `GET /api/models/requirements/account`: the hardware a deployment offers models, which
/// Modzy's Python SDK reads when it starts. This service runs no models: none (`[]`).
pub fn requirements() -> Response {
    super::json(&[(); 0]).into_response()
}

fn no_model(identifier: &str) -> ApiError {
    ApiError::NotFound(format!("no model with identifier {identifier}"))
}

/// `GET /api/models/{identifier}`.
pub async fn one(state: &AppState, identifier: &str) -> ApiResult<Response> {
    let rows = catalogue(state).await?;
    let model = grouped(&rows)
        .into_iter()
        .find(|m| m.model_id == identifier)
        .ok_or_else(|| no_model(identifier))?;
    Ok(super::json(&model).into_response())
}

/// `GET /api/models/{identifier}/versions`.
pub async fn versions(state: &AppState, identifier: &str) -> ApiResult<Response> {
    let rows = catalogue(state).await?;
    let mut versions: Vec<&Model> = rows.iter().filter(|m| m.identifier == identifier).collect();
    if versions.is_empty() {
        return Err(no_model(identifier));
    }
    versions.sort_by(|a, b| version_order(&a.version, &b.version));
    let bodies: Vec<VersionBody<'_>> = versions.into_iter().map(VersionBody::from).collect();
    Ok(super::json(&bodies).into_response())
}

/// `GET /api/models/{identifier}/versions/{version}`.
pub async fn version(state: &AppState, identifier: &str, version: &str) -> ApiResult<Response> {
    let rows = catalogue(state).await?;
    let model = rows
        .iter()
        .find(|m| m.identifier == identifier && m.version == version)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no model with identifier {identifier} and version {version}"
            ))
        })?;
    Ok(super::json(&VersionBody::from(model)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(version_order("1.10.0", "1.9.2"), Ordering::Greater);
        assert_eq!(version_order("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(version_order("0.0.27", "0.0.27"), Ordering::Equal);
    }
}
