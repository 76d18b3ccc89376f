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
pub mod packed;
pub mod plan;
pub mod read;
pub mod rollup;

use std::collections::HashMap;

use chrono::NaiveDateTime;

use self::figures::{Figures, Point};
use self::histogram::Histogram;
use self::live::TooManyJobs;
use self::packed::Corrupt;
use self::rollup::Cell;
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
    /// Which sums need which durations' histograms (where percentiles are asked for).
    pub histograms: Histograms,
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

/// A map by group. Hashed with foldhash: a dashboard looks up thousands of rows' keys per
/// request, and the keys are the server's own ids, statuses and key prefixes.
pub type GroupMap<V> = HashMap<GroupKey, V, foldhash::fast::RandomState>;

/// Figures per bucket (by index) and group.
pub type Cells = Vec<GroupMap<Figures>>;

/// One flag per duration: queue time, then elapsed time.
pub type Kinds = [bool; 2];

/// Where percentiles are asked for, so which sums need which durations' histograms. A row's
/// histogram text is parsed once and added straight to each sum that needs it: the sums of
/// many rows (a bucket's total, a group over the whole range) are not merged from the cells'
/// histograms, which a dashboard rarely asks percentiles of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Histograms {
    /// Each bucket's groups (`buckets { groups { figures } }`).
    pub cells: Kinds,
    /// Each bucket's total (`buckets { total }`).
    pub buckets: Kinds,
    /// Each group over the whole range, and so the range's total (`groups`, `total`).
    pub range: Kinds,
}

impl Histograms {
    /// Every histogram everywhere.
    pub const ALL: Self = Self {
        cells: [true; 2],
        buckets: [true; 2],
        range: [true; 2],
    };

    /// Which durations' histograms any sum needs (the columns to read).
    pub fn read(&self) -> Kinds {
        [0, 1].map(|d| self.cells[d] || self.buckets[d] || self.range[d])
    }
}

/// A queue-time and an elapsed-time histogram.
pub type HistogramPair = [Histogram; 2];

/// What a request sums: the figures per bucket and group (with histograms only where
/// [`Histograms::cells`] asks), and apart from them the histograms of each bucket's total
/// ([`Histograms::buckets`]) and of each group over the range ([`Histograms::range`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Figures per bucket (by index) and group.
    pub cells: Cells,
    /// Per bucket, its total's histograms.
    pub buckets: Vec<HistogramPair>,
    /// Per group, its histograms over the whole range.
    pub groups: GroupMap<HistogramPair>,
}

impl Tally {
    /// An empty tally of `request`'s buckets.
    pub fn new(request: &Request) -> Self {
        Self::zeros(request.buckets())
    }

    /// An empty tally of `buckets` buckets.
    pub fn zeros(buckets: usize) -> Self {
        Self {
            cells: vec![GroupMap::default(); buckets],
            buckets: vec![HistogramPair::default(); buckets],
            groups: GroupMap::default(),
        }
    }

    /// Adds `p` to its bucket's group: its numbers to the cell, its durations to the
    /// histograms `request` wants.
    pub fn add_point(&mut self, request: &Request, p: &Point) {
        let Some(bucket) = request.bucket_of(p.created_at) else {
            return;
        };
        let key = request.dimensions.key(p);
        let numbers = |cell: &mut Figures| cell.add(p, [false; 2]);
        self.add(&request.histograms, bucket, key, numbers, |targets| {
            for (targets, value) in targets.into_iter().zip([p.queue_ms, p.elapsed_ms]) {
                if let Some(v) = value {
                    targets.into_iter().flatten().for_each(|h| h.add(v));
                }
            }
        });
    }

    /// Adds a rollup cell of bucket `bucket` to group `key`: its numbers to the cell, and each
    /// histogram, decoded once, to the histograms `wanted`.
    pub fn add_row(
        &mut self,
        wanted: &Histograms,
        bucket: usize,
        key: GroupKey,
        row: Cell<'_>,
    ) -> Result<(), Corrupt> {
        let numbers = |cell: &mut Figures| cell.add_cell_numbers(row.status, row.numbers);
        let mut decoded = Ok(());
        self.add(wanted, bucket, key, numbers, |targets| {
            for (mut targets, encoded) in targets.into_iter().zip(row.histograms) {
                if targets.iter().any(Option::is_some) {
                    let walked = encoded.for_each_bucket(|k, n| {
                        targets.iter_mut().flatten().for_each(|h| h.bump(k, n));
                    });
                    if walked.is_err() {
                        decoded = walked;
                    }
                }
            }
        });
        decoded
    }

    /// Adds to group `key` of bucket `bucket`: `numbers` to the cell, then `histograms` to the
    /// histograms it is given per duration — the cell's, the bucket total's and the group's
    /// over the range, each only where `wanted`. Two lookups of the key, whatever is wanted.
    fn add(
        &mut self,
        wanted: &Histograms,
        bucket: usize,
        key: GroupKey,
        numbers: impl FnOnce(&mut Figures),
        histograms: impl FnOnce([[Option<&mut Histogram>; 3]; 2]),
    ) {
        let [rq, re] = if wanted.range.contains(&true) {
            let [q, e] = self.groups.entry(key.clone()).or_default();
            [Some(q), Some(e)]
        } else {
            [None, None]
        };
        let cell = self.cells[bucket].entry(key).or_default();
        numbers(cell);
        let Figures { queue, elapsed, .. } = cell;
        let [bq, be] = &mut self.buckets[bucket];
        let (c, b, r) = (wanted.cells, wanted.buckets, wanted.range);
        histograms([
            [
                c[0].then_some(&mut queue.histogram),
                b[0].then_some(bq),
                rq.filter(|_| r[0]),
            ],
            [
                c[1].then_some(&mut elapsed.histogram),
                b[1].then_some(be),
                re.filter(|_| r[1]),
            ],
        ]);
    }
}

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

impl From<diesel::result::Error> for StatisticsError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
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
    c.only_rollup_keys(false) && !dimensions.user && !dimensions.access_key
}

/// The figures of the jobs in `scope` matching `conditions` (whose `created` range is replaced
/// by the request's buckets), per bucket and group.
pub async fn statistics(
    conn: &mut Conn<'_>,
    scope: Scope,
    conditions: &JobConditions,
    request: &Request,
) -> Result<Tally, StatisticsError> {
    let mut tally = Tally::new(request);
    let Some(range) = request.range() else {
        return Ok(tally);
    };
    let conditions = JobConditions {
        created: Some(range),
        now: Some(request.now),
        ..conditions.clone()
    };
    if answers_from_rollup(&conditions, request.dimensions) {
        read::add_cells(conn, scope, &conditions, request, &mut tally).await?;
    } else {
        let add = |p: Point| tally.add_point(request, &p);
        live::scan(conn, scope, &conditions, request.now, add).await??;
    }
    Ok(tally)
}
