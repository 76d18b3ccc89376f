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

use std::collections::{BTreeMap, HashMap};

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
///
/// Groups are numbered in the order first met, and each bucket's figures are a vector by that
/// number: a dashboard adds ~16 000 cells of the same ~90 groups, and per-bucket hash maps
/// spread them over megabytes of entries (a cache miss each), where a bucket's vector is a few
/// contiguous kilobytes. One lookup per cell finds the group's number.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Group key → its number.
    numbers: GroupMap<usize>,
    /// Number → group key.
    keys: Vec<GroupKey>,
    /// Per bucket, figures by group number (groups met after a bucket was last written are
    /// missing from its end: zeros).
    cells: Vec<Vec<Figures>>,
    /// Per bucket, its total's histograms.
    pub buckets: Vec<HistogramPair>,
    /// Per group number, its histograms over the whole range (as far as any was added).
    groups: Vec<HistogramPair>,
}

/// Two tallies are equal when they hold the same figures, whatever order the groups were met
/// in (what the live subscription compares).
impl PartialEq for Tally {
    fn eq(&self, other: &Self) -> bool {
        fn cells(t: &Tally) -> Vec<BTreeMap<&GroupKey, &Figures>> {
            (0..t.cells.len()).map(|b| t.cells(b).collect()).collect()
        }
        fn groups(t: &Tally) -> BTreeMap<&GroupKey, &HistogramPair> {
            t.group_histograms().collect()
        }
        self.buckets == other.buckets
            && cells(self) == cells(other)
            && groups(self) == groups(other)
    }
}

impl Eq for Tally {}

impl Tally {
    /// An empty tally of `request`'s buckets.
    pub fn new(request: &Request) -> Self {
        Self::zeros(request.buckets())
    }

    /// An empty tally of `buckets` buckets.
    pub fn zeros(buckets: usize) -> Self {
        Self {
            cells: vec![Vec::new(); buckets],
            buckets: vec![HistogramPair::default(); buckets],
            ..Self::default()
        }
    }

    /// The groups of bucket `bucket` with any job, and their figures.
    pub fn cells(&self, bucket: usize) -> impl Iterator<Item = (&GroupKey, &Figures)> {
        let figures = self.cells.get(bucket).map_or(&[][..], Vec::as_slice);
        self.keys.iter().zip(figures).filter(|(_, f)| f.jobs() > 0)
    }

    /// The groups' histograms over the whole range (groups with histograms only).
    pub fn group_histograms(&self) -> impl Iterator<Item = (&GroupKey, &HistogramPair)> {
        self.keys
            .iter()
            .zip(&self.groups)
            .filter(|(_, [q, e])| q.count() > 0 || e.count() > 0)
    }

    /// The parts, by group number: the keys, each bucket's figures (each as long as the keys),
    /// each bucket's total histograms, and each group's histograms over the range (as long as
    /// the keys).
    pub fn into_parts(self) -> TallyParts {
        let n = self.keys.len();
        let mut cells = self.cells;
        cells
            .iter_mut()
            .for_each(|c| c.resize_with(n, Figures::default));
        let mut groups = self.groups;
        groups.resize_with(n, HistogramPair::default);
        TallyParts {
            keys: self.keys,
            cells,
            buckets: self.buckets,
            groups,
        }
    }

    /// The number of group `key`, numbered now if new.
    fn number(&mut self, key: GroupKey) -> usize {
        if let Some(&n) = self.numbers.get(&key) {
            return n;
        }
        let n = self.keys.len();
        self.keys.push(key.clone());
        self.numbers.insert(key, n);
        n
    }

    /// Adds `p` to its bucket's group: its numbers to the cell, its durations to the
    /// histograms `request` wants.
    pub fn add_point(&mut self, request: &Request, p: &Point) {
        let Some(bucket) = request.bucket_of(p.created_at) else {
            return;
        };
        let key = request.dimensions.key(p);
        let numbers = |cell: &mut Figures| cell.add(p, [false; 2]);
        let to = To::Cell(bucket);
        self.add(&request.histograms, to, key, numbers, |targets| {
            for (targets, value) in targets.into_iter().zip([p.queue_ms, p.elapsed_ms]) {
                if let Some(v) = value {
                    targets.into_iter().flatten().for_each(|h| h.add(v));
                }
            }
        });
    }

    /// Adds a rollup cell to group `key` where `to` says: its numbers (for [`To::Cell`]), and
    /// each histogram, decoded once, to the histograms `wanted` there.
    pub fn add_row(
        &mut self,
        wanted: &Histograms,
        to: To,
        key: GroupKey,
        row: Cell<'_>,
    ) -> Result<(), Corrupt> {
        let numbers = |cell: &mut Figures| cell.add_cell_numbers(row.status, row.numbers);
        let less = to == To::RangeWithout;
        let mut decoded = Ok(());
        self.add(wanted, to, key, numbers, |targets| {
            for (mut targets, encoded) in targets.into_iter().zip(row.histograms) {
                if targets.iter().any(Option::is_some) {
                    let walked = encoded.for_each_bucket(|k, n| {
                        for h in targets.iter_mut().flatten() {
                            if less { h.unbump(k, n) } else { h.bump(k, n) }
                        }
                    });
                    if walked.is_err() {
                        decoded = walked;
                    }
                }
            }
        });
        decoded
    }

    /// Adds to group `key` where `to` says: `numbers` to the bucket's cell (for
    /// [`To::Cell`] only), then `histograms` to the histograms it is given per duration — the
    /// cell's, the bucket total's and the group's over the range, each only where `wanted` and
    /// `to` allow. One lookup of the key.
    fn add(
        &mut self,
        wanted: &Histograms,
        to: To,
        key: GroupKey,
        numbers: impl FnOnce(&mut Figures),
        histograms: impl FnOnce([[Option<&mut Histogram>; 3]; 2]),
    ) {
        let none = Histograms::default();
        let (cell_bucket, total_bucket, wanted) = match to {
            To::Cell(b) => (Some(b), Some(b), *wanted),
            To::BucketTotal(b) => {
                let buckets = wanted.buckets;
                (None, Some(b), Histograms { buckets, ..none })
            }
            To::Range | To::RangeWithout => (
                None,
                None,
                Histograms {
                    range: wanted.range,
                    ..none
                },
            ),
        };
        let (c, b, r) = (wanted.cells, wanted.buckets, wanted.range);
        // A bucket's total needs no group (nor a number for the totals' key).
        let group = if cell_bucket.is_some() || r.contains(&true) {
            self.number(key)
        } else {
            0
        };
        let known = self.keys.len();
        let [rq, re] = if r.contains(&true) {
            if self.groups.len() <= group {
                self.groups.resize_with(known, HistogramPair::default);
            }
            let [q, e] = &mut self.groups[group];
            [Some(q).filter(|_| r[0]), Some(e).filter(|_| r[1])]
        } else {
            [None, None]
        };
        let [cq, ce] = match cell_bucket {
            Some(bucket) => {
                let cells = &mut self.cells[bucket];
                if cells.len() <= group {
                    cells.resize_with(known, Figures::default);
                }
                let cell = &mut cells[group];
                numbers(cell);
                let Figures { queue, elapsed, .. } = cell;
                [
                    c[0].then_some(&mut queue.histogram),
                    c[1].then_some(&mut elapsed.histogram),
                ]
            }
            None => [None, None],
        };
        let [bq, be] = match total_bucket {
            Some(bucket) => {
                let [q, e] = &mut self.buckets[bucket];
                [b[0].then_some(q), b[1].then_some(e)]
            }
            None => [None, None],
        };
        histograms([[cq, bq, rq], [ce, be, re]]);
    }
}

/// A [`Tally`]'s parts, by group number ([`Tally::into_parts`]).
#[derive(Clone, Debug, Default)]
pub struct TallyParts {
    /// Number → group key.
    pub keys: Vec<GroupKey>,
    /// Per bucket, figures by group number.
    pub cells: Vec<Vec<Figures>>,
    /// Per bucket, its total's histograms.
    pub buckets: Vec<HistogramPair>,
    /// Per group number, its histograms over the whole range.
    pub groups: Vec<HistogramPair>,
}

/// Where a rollup cell is added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To {
    /// To its group in bucket `b`: its numbers, and its histograms wherever wanted (the cell's,
    /// the bucket's total, the group's over the range).
    Cell(usize),
    /// Only its histograms, to bucket `b`'s total (a value's totals beside its model cells).
    BucketTotal(usize),
    /// Only its histograms, to its group's over the range (a month value).
    Range,
    /// Only its histograms, taken from its group's over the range (a day of a month value
    /// added whole, outside the range's whole days).
    RangeWithout,
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
