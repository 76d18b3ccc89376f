//! The root `Subscription` type: jobs as they change, and the current bucket's statistics,
//! over websockets (`/graphql/ws`).
//!
//! Each event is re-read with the subscriber's own scope and filter, so a subscription shows
//! exactly what the history would (effective statuses included) and never another account's
//! job. A subscriber that falls behind gets an `EVENTS_MISSED` error item and goes on.

use async_graphql::{Context, Subscription};
use futures_util::Stream;

use super::error::{ApiError, ApiResult};
use super::history::filter::JobFilter;
use super::statistics::calendar::StatisticsBucket;
use super::statistics::resolve::{DEFAULT_GROUP_LIMIT, StatisticsArgs};
use super::statistics::types::{JobStatistics, StatisticsDimension};
use super::types::job::Job;
use crate::db::{Conn, Db, jobs};
use crate::events::{EventBus, Received};

/// Live changes to jobs.
pub struct Subscriptions;

fn missed(n: Option<u64>) -> ApiError {
    ApiError::EventsMissed(match n {
        Some(n) => {
            format!("this subscriber fell behind and missed {n} events: re-read the jobs you show")
        }
        None => "events may have been missed while the event listener reconnected: \
                 re-read the jobs you show"
            .into(),
    })
}

/// Jobs as they change.
#[Subscription]
impl Subscriptions {
    /// One job: its current state at once, then the job after each change.
    async fn job_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's identifier.")] job_identifier: String,
    ) -> Result<impl Stream<Item = ApiResult<Job>> + use<>, ApiError> {
        let scope = super::caller(ctx)?.scope();
        let db = ctx.data_unchecked::<Db>().clone();
        let mut events = ctx.data_unchecked::<EventBus>().subscribe().await?;
        let identifier = job_identifier.trim().to_string();
        let identifiers = std::slice::from_ref(&identifier);
        let found = db
            .read(async |c| jobs::by_identifiers(c, db.catalogue(), scope, identifiers).await)
            .await?;
        let first = found
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::NotFound(format!("no job with identifier {identifier}")))?;
        let (job_id, account_id) = (first.job.id, first.job.account_id);
        let conditions = jobs::JobConditions::default();
        Ok(async_stream::stream! {
            yield Ok(Job::new(first, crate::db::now()));
            while let Some(received) = events.next().await {
                match received {
                    Received::Event(e) if e.job_id == job_id && e.account_id == account_id => {
                        let read = async |c: &mut Conn<'_>| {
                            jobs::matching(c, db.catalogue(), scope, &conditions, job_id).await
                        };
                        match db.read(read).await {
                            Ok(Some(record)) => yield Ok(Job::new(record, crate::db::now())),
                            Ok(None) => {}
                            Err(e) => yield Err(e.into()),
                        }
                    }
                    Received::Event(_) => {}
                    Received::Missed(n) => yield Err(missed(n)),
                }
            }
        })
    }

    /// The current bucket's job statistics (as `jobStatistics` computes them, over the
    /// bucket holding now, within `filter.createdAt` when given): sent at once, then whenever
    /// they change, at most once a second; when the bucket ends, the next one.
    async fn job_statistics_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which jobs; every condition given must hold.")] filter: Option<JobFilter>,
        #[graphql(desc = "Bucket size.", default)] bucket: StatisticsBucket,
        #[graphql(
            desc = "IANA time zone whose local hours, midnights, Mondays and firsts of the \
                    month start the buckets.",
            default_with = "String::from(\"UTC\")"
        )]
        time_zone: String,
        #[graphql(
            desc = "Dimensions to group by (none: one group). ACCOUNT is for administrator \
                    keys.",
            default
        )]
        group_by: Vec<StatisticsDimension>,
        #[graphql(
            desc = "Most groups listed (1–100), largest first; the rest are summed in one \
                    more group (`key.other`).",
            default_with = "DEFAULT_GROUP_LIMIT"
        )]
        group_limit: i32,
    ) -> Result<impl Stream<Item = ApiResult<JobStatistics>> + use<>, ApiError> {
        let scope = super::caller(ctx)?.scope();
        let args = StatisticsArgs::of_field(ctx, filter, bucket, time_zone, group_by, group_limit);
        let db = ctx.data_unchecked::<Db>().clone();
        let events = ctx.data_unchecked::<EventBus>().subscribe().await?;
        super::statistics::live::updates(db, events, scope, args).await
    }

    /// Every change to a job of the caller's account (every account for administrators) that
    /// matches `filter`, with the history's filter semantics.
    async fn job_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which jobs; every condition given must hold.")] filter: Option<JobFilter>,
    ) -> Result<impl Stream<Item = ApiResult<Job>> + use<>, ApiError> {
        let scope = super::caller(ctx)?.scope();
        if filter
            .as_ref()
            .is_some_and(|f| f.account_identifier.is_some())
        {
            return Err(ApiError::bad_input(
                "filter.accountIdentifier is not supported by jobEvents",
            ));
        }
        let filter = filter.unwrap_or_default();
        filter.conditions(crate::db::now())?; // validate once, up front
        let db = ctx.data_unchecked::<Db>().clone();
        let mut events = ctx.data_unchecked::<EventBus>().subscribe().await?;
        Ok(async_stream::stream! {
            while let Some(received) = events.next().await {
                match received {
                    Received::Event(e) if scope.contains(e.account_id) => {
                        let now = crate::db::now();
                        let result = match filter.conditions(now) {
                            Ok(conditions) => db
                                .read(async |c: &mut Conn<'_>| {
                                    let catalogue = db.catalogue();
                                    jobs::matching(c, catalogue, scope, &conditions, e.job_id)
                                        .await
                                })
                                .await
                                .map_err(ApiError::from),
                            Err(e) => Err(e),
                        };
                        match result {
                            Ok(Some(record)) => yield Ok(Job::new(record, now)),
                            Ok(None) => {}
                            Err(e) => yield Err(e),
                        }
                    }
                    Received::Event(_) => {}
                    Received::Missed(n) => yield Err(missed(n)),
                }
            }
        })
    }
}
