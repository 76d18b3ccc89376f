//! `jobStatistics`: validates the arguments, reads the figures per bucket and group from the
//! data layer ([`crate::db::statistics`]), keeps the largest groups and names them.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Context;
use chrono::NaiveDateTime;

use super::calendar::{self, Buckets, StatisticsBucket};
use super::types::{
    JobFigures, JobGroupKey, JobStatistics, JobStatisticsBucket, JobStatisticsGroup,
    StatisticsDimension,
};
use crate::db::statistics::figures::Figures;
use crate::db::statistics::{
    self, Dimensions, GroupKey, Histograms, Request, StatisticsError, Tally, TallyParts,
};
use crate::db::{Db, people};
use crate::domain::Scope;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::history::connection::filter_scope;
use crate::graphql::history::filter::JobFilter;
use crate::graphql::scalars::DateTime;
use crate::graphql::types::model::Model;
use crate::graphql::types::user::User;

/// Groups kept when `groupLimit` is not given.
pub const DEFAULT_GROUP_LIMIT: i32 = 10;
/// Largest `groupLimit`.
pub const MAX_GROUP_LIMIT: i32 = 100;

/// The arguments of `jobStatistics` (and of `jobStatisticsUpdated`).
#[derive(Clone, Debug)]
pub struct StatisticsArgs {
    /// Which jobs.
    pub filter: JobFilter,
    /// Bucket size.
    pub bucket: StatisticsBucket,
    /// IANA zone name.
    pub time_zone: String,
    /// Dimensions.
    pub group_by: Vec<StatisticsDimension>,
    /// Most groups kept.
    pub group_limit: i32,
    /// Where percentiles are selected (histograms are read and summed only there).
    pub percentiles: Histograms,
}

/// What the arguments mean once checked: the scope, the conditions and the buckets.
#[derive(Clone, Debug)]
pub struct Checked {
    /// Whose jobs (`None`: an account that does not exist, so none).
    pub scope: Option<Scope>,
    /// The filter's conditions.
    pub conditions: crate::db::jobs::JobConditions,
    /// The zone.
    pub tz: chrono_tz::Tz,
    /// The buckets.
    pub buckets: Buckets,
    /// Dimensions.
    pub dimensions: Dimensions,
    /// Most groups kept.
    pub group_limit: usize,
}

impl StatisticsArgs {
    /// The arguments as `jobStatistics` and `jobStatisticsUpdated` declare them, for the field
    /// `ctx` resolves: a missing filter is the empty one, and `percentiles` says where its
    /// selection asks for them.
    pub fn of_field(
        ctx: &Context<'_>,
        filter: Option<JobFilter>,
        bucket: StatisticsBucket,
        time_zone: String,
        group_by: Vec<StatisticsDimension>,
        group_limit: i32,
    ) -> Self {
        Self {
            filter: filter.unwrap_or_default(),
            bucket,
            time_zone,
            group_by,
            group_limit,
            percentiles: super::histograms(ctx.field()),
        }
    }

    /// Checks the arguments for a caller with `scope` at `now`: the filter as the history
    /// checks it, the zone, the bucket cap, `groupLimit` (1–100), and ACCOUNT for
    /// administrators only (`FORBIDDEN`).
    pub async fn check(&self, db: &Db, scope: Scope, now: NaiveDateTime) -> ApiResult<Checked> {
        let conditions = self.filter.conditions(now)?;
        let tz = calendar::zone(&self.time_zone)?;
        let buckets = Buckets::new(self.bucket, tz, conditions.created, now)?;
        if !(1..=MAX_GROUP_LIMIT).contains(&self.group_limit) {
            return Err(ApiError::bad_input(format!(
                "groupLimit is {}; it must be between 1 and {MAX_GROUP_LIMIT}",
                self.group_limit
            )));
        }
        let has = |d| self.group_by.contains(&d);
        if has(StatisticsDimension::Account) && scope.account().is_some() {
            return Err(ApiError::Forbidden(
                "groupBy ACCOUNT is for administrator keys; your key sees its own account only"
                    .into(),
            ));
        }
        let dimensions = Dimensions {
            status: has(StatisticsDimension::Status),
            model: has(StatisticsDimension::Model),
            user: has(StatisticsDimension::User),
            account: has(StatisticsDimension::Account),
            access_key: has(StatisticsDimension::AccessKey),
        };
        Ok(Checked {
            scope: filter_scope(db, scope, &self.filter).await?,
            conditions,
            tz,
            buckets,
            dimensions,
            group_limit: usize::try_from(self.group_limit).unwrap_or(1),
        })
    }
}

/// The statistics of `args` for a caller with `scope`, read at `now`.
pub async fn job_statistics(
    db: &Db,
    scope: Scope,
    args: &StatisticsArgs,
    now: NaiveDateTime,
) -> ApiResult<JobStatistics> {
    let checked = args.check(db, scope, now).await?;
    let tally = tally(db, args, &checked, now).await?;
    assemble(db, args, &checked, tally).await
}

/// The figures per bucket and group of checked arguments, read at `now`.
pub async fn tally(
    db: &Db,
    args: &StatisticsArgs,
    checked: &Checked,
    now: NaiveDateTime,
) -> ApiResult<Tally> {
    let request = Request {
        edges: checked.buckets.edges(),
        dimensions: checked.dimensions,
        histograms: args.percentiles,
        now,
    };
    let tally = match checked.scope {
        Some(scope) => db
            .snapshot(async |c| {
                statistics::statistics(c, scope, &checked.conditions, &request).await
            })
            .await
            .map_err(|e| match e {
                StatisticsError::TooManyJobs => ApiError::bad_input(format!(
                    "this filter or grouping is answered by reading every matching job, and \
                     more than {} match: narrow filter.createdAt, or drop the conditions and \
                     groupings the rollup does not hold (user, accessKey, jobIdentifiers, \
                     submittedAt, updatedAt, explain, imageClassificationModel; groupBy USER \
                     or ACCESS_KEY)",
                    statistics::live::MAX_SCANNED
                )),
                StatisticsError::Db(e) => e.into(),
            })?,
        None => Tally::new(&request),
    };
    Ok(tally)
}

/// The answer from the figures per bucket and group: groups ranked over the whole range, the
/// first `group_limit` kept and the rest summed, every bucket listing the same groups.
pub async fn assemble(
    db: &Db,
    args: &StatisticsArgs,
    checked: &Checked,
    tally: Tally,
) -> ApiResult<JobStatistics> {
    let TallyParts {
        keys,
        cells,
        buckets: bucket_histograms,
        groups: group_histograms,
    } = tally.into_parts();
    // Each group over the whole range (by group number): what ranks the groups, and their
    // figures (numbers summed from the cells, histograms summed apart).
    let mut range_cell: Vec<Figures> = group_histograms
        .into_iter()
        .map(|histograms| {
            let mut f = Figures::default();
            f.set_histograms(histograms);
            f
        })
        .collect();
    for bucket in &cells {
        for (sum, f) in range_cell.iter_mut().zip(bucket) {
            sum.merge_numbers(f);
        }
    }
    // Groups with jobs in the range only (a month value can name a group whose jobs all fell
    // outside it).
    let mut ranked: Vec<(usize, i64)> = (range_cell.iter().map(Figures::jobs).enumerate())
        .filter(|&(_, jobs)| jobs > 0)
        .collect();
    ranked.sort_by(|(a, ja), (b, jb)| jb.cmp(ja).then_with(|| keys[*a].cmp(&keys[*b])));
    let mut kept: Vec<GroupKey> = ranked
        .iter()
        .take(checked.group_limit)
        .map(|&(i, _)| keys[i].clone())
        .collect();
    if ranked.is_empty() && !has_dimension(checked.dimensions) {
        kept.push(NO_GROUP.clone());
    }
    let other = ranked.len() > checked.group_limit;
    let names = names(db, &kept).await?;
    let group = |key: Option<&GroupKey>, figures: Figures| JobStatisticsGroup {
        key: key.map_or_else(other_key, |k| names[k].clone()),
        figures: JobFigures(Arc::new(figures)),
    };
    // Each group's place among the kept ones, by group number: a cell's groups are placed in
    // one pass over the cell (a 180-day dashboard has ~16 000 of them).
    let mut place: Vec<Option<usize>> = vec![None; keys.len()];
    for (p, &(i, _)) in ranked.iter().take(checked.group_limit).enumerate() {
        place[i] = Some(p);
    }
    let split = |cell: &[Figures]| -> (Vec<JobStatisticsGroup>, Figures) {
        let mut total = Figures::default();
        let mut figures = vec![Figures::default(); kept.len()];
        let mut rest = Figures::default();
        for (f, place) in cell.iter().zip(&place) {
            if f.jobs() == 0 {
                continue;
            }
            total.merge(f);
            match place {
                Some(p) => figures[*p].merge(f),
                None => rest.merge(f),
            }
        }
        let mut groups = Vec::with_capacity(kept.len() + usize::from(other));
        for (key, f) in kept.iter().zip(figures) {
            groups.push(group(Some(key), f));
        }
        if other {
            groups.push(group(None, rest));
        }
        (groups, total)
    };
    let starts = &checked.buckets.starts;
    let mut buckets = Vec::with_capacity(cells.len());
    for ((i, cell), histograms) in cells.iter().enumerate().zip(bucket_histograms) {
        let (groups, mut total) = split(cell);
        total.set_histograms(histograms);
        buckets.push(JobStatisticsBucket {
            start: DateTime::from_naive(starts[i]),
            end: DateTime::from_naive(starts[i + 1]),
            total: JobFigures(Arc::new(total)),
            groups,
        });
    }
    let (groups, total) = split(&range_cell);
    Ok(JobStatistics {
        bucket: args.bucket,
        time_zone: checked.tz.name().to_string(),
        group_by: args.group_by.clone(),
        from: DateTime::from_naive(checked.buckets.range.from),
        to: DateTime::from_naive(checked.buckets.range.to),
        buckets,
        groups,
        total: JobFigures(Arc::new(total)),
    })
}

/// The key of the one group of an ungrouped request.
static NO_GROUP: GroupKey = GroupKey {
    status: None,
    model: None,
    user: None,
    account: None,
    access_key: None,
};

fn has_dimension(d: Dimensions) -> bool {
    d.status || d.model || d.user || d.account || d.access_key
}

/// The key of the group summing the groups beyond the limit.
fn other_key() -> JobGroupKey {
    JobGroupKey {
        status: None,
        model: None,
        user: None,
        account_identifier: None,
        access_key: None,
        other: true,
    }
}

/// The GraphQL keys of `keys`: models and accounts from the catalogue, users read at once.
async fn names(db: &Db, keys: &[GroupKey]) -> ApiResult<HashMap<GroupKey, JobGroupKey>> {
    let catalogue = db.catalogue();
    let (models, accounts, users) = db
        .read(async |c| {
            let models = catalogue
                .models(c, keys.iter().filter_map(|k| k.model))
                .await?;
            let accounts = catalogue
                .accounts(c, keys.iter().filter_map(|k| k.account))
                .await?;
            let ids: Vec<_> = keys.iter().filter_map(|k| k.user).collect();
            let users = if ids.is_empty() {
                Vec::new()
            } else {
                people::users(c, &ids).await?
            };
            Ok::<_, crate::db::DbError>((models, accounts, users))
        })
        .await?;
    let users: HashMap<_, _> = users.into_iter().map(|u| (u.id, u)).collect();
    Ok(keys
        .iter()
        .map(|k| {
            let name = JobGroupKey {
                status: k.status,
                model: k.model.and_then(|m| models.get(&m)).cloned().map(Model),
                user: k.user.and_then(|u| users.get(&u)).cloned().map(User),
                account_identifier: k
                    .account
                    .and_then(|a| accounts.get(&a))
                    .map(|a| a.to_string()),
                access_key: k.access_key.clone(),
                other: false,
            };
            (k.clone(), name)
        })
        .collect())
}
