//! The update times a creation range holds, read from the rollup: a page ordered by the update
//! time with a creation range gets them as a range of its own, so the update index's scan
//! starts at the range's last update (or first, going up) and stops after the page.
//!
//! The update time follows the creation by no bound a constraint could state (a job may run for
//! days), so unlike the submission time ([`super::implied`]) the range is read, not derived:
//! - the jobs in a final status never change again, and `job_counts` keeps, per cell (account,
//!   creation day, model, flags), the earliest and latest update time of its final jobs
//!   ([`super::rollup::Span`]): O(days × models) rows, the ones a count of the range reads;
//! - the jobs still stored as pending are few (work in flight), and their update times are
//!   read live through the partial index `jobs_pending_created_idx`.
//!
//! The union of the two bounds every job created in the range, in whole days (an edge day's
//! span covers the part of it the range holds). Without it, a month two months back, newest
//! first, stepped over every job updated since (1M jobs: PostgreSQL read the month's 166 000 jobs
//! and sorted them instead, 76–92 ms; SQLite 115–716 ms; 12–13 ms with it on the slower day).
//!
//! The span is read in the page's own snapshot ([`super::jobs::page`]): a pending job of the
//! range that changes after the span was read has a later update time, and a second snapshot
//! would leave it out of the page. Like the implied ranges, the condition is redundant — the
//! page's rows are the same with it or without — and counts do not get it.

use std::borrow::Cow;

use chrono::NaiveDateTime;
use diesel::dsl::{max, min, sum};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::daily::day_of;
use super::filter::filter_jobs;
use super::jobs::{JobConditions, PageRequest, Range, SortKey};
use super::rollup::{Span, rows_of};
use super::schema::{job_counts, jobs};
use super::{Conn, DbError};
use crate::domain::Scope;

/// Whether `req`'s page reads the update span first: it is ordered by the update time and has
/// a creation range.
pub fn wanted(req: &PageRequest) -> bool {
    req.sort.key == SortKey::UpdatedAt && req.conditions.created.is_some()
}

/// `req` with its update range narrowed to the span its creation range's jobs were updated
/// in (an empty range when the range holds no job), when [`wanted`]; `req` itself otherwise.
/// Call in the snapshot the page is read in.
pub async fn narrowed<'r>(
    conn: &mut Conn<'_>,
    scope: Scope,
    req: &'r PageRequest,
) -> Result<Cow<'r, PageRequest>, DbError> {
    let Some(created) = req.conditions.created.filter(|_| wanted(req)) else {
        return Ok(Cow::Borrowed(req));
    };
    let within = match of_creation_range(conn, scope, created).await? {
        Some(s) => Range {
            from: s.first,
            to: s.last,
        },
        // No job in the range: the creation range reversed matches nothing (`from > to`); for
        // a range of one instant, the index's entries at that instant are all the scan reads.
        None => Range {
            from: created.to,
            to: created.from,
        },
    };
    let mut narrowed = req.clone();
    narrowed.conditions.updated = Some(super::implied::within(req.conditions.updated, within));
    Ok(Cow::Owned(narrowed))
}

/// The span of update times of the jobs visible in `scope` created in `range` (whole days
/// apart from the pending jobs, so possibly wider), `None` when there are none: the final
/// jobs' spans in the rollup rows of the range's days, and the live span of the range's jobs
/// stored as pending when those rows say their days hold any (created less final: a range
/// long past holds none, and its span is one statement).
pub async fn of_creation_range(
    conn: &mut Conn<'_>,
    scope: Scope,
    range: Range,
) -> Result<Option<Span>, DbError> {
    if range.from > range.to {
        return Ok(None);
    }
    let (first_day, last_day, rows) = (day_of(range.from), day_of(range.to), rows_of(scope));
    type Cells = (Option<NaiveDateTime>, Option<NaiveDateTime>, Option<i64>);
    let (first, last, pending): Cells = crate::on_backend!(conn, c => {
        use job_counts::dsl as t;
        job_counts::table
            .filter(t::account_id.eq(rows))
            .filter(t::day.between(first_day, last_day))
            .select((
                min(t::final_updated_min),
                max(t::final_updated_max),
                sum(t::created - t::completed - t::canceled - t::timedout - t::error),
            ))
            .get_result(c)
            .await?
    });
    let span = |first: Option<NaiveDateTime>, last: Option<NaiveDateTime>| {
        first.zip(last).map(|(first, last)| Span { first, last })
    };
    let finals = span(first, last);
    if pending.unwrap_or(0) <= 0 {
        return Ok(finals);
    }
    let pending = JobConditions {
        created: Some(range),
        stored_pending: true,
        ..JobConditions::default()
    };
    let (first, last): (Option<NaiveDateTime>, Option<NaiveDateTime>) = crate::on_backend!(conn, c => {
        let q = jobs::table
            .select((min(jobs::updated_at), max(jobs::updated_at)))
            .into_boxed();
        filter_jobs!(q, scope, &pending).get_result(c).await?
    });
    Ok(Span::union(finals, span(first, last)))
}
