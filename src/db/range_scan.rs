//! Which index SQLite reads for a page with a creation range ordered by another key: the
//! order's own, checking the range in each row it steps over and stopping after the page, or
//! the range's, reading every job the range holds and sorting them. SQLite's planner cannot
//! tell: given both bounds of the range (`to` defaults to now) it took the range for every
//! width, so a user key's last 120 days by status read and sorted 13 000 jobs (24 ms) where the
//! status index stops after 80 (0.05 ms); given only the lower bound it took the order's index
//! for every width, so one hour of an account by elapsed time stepped over 20 000 jobs (33 ms
//! instead of 0.04). Measured at 1M jobs through apsw with the server's statement, the same
//! SQLite version. PostgreSQL plans for the values (`plan_cache_mode`) and needs no help.
//!
//! So the choice is made per request, from the rollup's jobs per day of the scope
//! (`job_counts`, one small statement): with `n` jobs in the scope, `m` of them in the range
//! and a page of `limit`,
//! - for keys that do not follow the creation time (status, durations, bytes, total), the
//!   order's index finds a job in the range every `n / m` entries: `limit · n / m` rows
//!   against `m` to read and sort;
//! - for the submission time, which follows it within a minute, the page has the submission
//!   range the creation range implies ([`super::implied`]): the order's index starts at the
//!   range's edge and finds the range's jobs together, about `limit` rows against `m`;
//! - for the update time, which follows it by no bound, the order's index first steps over
//!   the jobs created after the range (going down) or before it (going up), then finds most
//!   of the range's jobs together: about `beyond + limit` rows against `m`; with the update
//!   span the range holds ([`super::update_span`]) as the page's update range, only the jobs
//!   created beyond the range and updated within the span, about those created between the
//!   range's edge and the span's.
//!
//! The range's condition is then written `+jobs.created_at BETWEEN …` (a term no index serves:
//! the order's index it is) or left as it is (the planner ranges on it, as it would). Only
//! for conditions with nothing else an index serves better (no user, key prefix, job
//! identifiers or model), where the planner's own choice stands. Statuses and flags are left
//! out of the estimate: final statuses are most jobs (and already checked in the order's index
//! or row, `PlannerHints::UNARY_PLUS`), pending ones few and read by their own index.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::daily::day_start;
use super::filter::PlannerHints;
use super::jobs::{PageRequest, SortKey};
use super::rollup::rows_of;
use super::schema::job_counts;
use super::{Conn, DbError};
use crate::domain::Scope;

/// Whether the backend of `conn` wants the choice ([`PlannerHints::RANGE_BY_ROLLUP`]).
fn wanted<C>(_: &C) -> bool
where
    C: diesel_async::AsyncConnection,
    C::Backend: PlannerHints,
{
    <C::Backend as PlannerHints>::RANGE_BY_ROLLUP
}

/// Whether `req`'s creation range should be checked in each row of the order's index rather
/// than ranged over: `false` unless the backend wants the choice, the page is ordered by
/// another key than the creation time, and it has no user, key-prefix, job-identifier or
/// model condition.
pub async fn check_range(
    conn: &mut Conn<'_>,
    scope: Scope,
    req: &PageRequest,
) -> Result<bool, DbError> {
    let c = &req.conditions;
    let Some(range) = c.created else {
        return Ok(false);
    };
    let other_index = c.user.is_some()
        || c.access_key.is_some()
        || c.job_identifiers.is_some()
        || c.job_id.is_some()
        || c.on_model();
    if req.sort.key == SortKey::CreatedAt || other_index {
        return Ok(false);
    }
    let rows = rows_of(scope);
    let days: Vec<(i32, Option<i64>)> = crate::on_backend!(conn, c => {
        if !wanted(c) {
            return Ok(false);
        }
        use job_counts::dsl as t;
        t::job_counts
            .filter(t::account_id.eq(rows))
            .group_by(t::day)
            .select((t::day, diesel::dsl::sum(t::created)))
            .load(c)
            .await?
    });
    let days: Vec<(i32, i64)> = days.into_iter().map(|(d, n)| (d, n.unwrap_or(0))).collect();
    Ok(Estimate::of(&days, range.from, range.to, c.updated).order_index_reads_less(req))
}

/// How the scope's jobs lie around a creation range, from its jobs per day.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Estimate {
    /// Jobs in the scope.
    all: f64,
    /// Jobs created in the range (its edge days prorated by the part they cover).
    within: f64,
    /// Jobs created before the range (and from the update range's start on, if any).
    before: f64,
    /// Jobs created after it (and up to the update range's end, if any).
    after: f64,
}

impl Estimate {
    /// The estimate for the range `[from, to]` from `(day, jobs)` pairs, each day's jobs
    /// taken as spread evenly over it. With an `updated` range, the jobs before and after the
    /// range are those created within it too: a job is updated no earlier than it is created,
    /// and the ones created outside the update range but updated inside it are few next to the
    /// others (taken as none).
    fn of(
        days: &[(i32, i64)],
        from: NaiveDateTime,
        to: NaiveDateTime,
        updated: Option<super::jobs::Range>,
    ) -> Self {
        let (first, last) =
            updated.map_or((NaiveDateTime::MIN, NaiveDateTime::MAX), |u| (u.from, u.to));
        let mut e = Self::default();
        for &(d, n) in days {
            let n = n as f64;
            e.all += n;
            e.before += n * share(d, first.min(from), from);
            e.within += n * share(d, from, to);
            e.after += n * share(d, to, last.max(to));
        }
        e
    }

    /// Whether scanning the order's index is expected to read fewer rows than reading the
    /// range and sorting it, for `req`'s page.
    fn order_index_reads_less(&self, req: &PageRequest) -> bool {
        let limit = req.limit.max(1) as f64;
        let by_order = match req.sort.key {
            SortKey::SubmittedAt => limit,
            SortKey::UpdatedAt => {
                let going_down = req.sort.descending != req.from_end;
                (if going_down { self.after } else { self.before }) + limit
            }
            _ => limit * self.all / self.within.max(1.0),
        };
        by_order < self.within
    }
}

/// The part of UTC day `d` between `lo` and `hi`, from 0 to 1.
fn share(d: i32, lo: NaiveDateTime, hi: NaiveDateTime) -> f64 {
    let day = day_start(d);
    let next = day + chrono::Duration::days(1);
    let (a, b) = (day.max(lo), next.min(hi));
    if b <= a {
        return 0.0;
    }
    let micros = |t: chrono::Duration| t.num_microseconds().unwrap_or(i64::MAX) as f64;
    micros(b - a) / micros(next - day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::jobs::{JobConditions, Range, Sort};

    fn at(day: i32, hours: i64) -> NaiveDateTime {
        day_start(day) + chrono::Duration::hours(hours)
    }

    fn req(key: SortKey, descending: bool) -> PageRequest {
        PageRequest {
            conditions: JobConditions {
                created: Some(Range {
                    from: at(0, 0),
                    to: at(0, 0),
                }),
                ..JobConditions::default()
            },
            sort: Sort { key, descending },
            after: None,
            before: None,
            limit: 51,
            from_end: false,
        }
    }

    /// 100 days of 200 jobs each (20 000, one account's worth at 1M jobs).
    fn history() -> Vec<(i32, i64)> {
        (0..100).map(|d| (d, 200)).collect()
    }

    #[test]
    fn prorates_the_edge_days_and_splits_the_rest() {
        let e = Estimate::of(&history(), at(10, 12), at(19, 6), None);
        assert_eq!(e.all, 20_000.0);
        // Half of day 10, days 11–18 whole, a quarter of day 19.
        assert!(
            (e.within - 200.0 * (0.5 + 8.0 + 0.25)).abs() < 1e-6,
            "{e:?}"
        );
        assert!((e.before - 200.0 * 10.5).abs() < 1e-6, "{e:?}");
        assert!((e.after - 200.0 * (80.0 + 0.75)).abs() < 1e-6, "{e:?}");
        let sum = e.within + e.before + e.after;
        assert!((sum - e.all).abs() < 1e-6, "{e:?}");
        let one_day = Estimate::of(&history(), at(5, 6), at(5, 12), None);
        assert!((one_day.within - 50.0).abs() < 1e-6, "{one_day:?}");
        assert!((one_day.within + one_day.before + one_day.after - 20_000.0).abs() < 1e-6);
    }

    #[test]
    fn wide_ranges_scan_the_order_narrow_ones_sort() {
        let by_status = req(SortKey::Status, true);
        // The last 120 days of a 100-day history: everything; the last day: 200 jobs.
        let wide = Estimate::of(&history(), at(0, 0), at(100, 0), None);
        assert!(wide.order_index_reads_less(&by_status));
        let narrow = Estimate::of(&history(), at(99, 0), at(100, 0), None);
        assert!(!narrow.order_index_reads_less(&by_status));
        // An empty scope or range: nothing to gain from scanning.
        assert!(!Estimate::of(&[], at(0, 0), at(1, 0), None).order_index_reads_less(&by_status));
        assert!(
            !Estimate::of(&history(), at(200, 0), at(201, 0), None)
                .order_index_reads_less(&by_status)
        );
    }

    #[test]
    fn keys_that_follow_the_creation_time_count_the_jobs_stepped_over() {
        // The last 30 days, newest first: the order's index starts inside the range.
        let recent = Estimate::of(&history(), at(70, 0), at(100, 0), None);
        assert!(recent.order_index_reads_less(&req(SortKey::UpdatedAt, true)));
        // Oldest first it would step over the 70 days before it.
        assert!(!recent.order_index_reads_less(&req(SortKey::UpdatedAt, false)));
        // A month in the middle, newest first: 40 days of jobs stepped over first.
        let middle = Estimate::of(&history(), at(30, 0), at(60, 0), None);
        assert!(!middle.order_index_reads_less(&req(SortKey::UpdatedAt, true)));
        // With the update span the month holds (its jobs updated until two days after it),
        // only the jobs created in those two days are stepped over, either way.
        let span = Some(crate::db::jobs::Range {
            from: at(30, 0),
            to: at(62, 0),
        });
        let bounded = Estimate::of(&history(), at(30, 0), at(60, 0), span);
        assert!((bounded.after - 400.0).abs() < 1e-6, "{bounded:?}");
        assert!(bounded.order_index_reads_less(&req(SortKey::UpdatedAt, true)));
        assert!(bounded.order_index_reads_less(&req(SortKey::UpdatedAt, false)));
        // By the submission time, the implied range starts the scan at the range's edge,
        // either way; a range smaller than the page is read and sorted.
        assert!(middle.order_index_reads_less(&req(SortKey::SubmittedAt, true)));
        assert!(recent.order_index_reads_less(&req(SortKey::SubmittedAt, false)));
        let hour = Estimate::of(&history(), at(50, 0), at(50, 1), None);
        assert!(!hour.order_index_reads_less(&req(SortKey::SubmittedAt, true)));
        // The same month by status: the range's jobs are everywhere in the status index.
        assert!(middle.order_index_reads_less(&req(SortKey::Status, true)));
    }
}
