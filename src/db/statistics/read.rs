//! Answering from the rollup: the daily and hourly periods of the [`Plan`] — their packed values
//! and the `job_stats` rows written since they were last folded — plus the jobs the rollup does
//! not hold, read live: every job still stored as pending in the range, and every job of the
//! slivers. All added into the same cells.
//!
//! Two shortcuts, both sums the compaction keeps ([`super::rollup::compact`]): where the groups'
//! histograms over the whole range are wanted, a UTC month most of whose days are read whole
//! adds its month value's histograms instead of its days' — less the values of its days that
//! are not (the days read still give their numbers per bucket; [`Plan::months`]); and where no
//! model is filtered, a value's per-status totals give its bucket's total histograms — and all
//! of its figures when the jobs are not grouped by model.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::figures::Point;
use super::packed::{self, Corrupt};
use super::plan::{Plan, runs};
use super::rollup::{Grain, Key, Numbers, StatsRow, month_of_day, numbers, numbers_columns};
use super::{GroupKey, Histograms, Request, Tally, To, live};
use crate::db::filter::matching_models;
use crate::db::jobs::JobConditions;
use crate::db::rollup::rows_of;
use crate::db::schema::{job_stats, job_stats_packed};
use crate::db::{Conn, DbError};
use crate::domain::{AccountId, JobStatus, ModelId, Scope};

/// Periods closer than this (hours, days or months) are read by one range scan.
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
        let cells = Cells {
            request,
            finals: &finals,
            models,
        };
        let wanted = request.histograms;
        // Months whose value gives the groups' histograms over the range, less their days
        // outside the days read whole.
        let mut months = BTreeSet::new();
        if wanted.range.contains(&true) {
            let chosen = plan.months();
            for run in runs(chosen.keys().copied(), GAP) {
                for value in read_packed(conn, scope, Grain::Month, run, request).await? {
                    if chosen.contains_key(&value.period) {
                        months.insert(value.period);
                        cells.add_value(tally, &value, To::Range, &wanted)?;
                    }
                }
            }
            let outside: Vec<i32> = months
                .iter()
                .flat_map(|m| chosen[m].iter().copied())
                .collect();
            for run in runs(outside.iter().copied(), GAP) {
                for value in read_packed(conn, scope, Grain::Day, run, request).await? {
                    if outside.binary_search(&value.period).is_ok() {
                        cells.add_value(tally, &value, To::RangeWithout, &wanted)?;
                    }
                }
            }
        }
        for (grain, periods) in [(Grain::Day, &plan.days), (Grain::Hour, &plan.hours)] {
            for run in runs(periods.keys().copied(), GAP) {
                for value in read_packed(conn, scope, grain, run, request).await? {
                    let Some(&bucket) = periods.get(&value.period) else {
                        continue; // in a gap
                    };
                    let in_month =
                        grain == Grain::Day && months.contains(&month_of_day(value.period));
                    let wanted = Histograms {
                        range: if in_month { [false; 2] } else { wanted.range },
                        ..wanted
                    };
                    cells.add_value(tally, &value, To::Cell(bucket), &wanted)?;
                }
                let rows = read_rows(conn, scope, models, &finals, grain, run, request).await?;
                for row in rows {
                    let Some(&bucket) = periods.get(&row.key.period) else {
                        continue;
                    };
                    let k = row.key;
                    let key = cells.key(k.account_id, k.model_id, k.status);
                    tally.add_row(&wanted, To::Cell(bucket), key, row.cell())?;
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

/// A packed value as read.
struct Packed {
    account_id: AccountId,
    period: i32,
    cells: Vec<u8>,
    /// `None` in values folded before totals existed (migration `…000013`).
    totals: Option<Vec<u8>>,
}

/// What a request takes from the rollup: the cells of the statuses and models it wants, each
/// added to its group.
struct Cells<'a> {
    request: &'a Request,
    finals: &'a [JobStatus],
    /// Sorted; `None`: every model.
    models: Option<&'a [ModelId]>,
}

impl Cells<'_> {
    /// Adds `value` where `to` says, `wanted`'s histograms included: from its per-status totals
    /// alone when no model is filtered or grouped by (4 cells instead of every model's), else
    /// from its cells — with the bucket's total histograms from the totals when no model is
    /// filtered.
    fn add_value(
        &self,
        tally: &mut Tally,
        value: &Packed,
        to: To,
        wanted: &Histograms,
    ) -> Result<(), Corrupt> {
        let every_model = self.models.is_none();
        match (&value.totals, to) {
            (Some(totals), _) if every_model && !self.request.dimensions.model => {
                self.add(tally, value.account_id, totals, to, wanted)
            }
            (Some(totals), To::Cell(bucket)) if every_model && wanted.buckets.contains(&true) => {
                let cells_only = Histograms {
                    buckets: [false; 2],
                    ..*wanted
                };
                self.add(tally, value.account_id, &value.cells, to, &cells_only)?;
                self.add(
                    tally,
                    value.account_id,
                    totals,
                    To::BucketTotal(bucket),
                    wanted,
                )
            }
            _ => self.add(tally, value.account_id, &value.cells, to, wanted),
        }
    }

    /// Adds the wanted cells of packed `bytes` (cells or totals) of `account_id`.
    fn add(
        &self,
        tally: &mut Tally,
        account_id: AccountId,
        bytes: &[u8],
        to: To,
        wanted: &Histograms,
    ) -> Result<(), Corrupt> {
        for cell in packed::cells(bytes) {
            let cell = cell?;
            let model_wanted = || {
                self.models
                    .is_none_or(|m| m.binary_search(&cell.model_id).is_ok())
            };
            if !self.finals.contains(&cell.status) || !model_wanted() {
                continue;
            }
            let key = self.key(account_id, cell.model_id, cell.status);
            tally.add_row(wanted, to, key, cell.cell())?;
        }
        Ok(())
    }

    /// The group of a rollup cell (a packed value's or a row's) of `account_id`, `model_id` and
    /// `status`.
    fn key(&self, account_id: AccountId, model_id: ModelId, status: JobStatus) -> GroupKey {
        let point = representative(account_id, model_id, status);
        self.request.dimensions.key(&point)
    }
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

/// The packed values of `grain` in periods `lo..=hi` for `scope`.
async fn read_packed(
    conn: &mut Conn<'_>,
    scope: Scope,
    grain: Grain,
    (lo, hi): (i32, i32),
    request: &Request,
) -> Result<Vec<Packed>, DbError> {
    use job_stats_packed::dsl as p;
    let (account, by_account) = whose(scope, request);
    type Read = (AccountId, i32, Vec<u8>, Option<Vec<u8>>);
    let read: Vec<Read> = crate::on_backend!(conn, conn => {
        let mut q = p::job_stats_packed
            .filter(p::grain.eq(grain as i32))
            .filter(p::period.between(lo, hi))
            .select((p::account_id, p::period, p::cells, p::totals))
            .into_boxed();
        q = if by_account {
            q.filter(p::account_id.ne(account))
        } else {
            q.filter(p::account_id.eq(account))
        };
        q.load(conn).await?
    });
    Ok(read
        .into_iter()
        .map(|(account_id, period, cells, totals)| Packed {
            account_id,
            period,
            cells,
            totals,
        })
        .collect())
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
            .filter(t::jobs.gt(0)) // not the upgrade's marks (migration `…000013`)
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
