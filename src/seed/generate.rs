//! Deterministic generation of realistic seed data: accounts, users, and a job history spread
//! over the last 180 days with a believable status mix and consistent counters and times.
//!
//! Everything derives from one seeded RNG, so the same seed, database state and clock give the
//! same rows. Jobs are produced in `created_at` order, which keeps index inserts append-mostly.

use chrono::{Duration, NaiveDateTime, SubsecRound};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::catalogue::{self, ACCOUNT_NAMES, FIRST_NAMES, LAST_NAMES, TITLES};
use crate::db::models::{Model, NewAccount, NewJob, NewJobInput, NewUser};
use crate::domain::{AccountId, InputStatus, JobId, JobStatus, UserId};

/// How far back the generated history reaches.
pub const HISTORY_DAYS: i64 = 180;
/// Jobs younger than this may still be pending; older ones have all finished.
const PENDING_WINDOW_MS: i64 = 2 * 3_600_000;

/// A user the generator can attribute jobs to.
#[derive(Clone, Debug)]
pub struct Submitter {
    /// `users.id`.
    pub user_id: UserId,
    /// `accounts.id`.
    pub account_id: AccountId,
    /// The user's key prefix (`submittedBy`).
    pub key_prefix: String,
}

/// A job and its inputs (whose `job_id` is filled in once the job row exists).
pub struct GeneratedJob {
    /// The job row.
    pub job: NewJob,
    /// Its inputs, `job_id` still 0.
    pub inputs: Vec<NewJobInput>,
}

/// The seeded source of every generated row.
pub struct Generator {
    rng: SmallRng,
    now: NaiveDateTime,
}

impl Generator {
    /// A generator for `seed`, mixed with `salt` (the database's existing row counts, so a
    /// second run into the same database adds new identifiers rather than colliding).
    pub fn new(seed: u64, salt: u64, now: NaiveDateTime) -> Self {
        let mixed = seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        // Stored timestamps carry microseconds at most (see `db::now`).
        Self {
            rng: SmallRng::seed_from_u64(mixed),
            now: now.trunc_subsecs(6),
        }
    }

    fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }

    /// Account number `n` (counting accounts already in the database).
    pub fn account(&mut self, n: usize) -> NewAccount {
        let base = ACCOUNT_NAMES[n % ACCOUNT_NAMES.len()];
        let round = n / ACCOUNT_NAMES.len();
        let name = if round == 0 {
            base.to_string()
        } else {
            format!("{base} {}", round + 1)
        };
        let created_at = self.now - Duration::days(HISTORY_DAYS + 30);
        NewAccount {
            identifier: self.uuid(),
            name,
            created_at,
        }
    }

    /// User number `n` (globally unique across runs), in `account_id`.
    pub fn user(&mut self, n: usize, account_id: AccountId) -> NewUser {
        let first = self.pick(FIRST_NAMES);
        let last = self.pick(LAST_NAMES);
        let email = format!(
            "{}.{}.{n}@example.com",
            first.to_lowercase(),
            last.to_lowercase().replace(' ', "-")
        );
        NewUser {
            identifier: self.uuid(),
            external_identifier: format!("ext-{n:06}"),
            account_id,
            first_name: first.into(),
            last_name: last.into(),
            email,
            status: "ACTIVE".into(),
            title: self.pick(TITLES).into(),
            created_at: self.now - Duration::days(HISTORY_DAYS + 1),
        }
    }

    /// Job number `k` of `n`, spread evenly (with jitter) over the history window. The draws
    /// happen in a fixed order (times, submitter, model, status, size, timeout, durations,
    /// progress, inputs, identifier): the same seed gives the same rows.
    pub fn job(
        &mut self,
        k: u64,
        n: u64,
        submitters: &[Submitter],
        models: &[Model],
    ) -> GeneratedJob {
        let (created_at, submitted_at) = self.times(k, n);
        let who = &submitters[self.rng.random_range(0..submitters.len())];
        let model = self.model(models);
        let status = self.status((self.now - created_at).num_milliseconds());
        let total = self.rng.random_range(1..=5);
        let timeout_ms = self.timeout(status, submitted_at);
        let deadline_at = deadline(submitted_at, timeout_ms);
        let work = self.work(total);
        let progress = self.progress(status, total, submitted_at, &work, deadline_at);
        let (inputs, input_byte_amount) = self.inputs(total, &progress, work.work_ms);
        let ms = |a: NaiveDateTime, b: NaiveDateTime| (a - b).num_milliseconds();
        let Progress {
            started_at,
            finished_at,
            completed,
            failed,
        } = progress;
        GeneratedJob {
            job: NewJob {
                job_identifier: self.uuid(),
                account_id: who.account_id,
                user_id: who.user_id,
                submitted_by: who.key_prefix.clone(),
                model_id: model.id,
                status,
                explain: self.rng.random_bool(0.1),
                image_classification_model: catalogue::is_image_classifier(&model.name),
                timeout_ms,
                deadline_at,
                total,
                pending: total - completed - failed,
                completed,
                failed,
                input_byte_amount,
                created_at,
                updated_at: finished_at.or(started_at).unwrap_or(submitted_at),
                submitted_at,
                started_at,
                finished_at,
                queue_ms: started_at.map(|s| ms(s, submitted_at)),
                elapsed_ms: started_at.zip(finished_at).map(|(s, f)| ms(f, s)),
            },
            inputs,
        }
    }

    /// When job `k` of `n` was created (its slot of the history, with jitter) and submitted.
    fn times(&mut self, k: u64, n: u64) -> (NaiveDateTime, NaiveDateTime) {
        let span_ms = HISTORY_DAYS * 86_400_000;
        let slot = (span_ms as f64 / n.max(1) as f64).max(1.0);
        let offset = (k as f64 * slot) as i64 + self.rng.random_range(0..slot as i64);
        let created_at = self.now - Duration::milliseconds(span_ms - offset.min(span_ms - 1));
        let submitted_at = created_at + Duration::milliseconds(self.rng.random_range(0..40));
        (created_at, submitted_at)
    }

    /// A model: popular ones get most of the traffic (a rough power law).
    fn model<'a>(&mut self, models: &'a [Model]) -> &'a Model {
        let model_ix = (self.rng.random::<f64>().powi(2) * models.len() as f64) as usize;
        &models[model_ix.min(models.len() - 1)]
    }

    /// The status of a job `age_ms` old: only recent jobs may still be pending.
    fn status(&mut self, age_ms: i64) -> JobStatus {
        if age_ms < PENDING_WINDOW_MS && self.rng.random_bool(0.5) {
            if self.rng.random_bool(0.4) {
                JobStatus::Submitted
            } else {
                JobStatus::InProgress
            }
        } else {
            match self.rng.random_range(0..100) {
                0..86 => JobStatus::Completed,
                86..91 => JobStatus::Error,
                91..96 => JobStatus::Canceled,
                _ => JobStatus::Timedout,
            }
        }
    }

    /// The job's timeout, if any; never one that a still pending job would be past.
    fn timeout(&mut self, status: JobStatus, submitted_at: NaiveDateTime) -> Option<i64> {
        let timeout_ms = match status {
            JobStatus::Timedout => Some(self.rng.random_range(60..=600) * 1000),
            _ if self.rng.random_bool(0.3) => Some(self.rng.random_range(300..=3600) * 1000),
            _ => None,
        };
        let past = deadline(submitted_at, timeout_ms).is_some_and(|d| d <= self.now);
        // A pending job past its deadline would read as TIMEDOUT.
        timeout_ms.filter(|_| !(status.is_pending() && past))
    }

    /// How long the job queues and how long its `total` inputs take to run.
    fn work(&mut self, total: i32) -> Work {
        let queue_ms = 20 + (self.rng.random::<f64>().powi(3) * 60_000.0) as i64;
        let work_ms = (0..total)
            .map(|_| 50 + (self.rng.random::<f64>().powi(2) * 20_000.0) as i64)
            .sum();
        Work { queue_ms, work_ms }
    }

    /// How far a job with `status` got: when it started and finished, and how many inputs
    /// completed and failed (the rest stay pending).
    fn progress(
        &mut self,
        status: JobStatus,
        total: i32,
        submitted_at: NaiveDateTime,
        work: &Work,
        deadline_at: Option<NaiveDateTime>,
    ) -> Progress {
        let started = submitted_at + Duration::milliseconds(work.queue_ms);
        let after = |ms: i64| Some(started + Duration::milliseconds(ms));
        let (started_at, finished_at, completed, failed) = match status {
            JobStatus::Submitted => (None, None, 0, 0),
            JobStatus::InProgress => {
                let done = self.rng.random_range(0..total);
                (Some(started.min(self.now)), None, done, 0)
            }
            JobStatus::Completed => {
                let failed = i32::from(total > 1 && self.rng.random_bool(0.1));
                (Some(started), after(work.work_ms), total - failed, failed)
            }
            JobStatus::Error => (Some(started), after(work.work_ms), 0, total),
            JobStatus::Canceled if self.rng.random_bool(0.5) => {
                let canceled = submitted_at + Duration::milliseconds(work.queue_ms / 2);
                (None, Some(canceled), 0, 0)
            }
            JobStatus::Canceled => {
                let done = self.rng.random_range(0..total);
                (Some(started), after(work.work_ms / 2), done, 0)
            }
            JobStatus::Timedout => {
                let end = deadline_at.expect("timed-out jobs have a timeout");
                if started < end && self.rng.random_bool(0.7) {
                    (Some(started), Some(end), self.rng.random_range(0..total), 0)
                } else {
                    (None, Some(end), 0, 0)
                }
            }
        };
        Progress {
            started_at,
            finished_at,
            completed,
            failed,
        }
    }

    /// The job's `total` inputs (completed first, then failed, then pending), each running
    /// an equal slice of `work_ms`, and their byte total.
    fn inputs(&mut self, total: i32, progress: &Progress, work_ms: i64) -> (Vec<NewJobInput>, i64) {
        let slice = Duration::milliseconds(work_ms / i64::from(total));
        let inputs: Vec<NewJobInput> = (0..total)
            .map(|i| {
                let byte_amount = (1024.0 * 20_000f64.powf(self.rng.random::<f64>())) as i64;
                let status = if i < progress.completed {
                    InputStatus::Completed
                } else if i < progress.completed + progress.failed {
                    InputStatus::Failed
                } else {
                    InputStatus::Pending
                };
                let done = status != InputStatus::Pending;
                let begin = progress.started_at.map(|s| s + slice * i);
                NewJobInput {
                    job_id: JobId(0),
                    position: i,
                    name: format!("input-{}-{}", i + 1, self.pick(catalogue::INPUT_NAMES)),
                    status,
                    byte_amount,
                    started_at: begin.filter(|_| done),
                    finished_at: begin.map(|b| b + slice).filter(|_| done),
                    error_message: (status == InputStatus::Failed)
                        .then(|| self.pick(INPUT_ERRORS).into()),
                }
            })
            .collect();
        let bytes = inputs.iter().map(|i| i.byte_amount).sum();
        (inputs, bytes)
    }
}

/// Why a failed input failed.
const INPUT_ERRORS: &[&str] = &[
    "model raised: out of memory",
    "unsupported input format",
    "input is empty",
];

/// How long a job queues and runs, in milliseconds.
struct Work {
    queue_ms: i64,
    work_ms: i64,
}

/// How far a job got.
struct Progress {
    started_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    completed: i32,
    failed: i32,
}

/// The deadline of a job submitted at `submitted_at` with `timeout_ms`.
fn deadline(submitted_at: NaiveDateTime, timeout_ms: Option<i64>) -> Option<NaiveDateTime> {
    timeout_ms.map(|ms| submitted_at + Duration::milliseconds(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn fixture() -> (Vec<Submitter>, Vec<Model>) {
        let submitters = (0..3)
            .map(|i| Submitter {
                user_id: UserId(i),
                account_id: AccountId(i % 2),
                key_prefix: format!("key{i}"),
            })
            .collect();
        let models = catalogue::MODELS
            .iter()
            .enumerate()
            .map(|(i, (name, id, v))| Model {
                id: crate::domain::ModelId(i as i64),
                identifier: id.to_string(),
                version: v[0].into(),
                name: name.to_string(),
            })
            .collect();
        (submitters, models)
    }

    #[test]
    fn generated_jobs_are_consistent() {
        let now = Utc::now().naive_utc();
        let (submitters, models) = fixture();
        let mut g = Generator::new(7, 0, now);
        let mut seen = std::collections::HashSet::new();
        let n = 20_000;
        for k in 0..n {
            let GeneratedJob { job, inputs } = g.job(k, n, &submitters, &models);
            let status = job.status;
            assert_eq!(job.total, job.pending + job.completed + job.failed);
            assert_eq!(job.total as usize, inputs.len());
            assert_eq!(
                job.input_byte_amount,
                inputs.iter().map(|i| i.byte_amount).sum::<i64>()
            );
            assert!(job.updated_at <= now && job.created_at <= job.submitted_at);
            assert!(job.created_at >= now - Duration::days(HISTORY_DAYS));
            assert_eq!(job.timeout_ms.is_some(), job.deadline_at.is_some());
            if status.is_pending() {
                assert!(
                    job.deadline_at.is_none_or(|d| d > now),
                    "pending job past its deadline"
                );
                assert!(job.finished_at.is_none() && job.elapsed_ms.is_none());
            } else {
                assert!(job.finished_at.is_some());
            }
            assert!(job.queue_ms.is_none_or(|q| q >= 0) && job.elapsed_ms.is_none_or(|e| e >= 0));
            assert!(seen.insert(job.job_identifier.clone()));
        }
    }

    #[test]
    fn same_seed_same_data_different_salt_different_data() {
        let now = Utc::now().naive_utc();
        let (s, m) = fixture();
        let ids = |seed, salt| {
            let mut g = Generator::new(seed, salt, now);
            (0..50)
                .map(|k| g.job(k, 50, &s, &m).job.job_identifier)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(1, 0), ids(1, 0));
        assert_ne!(ids(1, 0), ids(1, 5));
        assert_ne!(ids(1, 0), ids(2, 0));
    }
}
