//! Job statistics over time: per time bucket and per group (status, model, user, account, key),
//! the jobs by effective status, their inputs and bytes, and their queue and elapsed times
//! (count, sum, exact maximum, histogram for percentiles).
//!
//! Two sources of the same [`Figures`]: the rollup `job_stats` ([`rollup`]), written in the
//! writers' transactions, for whatever it can answer — and jobs read live ([`live`]) for the
//! rest: the jobs still stored as pending, the slivers of a range shorter than an hour, and
//! whole requests whose filter or grouping the rollup does not hold (see [`answers_from_rollup`]),
//! scanned once. A job becomes a [`figures::Point`] the same way on both paths.

pub mod figures;
pub mod histogram;
pub mod live;
pub mod plan;
pub mod read;
pub mod rollup;

use std::collections::HashMap;

use chrono::NaiveDateTime;

use self::figures::{Figures, Point};
use self::live::TooManyJobs;
use super::jobs::{JobConditions, Range};
use super::{Conn, DbError};
use crate::domain::{AccountId, JobStatus, ModelId, Scope, UserId};

/// Which dimensions the jobs are grouped by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dimensions {
    /// By effective status.
    pub status: bool,
    /// By model.
    pub model: bool,
    /// By submitting user.
    pub user: bool,
    /// By account.
    pub account: bool,
    /// By submitting key (its prefix).
    pub access_key: bool,
}

impl Dimensions {
    /// The group `p` falls in.
    pub fn key(&self, p: &Point) -> GroupKey {
        GroupKey {
            status: self.status.then_some(p.status),
            model: self.model.then_some(p.model_id),
            user: self.user.then_some(p.user_id),
            account: self.account.then_some(p.account_id),
            access_key: self.access_key.then(|| p.submitted_by.clone()),
        }
    }
}

/// One group's values on the grouped dimensions (`None` for the others).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// Effective status.
    pub status: Option<JobStatus>,
    /// Model.
    pub model: Option<ModelId>,
    /// Submitting user.
    pub user: Option<UserId>,
    /// Account.
    pub account: Option<AccountId>,
    /// Submitting key's prefix.
    pub access_key: Option<String>,
}

/// What to compute.
#[derive(Clone, Debug)]
pub struct Request {
    /// The buckets' instants: bucket `i` holds the jobs created in `[edges[i], edges[i+1])`
    /// (UTC, already clipped to the filter's range). Non-decreasing; at least two.
    pub edges: Vec<NaiveDateTime>,
    /// How jobs are grouped.
    pub dimensions: Dimensions,
    /// Whether the durations' histograms are needed (percentiles asked for).
    pub histograms: bool,
    /// The instant deadlines are compared with.
    pub now: NaiveDateTime,
}

impl Request {
    /// How many buckets.
    pub fn buckets(&self) -> usize {
        self.edges.len().saturating_sub(1)
    }

    /// The bucket holding instant `t`, if any.
    pub fn bucket_of(&self, t: NaiveDateTime) -> Option<usize> {
        let i = self.edges.partition_point(|e| *e <= t);
        (i > 0 && i < self.edges.len()).then(|| i - 1)
    }

    /// The whole range as an inclusive [`Range`] (`None` when it is empty).
    pub fn range(&self) -> Option<Range> {
        let (first, last) = (*self.edges.first()?, *self.edges.last()?);
        (first < last).then(|| Range {
            from: first,
            to: last - chrono::Duration::microseconds(1),
        })
    }
}

/// Figures per bucket (by index) and group.
pub type Cells = Vec<HashMap<GroupKey, Figures>>;

/// Why statistics could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum StatisticsError {
    /// A scan would read too many jobs.
    #[error("more than {} jobs to scan", live::MAX_SCANNED)]
    TooManyJobs,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<TooManyJobs> for StatisticsError {
    fn from(_: TooManyJobs) -> Self {
        Self::TooManyJobs
    }
}

/// Whether the rollup holds what `conditions` and `dimensions` ask (else the jobs are
/// scanned): conditions on statuses, the model and the creation range only, and no grouping
/// by user or key. The rollup has no user, key or flag columns, and `submittedAt`/`updatedAt`
/// are not its time.
pub fn answers_from_rollup(c: &JobConditions, dimensions: Dimensions) -> bool {
    let conditions_held = matches!(
        c,
        JobConditions {
            statuses: _,
            user: None,
            access_key: None,
            model_name: _,
            model_identifier: _,
            model_version: _,
            created: _,
            submitted: None,
            updated: None,
            job_identifiers: None,
            job_id: None,
            explain: None,
            image_classification_model: None,
            stored_pending: false,
            now: _,
        }
    );
    conditions_held && !dimensions.user && !dimensions.access_key
}

/// The figures of the jobs in `scope` matching `conditions` (whose `created` range is replaced
/// by the request's buckets), per bucket and group.
pub async fn statistics(
    conn: &mut Conn<'_>,
    scope: Scope,
    conditions: &JobConditions,
    request: &Request,
) -> Result<Cells, StatisticsError> {
    let mut cells: Cells = vec![HashMap::new(); request.buckets()];
    let Some(range) = request.range() else {
        return Ok(cells);
    };
    let conditions = JobConditions {
        created: Some(range),
        now: Some(request.now),
        ..conditions.clone()
    };
    if answers_from_rollup(&conditions, request.dimensions) {
        read::add_cells(conn, scope, &conditions, request, &mut cells).await?;
    } else {
        let add = |p: Point| add_point(&mut cells, request, &p);
        live::scan(conn, scope, &conditions, request.now, add).await??;
    }
    Ok(cells)
}

/// Adds `p` to its bucket's group in `cells`.
fn add_point(cells: &mut Cells, request: &Request, p: &Point) {
    if let Some(i) = request.bucket_of(p.created_at) {
        cells[i]
            .entry(request.dimensions.key(p))
            .or_default()
            .add(p, request.histograms);
    }
}
