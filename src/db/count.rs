//! How many jobs match a scope and conditions: `totalCount`. Counts whose conditions the
//! rollup holds (statuses, model, flags, creation range) are answered from `job_counts`
//! ([`super::daily::DailyPlan`], [`super::rollup`]), and so are those with a submission range
//! in place of the creation range, corrected at its two bounds
//! ([`super::implied::SubmissionCount`]); counts of users and statuses alone from
//! `user_job_counts`; anything else is counted live.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::daily::{Columns, DailyPlan};
use super::filter::{filter_jobs, matching_models, matching_users};
use super::implied::SubmissionCount;
use super::jobs::JobConditions;
use super::rollup::rows_of;
use super::schema::{job_counts, jobs, user_job_counts};
use super::{Conn, DbError};
use crate::domain::Scope;

/// How many jobs visible in `scope` match `conditions`: from the rollup's whole days plus
/// live counts of the two partial edge days and of the few jobs still stored as pending, in
/// one statement, when the rollup holds every condition (a submission range read as the
/// creation range it nearly is, plus one statement for its bounds); from the matched users' rows plus
/// their jobs still stored as pending when the conditions are users and statuses; else
/// counted live.
pub async fn count(
    conn: &mut Conn<'_>,
    scope: Scope,
    conditions: &JobConditions,
) -> Result<i64, DbError> {
    if let Some(plan) = DailyPlan::for_conditions(conditions) {
        return count_by_days(conn, scope, conditions, &plan).await;
    }
    let now = conditions.now.unwrap_or_else(super::now);
    if let Some(s) = SubmissionCount::for_conditions(conditions, now)
        && let Some(plan) = DailyPlan::for_conditions(&s.created)
    {
        let created = count_by_days(conn, scope, &s.created, &plan).await?;
        let (entered, left): (Option<i64>, Option<i64>) = crate::on_backend!(conn, c => {
            let [e, l] = [(); 2].map(|()| jobs::table.into_boxed());
            diesel::select((
                filter_jobs!(e, scope, &s.entered).count().single_value(),
                filter_jobs!(l, scope, &s.left).count().single_value(),
            ))
            .get_result(c)
            .await?
        });
        return Ok(created + entered.unwrap_or(0) - left.unwrap_or(0));
    }
    if conditions.only_person_keys() {
        return count_by_people(conn, scope, conditions).await;
    }
    count_live(conn, scope, conditions).await
}

/// `SUM` of a rollup's five count columns, each times its factor in `$k` (a [`Columns`]):
/// `job_counts` and `user_job_counts` share the columns.
macro_rules! weighted_sum {
    ($t:ident, $k:expr) => {{
        let k: Columns = $k;
        diesel::dsl::sum(
            $t::created * k.created
                + $t::completed * k.completed
                + $t::canceled * k.canceled
                + $t::timedout * k.timedout
                + $t::error * k.error,
        )
    }};
}

/// Counts by scanning the matching rows (the reference the daily path must agree with).
pub async fn count_live(
    conn: &mut Conn<'_>,
    scope: Scope,
    conditions: &JobConditions,
) -> Result<i64, DbError> {
    crate::on_backend!(conn, c => {
        let q = jobs::table.into_boxed();
        Ok(filter_jobs!(q, scope, conditions).count().get_result::<i64>(c).await?)
    })
}

/// Counts following `plan`: the whole days' sum of the rollup's columns, corrected by the live
/// counts of its edges, plus the jobs of those days still stored as pending, in one statement.
async fn count_by_days(
    conn: &mut Conn<'_>,
    scope: Scope,
    c: &JobConditions,
    plan: &DailyPlan,
) -> Result<i64, DbError> {
    // One instant for every part, so a deadline passing mid-statement cannot count a job twice.
    let now = Some(c.now.unwrap_or_else(super::now));
    let edge = |range| JobConditions {
        created: Some(range),
        now,
        ..c.clone()
    };
    let (head, tail) = (edge(plan.head.range), edge(plan.tail.range));
    // Counted even when no status is left to count (an empty list matches nothing): one
    // statement text per shape of conditions.
    let pending = JobConditions {
        statuses: Some(plan.pending.clone()),
        created: plan.whole_days(),
        stored_pending: true,
        now,
        ..c.clone()
    };
    let (first, last, k) = (plan.first_day, plan.last_day, plan.columns);
    let rows = rows_of(scope);
    type Sums = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let (whole, head, tail, pending): Sums = crate::on_backend!(conn, conn => {
        use job_counts::dsl as t;
        let mut sum = job_counts::table
            .filter(t::account_id.eq(rows))
            .filter(t::day.between(first, last))
            .select(weighted_sum!(t, k))
            .into_boxed();
        if c.on_model() {
            sum = sum.filter(t::model_id.eq_any(matching_models!(c)));
        }
        if let Some(explain) = c.explain {
            sum = sum.filter(t::explain.eq(explain));
        }
        if let Some(flag) = c.image_classification_model {
            sum = sum.filter(t::image_classification_model.eq(flag));
        }
        let [h, tl, p] = [(); 3].map(|()| jobs::table.into_boxed());
        diesel::select((
            sum.single_value(),
            filter_jobs!(h, scope, &head).count().single_value(),
            filter_jobs!(tl, scope, &tail).count().single_value(),
            filter_jobs!(p, scope, &pending).count().single_value(),
        ))
        .get_result(conn)
        .await?
    });
    let n = |v: Option<i64>| v.unwrap_or(0);
    Ok(n(whole) + plan.head.sign * n(head) + plan.tail.sign * n(tail) + n(pending))
}

/// Counts jobs of matched users (and statuses) from `user_job_counts`: the matched users'
/// rows (of the scope's account), plus their jobs still stored as pending that the statuses
/// want, counted live, in one statement. O(users matched), whatever their jobs number.
async fn count_by_people(
    conn: &mut Conn<'_>,
    scope: Scope,
    c: &JobConditions,
) -> Result<i64, DbError> {
    let (k, pending) = Columns::for_statuses(c.statuses.as_deref());
    let pending = JobConditions {
        statuses: Some(pending),
        stored_pending: true,
        now: Some(c.now.unwrap_or_else(super::now)),
        ..c.clone()
    };
    let groups = c.user.as_ref().map(|u| u.0.as_slice()).unwrap_or_default();
    let (rows, pending): (Option<i64>, Option<i64>) = crate::on_backend!(conn, conn => {
        use user_job_counts::dsl as t;
        let mut sum = user_job_counts::table.select(weighted_sum!(t, k)).into_boxed();
        if let Some(account) = scope.account() {
            sum = sum.filter(t::account_id.eq(account));
        }
        for any in groups {
            sum = sum.filter(t::user_id.eq_any(matching_users!(scope, any)));
        }
        let p = jobs::table.into_boxed();
        diesel::select((
            sum.single_value(),
            filter_jobs!(p, scope, &pending).count().single_value(),
        ))
        .get_result(conn)
        .await?
    });
    Ok(rows.unwrap_or(0) + pending.unwrap_or(0))
}
