//! The root `Query` type: thin resolvers that validate arguments and delegate to the history,
//! node and type modules.

use async_graphql::{Context, ID, Object};

use super::error::{ApiError, ApiResult};
use super::history::connection::JobConnection;
use super::history::filter::JobFilter;
use super::history::order::JobOrder;
use super::history::page::PageArgs;
use super::node::{self, Node, NodeKind};
use super::statistics::calendar::StatisticsBucket;
use super::statistics::resolve::{self, DEFAULT_GROUP_LIMIT, StatisticsArgs};
use super::statistics::types::{JobStatistics, StatisticsDimension};
use super::types::job::Job;
use super::types::model::Model;
use super::types::viewer::Viewer;
use crate::db::{Db, catalogue, jobs};
use crate::domain::Scope;

/// Most ids `nodes` accepts at once.
pub const MAX_NODES: usize = 100;

/// Entry points for reading job history.
pub struct Query;

// GraphQL arguments are function parameters: a Relay connection has six.
#[allow(clippy::too_many_arguments)]
/// Entry points for reading job history.
#[Object]
impl Query {
    /// The caller: API key, user and account.
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Viewer> {
        Ok(Viewer(super::caller(ctx)?.clone()))
    }

    /// The job history of the caller's account (every account for administrators), newest
    /// first unless `orderBy` says otherwise: a Relay connection paged with `first`/`after`
    /// or `last`/`before` (at most 100 per page, 20 by default).
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Jobs from the start of the order (0–100).")] first: Option<i32>,
        #[graphql(desc = "Only jobs after this cursor.")] after: Option<String>,
        #[graphql(desc = "Jobs from the end of the order (0–100).")] last: Option<i32>,
        #[graphql(desc = "Only jobs before this cursor.")] before: Option<String>,
        #[graphql(desc = "Which jobs; every condition given must hold.")] filter: Option<JobFilter>,
        #[graphql(desc = "Sort order; `id` breaks ties. Default: CREATED_AT DESC.")]
        order_by: Option<JobOrder>,
    ) -> ApiResult<JobConnection> {
        let args = PageArgs {
            first,
            after,
            last,
            before,
        };
        let filter = filter.unwrap_or_default();
        let order = order_by.unwrap_or_default();
        JobConnection::load(ctx, &filter, order, &args, crate::db::now()).await
    }

    /// One job by its identifier; a `NOT_FOUND` error when there is none.
    async fn job(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The job's identifier (a UUID).")] job_identifier: String,
    ) -> ApiResult<Option<Job>> {
        let scope = super::caller(ctx)?.scope();
        Ok(Some(
            job(ctx.data_unchecked::<Db>(), scope, &job_identifier).await?,
        ))
    }

    /// Refetches any object by its global `id`; null when it does not exist.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global id.")] id: ID,
    ) -> ApiResult<Option<Node>> {
        let (NodeKind::Job, key) = node::decode(&id)?;
        Ok(fetch_jobs(ctx, vec![key])
            .await?
            .into_iter()
            .next()
            .map(Node::Job))
    }

    /// Refetches objects by global id, in the order given; null for those that do not exist.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global ids (at most 100).")] ids: Vec<ID>,
    ) -> ApiResult<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(ApiError::bad_input(format!(
                "`ids` has {} entries; at most {MAX_NODES} are allowed",
                ids.len()
            )));
        }
        let keys: Vec<String> = ids
            .iter()
            .map(|id| node::decode(id).map(|(_, key)| key))
            .collect::<Result<_, _>>()?;
        let found = fetch_jobs(ctx, keys.clone()).await?;
        Ok(keys
            .iter()
            .map(|k| {
                found
                    .iter()
                    .find(|j| j.record().job.job_identifier == *k)
                    .cloned()
                    .map(Node::Job)
            })
            .collect())
    }

    /// Job statistics for dashboards: per time bucket (empty ones with zeros) and per group,
    /// the jobs by effective status, their inputs and bytes, and their queue and elapsed times
    /// (mean, maximum, and p50/p90/p95/p99 within 4.8 %), plus the same over the whole range.
    /// The range is `filter.createdAt` (jobs are bucketed by creation time), else the last 30
    /// buckets up to now; at most 1 000 buckets. Same filter, validation and account scope as
    /// `jobs`.
    async fn job_statistics(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Which jobs; every condition given must hold. `createdAt` is the \
                          range of the buckets."
        )]
        filter: Option<JobFilter>,
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
    ) -> ApiResult<JobStatistics> {
        let scope = super::caller(ctx)?.scope();
        let args = StatisticsArgs::of_field(ctx, filter, bucket, time_zone, group_by, group_limit);
        let db = ctx.data_unchecked::<Db>();
        resolve::job_statistics(db, scope, &args, crate::db::now()).await
    }

    /// The model catalogue, ordered by name then version.
    async fn models(&self, ctx: &Context<'_>) -> ApiResult<Vec<Model>> {
        super::caller(ctx)?;
        let db = ctx.data_unchecked::<Db>();
        let rows = db.read(async |c| catalogue::all_models(c).await).await?;
        Ok(rows.into_iter().map(Model::from).collect())
    }
}

/// The job `identifier` if `scope` sees it, read now: `BAD_USER_INPUT` when the identifier is
/// not a UUID, `NOT_FOUND` when there is no such job or another account's (the same text).
pub async fn job(db: &Db, scope: Scope, identifier: &str) -> ApiResult<Job> {
    let identifier = identifier.trim();
    if uuid::Uuid::parse_str(identifier).is_err() {
        return Err(ApiError::bad_input(format!(
            "{identifier:?} is not a job identifier (a UUID)"
        )));
    }
    let now = crate::db::now();
    let found = db
        .read(async |c| {
            jobs::by_identifiers(c, db.catalogue(), scope, &[identifier.to_string()]).await
        })
        .await?;
    match found.into_iter().next() {
        Some(record) => Ok(Job::new(record, now)),
        None => Err(ApiError::NotFound(format!(
            "no job with identifier {identifier}"
        ))),
    }
}

/// The jobs with these identifiers that the caller may see, read now. Another account's job
/// is indistinguishable from one that does not exist.
async fn fetch_jobs(ctx: &Context<'_>, identifiers: Vec<String>) -> ApiResult<Vec<Job>> {
    let scope = super::caller(ctx)?.scope();
    let now = crate::db::now();
    let db = ctx.data_unchecked::<Db>();
    let records = db
        .read(async |c| jobs::by_identifiers(c, db.catalogue(), scope, &identifiers).await)
        .await?;
    Ok(records.into_iter().map(|r| Job::new(r, now)).collect())
}
