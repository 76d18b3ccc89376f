//! The objects `jobStatistics` answers with: the whole range, its buckets, the groups and the
//! figures of each.

use std::sync::Arc;

use async_graphql::{Enum, Object, SimpleObject};

use super::calendar::StatisticsBucket;
use crate::db::statistics::figures::{Durations, Figures};
use crate::db::statistics::histogram::RELATIVE_ERROR;
use crate::domain::JobStatus;
use crate::graphql::scalars::{DateTime, Long};
use crate::graphql::types::model::Model;
use crate::graphql::types::user::User;

/// A dimension jobs can be grouped by.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatisticsDimension {
    /// The job's effective status (a pending job past its timeout is TIMEDOUT).
    Status,
    /// The model (identifier and version) the job ran against.
    Model,
    /// The submitting user.
    User,
    /// The job's account (administrator keys only).
    Account,
    /// The submitting API key (`submittedBy`).
    AccessKey,
}

/// Job statistics over a range of time, per bucket and per group.
pub struct JobStatistics {
    /// Bucket size.
    pub bucket: StatisticsBucket,
    /// IANA time zone of the bucket boundaries.
    pub time_zone: String,
    /// Dimensions grouped by.
    pub group_by: Vec<StatisticsDimension>,
    /// First instant counted.
    pub from: DateTime,
    /// Last instant counted.
    pub to: DateTime,
    /// The buckets in time order.
    pub buckets: Vec<JobStatisticsBucket>,
    /// The groups over the whole range.
    pub groups: Vec<JobStatisticsGroup>,
    /// Every job of the range.
    pub total: JobFigures,
}

/// Job statistics over a range of time: one entry per bucket (empty buckets included, with
/// zeros), the groups over the whole range (largest first), and the total.
#[Object]
impl JobStatistics {
    /// The bucket size.
    async fn bucket(&self) -> StatisticsBucket {
        self.bucket
    }

    /// The IANA time zone whose local hours, midnights, Mondays and firsts of the month start
    /// the buckets.
    async fn time_zone(&self) -> &str {
        &self.time_zone
    }

    /// The dimensions the jobs are grouped by (empty: one group, every job).
    async fn group_by(&self) -> &[StatisticsDimension] {
        &self.group_by
    }

    /// The first instant counted: `filter.createdAt.from`, or the start of the default
    /// window.
    async fn from(&self) -> DateTime {
        self.from
    }

    /// The last instant counted: `filter.createdAt.to`, or now.
    async fn to(&self) -> DateTime {
        self.to
    }

    /// Every bucket from the one holding `from` to the one holding `to`, in time order,
    /// empty ones included with zeros.
    async fn buckets(&self) -> &[JobStatisticsBucket] {
        &self.buckets
    }

    /// The groups over the whole range, largest (most jobs) first; beyond `groupLimit`, the
    /// rest summed in one last group whose `key.other` is true. Each bucket lists the same
    /// groups in the same order.
    async fn groups(&self) -> &[JobStatisticsGroup] {
        &self.groups
    }

    /// Every job of the range, all groups together.
    async fn total(&self) -> &JobFigures {
        &self.total
    }
}

/// One bucket of time.
#[derive(SimpleObject)]
pub struct JobStatisticsBucket {
    /// Where the bucket starts (a local hour, midnight, Monday or first of the month), as an
    /// instant. The first bucket may start before `JobStatistics.from`: only jobs from `from`
    /// on are counted.
    pub start: DateTime,
    /// Where the next bucket starts (exclusive). The last bucket may end after
    /// `JobStatistics.to`: only jobs until `to` are counted.
    pub end: DateTime,
    /// Every job of the bucket.
    pub total: JobFigures,
    /// The bucket's jobs per group: the groups of `JobStatistics.groups`, in that order
    /// (zeros where a group had no job in this bucket).
    pub groups: Vec<JobStatisticsGroup>,
}

/// The jobs of one group.
#[derive(SimpleObject)]
pub struct JobStatisticsGroup {
    /// Which group.
    pub key: JobGroupKey,
    /// Its figures.
    pub figures: JobFigures,
}

/// A group's values on the dimensions grouped by; the other fields are null.
#[derive(SimpleObject, Clone)]
pub struct JobGroupKey {
    /// The effective status, when grouped by STATUS.
    pub status: Option<JobStatus>,
    /// The model, when grouped by MODEL.
    pub model: Option<Model>,
    /// The submitting user, when grouped by USER.
    pub user: Option<User>,
    /// The account's identifier, when grouped by ACCOUNT.
    pub account_identifier: Option<String>,
    /// The submitting key's prefix (`submittedBy`), when grouped by ACCESS_KEY.
    pub access_key: Option<String>,
    /// True for the one group that sums every group beyond `groupLimit` (its other fields are
    /// null).
    pub other: bool,
}

/// Figures of a set of jobs.
pub struct JobFigures(pub Arc<Figures>);

/// How many jobs, of which status, how many inputs and bytes, and how long they queued and ran.
#[Object(serial)]
impl JobFigures {
    /// Jobs, whatever their status.
    async fn jobs(&self) -> i64 {
        self.0.jobs()
    }

    /// Jobs by effective status.
    async fn statuses(&self) -> JobStatusCounts {
        let s = self.0.statuses;
        JobStatusCounts {
            submitted: s[0],
            in_progress: s[1],
            completed: s[2],
            canceled: s[3],
            timedout: s[4],
            error: s[5],
        }
    }

    /// The jobs' inputs.
    async fn inputs(&self) -> InputFigures {
        let [total, completed, failed] = self.0.inputs;
        InputFigures {
            total,
            completed,
            failed,
            byte_amount: Long(self.0.bytes),
        }
    }

    /// Queue times (submitted → started) of the jobs that started.
    async fn queue_time(&self) -> DurationFigures {
        DurationFigures(self.0.queue.clone())
    }

    /// Elapsed times (started → finished) of the jobs that finished after starting (a job
    /// past its timeout: started → deadline).
    async fn elapsed_time(&self) -> DurationFigures {
        DurationFigures(self.0.elapsed.clone())
    }
}

/// Jobs by effective status.
#[derive(SimpleObject)]
#[graphql(serial)]
pub struct JobStatusCounts {
    /// SUBMITTED.
    pub submitted: i64,
    /// IN_PROGRESS.
    pub in_progress: i64,
    /// COMPLETED.
    pub completed: i64,
    /// CANCELED.
    pub canceled: i64,
    /// TIMEDOUT (including pending jobs past their timeout).
    pub timedout: i64,
    /// ERROR.
    pub error: i64,
}

/// Inputs of a set of jobs.
#[derive(SimpleObject)]
#[graphql(serial)]
pub struct InputFigures {
    /// Inputs in all.
    pub total: i64,
    /// Inputs processed.
    pub completed: i64,
    /// Inputs that failed.
    pub failed: i64,
    /// Bytes of all the inputs.
    pub byte_amount: Long,
}

// The bound the schema's descriptions state.
const _: () = assert!(RELATIVE_ERROR < 0.048);

/// One duration (milliseconds) over a set of jobs. Percentiles are nearest-rank (the value at
/// rank ⌈q·n⌉), estimated from a log-scaled histogram: each is within 4.8 % of the exact
/// value (relative error below 1/21; exact up to 20 ms and for 0), and never above `max`.
/// `count`, `mean` and `max` are exact. Null when no job has the duration.
pub struct DurationFigures(Durations);

/// One duration (milliseconds) over a set of jobs: count, exact mean and maximum, and
/// percentiles within 4.8 % of the exact nearest-rank values.
#[Object(serial)]
impl DurationFigures {
    /// Jobs with this duration.
    async fn count(&self) -> i64 {
        self.0.count
    }

    /// Mean, in milliseconds (exact).
    async fn mean(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        (self.0.count > 0).then(|| self.0.sum as f64 / self.0.count as f64)
    }

    /// Median, in milliseconds (within 4.8 %).
    async fn p50(&self) -> Option<f64> {
        self.quantile(0.50)
    }

    /// 90th percentile, in milliseconds (within 4.8 %).
    async fn p90(&self) -> Option<f64> {
        self.quantile(0.90)
    }

    /// 95th percentile, in milliseconds (within 4.8 %).
    async fn p95(&self) -> Option<f64> {
        self.quantile(0.95)
    }

    /// 99th percentile, in milliseconds (within 4.8 %).
    async fn p99(&self) -> Option<f64> {
        self.quantile(0.99)
    }

    /// Largest, in milliseconds (exact).
    async fn max(&self) -> Option<Long> {
        (self.0.count > 0).then_some(Long(self.0.max))
    }
}

impl DurationFigures {
    /// The `q`-quantile, at most the exact maximum.
    fn quantile(&self, q: f64) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        let max = self.0.max as f64;
        self.0.histogram.quantile(q).map(|v| v.min(max))
    }
}
