//! The WHERE clause of every read of `jobs`: a caller's [`Scope`](crate::domain::Scope) and a
//! [`JobConditions`], added to a boxed query by `filter_jobs!`. What can be decided without the
//! query (which statuses are matched how, the `LIKE` patterns) is decided by functions here; the
//! macro only adds the conditions.
//!
//! Time matters to the *effective* status: a job still stored as pending whose deadline has
//! passed reads as TIMEDOUT (the sweeper catches up later), so status conditions take `now`.

use chrono::NaiveDateTime;

use super::fixed_sql::{Fixed, fixed};
use super::jobs::JobConditions;
use crate::domain::JobStatus;

diesel::define_sql_function! {
    /// SQL `lower(text)`, on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// How a list of effective statuses is matched against stored ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusMatch {
    /// Pending statuses, matched only while the job's deadline is ahead.
    pub live: Vec<JobStatus>,
    /// Final statuses, matched as stored.
    pub stored: Vec<JobStatus>,
    /// TIMEDOUT was asked for: pending jobs past their deadline match too.
    pub expired: bool,
    /// `jobs.status <= 1` when both pending statuses are asked for (said literally, so the
    /// partial index `jobs_pending_created_idx` — `WHERE status <= 1` — is provably usable),
    /// else a condition that always holds.
    pub every_pending: &'static str,
    /// The instant deadlines are compared with.
    pub now: NaiveDateTime,
    /// The smallest and largest stored status that can match, when narrower than every
    /// status: added as a redundant `status BETWEEN lo AND hi`. PostgreSQL 15 never checks an
    /// `= ANY(…)` on a later index column inside an ordered index scan (it filters each row
    /// fetched from the table), but it does check a range there: `ERROR` by queue time read
    /// 38 000 never-started rows from the table before its first ERROR (90–216 ms) without it,
    /// 1 ms with it (`jobs_queue_idx` carries `status`). PostgreSQL only:
    /// [`PlannerHints::STATUS_RANGE`]; sent alone when it is the whole match
    /// ([`Self::exact_bounds`]).
    pub bounds: Option<(JobStatus, JobStatus)>,
    /// Every stored status that can match is one whose jobs ran ([`JobStatus::ran`]), so
    /// both durations are known: a page ordered by one skips the jobs without it.
    pub ran: bool,
}

impl StatusMatch {
    /// The match for `statuses` at `now`.
    pub fn new(statuses: &[JobStatus], now: NaiveDateTime) -> Self {
        let (live, stored): (Vec<JobStatus>, Vec<JobStatus>) =
            statuses.iter().partition(|s| s.is_pending());
        let every_pending = if live.len() == 2 {
            "jobs.status <= 1"
        } else {
            "1 = 1"
        };
        let expired = statuses.contains(&JobStatus::Timedout);
        // Stored statuses that can match: the final ones asked for as they are, and pending
        // ones for live pending statuses and for TIMEDOUT (not yet recorded by the sweeper).
        let pending = if expired {
            &[JobStatus::Submitted, JobStatus::InProgress][..]
        } else {
            &live[..]
        };
        let possible = || stored.iter().chain(pending);
        let bounds = possible()
            .min()
            .zip(possible().max())
            .map(|(lo, hi)| (*lo, *hi))
            .filter(|&b| b != (JobStatus::Submitted, JobStatus::Error));
        let ran = possible().next().is_some() && possible().all(|s| s.ran());
        Self {
            ran,
            expired,
            live,
            stored,
            every_pending,
            now,
            bounds,
        }
    }
}

impl StatusMatch {
    /// [`Self::bounds`] when the range alone says everything the match does: no pending
    /// status and no TIMEDOUT are asked for (both compare deadlines), and every status between
    /// the bounds is. PostgreSQL then gets `status BETWEEN lo AND hi` without the list: given
    /// both, its planner multiplies their selectivities as if they were independent, so ERROR
    /// (one job in 20) looked like one in 400, and a page of ERROR by queue time 40 000 rows
    /// deep read every ERROR job through `jobs_status_idx` and sorted them (185 ms at 1M jobs)
    /// instead of scanning `jobs_queue_idx` from its cursor (0.5 ms).
    pub fn exact_bounds(&self) -> Option<(JobStatus, JobStatus)> {
        let (lo, hi) = self.bounds?;
        let asked = |code: i32| self.stored.iter().any(|s| s.code() == code);
        (self.live.is_empty() && !self.expired && (lo.code()..=hi.code()).all(asked))
            .then_some((lo, hi))
    }
}

impl JobConditions {
    /// How this condition's statuses are matched, when it has any.
    pub fn status_match(&self) -> Option<StatusMatch> {
        let statuses = self.statuses.as_ref()?;
        Some(StatusMatch::new(
            statuses,
            self.now.unwrap_or_else(super::now),
        ))
    }

    /// Whether a condition on the model is set (matched through a subquery on `models`).
    pub fn on_model(&self) -> bool {
        self.model_name.is_some() || self.model_identifier.is_some() || self.model_version.is_some()
    }
}

/// What a query built by `filter_jobs!` reads, which decides some of the planner's hints
/// ([`PlannerHints`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Every matching row: a count, a lookup by identifier, the live statistics.
    EveryMatch,
    /// A page ordered by the status.
    PageByStatus {
        /// Whether the creation range is checked in each row rather than ranged over
        /// ([`super::range_scan`]).
        created_checked: bool,
    },
    /// A page ordered by another key than the status.
    PageByOtherKey {
        /// As for [`Reading::PageByStatus`].
        created_checked: bool,
    },
}

impl Reading {
    /// Whether the creation range is checked in each row (chosen only where the backend wants
    /// it, [`super::range_scan`]).
    pub fn created_checked(self) -> bool {
        match self {
            Self::EveryMatch => false,
            Self::PageByStatus { created_checked } | Self::PageByOtherKey { created_checked } => {
                created_checked
            }
        }
    }

    /// The creation time as the range term reads it: `+jobs.created_at`, a term no index
    /// serves, when [`Self::created_checked`], else `jobs.created_at`.
    pub fn created_operand(self) -> Fixed<diesel::sql_types::Timestamp> {
        fixed(if self.created_checked() {
            "+jobs.created_at"
        } else {
            "jobs.created_at"
        })
    }
}

/// How a backend's planner is given the conditions.
pub trait PlannerHints {
    /// Whether a backend gets the redundant `status BETWEEN lo AND hi` of
    /// [`StatusMatch::bounds`]. PostgreSQL 15 needs it to check a status inside an ordered index
    /// scan. SQLite must not get it: its planner (3.53, with `STAT4` histograms) reads the range
    /// as a reason to seek a status index and sort everything it finds, even by a skip-scan of
    /// `(account_id, status, id)` — ERROR over three months took 185 ms instead of 0.3 ms,
    /// TERMINATED by elapsed time 3.4 s instead of 1.8 ms (1M jobs, measured with the same
    /// SQLite version and the same binds).
    const STATUS_RANGE: bool;
    /// Whether a page ordered by another key than the status writes its final statuses as
    /// `+jobs.status IN (…)`, a term no index serves. SQLite's planner otherwise seeks the
    /// status index and sorts every job of those statuses whatever the page's size (ERROR by
    /// queue time: 50 000 jobs found and sorted, ~200 ms at 1M), where scanning the order's
    /// own index and checking the status in it stops after the page (~2 ms; the global
    /// duration indexes carry `status` for this, migration `…000011`). Final statuses are most
    /// of the jobs; pending ones are few by nature and stay indexable. PostgreSQL plans it
    /// with the range above.
    const UNARY_PLUS: bool;
    /// Whether a read of every match with a condition whose own index is narrower than the
    /// account's writes the account as `+jobs.account_id = ?`, a term no index serves. SQLite's
    /// planner otherwise ranges over the account's every job by `jobs_account_created_idx` and
    /// looks each one up. The conditions:
    /// - a user or key prefix: every job of the matched users (or keys) is read anyway, and
    ///   their index carries the account (migration `…000014`), so the count reads that index
    ///   alone (a user key's `user: "an"` over 91 days at 1M jobs: 26 ms → 0.3 ms);
    /// - only jobs stored as pending (`stored_pending`: the pending part of a rollup count,
    ///   the live part of an update span): the partial index holds them alone, few by nature
    ///   (a user key's month four months back: 6 ms → 0.1 ms per statement, nothing pending).
    ///
    /// Pages keep the indexable term: scanning the order's index may stop sooner than reading
    /// every match. PostgreSQL chooses the narrower index by itself.
    const ACCOUNT_UNINDEXED: bool;
    /// Whether a page with a creation range, ordered by another key, chooses between the
    /// order's index and the range's from the rollup's counts ([`super::range_scan`]): SQLite's
    /// planner takes one or the other whatever the range's width. PostgreSQL weighs them
    /// itself.
    const RANGE_BY_ROLLUP: bool;
}

impl PlannerHints for diesel::pg::Pg {
    const STATUS_RANGE: bool = true;
    const UNARY_PLUS: bool = false;
    const ACCOUNT_UNINDEXED: bool = false;
    const RANGE_BY_ROLLUP: bool = false;
}

impl PlannerHints for diesel::sqlite::Sqlite {
    const STATUS_RANGE: bool = false;
    const UNARY_PLUS: bool = true;
    const ACCOUNT_UNINDEXED: bool = true;
    const RANGE_BY_ROLLUP: bool = true;
}

/// A backend's [`PlannerHints`] as values, read from the type of the boxed query
/// `filter_jobs!` extends ([`hints`]), with the terms they decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hints {
    /// [`PlannerHints::STATUS_RANGE`].
    pub status_range: bool,
    /// [`PlannerHints::UNARY_PLUS`].
    pub unary_plus: bool,
    /// [`PlannerHints::ACCOUNT_UNINDEXED`].
    pub account_unindexed: bool,
}

/// The hints of the backend of `_`, a boxed query over `jobs`.
pub fn hints<ST, QS, DB: PlannerHints, GB>(
    _: &diesel::query_builder::BoxedSelectStatement<'_, ST, QS, DB, GB>,
) -> Hints {
    Hints {
        status_range: DB::STATUS_RANGE,
        unary_plus: DB::UNARY_PLUS,
        account_unindexed: DB::ACCOUNT_UNINDEXED,
    }
}

impl Hints {
    /// The status column as the final-statuses term reads it: `+jobs.status` for a page
    /// ordered by another key when the backend wants it ([`PlannerHints::UNARY_PLUS`]), else
    /// `jobs.status`.
    pub fn stored_status(self, reading: Reading) -> Fixed<diesel::sql_types::Integer> {
        let by_other_key = matches!(reading, Reading::PageByOtherKey { .. });
        fixed(if by_other_key && self.unary_plus {
            "+jobs.status"
        } else {
            "jobs.status"
        })
    }

    /// The account column as the scope term reads it: `+jobs.account_id` when every match is
    /// read, a user, key-prefix or stored-pending condition is set and the backend wants it
    /// ([`PlannerHints::ACCOUNT_UNINDEXED`]), else `jobs.account_id`.
    pub fn account(self, reading: Reading, c: &JobConditions) -> Fixed<diesel::sql_types::BigInt> {
        let narrower = c.user.is_some() || c.access_key.is_some() || c.stored_pending;
        fixed(
            if reading == Reading::EveryMatch && narrower && self.account_unindexed {
                "+jobs.account_id"
            } else {
                "jobs.account_id"
            },
        )
    }
}

/// `LIKE` pattern for a case-insensitive substring, with `\` escaping `%`, `_` and `\`.
pub fn like_pattern(s: &str) -> String {
    let mut p = String::with_capacity(s.len() + 2);
    p.push('%');
    for c in s.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Adds the WHERE conditions of `$scope` and `$c` to a boxed query over `jobs`. A macro because
/// `eq_any` and the boxed queries compile to each backend's own types, which a function could
/// only accept through a trait bound per condition.
macro_rules! filter_jobs {
    ($query:expr, $scope:expr, $c:expr) => {
        $crate::db::filter::filter_jobs!(
            $query,
            $scope,
            $c,
            $crate::db::filter::Reading::EveryMatch
        )
    };
    // `$reading`: what the query reads (a `Reading`), for the planner hints.
    ($query:expr, $scope:expr, $c:expr, $reading:expr) => {{
        use diesel::sql_types::Bool;
        use $crate::db::fixed_sql::fixed;
        use $crate::db::schema::jobs;
        let (scope, c): ($crate::domain::Scope, &$crate::db::jobs::JobConditions) = ($scope, $c);
        let reading: $crate::db::filter::Reading = $reading;
        let mut q = $query;
        let hints = $crate::db::filter::hints(&q);
        if let Some(account) = scope.account() {
            q = q.filter(hints.account(reading, c).eq(account));
        }
        let status_match = c.status_match();
        let exact_range = status_match
            .as_ref()
            .and_then(|m| m.exact_bounds())
            .filter(|_| hints.status_range);
        if let Some((lo, hi)) = exact_range {
            q = q.filter(jobs::status.between(lo, hi));
        } else if let Some(m) = status_match {
            let live = jobs::status
                .eq_any(m.live.clone())
                .and(fixed::<Bool>(m.every_pending))
                .and(
                    jobs::deadline_at
                        .is_null()
                        .or(jobs::deadline_at.gt(m.now))
                        .assume_not_null(),
                );
            let expired = jobs::status
                .le($crate::domain::JobStatus::InProgress)
                .and(jobs::deadline_at.le(m.now).assume_not_null());
            let stored = hints.stored_status(reading).eq_any(m.stored.clone());
            q = match (m.live.is_empty(), m.stored.is_empty(), m.expired) {
                (true, true, _) => q.filter(fixed::<Bool>("1 = 0")),
                (false, true, _) => q.filter(live),
                (true, false, false) => q.filter(stored),
                (true, false, true) => q.filter(stored.or(expired)),
                (false, false, false) => q.filter(live.or(stored)),
                (false, false, true) => q.filter(live.or(stored).or(expired)),
            };
            if let Some((lo, hi)) = m.bounds.filter(|_| hints.status_range) {
                q = q.filter(jobs::status.between(lo, hi));
            }
        }
        if let Some(user) = &c.user {
            // One subquery per group (AND); a group of several texts ORs them in a nested
            // subquery, so the account condition applies to all of them.
            for any in &user.0 {
                q = q.filter(jobs::user_id.eq_any($crate::db::filter::matching_users!(scope, any)));
            }
        }
        if let Some(prefixes) = &c.access_key {
            for any in &prefixes.0 {
                q = match any.as_slice() {
                    [prefix] => q.filter(jobs::submitted_by.eq(prefix.clone())),
                    prefixes => q.filter(jobs::submitted_by.eq_any(prefixes.to_vec())),
                };
            }
        }
        if c.on_model() {
            q = q.filter(jobs::model_id.eq_any($crate::db::filter::matching_models!(c)));
        }
        if let Some(r) = c.created {
            q = q.filter(reading.created_operand().between(r.from, r.to));
        }
        if let Some(r) = c.submitted {
            q = q.filter(jobs::submitted_at.between(r.from, r.to));
        }
        if let Some(r) = c.updated {
            q = q.filter(jobs::updated_at.between(r.from, r.to));
        }
        if let Some(id) = c.job_id {
            q = q.filter(jobs::id.eq(id));
        }
        if let Some(ids) = &c.job_identifiers {
            q = q.filter(jobs::job_identifier.eq_any(ids.clone()));
        }
        if let Some(explain) = c.explain {
            q = q.filter(jobs::explain.eq(explain));
        }
        if let Some(flag) = c.image_classification_model {
            q = q.filter(jobs::image_classification_model.eq(flag));
        }
        if c.stored_pending {
            q = q.filter(fixed::<Bool>("jobs.status <= 1"));
        }
        q
    }};
}
pub(crate) use filter_jobs;

/// The ids of the users in `$scope` one text of the group `$any` (a slice of texts) matches
/// by first name, last name or email, as a boxed subquery: the user condition of
/// `filter_jobs!` and of the per-user counts (`db::count`).
macro_rules! matching_users {
    ($scope:expr, $any:expr) => {{
        use $crate::db::filter::lower;
        use $crate::db::schema::users;
        let matches = |text: &str| {
            let p = $crate::db::filter::like_pattern(text);
            lower(users::first_name)
                .like(p.clone())
                .escape('\\')
                .or(lower(users::last_name).like(p.clone()).escape('\\'))
                .or(lower(users::email).like(p).escape('\\'))
        };
        let mut matching = users::table.select(users::id).into_boxed();
        let scope: $crate::domain::Scope = $scope;
        if let Some(account) = scope.account() {
            matching = matching.filter(users::account_id.eq(account));
        }
        $crate::db::filter::matching_any!(matching, users, $any, matches)
    }};
}
pub(crate) use matching_users;

/// `$matching` (a boxed `SELECT $table.id`) narrowed to the rows one text of the group `$any`
/// matches by `$matches`: the condition itself for a single text, else `id IN` a nested
/// subquery ORing one condition per text. Shared by the user and model searches; a macro for
/// the same reason as `filter_jobs!`.
macro_rules! matching_any {
    ($matching:expr, $table:ident, $any:expr, $matches:expr) => {
        match $any.as_slice() {
            [text] => $matching.filter($matches(text)),
            texts => {
                let mut either = $table::table.select($table::id).into_boxed();
                for (i, text) in texts.iter().enumerate() {
                    either = if i == 0 {
                        either.filter($matches(text))
                    } else {
                        either.or_filter($matches(text))
                    };
                }
                $matching.filter($table::id.eq_any(either))
            }
        }
    };
}
pub(crate) use matching_any;

/// The ids of the models `$c`'s model conditions match, as a boxed subquery for `eq_any`
/// (shared by `jobs` and the rollup). A macro for the same reason as `filter_jobs!`.
macro_rules! matching_models {
    ($c:expr) => {{
        use $crate::db::filter::lower;
        use $crate::db::schema::models;
        let c: &$crate::db::jobs::JobConditions = $c;
        let mut matching = models::table.select(models::id).into_boxed();
        if let Some(names) = &c.model_name {
            // One condition per group (AND); a group of several names ORs them in a nested
            // subquery.
            let matches = |text: &str| {
                let p = $crate::db::filter::like_pattern(text);
                lower(models::name).like(p).escape('\\')
            };
            for any in &names.0 {
                matching = $crate::db::filter::matching_any!(matching, models, any, matches);
            }
        }
        if let Some(identifier) = &c.model_identifier {
            matching = matching.filter(models::identifier.eq(identifier.clone()));
        }
        if let Some(version) = &c.model_version {
            matching = matching.filter(models::version.eq(version.clone()));
        }
        matching
    }};
}
pub(crate) use matching_models;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("Ada"), "%ada%");
        assert_eq!(like_pattern("100%_x\\"), "%100\\%\\_x\\\\%");
    }

    #[test]
    fn statuses_split_into_live_stored_and_expired() {
        let now = crate::db::now();
        let m = StatusMatch::new(&[JobStatus::Submitted, JobStatus::Timedout], now);
        assert_eq!(m.live, [JobStatus::Submitted]);
        assert_eq!(m.stored, [JobStatus::Timedout]);
        assert!(m.expired);
        assert_eq!(m.every_pending, "1 = 1");
        let both = StatusMatch::new(&[JobStatus::InProgress, JobStatus::Submitted], now);
        assert_eq!(both.every_pending, "jobs.status <= 1");
        assert!(!both.expired);
        assert_eq!(
            both.bounds,
            Some((JobStatus::Submitted, JobStatus::InProgress))
        );
        assert_eq!(m.bounds, Some((JobStatus::Submitted, JobStatus::Timedout)));
        let error = StatusMatch::new(&[JobStatus::Error], now);
        assert_eq!(error.bounds, Some((JobStatus::Error, JobStatus::Error)));
        // The range alone is the match only for final statuses other than TIMEDOUT, with
        // none missing between the bounds.
        assert_eq!(error.exact_bounds(), error.bounds);
        let done = StatusMatch::new(&[JobStatus::Canceled, JobStatus::Completed], now);
        assert_eq!(
            done.exact_bounds(),
            Some((JobStatus::Completed, JobStatus::Canceled))
        );
        let gap = StatusMatch::new(&[JobStatus::Completed, JobStatus::Error], now);
        assert_eq!(gap.exact_bounds(), None);
        assert_eq!(m.exact_bounds(), None);
        assert_eq!(both.exact_bounds(), None);
        let timedout = StatusMatch::new(&[JobStatus::Timedout], now);
        assert_eq!(timedout.exact_bounds(), None);
        let terminated = [JobStatus::Completed, JobStatus::Canceled, JobStatus::Error];
        assert_eq!(
            StatusMatch::new(&terminated, now).bounds,
            Some((JobStatus::Completed, JobStatus::Error))
        );
        assert_eq!(StatusMatch::new(&JobStatus::ALL, now).bounds, None);
        assert_eq!(StatusMatch::new(&[], now).bounds, None);
        // Durations are known when every status that can match ran to its end; TIMEDOUT
        // brings pending jobs past their deadline (never started), IN_PROGRESS no elapsed time.
        let ran = |statuses: &[JobStatus]| StatusMatch::new(statuses, now).ran;
        assert!(ran(&[JobStatus::Completed, JobStatus::Error]));
        assert!(ran(&[JobStatus::Error]));
        assert!(!ran(&[JobStatus::Completed, JobStatus::Canceled]));
        assert!(!ran(&[JobStatus::Completed, JobStatus::InProgress]));
        assert!(!ran(&[JobStatus::Completed, JobStatus::Timedout]));
        assert!(!ran(&[]));
    }

    #[test]
    fn sqlite_pages_by_another_key_check_final_statuses_without_their_index() {
        use diesel::debug_query;
        use diesel::prelude::*;

        use crate::db::jobs::JobConditions;
        use crate::db::schema::jobs;
        use crate::domain::Scope;

        let c = JobConditions {
            statuses: Some(vec![JobStatus::Submitted, JobStatus::Error]),
            now: Some(crate::db::now()),
            ..JobConditions::default()
        };
        let lite = |reading: Reading| {
            let q = jobs::table
                .select(jobs::id)
                .into_boxed::<diesel::sqlite::Sqlite>();
            let q = filter_jobs!(q, Scope::All, &c, reading);
            debug_query(&q).to_string()
        };
        // The final status is unindexable in a page by another key; the pending one stays
        // indexable (few jobs by nature), and counts keep both.
        let (by_other, by_status) = (
            Reading::PageByOtherKey {
                created_checked: false,
            },
            Reading::PageByStatus {
                created_checked: false,
            },
        );
        assert!(
            lite(by_other).contains("+jobs.status IN (?)"),
            "{}",
            lite(by_other)
        );
        assert!(
            lite(by_other).contains("`jobs`.`status` IN (?)"),
            "{}",
            lite(by_other)
        );
        for reading in [by_status, Reading::EveryMatch] {
            assert!(!lite(reading).contains("+jobs.status"), "{}", lite(reading));
        }
        let q = jobs::table.select(jobs::id).into_boxed::<diesel::pg::Pg>();
        let q = filter_jobs!(q, Scope::All, &c, by_other);
        let pg = debug_query(&q).to_string();
        assert!(!pg.contains("+jobs.status"), "{pg}");
    }

    #[test]
    fn a_checked_creation_range_is_a_term_no_index_serves() {
        use diesel::debug_query;
        use diesel::prelude::*;

        use crate::db::jobs::{JobConditions, Range};
        use crate::db::schema::jobs;
        use crate::domain::Scope;

        let now = crate::db::now();
        let c = JobConditions {
            created: Some(Range { from: now, to: now }),
            ..JobConditions::default()
        };
        let lite = |reading: Reading| {
            let q = jobs::table
                .select(jobs::id)
                .into_boxed::<diesel::sqlite::Sqlite>();
            debug_query(&filter_jobs!(q, Scope::All, &c, reading)).to_string()
        };
        for created_checked in [false, true] {
            for reading in [
                Reading::PageByStatus { created_checked },
                Reading::PageByOtherKey { created_checked },
            ] {
                let sql = lite(reading);
                let plus = sql.contains("+jobs.created_at BETWEEN ? AND ?");
                assert_eq!(plus, created_checked, "{sql}");
                assert!(sql.contains("jobs.created_at BETWEEN ? AND ?"), "{sql}");
            }
        }
        assert!(!lite(Reading::EveryMatch).contains("+jobs.created_at"));
    }

    #[test]
    fn sqlite_reads_of_every_match_by_person_or_pending_find_the_account_in_their_index() {
        use diesel::debug_query;
        use diesel::prelude::*;

        use crate::db::jobs::{JobConditions, Texts};
        use crate::db::schema::jobs;
        use crate::domain::{AccountId, Scope};

        let scope = Scope::Account(AccountId(7));
        let sql = |c: &JobConditions, reading: Reading, lite: bool| {
            if lite {
                let q = jobs::table
                    .select(jobs::id)
                    .into_boxed::<diesel::sqlite::Sqlite>();
                debug_query(&filter_jobs!(q, scope, c, reading)).to_string()
            } else {
                let q = jobs::table.select(jobs::id).into_boxed::<diesel::pg::Pg>();
                debug_query(&filter_jobs!(q, scope, c, reading)).to_string()
            }
        };
        let by_user = JobConditions {
            user: Some(Texts::one("an".into())),
            ..JobConditions::default()
        };
        let by_key = JobConditions {
            access_key: Some(Texts::one("abc".into())),
            ..JobConditions::default()
        };
        let pending = JobConditions {
            stored_pending: true,
            ..JobConditions::default()
        };
        for c in [&by_user, &by_key, &pending] {
            let count = sql(c, Reading::EveryMatch, true);
            assert!(count.contains("+jobs.account_id = ?"), "{count}");
            let created_checked = false;
            for reading in [
                Reading::PageByStatus { created_checked },
                Reading::PageByOtherKey { created_checked },
            ] {
                let page = sql(c, reading, true);
                assert!(!page.contains("+jobs.account_id"), "{page}");
            }
            let pg = sql(c, Reading::EveryMatch, false);
            assert!(!pg.contains("+jobs.account_id"), "{pg}");
        }
        let plain = sql(&JobConditions::default(), Reading::EveryMatch, true);
        assert!(!plain.contains("+jobs.account_id"), "{plain}");
        assert!(plain.contains("jobs.account_id = ?"), "{plain}");
    }
}
