//! The `jobs` Relay connection: edges, nodes, `pageInfo`, and a `totalCount` whose `COUNT`
//! runs only when the field is selected — beside the page's own statements, on a second
//! connection, so a page with its count takes the longer of the two, not their sum.

use async_graphql::{Context, Object, SimpleObject};
use chrono::NaiveDateTime;

use super::cursor;
use super::filter::JobFilter;
use super::order::JobOrder;
use super::page::{Page, PageArgs};
use crate::db::jobs::{self, JobConditions, JobRecord, PageRequest};
use crate::db::{Db, count, people};
use crate::domain::Scope;
use crate::graphql::Loaders;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::types::job::Job;

/// One page of the history visible in `scope`: the jobs of `page` in `order`, and whether
/// more follow its far end. The one reader of history pages, for the `jobs` connection and
/// the REST history route alike: it asks for one row more than the page and drops it.
pub async fn fetch(
    db: &Db,
    scope: Scope,
    conditions: &JobConditions,
    order: JobOrder,
    page: &Page,
) -> ApiResult<(Vec<JobRecord>, bool)> {
    let request = PageRequest {
        conditions: conditions.clone(),
        sort: order.sort(),
        after: page.after,
        before: page.before,
        limit: i64::from(page.size) + 1,
        from_end: page.from_end,
    };
    let mut records = db
        .read(async |c| jobs::page(c, db.catalogue(), scope, &request).await)
        .await
        .map_err(ApiError::from)?;
    let has_more = records.len() > page.size as usize;
    if has_more {
        // The extra row tells there is more; it sits beyond the page's far end.
        if page.from_end {
            records.remove(0);
        } else {
            records.pop();
        }
    }
    Ok((records, has_more))
}

/// The scope `filter` reads in for a caller with `scope`: the caller's, or for an
/// administrator the account `filter.accountIdentifier` names (`None`: no such account, so no
/// job matches). `FORBIDDEN` when another key names an account.
pub async fn filter_scope(db: &Db, scope: Scope, filter: &JobFilter) -> ApiResult<Option<Scope>> {
    match (&filter.account_identifier, scope) {
        (None, scope) => Ok(Some(scope)),
        (Some(identifier), Scope::All) => Ok(db
            .read(async |c| people::account_by_identifier(c, identifier.trim()).await)
            .await?
            .map(Scope::Account)),
        (Some(_), Scope::Account(_)) => Err(ApiError::Forbidden(
            "filter.accountIdentifier is for administrator keys; \
             your key sees its own account only"
                .into(),
        )),
    }
}

/// Where a page sits in the whole result.
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct PageInfo {
    /// More jobs follow the last edge (when paging with `first`); with `last`, whether `before`
    /// was given.
    pub has_next_page: bool,
    /// More jobs precede the first edge (when paging with `last`); with `first`, whether
    /// `after` was given.
    pub has_previous_page: bool,
    /// Cursor of the first edge.
    pub start_cursor: Option<String>,
    /// Cursor of the last edge.
    pub end_cursor: Option<String>,
}

/// A job and its cursor.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(serial)]
pub struct JobEdge {
    /// Opaque cursor of this job in this order, for `after`/`before`.
    pub cursor: String,
    /// The job.
    pub node: Job,
}

/// A page of jobs.
pub struct JobConnection {
    edges: Vec<JobEdge>,
    page_info: PageInfo,
    /// What `totalCount` counts; `None` when nothing can match (an administrator's filter
    /// naming no account).
    counted: Option<(Scope, JobConditions)>,
    /// The count, when the selection asked for it up front and it ran beside the page.
    total: Option<ApiResult<i64>>,
}

/// A page of the job history.
#[Object]
impl JobConnection {
    /// The jobs of this page with their cursors.
    async fn edges(&self) -> &[JobEdge] {
        &self.edges
    }

    /// The jobs of this page (the edges' nodes, when cursors are not needed).
    async fn nodes(&self) -> Vec<&Job> {
        self.edges.iter().map(|e| &e.node).collect()
    }

    /// Where this page sits in the whole result.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many jobs match the filter, across all pages. Costs a `COUNT`: select it only when
    /// you show it.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        if let Some(total) = &self.total {
            return total.clone();
        }
        let Some((scope, conditions)) = &self.counted else {
            return Ok(0);
        };
        total(ctx.data_unchecked::<Db>(), *scope, conditions).await
    }
}

/// How many jobs visible in `scope` match `conditions`, on a connection of its own.
async fn total(db: &Db, scope: Scope, conditions: &JobConditions) -> ApiResult<i64> {
    Ok(db
        .read(async |c| count::count(c, scope, conditions).await)
        .await?)
}

impl JobConnection {
    /// Reads one page of the history, with the nested users and inputs the selection asks for.
    pub async fn load(
        ctx: &Context<'_>,
        filter: &JobFilter,
        order: JobOrder,
        args: &PageArgs,
        now: NaiveDateTime,
    ) -> ApiResult<Self> {
        let caller = crate::graphql::caller(ctx)?;
        let db = ctx.data_unchecked::<Db>();
        let conditions = filter.conditions(now)?;
        let scope = filter_scope(db, caller.scope(), filter).await?;
        let page = Page::new(args, order)?;
        let Some(scope) = scope else {
            // An account that does not exist has no jobs.
            return Ok(Self::nothing(&page));
        };
        let selection = ctx.look_ahead();
        // The count and the page (with its users and inputs) are independent reads, neither
        // waiting for the other while it holds a connection: run together, the count costs no
        // latency while the page's statements take longer. Were the field missed here, it
        // would count on its own when resolved.
        let counting = selection.field("totalCount").exists();
        let page_read = async {
            let (records, has_more) = fetch(db, scope, &conditions, order, &page).await?;
            let rows: Vec<_> = records.iter().map(|r| &r.job).collect();
            Loaders::prefetch(ctx, &selection.field("edges").field("node"), &rows).await?;
            Loaders::prefetch(ctx, &selection.field("nodes"), &rows).await?;
            ApiResult::Ok((records, has_more))
        };
        let count_read = async {
            match counting {
                true => Some(total(db, scope, &conditions).await),
                false => None,
            }
        };
        let (read, counted) = tokio::join!(page_read, count_read);
        let (records, has_more) = read?;
        let edges: Vec<JobEdge> = records
            .into_iter()
            .map(|r| JobEdge {
                cursor: cursor::encode(order, &r.job),
                node: Job::new(r, now),
            })
            .collect();
        let page_info = Self::position(&page, &edges, has_more);
        Ok(Self {
            edges,
            page_info,
            counted: Some((scope, conditions)),
            total: counted,
        })
    }

    /// The empty answer, for a filter that no job can match.
    fn nothing(page: &Page) -> Self {
        Self {
            page_info: Self::position(page, &[], false),
            edges: Vec::new(),
            counted: None,
            total: None,
        }
    }

    /// Where `edges` sit in the whole result; `has_more` when a row beyond the page was read.
    fn position(page: &Page, edges: &[JobEdge], has_more: bool) -> PageInfo {
        PageInfo {
            has_next_page: if page.from_end {
                page.before.is_some()
            } else {
                has_more
            },
            has_previous_page: if page.from_end {
                has_more
            } else {
                page.after.is_some()
            },
            start_cursor: edges.first().map(|e| e.cursor.clone()),
            end_cursor: edges.last().map(|e| e.cursor.clone()),
        }
    }
}
