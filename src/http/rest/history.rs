//! `GET /api/jobs/history`: Modzy's job history. The query parameters become the GraphQL
//! history's own types — a [`JobFilter`] validated by the same code (messages worded for these
//! parameters: [`Wording::Rest`]), a [`JobOrder`], a keyset [`Page`] — and the page is read by
//! the same [`fetch`]; page numbers are positions found by
//! [`super::pages`]. The answer is a bare JSON array of jobs with an RFC 8288 `Link` header
//! (`first`, `prev`, `next`).
//!
//! Parameters: `user`, `accessKey`, `model` (as the GraphQL filter's fields, each possibly
//! several values: `a,b` any of them, `a;b` all of them; at most 20), `startDate` /
//! `endDate` (on `createdAt`; ISO 8601 with or without an offset — none means UTC — or a
//! date alone: its first instant for `startDate`, its last for `endDate`), `status`
//! (`all`, `pending`, `terminated`, `timedout` or an exact status, any case; `,` between
//! values means any of them, `;` all of them), `sort-by` (a job field), `direction`
//! (`asc`/`desc`), `page` (from 1), `per-page` (1–100, default 10). Anything else is a 400.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::pages::Query;
use super::wire::JobBody;
use crate::auth::Caller;
use crate::db::jobs::{JobConditions, SortKey};
use crate::domain::JobStatus;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::history::connection::fetch;
use crate::graphql::history::filter::{self, DateRange, JobFilter, JobStatusGroup, Wording};
use crate::graphql::history::order::{JobOrder, JobOrderField, OrderDirection};
use crate::graphql::history::page::{MAX_PAGE_SIZE, Page};
use crate::graphql::loaders::{self, Nested};
use crate::graphql::scalars::DateTime;
use crate::graphql::types::job::Job;
use crate::http::AppState;

/// The route, as its metrics label and its `Link` base.
pub const PATH: &str = "/api/jobs/history";
/// Jobs per page when `per-page` is not given (Modzy's default).
pub const DEFAULT_PER_PAGE: u64 = 10;
/// The parameters this route takes.
const PARAMETERS: &str = "user, accessKey, startDate, endDate, model, status, sort-by, \
                          direction, page, per-page";

/// The sortable job fields, by their Modzy name.
const SORT_FIELDS: [(&str, JobOrderField); 8] = [
    ("createdAt", JobOrderField::CreatedAt),
    ("submittedAt", JobOrderField::SubmittedAt),
    ("updatedAt", JobOrderField::UpdatedAt),
    ("status", JobOrderField::Status),
    ("elapsedTime", JobOrderField::ElapsedTime),
    ("queueTime", JobOrderField::QueueTime),
    ("inputByteAmount", JobOrderField::InputByteAmount),
    ("total", JobOrderField::Total),
];

/// A validated history request.
#[derive(Debug)]
pub struct HistoryParams {
    /// The filter, as the GraphQL `jobs` field takes it, but for the search texts.
    pub filter: JobFilter,
    /// The search texts (`user`, `accessKey`, `model`), which may hold several values here
    /// (`,` any, `;` all): only those fields of it are set.
    pub texts: JobConditions,
    /// The order.
    pub order: JobOrder,
    /// The page number, from 1.
    pub page: u64,
    /// Jobs per page.
    pub per_page: u64,
    /// The parameters as sent but `page`, normalized (for the page-end cache and `Link`).
    rest: Vec<(String, String)>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_input(message)
}

/// `value` as a positive integer for the parameter `name`.
fn number(name: &str, value: &str) -> ApiResult<u64> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            bad(format!(
                "{name} must be a whole number from 1, got {value:?}"
            ))
        })
}

/// An ISO 8601 instant: with an offset, without one (UTC), or a date alone (its first
/// instant, or its last when `end`).
fn instant(name: &str, value: &str, end: bool) -> ApiResult<DateTime> {
    let v = value.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(DateTime(t.with_timezone(&chrono::Utc)));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, format) {
            return Ok(DateTime::from_naive(t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let time = if end {
            NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999)
        } else {
            NaiveTime::from_hms_opt(0, 0, 0)
        };
        if let Some(time) = time {
            return Ok(DateTime::from_naive(d.and_time(time)));
        }
    }
    Err(bad(format!(
        "{name} {value:?} is not an ISO 8601 date-time, e.g. 2026-05-01T12:30:00Z or 2026-05-01"
    )))
}

/// The statuses one `status` value names (a group or an exact status, any case); `None`: all.
fn status_value(value: &str) -> ApiResult<Option<Vec<JobStatus>>> {
    let v = value.trim().to_ascii_uppercase();
    let group = match v.as_str() {
        "ALL" => Some(JobStatusGroup::All),
        "PENDING" => Some(JobStatusGroup::Pending),
        "TERMINATED" => Some(JobStatusGroup::Terminated),
        "TIMEDOUT" => Some(JobStatusGroup::Timedout),
        _ => None,
    };
    if let Some(group) = group {
        return Ok(group.statuses());
    }
    JobStatus::ALL
        .iter()
        .find(|s| s.as_str() == v)
        .map(|s| Some(vec![*s]))
        .ok_or_else(|| {
            bad(format!(
                "status {value:?} is not a status: use all, pending, terminated, timedout or an \
                 exact status (submitted, in_progress, completed, canceled, error); separate \
                 several with `,` (any of them) or `;` (all of them)"
            ))
        })
}

/// `status`: `;` separates conditions that must all hold, `,` alternatives of one condition.
/// `None`: every status.
fn statuses(value: &str) -> ApiResult<Option<Vec<JobStatus>>> {
    let mut all: Option<Vec<JobStatus>> = None;
    for term in value.split(';') {
        let mut any: Option<Vec<JobStatus>> = Some(Vec::new());
        for alternative in term.split(',') {
            match (status_value(alternative)?, &mut any) {
                (None, _) => any = None,
                (Some(these), Some(acc)) => acc.extend(these),
                (Some(_), None) => {}
            }
        }
        all = match (all, any) {
            (None, any) => any,
            (all, None) => all,
            (Some(all), Some(any)) => Some(all.into_iter().filter(|s| any.contains(s)).collect()),
        };
    }
    Ok(all.map(|mut s| {
        s.sort_by_key(|s| s.code());
        s.dedup();
        s
    }))
}

fn sort_field(value: &str) -> ApiResult<JobOrderField> {
    let v = value.trim();
    SORT_FIELDS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(v))
        .map(|(_, field)| *field)
        .ok_or_else(|| {
            let names: Vec<_> = SORT_FIELDS.iter().map(|(n, _)| *n).collect();
            bad(format!(
                "sort-by {value:?} is not a sortable job field: use one of {}",
                names.join(", ")
            ))
        })
}

fn direction(value: &str) -> ApiResult<OrderDirection> {
    match value.trim().to_ascii_lowercase().as_str() {
        "asc" => Ok(OrderDirection::Asc),
        "desc" => Ok(OrderDirection::Desc),
        _ => Err(bad(format!("direction must be asc or desc, got {value:?}"))),
    }
}

impl HistoryParams {
    /// Parses and validates the query string (everything but the filter's own checks, which
    /// [`JobFilter::conditions_as`] makes).
    pub fn parse(raw_query: Option<&str>) -> ApiResult<Self> {
        let mut filter = JobFilter::default();
        let mut texts = JobConditions::default();
        let (mut start, mut end) = (None, None);
        let (mut field, mut dir) = (JobOrderField::CreatedAt, OrderDirection::Desc);
        let (mut page, mut per_page) = (1, DEFAULT_PER_PAGE);
        let mut seen: Vec<String> = Vec::new();
        let mut rest = Vec::new();
        let pairs = url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes());
        for (name, value) in pairs {
            if seen.iter().any(|s| *s == name) {
                return Err(bad(format!(
                    "{name} is given twice: give it once (separate several values with `,` or `;`)"
                )));
            }
            seen.push(name.to_string());
            let v = value.to_string();
            match &*name {
                "user" => texts.user = Some(filter::texts("user", &v)?),
                "accessKey" => texts.access_key = Some(filter::texts("accessKey", &v)?),
                "model" => texts.model_name = Some(filter::texts("model", &v)?),
                "startDate" => start = Some(instant("startDate", &v, false)?),
                "endDate" => end = Some(instant("endDate", &v, true)?),
                "status" => filter.statuses = statuses(&v)?,
                "sort-by" => field = sort_field(&v)?,
                "direction" => dir = direction(&v)?,
                "page" => page = number("page", &v)?,
                "per-page" => {
                    per_page = number("per-page", &v)?;
                    if per_page > MAX_PAGE_SIZE as u64 {
                        return Err(bad(format!(
                            "per-page must be at most {MAX_PAGE_SIZE}, got {per_page}: ask for \
                             the following pages with `page`"
                        )));
                    }
                }
                other => {
                    return Err(bad(format!(
                        "unknown parameter {other:?}: the history takes {PARAMETERS}"
                    )));
                }
            }
            if name != "page" {
                rest.push((name.to_string(), v));
            }
        }
        if start.is_some() || end.is_some() {
            filter.created_at = Some(DateRange {
                from: start,
                to: end,
            });
        }
        rest.sort();
        Ok(Self {
            filter,
            texts,
            order: JobOrder {
                field,
                direction: dir,
            },
            page,
            per_page,
            rest,
        })
    }

    /// The query string of page `page` of the same query.
    fn link(&self, page: u64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.rest {
            query.append_pair(k, v);
        }
        query.append_pair("page", &page.to_string());
        format!("<{PATH}?{}>", query.finish())
    }

    /// The `Link` header: `first`, `prev` after page 1, `next` when more jobs follow.
    fn links(&self, has_next: bool) -> String {
        let mut links = vec![format!("{}; rel=\"first\"", self.link(1))];
        if self.page > 1 {
            links.push(format!("{}; rel=\"prev\"", self.link(self.page - 1)));
        }
        if has_next {
            links.push(format!("{}; rel=\"next\"", self.link(self.page + 1)));
        }
        links.join(", ")
    }
}

/// Answers one history request by `caller`.
pub async fn answer(
    state: &AppState,
    caller: &Caller,
    raw_query: Option<&str>,
) -> ApiResult<Response> {
    let now = crate::db::now();
    let params = HistoryParams::parse(raw_query)?;
    let conditions = JobConditions {
        user: params.texts.user.clone(),
        access_key: params.texts.access_key.clone(),
        model_name: params.texts.model_name.clone(),
        ..params.filter.conditions_as(now, Wording::Rest)?
    };
    let query = Query {
        key: format!("{}?{:?}", caller.prefix, params.rest),
        scope: caller.scope(),
        conditions: &conditions,
        order: params.order,
        per_page: params.per_page,
    };
    let db = &state.db;
    let Some(after) = state.pages.start_of(db, &query, params.page).await? else {
        // The history ends before this page.
        return Ok(respond(
            &[],
            &(Default::default(), Default::default()),
            &params,
            false,
        ));
    };
    let page = Page {
        // per-page is at most MAX_PAGE_SIZE (100).
        size: i32::try_from(params.per_page).unwrap_or(MAX_PAGE_SIZE),
        from_end: false,
        after,
        before: None,
    };
    let (records, has_more) = fetch(db, query.scope, &conditions, query.order, &page).await?;
    let sort = params.order.sort().key;
    if let Some(last) = records
        .last()
        .filter(|_| records.len() as u64 == params.per_page)
    {
        state
            .pages
            .remember(&query.key, params.page, position(sort, &last.job));
    }
    let rows: Vec<_> = records.iter().map(|r| &r.job).collect();
    let nested = loaders::nested(
        db,
        &rows,
        Nested {
            users: true,
            inputs: true,
        },
    )
    .await?;
    let jobs: Vec<Job> = records.into_iter().map(|r| Job::new(r, now)).collect();
    Ok(respond(&jobs, &nested, &params, has_more))
}

/// The position of `job` in a sort on `key`.
fn position(key: SortKey, job: &crate::db::models::Job) -> crate::db::jobs::Seek {
    crate::db::jobs::Seek {
        key: key.key_of(job),
        id: job.id,
    }
}

fn respond(
    jobs: &[Job],
    nested: &super::wire::Nested,
    params: &HistoryParams,
    has_next: bool,
) -> Response {
    let bodies: Vec<JobBody<'_>> = jobs.iter().map(|j| JobBody::new(j, nested)).collect();
    let mut response = super::json(&bodies).into_response();
    if let Ok(link) = HeaderValue::from_str(&params.links(has_next)) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses_of(v: &str) -> Option<Vec<&'static str>> {
        statuses(v)
            .unwrap()
            .map(|s| s.iter().map(|s| s.as_str()).collect())
    }

    #[test]
    fn status_lists_combine_with_or_and_and() {
        assert_eq!(statuses_of("all"), None);
        assert_eq!(
            statuses_of("Pending"),
            Some(vec!["SUBMITTED", "IN_PROGRESS"])
        );
        assert_eq!(
            statuses_of("timedout,pending"),
            Some(vec!["SUBMITTED", "IN_PROGRESS", "TIMEDOUT"])
        );
        assert_eq!(
            statuses_of("terminated;canceled,submitted"),
            Some(vec!["CANCELED"])
        );
        assert_eq!(statuses_of("pending;terminated"), Some(vec![]));
        assert_eq!(statuses_of("all,pending"), None);
        assert!(statuses("done").is_err());
    }

    #[test]
    fn dates_with_and_without_offsets() {
        let t = instant("startDate", "2026-05-01T12:30:00.250", false).unwrap();
        assert_eq!(t.to_iso(), "2026-05-01T12:30:00.250+00:00");
        let t = instant("startDate", "2026-05-01T14:30:00+02:00", false).unwrap();
        assert_eq!(t.to_iso(), "2026-05-01T12:30:00.000+00:00");
        let t = instant("endDate", "2026-05-01", true).unwrap();
        assert_eq!(t.to_iso(), "2026-05-01T23:59:59.999+00:00");
        assert!(instant("endDate", "yesterday", true).is_err());
    }

    #[test]
    fn parameters_are_checked() {
        let e = |q: &str| HistoryParams::parse(Some(q)).unwrap_err().message();
        assert!(e("sort-by=submittedBy").contains("not a sortable job field"));
        assert!(e("per-page=101").contains("at most 100"));
        assert!(e("page=0").contains("whole number from 1"));
        assert!(e("direction=up").contains("asc or desc"));
        assert!(e("colour=red").contains("unknown parameter"));
        assert!(e("page=1&page=2").contains("given twice"));
        let p = HistoryParams::parse(Some("sort-by=ELAPSEDTIME&direction=ASC&page=3")).unwrap();
        assert_eq!(p.order.field, JobOrderField::ElapsedTime);
        assert_eq!(p.order.direction, OrderDirection::Asc);
        assert_eq!(p.page, 3);
        assert_eq!(
            p.links(true),
            "</api/jobs/history?direction=ASC&sort-by=ELAPSEDTIME&page=1>; rel=\"first\", \
             </api/jobs/history?direction=ASC&sort-by=ELAPSEDTIME&page=2>; rel=\"prev\", \
             </api/jobs/history?direction=ASC&sort-by=ELAPSEDTIME&page=4>; rel=\"next\""
        );
    }
}
