//! Answering from the rollup: the daily and hourly periods of the [`Plan`] — their packed values
//! and the `job_stats` rows written since they were last folded — plus the jobs the rollup does
//! not hold, read live: every job still stored as pending in the range, and every job of the
//! slivers. All added into the same cells.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::figures::Point;
use super::packed;
use super::plan::{Plan, runs};
use super::rollup::{Grain, Key, Numbers, StatsRow, numbers, numbers_columns};
use super::{Request, Tally, live};
use crate::db::filter::matching_models;
use crate::db::jobs::JobConditions;
use crate::db::rollup::rows_of;
use crate::db::schema::{job_stats, job_stats_packed};
use crate::db::{Conn, DbError};
use crate::domain::{AccountId, JobStatus, ModelId, Scope};

/// Periods closer than this (hours, or days) are read by one range scan.
const GAP: i32 = 2;

/// Adds to `tally` the figures of the jobs in `scope` matching `c` (whose `created` is the
/// request's whole range), from the rollup and the live remainder. Run it in one snapshot
/// ([`crate::db::Db::snapshot`]): the compaction moves figures from `job_stats` rows to packed
/// values, and a job leaves the pending jobs for the rollup, between two of its statements.
pub async fn add_cells(
    conn: &mut Conn<'_>,
    scope: Scope,
    c: &JobConditions,
    request: &Request,
    tally: &mut Tally,
) -> Result<(), DbError> {
    let plan = Plan::new(&request.edges);
    let finals = final_statuses(c.statuses.as_deref());
    // The model filter as ids, once: bound as they are for the rows, searched for the packed
    // cells (a catalogue's worth at most).
    let models = if c.on_model() {
        let mut ids: Vec<ModelId> =
            crate::on_backend!(conn, conn => matching_models!(c).load(conn).await?);
        ids.sort_unstable();
        Some(ids)
    } else {
        None
    };
    let models = models.as_deref();
    if !finals.is_empty() && models.is_none_or(|m| !m.is_empty()) {
        let wanted = |model: ModelId, status: JobStatus| {
            finals.contains(&status) && models.is_none_or(|m| m.binary_search(&model).is_ok())
        };
        for (grain, periods) in [(Grain::Day, &plan.days), (Grain::Hour, &plan.hours)] {
            for (lo, hi) in runs(periods, GAP) {
                let bucket = |period| periods.get(&period).copied(); // None: in a gap
                for (account_id, period, bytes) in
                    read_packed(conn, scope, grain, (lo, hi), request).await?
                {
                    let Some(bucket) = bucket(period) else {
                        continue;
                    };
                    for cell in packed::cells(&bytes) {
                        let cell = cell.map_err(diesel::result::Error::from)?;
                        if !wanted(cell.model_id, cell.status) {
                            continue;
                        }
                        let key = request.dimensions.key(&representative(
                            account_id,
                            cell.model_id,
                            cell.status,
                        ));
                        let added = tally.add_row(&request.histograms, bucket, key, cell.cell());
                        added.map_err(diesel::result::Error::from)?;
                    }
                }
                let rows =
                    read_rows(conn, scope, models, &finals, grain, (lo, hi), request).await?;
                for row in rows {
                    let Some(bucket) = bucket(row.key.period) else {
                        continue;
                    };
                    let k = row.key;
                    let key =
                        request
                            .dimensions
                            .key(&representative(k.account_id, k.model_id, k.status));
                    let added = tally.add_row(&request.histograms, bucket, key, row.cell());
                    added.map_err(diesel::result::Error::from)?;
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

/// A point standing for a rollup cell when it is grouped: its account, model and status
/// (rollup cells are never grouped by user or key).
fn representative(account_id: AccountId, model_id: ModelId, status: JobStatus) -> Point {
    Point {
        created_at: chrono::NaiveDateTime::MIN,
        account_id,
        model_id,
        user_id: crate::domain::UserId(0),
        submitted_by: String::new(),
        status,
        inputs: [0; 3],
        bytes: 0,
        queue_ms: None,
        elapsed_ms: None,
        stored_pending: false,
    }
}

/// Whose rollup `scope` and `request` read: the account's own (or, for an administrator, the
/// all-accounts sums), or every account's apart when an administrator groups by account.
fn whose(scope: Scope, request: &Request) -> (AccountId, bool) {
    let by_account = scope.account().is_none() && request.dimensions.account;
    (rows_of(scope), by_account)
}

/// The packed values of `grain` in periods `lo..=hi` for `scope`: (account, period, cells).
async fn read_packed(
    conn: &mut Conn<'_>,
    scope: Scope,
    grain: Grain,
    (lo, hi): (i32, i32),
    request: &Request,
) -> Result<Vec<(AccountId, i32, Vec<u8>)>, DbError> {
    use job_stats_packed::dsl as p;
    let (account, by_account) = whose(scope, request);
    Ok(crate::on_backend!(conn, conn => {
        let mut q = p::job_stats_packed
            .filter(p::grain.eq(grain as i32))
            .filter(p::period.between(lo, hi))
            .select((p::account_id, p::period, p::cells))
            .into_boxed();
        q = if by_account {
            q.filter(p::account_id.ne(account))
        } else {
            q.filter(p::account_id.eq(account))
        };
        q.load(conn).await?
    }))
}

/// The `job_stats` rows (written since the last compaction) of `grain` in periods `lo..=hi`
/// for `scope`, the `models` (`None`: all) and the `finals` statuses, every slot (histograms
/// only when the request needs them).
async fn read_rows(
    conn: &mut Conn<'_>,
    scope: Scope,
    models: Option<&[ModelId]>,
    finals: &[JobStatus],
    grain: Grain,
    (lo, hi): (i32, i32),
    request: &Request,
) -> Result<Vec<StatsRow>, DbError> {
    use job_stats::dsl as t;
    let (account, by_account) = whose(scope, request);
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
        if let Some(models) = models {
            q = q.filter(t::model_id.eq_any(models.to_vec()));
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
