//! What the statistics add up: a job as one [`Point`] (its effective status and the numbers it
//! contributes), and [`Figures`], the sums of many points — from the rollup's rows or from
//! jobs read live, by the same code, so both sources agree by construction.

use chrono::NaiveDateTime;

use super::histogram::Histogram;
use crate::db::models::{Job, NewJob};
use crate::domain::{AccountId, JobStatus, ModelId, UserId};

/// The [`Point`] of a job row as stored, no deadline applied: `$job` is a [`Job`] or a
/// [`NewJob`], whose fields of the same names are all a point takes.
macro_rules! stored_point {
    ($job:expr) => {{
        let job = $job;
        Point {
            created_at: job.created_at,
            account_id: job.account_id,
            model_id: job.model_id,
            user_id: job.user_id,
            submitted_by: job.submitted_by.clone(),
            status: job.status,
            inputs: [job.total.into(), job.completed.into(), job.failed.into()],
            bytes: job.input_byte_amount,
            queue_ms: job.queue_ms,
            elapsed_ms: job.elapsed_ms,
            stored_pending: job.status.is_pending(),
        }
    }};
}

/// What one job contributes to the statistics, as of an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// When the job was created (the time it is bucketed by).
    pub created_at: NaiveDateTime,
    /// Its account.
    pub account_id: AccountId,
    /// Its model.
    pub model_id: ModelId,
    /// The submitting user.
    pub user_id: UserId,
    /// The submitting key's prefix.
    pub submitted_by: String,
    /// Its effective status: TIMEDOUT once a pending job's deadline passed.
    pub status: JobStatus,
    /// Inputs in all, completed and failed.
    pub inputs: [i64; 3],
    /// Bytes of its inputs.
    pub bytes: i64,
    /// Queue time (ms), once started.
    pub queue_ms: Option<i64>,
    /// Elapsed time (ms), once finished after starting; for a pending job past its deadline,
    /// what the sweeper will record (deadline − start).
    pub elapsed_ms: Option<i64>,
    /// Whether the job is still stored as pending (the rollup does not hold it yet).
    pub stored_pending: bool,
}

/// The columns of `jobs` a [`Point`] is made of, as read by the statistics' live queries.
pub type PointRow = (
    (NaiveDateTime, AccountId, ModelId, UserId, String, JobStatus),
    (i32, i32, i32, i64),
    (Option<i64>, Option<i64>),
    (Option<NaiveDateTime>, Option<NaiveDateTime>),
);

impl Point {
    /// The point of a job row read at `now`.
    pub fn of_row(row: PointRow, now: NaiveDateTime) -> Self {
        let ((created_at, account_id, model_id, user_id, submitted_by, stored), counts, times) =
            (row.0, row.1, row.2);
        let (started_at, deadline_at) = row.3;
        let (total, completed, failed, bytes) = counts;
        let (queue_ms, mut elapsed_ms) = times;
        let expired = stored.is_pending() && deadline_at.is_some_and(|d| d <= now);
        let status = if expired {
            // As `lifecycle::time_out` will record it.
            elapsed_ms = started_at
                .zip(deadline_at)
                .map(|(s, d)| (d - s).num_milliseconds().max(0));
            JobStatus::Timedout
        } else {
            stored
        };
        Self {
            created_at,
            account_id,
            model_id,
            user_id,
            submitted_by,
            status,
            inputs: [total.into(), completed.into(), failed.into()],
            bytes,
            queue_ms,
            elapsed_ms,
            stored_pending: stored.is_pending(),
        }
    }

    /// The point of `job` as written (a final status's transition: no deadline to apply).
    pub fn of_job(job: &Job) -> Self {
        stored_point!(job)
    }

    /// The point of a job row about to be inserted (the seeder's: no pending job of it is past
    /// its deadline).
    pub fn of_new(job: &NewJob) -> Self {
        stored_point!(job)
    }
}

/// Sums of one duration over many jobs: how many had it, their sum and maximum (exact) and
/// their histogram (for percentiles within [`super::histogram::RELATIVE_ERROR`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durations {
    /// Jobs with this duration known.
    pub count: i64,
    /// Their sum (ms).
    pub sum: i64,
    /// The largest (ms); 0 when none.
    pub max: i64,
    /// Their histogram (empty when not asked for).
    pub histogram: Histogram,
}

impl Durations {
    fn add(&mut self, value: Option<i64>, histogram: bool) {
        if let Some(v) = value {
            self.count += 1;
            self.sum = self.sum.saturating_add(v);
            self.max = self.max.max(v);
            if histogram {
                self.histogram.add(v);
            }
        }
    }

    /// Adds `other`'s count, sum and maximum, not its histogram.
    fn merge_numbers(&mut self, other: &Self) {
        self.count += other.count;
        self.sum = self.sum.saturating_add(other.sum);
        self.max = self.max.max(other.max);
    }
}

/// The figures of a set of jobs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Jobs by effective status, indexed by status code.
    pub statuses: [i64; 6],
    /// Inputs in all, completed and failed.
    pub inputs: [i64; 3],
    /// Bytes of the inputs.
    pub bytes: i64,
    /// Queue times.
    pub queue: Durations,
    /// Elapsed times.
    pub elapsed: Durations,
}

impl Figures {
    /// Adds one job; its queue and elapsed times go into their histograms where `histograms`
    /// says so.
    pub fn add(&mut self, p: &Point, histograms: super::Kinds) {
        self.statuses[status_index(p.status)] += 1;
        for (sum, n) in self.inputs.iter_mut().zip(p.inputs) {
            *sum += n;
        }
        self.bytes = self.bytes.saturating_add(p.bytes);
        self.queue.add(p.queue_ms, histograms[0]);
        self.elapsed.add(p.elapsed_ms, histograms[1]);
    }

    /// Adds `other`.
    pub fn merge(&mut self, other: &Self) {
        self.merge_numbers(other);
        self.queue.histogram.merge(&other.queue.histogram);
        self.elapsed.histogram.merge(&other.elapsed.histogram);
    }

    /// Adds `other`'s numbers, not its histograms (summed apart: see
    /// [`super::Histograms`]).
    pub fn merge_numbers(&mut self, other: &Self) {
        for (a, b) in self.statuses.iter_mut().zip(other.statuses) {
            *a += b;
        }
        for (a, b) in self.inputs.iter_mut().zip(other.inputs) {
            *a += b;
        }
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.queue.merge_numbers(&other.queue);
        self.elapsed.merge_numbers(&other.elapsed);
    }

    /// A copy of the numbers, without histograms.
    pub fn numbers(&self) -> Self {
        let mut f = Self::default();
        f.merge_numbers(self);
        f
    }

    /// Replaces the histograms by `[queue, elapsed]`.
    pub fn set_histograms(&mut self, [queue, elapsed]: super::HistogramPair) {
        self.queue.histogram = queue;
        self.elapsed.histogram = elapsed;
    }

    /// Adds the numbers of a rollup cell of final status `status` (as
    /// [`Self::cell_numbers`] lists them), not its histograms.
    pub fn add_cell_numbers(&mut self, status: JobStatus, n: &[i64; 11]) {
        self.statuses[status_index(status)] += n[0];
        for (a, b) in self.inputs.iter_mut().zip([n[1], n[2], n[3]]) {
            *a += b;
        }
        self.bytes = self.bytes.saturating_add(n[4]);
        for (d, [count, sum, max]) in [
            (&mut self.queue, [n[5], n[6], n[7]]),
            (&mut self.elapsed, [n[8], n[9], n[10]]),
        ] {
            d.count += count;
            d.sum = d.sum.saturating_add(sum);
            d.max = d.max.max(max);
        }
    }

    /// The numbers a rollup cell of final status `status` stores for these figures: jobs,
    /// inputs, inputs completed, inputs failed, input bytes, then count, sum and maximum of
    /// the queue times and of the elapsed times.
    pub fn cell_numbers(&self, status: JobStatus) -> [i64; 11] {
        let [total, completed, failed] = self.inputs;
        [
            self.statuses[status_index(status)],
            total,
            completed,
            failed,
            self.bytes,
            self.queue.count,
            self.queue.sum,
            self.queue.max,
            self.elapsed.count,
            self.elapsed.sum,
            self.elapsed.max,
        ]
    }

    /// Jobs of every status.
    pub fn jobs(&self) -> i64 {
        self.statuses.iter().sum()
    }
}

/// The index of `status` in [`Figures::statuses`]: its code.
pub fn status_index(status: JobStatus) -> usize {
    usize::try_from(status.code()).unwrap_or(0)
}
