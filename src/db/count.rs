//! How many jobs match a scope and conditions: `totalCount`. The history's usual counts are
//! answered from `job_daily` ([`super::daily::DailyPlan`]); anything else is counted live.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::daily::DailyPlan;
use super::filter::filter_jobs;
use super::jobs::JobConditions;
use super::schema::{job_daily, jobs};
use super::{Conn, DbError};
use crate::domain::{JobStatus, Scope};

/// How many jobs visible in `scope` match `conditions`. A date range over every job or the
/// TERMINATED group — the history's usual count — is answered from `job_daily` for whole days
/// plus live counts of the two partial edge days (and of the few live pending jobs), in one
/// statement; anything else is counted live.
pub async fn count(
    conn: &mut Conn<'_>,
    scope: Scope,
    conditions: &JobConditions,
) -> Result<i64, DbError> {
    match DailyPlan::for_conditions(conditions) {
        Some(plan) => count_by_days(conn, scope, conditions, &plan).await,
        None => count_live(conn, scope, conditions).await,
    }
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

/// Counts following `plan`: the whole days' sum, corrected by the live counts of its edges and
/// of the pending jobs to leave out, all in one statement.
async fn count_by_days(
    conn: &mut Conn<'_>,
    scope: Scope,
    c: &JobConditions,
    plan: &DailyPlan,
) -> Result<i64, DbError> {
    let part = |range| JobConditions {
        created: range,
        now: c.now,
        ..Default::default()
    };
    let (head, tail) = (part(Some(plan.head.range)), part(Some(plan.tail.range)));
    // A pending count that is not needed still runs, over an empty set (one statement text).
    let pending_statuses = if plan.subtract_pending {
        vec![JobStatus::Submitted, JobStatus::InProgress]
    } else {
        Vec::new()
    };
    let pending = JobConditions {
        statuses: Some(pending_statuses),
        ..part(c.created)
    };
    let (first, last) = (plan.first_day, plan.last_day);
    type Sums = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let (whole, head, tail, pending): Sums = crate::on_backend!(conn, c => {
        let mut sum = job_daily::table
            .filter(job_daily::day.between(first, last))
            .select(diesel::dsl::sum(job_daily::created))
            .into_boxed();
        if let Some(account) = scope.account() {
            sum = sum.filter(job_daily::account_id.eq(account));
        }
        let [h, t, p] = [(); 3].map(|()| jobs::table.into_boxed());
        diesel::select((
            sum.single_value(),
            filter_jobs!(h, scope, &head).count().single_value(),
            filter_jobs!(t, scope, &tail).count().single_value(),
            filter_jobs!(p, scope, &pending).count().single_value(),
        ))
        .get_result(c)
        .await?
    });
    let n = |v: Option<i64>| v.unwrap_or(0);
    Ok(n(whole) + plan.head.sign * n(head) + plan.tail.sign * n(tail) - n(pending))
}
