//! `jobStatisticsUpdated`: the current bucket's figures, sent at once and then whenever they
//! change, at most once a second. Job events of the caller's scope (from [`crate::events`])
//! mark the figures stale; they are re-read (the same read as `jobStatistics`, over the current
//! bucket) no sooner than a second after the previous read, every event that arrived meanwhile
//! coalesced into that one read, and sent only when they differ from the last sent. When the
//! bucket ends, the next one is sent.

use std::time::Duration;

use chrono::NaiveDateTime;
use futures_util::Stream;

use super::calendar;
use super::resolve::{self, StatisticsArgs};
use super::types::JobStatistics;
use crate::db::Db;
use crate::db::statistics::Tally;
use crate::domain::Scope;
use crate::events::{Received, Subscription};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::history::filter::DateRange;
use crate::graphql::scalars::DateTime;

/// Least time between two reads of the figures.
pub const PERIOD: Duration = Duration::from_secs(1);

/// `args` restricted to the bucket holding `now` (and to `args.filter.createdAt`, when given),
/// when that bucket ends, and whether the restriction leaves nothing of the bucket (then its
/// figures are zeros: the range kept for the buckets, `[start, start]`, would still hold the
/// jobs created at its first microsecond).
fn current(
    args: &StatisticsArgs,
    now: NaiveDateTime,
) -> ApiResult<(StatisticsArgs, NaiveDateTime, bool)> {
    let tz = calendar::zone(&args.time_zone)?;
    let start = calendar::start_of(args.bucket, tz, now);
    let end = calendar::next(args.bucket, tz, start);
    let conditions = args.filter.conditions(now)?;
    let (from, to) = match conditions.created {
        Some(r) => (r.from.max(start), r.to.min(now)),
        None => (start, now),
    };
    let mut current = args.clone();
    let empty = from > to;
    let (from, to) = if empty { (start, start) } else { (from, to) };
    current.filter.created_at = Some(DateRange {
        from: Some(DateTime::from_naive(from)),
        to: Some(DateTime::from_naive(to)),
    });
    Ok((current, end, empty))
}

/// The stream of `jobStatisticsUpdated` for a caller with `scope`; the arguments are checked
/// before it starts (the same errors as `jobStatistics`).
pub async fn updates(
    db: Db,
    mut events: Subscription,
    scope: Scope,
    args: StatisticsArgs,
) -> ApiResult<impl Stream<Item = ApiResult<JobStatistics>> + use<>> {
    let (first, ..) = current(&args, crate::db::now())?;
    first.check(&db, scope, crate::db::now()).await?;
    Ok(async_stream::stream! {
        let mut last: Option<(NaiveDateTime, Tally)> = None;
        loop {
            let now = crate::db::now();
            let read = async {
                let (args, end, empty) = current(&args, now)?;
                let checked = args.check(&db, scope, now).await?;
                let tally = if empty {
                    Tally::zeros(checked.buckets.starts.len().saturating_sub(1))
                } else {
                    resolve::tally(&db, &args, &checked, now).await?
                };
                Ok::<_, ApiError>((args, checked, tally, end))
            };
            let end = match read.await {
                Ok((current, checked, tally, end)) => {
                    let seen = (checked.buckets.starts[0], tally);
                    if last.as_ref() != Some(&seen) {
                        match resolve::assemble(&db, &current, &checked, seen.1.clone()).await {
                            Ok(answer) => yield Ok(answer),
                            Err(e) => yield Err(e),
                        }
                        last = Some(seen);
                    }
                    end
                }
                Err(e) => {
                    yield Err(e);
                    now + chrono::Duration::from_std(PERIOD).unwrap_or_default()
                }
            };
            let started = tokio::time::Instant::now();
            // Wait for a change in scope, or the bucket's end.
            let until_end = (end - crate::db::now()).to_std().unwrap_or_default();
            let woke = tokio::select! {
                received = next_in_scope(&mut events, scope) => received,
                () = tokio::time::sleep(until_end) => true,
            };
            if !woke {
                return; // the event bus is gone
            }
            tokio::time::sleep_until(started + PERIOD).await;
            // Everything that arrived meanwhile is covered by the next read.
            while let Ok(Some(_)) = tokio::time::timeout(Duration::ZERO, events.next()).await {}
        }
    })
}

/// Waits for an event of `scope` (or news of missed events); `false` when the bus is gone.
async fn next_in_scope(events: &mut Subscription, scope: Scope) -> bool {
    loop {
        match events.next().await {
            Some(Received::Event(e)) if scope.contains(e.account_id) => return true,
            Some(Received::Event(_)) => {}
            Some(Received::Missed(_)) => return true,
            None => return false,
        }
    }
}
