//! `JobFilter`: which jobs the history shows. Every given condition must hold (AND). Its
//! validation lives here, next to it: bad date ranges and empty strings are clear
//! `BAD_USER_INPUT` errors naming the offending field.

use async_graphql::{Enum, InputObject};
use chrono::NaiveDateTime;

use crate::db::jobs::{JobConditions, Range, Texts};
use crate::domain::JobStatus;
use crate::graphql::error::ApiError;
use crate::graphql::scalars::DateTime;

/// Most job identifiers one filter may list.
pub const MAX_IDENTIFIERS: usize = 100;
/// Most exact statuses one filter may list: each of the six at most once.
pub const MAX_STATUSES: usize = 6;
/// Longest text accepted by a search field.
pub const MAX_TEXT: usize = 200;

/// Groups of statuses, as in Modzy's job history.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JobStatusGroup {
    /// Every status.
    #[default]
    All,
    /// SUBMITTED or IN_PROGRESS (and not past their timeout).
    Pending,
    /// COMPLETED, CANCELED, TIMEDOUT or ERROR.
    Terminated,
    /// TIMEDOUT only.
    Timedout,
}

impl JobStatusGroup {
    /// The exact statuses of the group; `None` for ALL.
    pub fn statuses(self) -> Option<Vec<JobStatus>> {
        use JobStatus::*;
        match self {
            Self::All => None,
            Self::Pending => Some(vec![Submitted, InProgress]),
            Self::Terminated => Some(vec![Completed, Canceled, Timedout, Error]),
            Self::Timedout => Some(vec![Timedout]),
        }
    }
}

/// Whose words a validation message uses: the GraphQL argument paths (`filter.createdAt:
/// \`from\``) or the REST route's query parameters (`startDate`), so one validation serves
/// both transports and each names what its client actually sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wording {
    /// `filter.<field>`, with `from`/`to` for date ranges.
    Graphql,
    /// The query parameter's own name, with `startDate`/`endDate` for the date range.
    Rest,
}

impl Wording {
    /// How a filter field is named in messages.
    fn field(self, field: &str) -> String {
        match self {
            Self::Graphql => format!("filter.{field}"),
            Self::Rest => field.to_string(),
        }
    }

    /// The opening of a date range's message and the names of its two bounds.
    fn range(self, field: &str) -> (String, &'static str, &'static str) {
        match self {
            Self::Graphql => (format!("filter.{field}: "), "`from`", "`to`"),
            Self::Rest => (String::new(), "`startDate`", "`endDate`"),
        }
    }
}

/// A range of instants. `from` is required when `to` is given (Modzy's rule); `to` defaults to
/// now. Both bounds are inclusive.
#[derive(InputObject, Clone, Copy, Debug, Default)]
pub struct DateRange {
    /// Start, inclusive; must not be in the future.
    pub from: Option<DateTime>,
    /// End, inclusive; must not be before `from`. Defaults to now.
    pub to: Option<DateTime>,
}

impl DateRange {
    fn resolve(self, field: &str, now: NaiveDateTime, wording: Wording) -> Result<Range, ApiError> {
        let (opening, from_name, to_name) = wording.range(field);
        let err = |m: String| ApiError::bad_input(format!("{opening}{m}"));
        let Some(from) = self.from.map(DateTime::naive) else {
            return Err(err(match self.to {
                Some(_) => {
                    format!("{to_name} needs a {from_name}: give the start of the range too")
                }
                None => format!("give at least {from_name}"),
            }));
        };
        if from > now {
            return Err(err(format!(
                "{from_name} ({}) is in the future",
                DateTime::from_naive(from).0.to_rfc3339()
            )));
        }
        let to = self.to.map_or(now, DateTime::naive);
        if to < from {
            return Err(err(format!(
                "{to_name} ({}) is before {from_name} ({})",
                DateTime::from_naive(to).0.to_rfc3339(),
                DateTime::from_naive(from).0.to_rfc3339()
            )));
        }
        Ok(Range { from, to })
    }
}

/// Conditions on the job history; every one given must hold.
#[derive(InputObject, Clone, Debug, Default)]
pub struct JobFilter {
    /// A group of statuses (default ALL).
    pub status: Option<JobStatusGroup>,
    /// Exact statuses (any of them; at most 6, each status once); combined with `status` when
    /// both are given.
    pub statuses: Option<Vec<JobStatus>>,
    /// Case-insensitive part of the submitting user's first name, last name or email.
    pub user: Option<String>,
    /// Prefix of the API key that submitted the job (`submittedBy`).
    pub access_key: Option<String>,
    /// Case-insensitive part of the model's name.
    pub model: Option<String>,
    /// Exact model identifier.
    pub model_identifier: Option<String>,
    /// Exact model version.
    pub model_version: Option<String>,
    /// When the job was created.
    pub created_at: Option<DateRange>,
    /// When the job was submitted.
    pub submitted_at: Option<DateRange>,
    /// When the job last changed.
    pub updated_at: Option<DateRange>,
    /// Only these jobs (at most 100 identifiers).
    pub job_identifiers: Option<Vec<String>>,
    /// Whether an explanation was requested.
    pub explain: Option<bool>,
    /// Whether the model is an image classification model.
    pub image_classification_model: Option<bool>,
    /// Only this account's jobs (administrators only; other keys always see their own
    /// account).
    pub account_identifier: Option<String>,
}

/// Most texts one REST search parameter may list (`a,b;c`).
pub const MAX_TEXTS: usize = 20;

/// A search parameter of Modzy's REST history holding several texts: `,` separates texts of
/// which any must match, `;` groups that must all match. Each text is checked as a GraphQL
/// filter field's text is (not empty, at most [`MAX_TEXT`] characters); at most
/// [`MAX_TEXTS`] texts.
pub fn texts(field: &str, value: &str) -> Result<Texts, ApiError> {
    let groups: Vec<Vec<String>> = value
        .split(';')
        .map(|group| {
            group
                .split(',')
                .map(|t| {
                    text(field, &Some(t.to_string()), Wording::Rest).map(Option::unwrap_or_default)
                })
                .collect::<Result<_, _>>()
        })
        .collect::<Result<_, _>>()?;
    let count: usize = groups.iter().map(Vec::len).sum();
    if count > MAX_TEXTS {
        return Err(ApiError::bad_input(format!(
            "{field} lists {count} values; at most {MAX_TEXTS} are allowed"
        )));
    }
    Ok(Texts(groups))
}

fn text(field: &str, value: &Option<String>, wording: Wording) -> Result<Option<String>, ApiError> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    let field = wording.field(field);
    if v.is_empty() {
        return Err(ApiError::bad_input(format!(
            "{field} must not be empty: leave it out to match everything"
        )));
    }
    if v.chars().count() > MAX_TEXT {
        return Err(ApiError::bad_input(format!(
            "{field} is longer than {MAX_TEXT} characters"
        )));
    }
    Ok(Some(v.to_string()))
}

impl JobFilter {
    /// The database conditions, validated, at instant `now`.
    pub fn conditions(&self, now: NaiveDateTime) -> Result<JobConditions, ApiError> {
        self.conditions_as(now, Wording::Graphql)
    }

    /// The database conditions, validated, at instant `now`, with messages in `wording`.
    pub fn conditions_as(
        &self,
        now: NaiveDateTime,
        wording: Wording,
    ) -> Result<JobConditions, ApiError> {
        if let Some(exact) = &self.statuses
            && exact.len() > MAX_STATUSES
        {
            return Err(ApiError::bad_input(format!(
                "{} lists {} statuses; \
                 at most {MAX_STATUSES} are allowed (each status once)",
                wording.field("statuses"),
                exact.len()
            )));
        }
        let statuses = match (self.status.unwrap_or_default().statuses(), &self.statuses) {
            (None, None) => None,
            (Some(g), None) => Some(g),
            (None, Some(exact)) => Some(exact.clone()),
            (Some(g), Some(exact)) => {
                Some(exact.iter().copied().filter(|s| g.contains(s)).collect())
            }
        };
        if let Some(ids) = &self.job_identifiers
            && ids.len() > MAX_IDENTIFIERS
        {
            return Err(ApiError::bad_input(format!(
                "filter.jobIdentifiers lists {} identifiers; at most {MAX_IDENTIFIERS} are allowed",
                ids.len()
            )));
        }
        let range =
            |field, r: Option<DateRange>| r.map(|r| r.resolve(field, now, wording)).transpose();
        Ok(JobConditions {
            statuses,
            user: text("user", &self.user, wording)?.map(Texts::one),
            access_key: text("accessKey", &self.access_key, wording)?.map(Texts::one),
            model_name: text("model", &self.model, wording)?.map(Texts::one),
            model_identifier: text("modelIdentifier", &self.model_identifier, wording)?,
            model_version: text("modelVersion", &self.model_version, wording)?,
            created: range("createdAt", self.created_at)?,
            submitted: range("submittedAt", self.submitted_at)?,
            updated: range("updatedAt", self.updated_at)?,
            job_identifiers: self.job_identifiers.clone(),
            job_id: None,
            explain: self.explain,
            image_classification_model: self.image_classification_model,
            stored_pending: false,
            now: Some(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn at(t: NaiveDateTime) -> Option<DateTime> {
        Some(DateTime::from_naive(t))
    }

    fn err(filter: JobFilter, now: NaiveDateTime) -> String {
        let e = filter.conditions(now).unwrap_err();
        assert_eq!(e.code(), "BAD_USER_INPUT");
        e.message()
    }

    #[test]
    fn lists_are_capped() {
        let now = Utc::now().naive_utc();
        let statuses = |n| JobFilter {
            statuses: Some(vec![JobStatus::Completed; n]),
            ..Default::default()
        };
        assert!(statuses(MAX_STATUSES).conditions(now).is_ok());
        assert!(err(statuses(MAX_STATUSES + 1), now).contains("filter.statuses lists 7"));
        let ids = |n| JobFilter {
            job_identifiers: Some(vec!["x".into(); n]),
            ..Default::default()
        };
        assert!(ids(MAX_IDENTIFIERS).conditions(now).is_ok());
        assert!(err(ids(MAX_IDENTIFIERS + 1), now).contains("at most 100"));
    }

    #[test]
    fn date_ranges_follow_modzys_rules() {
        let now = Utc::now().naive_utc();
        let range = |from, to| JobFilter {
            created_at: Some(DateRange { from, to }),
            ..Default::default()
        };
        assert!(err(range(None, at(now)), now).contains("filter.createdAt: `to` needs a `from`"));
        assert!(err(range(at(now + Duration::hours(1)), None), now).contains("is in the future"));
        assert!(
            err(
                range(at(now - Duration::hours(1)), at(now - Duration::hours(2))),
                now
            )
            .contains("is before `from`")
        );
        assert!(err(range(None, None), now).contains("give at least `from`"));
        let ok = range(at(now - Duration::days(1)), None)
            .conditions(now)
            .unwrap();
        assert_eq!(
            ok.created,
            Some(Range {
                from: now - Duration::days(1),
                to: now
            })
        );
    }

    #[test]
    fn status_group_and_exact_statuses_intersect() {
        let now = Utc::now().naive_utc();
        let f = JobFilter {
            status: Some(JobStatusGroup::Pending),
            statuses: Some(vec![JobStatus::Submitted, JobStatus::Completed]),
            ..Default::default()
        };
        assert_eq!(
            f.conditions(now).unwrap().statuses,
            Some(vec![JobStatus::Submitted])
        );
        let all = JobFilter {
            status: Some(JobStatusGroup::All),
            ..Default::default()
        };
        assert_eq!(all.conditions(now).unwrap().statuses, None);
    }

    #[test]
    fn text_fields_and_identifier_lists_are_bounded() {
        let now = Utc::now().naive_utc();
        assert!(
            err(
                JobFilter {
                    user: Some("  ".into()),
                    ..Default::default()
                },
                now
            )
            .contains("filter.user must not be empty")
        );
        assert!(
            err(
                JobFilter {
                    model: Some("x".repeat(201)),
                    ..Default::default()
                },
                now
            )
            .contains("longer than 200")
        );
        let ids = (0..101).map(|i| i.to_string()).collect();
        assert!(
            err(
                JobFilter {
                    job_identifiers: Some(ids),
                    ..Default::default()
                },
                now
            )
            .contains("at most 100")
        );
    }
}
