//! Reading jobs: one page of the history (keyset pagination) and lookups by identifier, each
//! confined to a caller's [`Scope`]. Written once for both backends: the query is built inside
//! [`on_backend!`](crate::on_backend), expanded per backend, from `filter_jobs!` and the
//! keyset macros below. Counting lives in [`super::count`]. Each function also takes the
//! [`Catalogue`] that completes the rows, which reads its misses on the same connection.

use chrono::{DateTime, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

use super::catalogue::Catalogue;
use super::filter::filter_jobs;
use super::fixed_sql::fixed;
use super::models::{Job, Model};
use super::schema::jobs;
use super::{Conn, DbError};
use crate::domain::{JobId, JobStatus, Scope};

/// A job with what the API shows next to it: its account's identifier and its model.
#[derive(Clone, Debug)]
pub struct JobRecord {
    /// The row.
    pub job: Job,
    /// `accounts.identifier` of the job's account.
    pub account_identifier: std::sync::Arc<str>,
    /// The catalogue entry the job ran against.
    pub model: std::sync::Arc<Model>,
}

/// The keys the history can be sorted by; `id` always breaks ties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// `created_at`.
    CreatedAt,
    /// `submitted_at`.
    SubmittedAt,
    /// `updated_at`.
    UpdatedAt,
    /// Stored status code (lifecycle order).
    Status,
    /// `elapsed_ms`, NULL (not known yet) first.
    ElapsedTime,
    /// `queue_ms`, NULL (not known yet) first.
    QueueTime,
    /// `input_byte_amount`.
    InputByteAmount,
    /// `total`.
    Total,
}

impl SortKey {
    /// The key of `job` for this sort, as carried by cursors (timestamps in microseconds).
    pub fn key_of(self, job: &Job) -> Option<i64> {
        let micros = |t: NaiveDateTime| t.and_utc().timestamp_micros();
        match self {
            Self::CreatedAt => Some(micros(job.created_at)),
            Self::SubmittedAt => Some(micros(job.submitted_at)),
            Self::UpdatedAt => Some(micros(job.updated_at)),
            Self::Status => Some(job.status.code().into()),
            Self::ElapsedTime => job.elapsed_ms,
            Self::QueueTime => job.queue_ms,
            Self::InputByteAmount => Some(job.input_byte_amount),
            Self::Total => Some(job.total.into()),
        }
    }

    /// Whether the key can be NULL.
    pub fn nullable(self) -> bool {
        matches!(self, Self::ElapsedTime | Self::QueueTime)
    }
}

/// A sort key and direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    /// What to sort by.
    pub key: SortKey,
    /// Largest first.
    pub descending: bool,
}

/// A position in a sort: the key and id of a row (from a cursor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seek {
    /// The sort key value (timestamps as microseconds since the epoch); `None` for NULL.
    pub key: Option<i64>,
    /// `jobs.id`.
    pub id: JobId,
}

/// An inclusive range of instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Lower bound, inclusive.
    pub from: NaiveDateTime,
    /// Upper bound, inclusive.
    pub to: NaiveDateTime,
}

/// A search field's texts: every group must match (AND), a group by any of its texts (OR).
/// A GraphQL filter field is one group of one text ([`Texts::one`]); Modzy's REST parameters
/// may hold several (`a,b`: any; `a;b`: all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Texts(pub Vec<Vec<String>>);

impl Texts {
    /// The single text `text`.
    pub fn one(text: String) -> Self {
        Self(vec![vec![text]])
    }
}

/// Which jobs: every condition set here must hold (AND). Which accounts' jobs is not among
/// them: every function that reads jobs takes the caller's [`Scope`] apart, so it cannot be
/// forgotten.
#[derive(Clone, Debug, Default)]
pub struct JobConditions {
    /// Effective statuses allowed (`None`: all). An empty list matches nothing.
    pub statuses: Option<Vec<JobStatus>>,
    /// Case-insensitive substrings of the user's first name, last name or email.
    pub user: Option<Texts>,
    /// Exact key prefixes (`submittedBy`).
    pub access_key: Option<Texts>,
    /// Case-insensitive substrings of the model's name.
    pub model_name: Option<Texts>,
    /// Exact model identifier.
    pub model_identifier: Option<String>,
    /// Exact model version.
    pub model_version: Option<String>,
    /// `created_at` range.
    pub created: Option<Range>,
    /// `submitted_at` range.
    pub submitted: Option<Range>,
    /// `updated_at` range.
    pub updated: Option<Range>,
    /// Exact job identifiers.
    pub job_identifiers: Option<Vec<String>>,
    /// Exactly this job.
    pub job_id: Option<JobId>,
    /// `explain` flag.
    pub explain: Option<bool>,
    /// `image_classification_model` flag.
    pub image_classification_model: Option<bool>,
    /// Only jobs still *stored* as pending (`status <= 1`), whatever their effective status:
    /// the part of a count the rollup does not hold ([`super::daily::DailyPlan`]).
    pub stored_pending: bool,
    /// The instant deadlines are compared with.
    pub now: Option<NaiveDateTime>,
}

impl JobConditions {
    /// Whether these conditions name only what the rollups key their rows by — statuses, the
    /// model and the creation range, and when `flags` the `explain` and
    /// `image_classification_model` flags (`job_counts` keeps them, `job_stats` does not) —
    /// so a rollup can answer them ([`super::daily::DailyPlan`],
    /// [`super::statistics::answers_from_rollup`]). Users, keys, job identifiers, the
    /// submission and update times and `stored_pending` need the jobs themselves.
    pub fn only_rollup_keys(&self, flags: bool) -> bool {
        // Every field named: a new condition must be put on one side or the other.
        let Self {
            statuses: _,
            user,
            access_key,
            model_name: _,
            model_identifier: _,
            model_version: _,
            created: _,
            submitted,
            updated,
            job_identifiers,
            job_id,
            explain,
            image_classification_model,
            stored_pending,
            now: _,
        } = self;
        user.is_none()
            && access_key.is_none()
            && submitted.is_none()
            && updated.is_none()
            && job_identifiers.is_none()
            && job_id.is_none()
            && !stored_pending
            && (flags || (explain.is_none() && image_classification_model.is_none()))
    }

    /// Whether these conditions are users and, at most, statuses: what `user_job_counts`
    /// keys its rows by, so the count sums the matched users' rows ([`super::count`]).
    pub fn only_person_keys(&self) -> bool {
        // Every field named, as in `only_rollup_keys`.
        let Self {
            statuses: _,
            user,
            access_key,
            model_name,
            model_identifier,
            model_version,
            created,
            submitted,
            updated,
            job_identifiers,
            job_id,
            explain,
            image_classification_model,
            stored_pending,
            now: _,
        } = self;
        user.is_some()
            && access_key.is_none()
            && model_name.is_none()
            && model_identifier.is_none()
            && model_version.is_none()
            && created.is_none()
            && submitted.is_none()
            && updated.is_none()
            && job_identifiers.is_none()
            && job_id.is_none()
            && explain.is_none()
            && image_classification_model.is_none()
            && !stored_pending
    }
}

/// One page of history.
#[derive(Clone, Debug)]
pub struct PageRequest {
    /// Which jobs.
    pub conditions: JobConditions,
    /// In which order.
    pub sort: Sort,
    /// Only rows after this position (in `sort` order).
    pub after: Option<Seek>,
    /// Only rows before this position (in `sort` order).
    pub before: Option<Seek>,
    /// Rows to fetch.
    pub limit: i64,
    /// Take the rows nearest `before` (the end) rather than nearest `after` (the start); they
    /// are still returned in `sort` order.
    pub from_end: bool,
}

/// Converts a cursor's microseconds back into a timestamp.
pub fn from_micros(v: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(v).map(|t| t.naive_utc())
}

/// The cursors of a page request with their sort key converted by `value` to the column's
/// type, each with whether rows must come after it in ascending order (`true`) or before it.
/// A key that does not convert is a cursor from another sort: `NotFound`, as no row is there.
pub(super) fn seeks<V>(
    req: &PageRequest,
    value: impl Fn(i64) -> Option<V>,
) -> Result<Vec<(V, JobId, bool)>, DbError> {
    let mut out = Vec::new();
    for (seek, greater) in [
        (req.after, !req.sort.descending),
        (req.before, req.sort.descending),
    ] {
        if let Some(Seek { key, id }) = seek {
            let v = key.and_then(&value);
            out.push((
                v.ok_or(DbError::Query(diesel::result::Error::NotFound))?,
                id,
                greater,
            ));
        }
    }
    Ok(out)
}

/// What a duration not known yet (NULL) sorts as: below every real duration, which is never
/// negative. The two duration orders sort by `COALESCE(column, -1)`, the expression their
/// indexes are built on (migration `…000009`), so their keyset is a plain range like every
/// other key's and a page in either direction starts at its cursor. With NULL itself as the
/// smallest key, rows after a cursor going down were `k < v OR (k = v AND id < i) OR k IS
/// NULL`, which no single index range covers: a page 10 000 rows deep read every row before
/// its cursor (55 ms for one account's COMPLETED + CANCELED by queue time at 1M jobs).
const NO_DURATION: i64 = -1;

/// The cursors of a request sorted by a duration, as in [`seeks`], the NULL key as
/// [`NO_DURATION`].
fn duration_seeks(req: &PageRequest) -> Vec<(i64, JobId, bool)> {
    [
        (req.after, !req.sort.descending),
        (req.before, req.sort.descending),
    ]
    .into_iter()
    .filter_map(|(seek, greater)| seek.map(|s| (s.key.unwrap_or(NO_DURATION), s.id, greater)))
    .collect()
}

/// The sort expressions of the two duration orders, spelled exactly as their indexes are.
fn elapsed_key() -> super::fixed_sql::Fixed<BigInt> {
    fixed("COALESCE(jobs.elapsed_ms, -1)")
}

/// See [`elapsed_key`].
fn queue_key() -> super::fixed_sql::Fixed<BigInt> {
    fixed("COALESCE(jobs.queue_ms, -1)")
}

impl PageRequest {
    /// Whether the scan runs largest key first.
    fn scans_down(&self) -> bool {
        self.sort.descending != self.from_end
    }

    /// What the page reads, for `filter_jobs!`'s planner hints; `created_checked` from
    /// [`super::range_scan::check_range`].
    fn reading(&self, created_checked: bool) -> super::filter::Reading {
        if self.sort.key == SortKey::Status {
            super::filter::Reading::PageByStatus { created_checked }
        } else {
            super::filter::Reading::PageByOtherKey { created_checked }
        }
    }

    /// Whether the page, ordered by a duration, can skip the jobs without one: every status
    /// its conditions can match ran to its end ([`StatusMatch::ran`](super::filter::StatusMatch)),
    /// so every matching job has both durations. Jobs without a duration ([`NO_DURATION`])
    /// sort first going up; a page of COMPLETED and ERROR jobs by elapsed time otherwise
    /// stepped over every CANCELED, TIMEDOUT and pending job before its first row (38 000 at
    /// 1M jobs, each checked in the table: 110–250 ms on PostgreSQL).
    fn durations_known(&self) -> bool {
        self.conditions.status_match().is_some_and(|m| m.ran)
    }
}

/// Keyset condition and ORDER BY for a non-null sort expression (a column, or a duration's
/// [`elapsed_key`]/[`queue_key`]), from converted [`seeks`]. A macro for the reason given at
/// [`filter_jobs!`].
macro_rules! keyset_not_null {
    ($q:expr, $col:expr, $seeks:expr, $req:expr) => {{
        let mut q = $q;
        for (v, id, greater) in $seeks {
            // `(key, id) > (v, i)` is where the index scan starts (`db::keyset`); the leading
            // `key >= v` says less, and is kept for a planner that ranges on the key alone.
            q = if greater {
                q.filter($col.ge(v).and(super::keyset::beyond($col, v, id, true)))
            } else {
                q.filter($col.le(v).and(super::keyset::beyond($col, v, id, false)))
            };
        }
        if $req.scans_down() {
            q.order(($col.desc(), jobs::id.desc()))
        } else {
            q.order(($col.asc(), jobs::id.asc()))
        }
    }};
}

/// [`keyset_not_null!`] for a duration's sort expression (`elapsed_key()`/`queue_key()`),
/// bounded below by 0 when [`PageRequest::durations_known`]: a range on the index's leading
/// column, which both planners use to start (or end) the scan past the jobs without one.
macro_rules! keyset_duration {
    ($q:expr, $key:expr, $req:expr) => {{
        let q = $q;
        let q = if $req.durations_known() {
            q.filter($key.ge(0_i64))
        } else {
            q
        };
        keyset_not_null!(q, $key, duration_seeks($req), $req)
    }};
}

/// Runs `read` with `req` as a page reads it: narrowed to the update span its creation range
/// holds when it is ordered by the update time ([`super::update_span`], read in one snapshot
/// with `read`), then given the ranges its conditions imply ([`super::implied`]).
async fn with_ranges<T>(
    conn: &mut Conn<'_>,
    scope: Scope,
    req: &PageRequest,
    read: impl AsyncFnOnce(&mut Conn<'_>, &PageRequest) -> Result<T, DbError>,
) -> Result<T, DbError> {
    if !super::update_span::wanted(req) {
        return read(conn, &req.with_implied_range()).await;
    }
    super::snapshot_on(conn, async |c: &mut Conn<'_>| {
        let req = super::update_span::narrowed(c, scope, req).await?;
        read(c, &req.with_implied_range()).await
    })
    .await
}

/// One page of history in `sort` order, of the jobs visible in `scope`, completed by
/// `catalogue` (which reads the accounts and models it has not kept yet on `conn`). The
/// conditions get the ranges they imply on the order's time: the update span of a creation
/// range ([`super::update_span`], in one snapshot with the page) and the implied ranges
/// ([`super::implied`]).
pub async fn page(
    conn: &mut Conn<'_>,
    catalogue: &Catalogue,
    scope: Scope,
    req: &PageRequest,
) -> Result<Vec<JobRecord>, DbError> {
    with_ranges(
        conn,
        scope,
        req,
        async |conn: &mut Conn<'_>, req: &PageRequest| page_of(conn, catalogue, scope, req).await,
    )
    .await
}

/// [`page`] for a request with its ranges in place.
async fn page_of(
    conn: &mut Conn<'_>,
    catalogue: &Catalogue,
    scope: Scope,
    req: &PageRequest,
) -> Result<Vec<JobRecord>, DbError> {
    let ts = seeks(req, from_micros);
    let int = seeks(req, |v| i32::try_from(v).ok());
    let big = seeks(req, Some);
    let reading = req.reading(super::range_scan::check_range(conn, scope, req).await?);
    let mut rows: Vec<Job> = crate::on_backend!(conn, c => {
        let q = jobs::table.select(Job::as_select()).into_boxed();
        let q = filter_jobs!(q, scope, &req.conditions, reading);
        let q = match req.sort.key {
            SortKey::CreatedAt => keyset_not_null!(q, jobs::created_at, ts?, req),
            SortKey::SubmittedAt => keyset_not_null!(q, jobs::submitted_at, ts?, req),
            SortKey::UpdatedAt => keyset_not_null!(q, jobs::updated_at, ts?, req),
            SortKey::Status => keyset_not_null!(q, jobs::status, int?, req),
            SortKey::InputByteAmount => keyset_not_null!(q, jobs::input_byte_amount, big?, req),
            SortKey::Total => keyset_not_null!(q, jobs::total, int?, req),
            SortKey::ElapsedTime => keyset_duration!(q, elapsed_key(), req),
            SortKey::QueueTime => keyset_duration!(q, queue_key(), req),
        };
        q.limit(req.limit).load::<Job>(c).await?
    });
    if req.from_end {
        rows.reverse();
    }
    catalogue.records(conn, rows).await
}

/// The position (sort key and id) of the row `skip` rows past the start of `req` — past its
/// `after` cursor, in its sort, under its conditions — or `None` when fewer rows follow. Page
/// numbers are served with it (the REST history): it finds the last row of a page without
/// reading the pages before it into the server. It selects only `id` and the sort key, which
/// the `(account_id, key, id)` indexes hold, so PostgreSQL can skip with an index-only scan
/// when the filter needs no other column; `skip` rows are still stepped over, so callers
/// bound it. `req.limit`, `req.before` and `req.from_end` are ignored (the rows stepped over
/// are the limit [`super::range_scan`] weighs). The conditions get the ranges a [`page`]'s do.
pub async fn position_after(
    conn: &mut Conn<'_>,
    scope: Scope,
    req: &PageRequest,
    skip: i64,
) -> Result<Option<Seek>, DbError> {
    let req = PageRequest {
        before: None,
        from_end: false,
        limit: skip.saturating_add(1),
        ..req.clone()
    };
    with_ranges(
        conn,
        scope,
        &req,
        async |conn: &mut Conn<'_>, req: &PageRequest| position_of(conn, scope, req, skip).await,
    )
    .await
}

/// [`position_after`] for a request with its ranges in place.
async fn position_of(
    conn: &mut Conn<'_>,
    scope: Scope,
    req: &PageRequest,
    skip: i64,
) -> Result<Option<Seek>, DbError> {
    let reading = req.reading(super::range_scan::check_range(conn, scope, req).await?);
    let ts = seeks(req, from_micros);
    let int = seeks(req, |v| i32::try_from(v).ok());
    let big = seeks(req, Some);
    let micros = |t: NaiveDateTime| Some(t.and_utc().timestamp_micros());
    let wide = |v: i32| Some(i64::from(v));
    let status = |s: JobStatus| Some(i64::from(s.code()));
    let same = |v: i64| Some(v);
    let nullable = |v: Option<i64>| v;
    // The page query's conditions and keyset, selecting only the id and the key.
    macro_rules! skipped {
        ($c:ident, $col:expr, |$q:ident| $keyset:expr, $key:expr) => {{
            let $q = jobs::table.select((jobs::id, $col)).into_boxed();
            let $q = filter_jobs!($q, scope, &req.conditions, reading);
            let rows = $keyset.offset(skip).limit(1).load($c).await?;
            rows.into_iter()
                .next()
                .map(|(id, k)| Seek { key: $key(k), id })
        }};
    }
    Ok(crate::on_backend!(conn, c => match req.sort.key {
        SortKey::CreatedAt => {
            let seeks = ts?;
            skipped!(c, jobs::created_at,
                |q| keyset_not_null!(q, jobs::created_at, seeks, req), micros)
        }
        SortKey::SubmittedAt => {
            let seeks = ts?;
            skipped!(c, jobs::submitted_at,
                |q| keyset_not_null!(q, jobs::submitted_at, seeks, req), micros)
        }
        SortKey::UpdatedAt => {
            let seeks = ts?;
            skipped!(c, jobs::updated_at,
                |q| keyset_not_null!(q, jobs::updated_at, seeks, req), micros)
        }
        SortKey::Status => {
            let seeks = int?;
            skipped!(c, jobs::status, |q| keyset_not_null!(q, jobs::status, seeks, req), status)
        }
        SortKey::Total => {
            let seeks = int?;
            skipped!(c, jobs::total, |q| keyset_not_null!(q, jobs::total, seeks, req), wide)
        }
        SortKey::InputByteAmount => {
            let seeks = big?;
            skipped!(c, jobs::input_byte_amount,
                |q| keyset_not_null!(q, jobs::input_byte_amount, seeks, req), same)
        }
        SortKey::ElapsedTime => skipped!(c, jobs::elapsed_ms,
            |q| keyset_duration!(q, elapsed_key(), req), nullable),
        SortKey::QueueTime => skipped!(c, jobs::queue_ms,
            |q| keyset_duration!(q, queue_key(), req), nullable),
    }))
}

/// The jobs with these identifiers visible in `scope` (in any order; missing ones are left
/// out), completed as by [`page`].
pub async fn by_identifiers(
    conn: &mut Conn<'_>,
    catalogue: &Catalogue,
    scope: Scope,
    identifiers: &[String],
) -> Result<Vec<JobRecord>, DbError> {
    if identifiers.is_empty() {
        return Ok(Vec::new());
    }
    let conditions = JobConditions {
        job_identifiers: Some(identifiers.to_vec()),
        ..Default::default()
    };
    let rows: Vec<Job> = crate::on_backend!(conn, c => {
        let q = jobs::table.select(Job::as_select()).into_boxed();
        filter_jobs!(q, scope, &conditions).load::<Job>(c).await?
    });
    catalogue.records(conn, rows).await
}

/// The job `job_id` if it is visible in `scope` and matches `conditions` (used to filter
/// events for subscribers with exactly the history's semantics), completed as by [`page`].
pub async fn matching(
    conn: &mut Conn<'_>,
    catalogue: &Catalogue,
    scope: Scope,
    conditions: &JobConditions,
    job_id: JobId,
) -> Result<Option<JobRecord>, DbError> {
    let conditions = JobConditions {
        job_id: Some(job_id),
        ..conditions.clone()
    };
    let rows: Vec<Job> = crate::on_backend!(conn, c => {
        let q = jobs::table.select(Job::as_select()).into_boxed();
        filter_jobs!(q, scope, &conditions).limit(1).load::<Job>(c).await?
    });
    Ok(catalogue.records(conn, rows).await?.pop())
}

/// Whether there is any job at all, in any account (`serve --demo` seeds an empty database).
pub async fn any(conn: &mut Conn<'_>) -> Result<bool, DbError> {
    crate::on_backend!(conn, c => {
        let first = jobs::table.select(jobs::id).first::<JobId>(c).await.optional()?;
        Ok(first.is_some())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip() {
        let t = from_micros(1_780_000_000_123_456).unwrap();
        assert_eq!(t.and_utc().timestamp_micros(), 1_780_000_000_123_456);
    }
}
