//! Answering from the rollup: the daily and hourly rows of the [`Plan`], plus the jobs it does
//! not hold read live — every job still stored as pending in the range, and every job of the
//! slivers — added into the same cells.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::figures::Point;
use super::plan::{Plan, runs};
use super::rollup::{Grain, Key, Numbers, StatsRow, numbers, numbers_columns};
use super::{Request, Tally, live};
use crate::db::filter::matching_models;
use crate::db::jobs::JobConditions;
use crate::db::rollup::rows_of;
use crate::db::schema::job_stats;
use crate::db::{Conn, DbError};
use crate::domain::{AccountId, JobStatus, ModelId, Scope};

/// Periods closer than this (hours, or days) are read by one range scan.
const GAP: i32 = 2;

/// Adds to `tally` the figures of the jobs in `scope` matching `c` (whose `created` is the
/// request's whole range), from the rollup and the live remainder.
pub async fn add_cells(
    conn: &mut Conn<'_>,
    scope: Scope,
    c: &JobConditions,
    request: &Request,
    tally: &mut Tally,
) -> Result<(), DbError> {
    let plan = Plan::new(&request.edges);
    let finals = final_statuses(c.statuses.as_deref());
    if !finals.is_empty() {
        for (grain, periods) in [(Grain::Day, &plan.days), (Grain::Hour, &plan.hours)] {
            for (lo, hi) in runs(periods, GAP) {
                let rows = read_rows(conn, scope, c, &finals, grain, (lo, hi), request).await?;
                for row in rows {
                    let Some(&bucket) = periods.get(&row.key.period) else {
                        continue; // in a gap between two needed periods
                    };
                    let key = request.dimensions.key(&representative(&row));
                    tally.add_row(&request.histograms, bucket, key, &row);
                }
            }
        }
    }
    // Jobs the rollup does not hold: stored as pending anywhere in the range…
    let pending = JobConditions {
        stored_pending: true,
        ..c.clone()
    };
    for p in live::points(conn, scope, &pending, request.now).await? {
        tally.add_point(request, &p);
    }
    // …and every job of the slivers (their pending ones were just counted).
    for sliver in &plan.slivers {
        let part = JobConditions {
            created: Some(*sliver),
            ..c.clone()
        };
        for p in live::points(conn, scope, &part, request.now).await? {
            if !p.stored_pending {
                tally.add_point(request, &p);
            }
        }
    }
    Ok(())
}

/// The final statuses `statuses` asks for (`None`: all four).
fn final_statuses(statuses: Option<&[JobStatus]>) -> Vec<JobStatus> {
    let finals = [
        JobStatus::Completed,
        JobStatus::Canceled,
        JobStatus::Timedout,
        JobStatus::Error,
    ];
    finals
        .into_iter()
        .filter(|s| statuses.is_none_or(|wanted| wanted.contains(s)))
        .collect()
}

/// A point standing for a rollup row when it is grouped: its model and status (rollup rows
/// are never grouped by user or key, and their account is the scope's).
fn representative(row: &StatsRow) -> Point {
    Point {
        created_at: chrono::NaiveDateTime::MIN,
        account_id: row.key.account_id,
        model_id: row.key.model_id,
        user_id: crate::domain::UserId(0),
        submitted_by: String::new(),
        status: row.key.status,
        inputs: [0; 3],
        bytes: 0,
        queue_ms: None,
        elapsed_ms: None,
        stored_pending: false,
    }
}

/// The rows of `grain` in periods `lo..=hi` for `scope`, the model conditions of `c` and the
/// `finals` statuses, every slot (histograms only when the request needs them).
async fn read_rows(
    conn: &mut Conn<'_>,
    scope: Scope,
    c: &JobConditions,
    finals: &[JobStatus],
    grain: Grain,
    (lo, hi): (i32, i32),
    request: &Request,
) -> Result<Vec<StatsRow>, DbError> {
    use job_stats::dsl as t;
    // An administrator grouping by account reads every account's rows, else one set of rows.
    let (account, by_account) = match (scope.account(), request.dimensions.account) {
        (None, true) => (rows_of(scope), true),
        _ => (rows_of(scope), false),
    };
    let [queue, elapsed] = request.histograms.read();
    type Read = (
        AccountId,
        i32,
        ModelId,
        JobStatus,
        i32,
        Numbers,
        String,
        String,
    );
    let read: Vec<Read> = crate::on_backend!(conn, conn => {
        use diesel::dsl::case_when;
        let queue = queue.into_sql::<diesel::sql_types::Bool>();
        let elapsed = elapsed.into_sql::<diesel::sql_types::Bool>();
        let mut q = t::job_stats
            .filter(t::grain.eq(grain as i32))
            .filter(t::period.between(lo, hi))
            .select((
                t::account_id,
                t::period,
                t::model_id,
                t::status,
                t::slot,
                numbers_columns!(),
                case_when(queue, t::queue_hist).otherwise(""),
                case_when(elapsed, t::elapsed_hist).otherwise(""),
            ))
            .into_boxed();
        q = if by_account {
            q.filter(t::account_id.ne(account))
        } else {
            q.filter(t::account_id.eq(account))
        };
        if c.on_model() {
            q = q.filter(t::model_id.eq_any(matching_models!(c)));
        }
        if finals.len() < 4 {
            q = q.filter(t::status.eq_any(finals.to_vec()));
        }
        q.load(conn).await?
    });
    Ok(read
        .into_iter()
        .map(
            |(account_id, period, model_id, status, slot, n, queue_hist, elapsed_hist)| StatsRow {
                key: Key {
                    account_id,
                    grain,
                    period,
                    model_id,
                    status,
                    slot,
                },
                numbers: numbers(n),
                queue_hist,
                elapsed_hist,
            },
        )
        .collect())
}
