//! Jobs read live for the statistics, as [`Point`]s: every matching job of a range (the scan,
//! for what the rollup cannot answer), or the few the rollup does not hold (jobs still stored
//! as pending, and the slivers of a range shorter than an hour).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::figures::{Point, PointRow};
use crate::db::filter::filter_jobs;
use crate::db::jobs::JobConditions;
use crate::db::schema::jobs;
use crate::db::{Conn, DbError};
use crate::domain::{JobId, Scope};

/// The columns of a [`PointRow`], as a select clause.
macro_rules! point_columns {
    () => {
        (
            (
                jobs::created_at,
                jobs::account_id,
                jobs::model_id,
                jobs::user_id,
                jobs::submitted_by,
                jobs::status,
            ),
            (
                jobs::total,
                jobs::completed,
                jobs::failed,
                jobs::input_byte_amount,
            ),
            (jobs::queue_ms, jobs::elapsed_ms),
            (jobs::started_at, jobs::deadline_at),
        )
    };
}

/// Rows per statement of a scan.
const CHUNK: i64 = 10_000;

/// Most jobs one request may scan: beyond it the request is refused ([`TooManyJobs`]) rather
/// than left running (a scan costs about a microsecond per job on PostgreSQL).
pub const MAX_SCANNED: usize = 2_000_000;

/// A scan would read more than [`MAX_SCANNED`] jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyJobs;

/// Calls `each` with every job in `scope` matching `conditions` (its `created` range included),
/// read at `now`, in creation order: statements of `CHUNK` rows, each continuing after the
/// last row of the previous one (`(created_at, id)`), so memory stays bounded whatever the
/// range. `Err(Ok(TooManyJobs))` past [`MAX_SCANNED`] jobs.
pub async fn scan(
    conn: &mut Conn<'_>,
    scope: Scope,
    conditions: &JobConditions,
    now: NaiveDateTime,
    mut each: impl FnMut(Point),
) -> Result<Result<(), TooManyJobs>, DbError> {
    let mut after: Option<(NaiveDateTime, JobId)> = None;
    let mut seen = 0_usize;
    loop {
        let rows: Vec<(JobId, PointRow)> = crate::on_backend!(conn, c => {
            let mut q = filter_jobs!(jobs::table.into_boxed(), scope, conditions);
            if let Some((t, id)) = after {
                q = q.filter(
                    jobs::created_at
                        .ge(t)
                        .and(jobs::created_at.gt(t).or(jobs::id.gt(id))),
                );
            }
            q.order((jobs::created_at, jobs::id))
                .limit(CHUNK)
                .select((jobs::id, point_columns!()))
                .load(c)
                .await?
        });
        let n = rows.len();
        seen += n;
        if seen > MAX_SCANNED {
            return Ok(Err(TooManyJobs));
        }
        after = rows.last().map(|(id, row)| (row.0.0, *id));
        for (_, row) in rows {
            each(Point::of_row(row, now));
        }
        if n < usize::try_from(CHUNK).unwrap_or(usize::MAX) {
            return Ok(Ok(()));
        }
    }
}

/// Every job in `scope` matching `conditions`, read at `now` (for the few the rollup does not
/// hold: one statement, no paging).
pub async fn points(
    conn: &mut Conn<'_>,
    scope: Scope,
    conditions: &JobConditions,
    now: NaiveDateTime,
) -> Result<Vec<Point>, DbError> {
    let rows: Vec<PointRow> = crate::on_backend!(conn, c => {
        filter_jobs!(jobs::table.into_boxed(), scope, conditions)
            .select(point_columns!())
            .load(c)
            .await?
    });
    Ok(rows.into_iter().map(|r| Point::of_row(r, now)).collect())
}
