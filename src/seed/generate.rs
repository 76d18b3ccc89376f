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

    /// Job number `k` of `n`, spread evenly (with jitter) over the history window.
    pub fn job(
        &mut self,
        k: u64,
        n: u64,
        submitters: &[Submitter],
        models: &[Model],
    ) -> GeneratedJob {
        let span_ms = HISTORY_DAYS * 86_400_000;
        let slot = (span_ms as f64 / n.max(1) as f64).max(1.0);
        let offset = (k as f64 * slot) as i64 + self.rng.random_range(0..slot as i64);
        let created_at = self.now - Duration::milliseconds(span_ms - offset.min(span_ms - 1));
        let submitted_at = created_at + Duration::milliseconds(self.rng.random_range(0..40));
        let age_ms = (self.now - created_at).num_milliseconds();

        let who = &submitters[self.rng.random_range(0..submitters.len())];
        // Popular models get most of the traffic (a rough power law).
        let model_ix = (self.rng.random::<f64>().powi(2) * models.len() as f64) as usize;
        let model = &models[model_ix.min(models.len() - 1)];

        let status = if age_ms < PENDING_WINDOW_MS && self.rng.random_bool(0.5) {
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
        };
        let total = self.rng.random_range(1..=5);
        let mut timeout_ms = match status {
            JobStatus::Timedout => Some(self.rng.random_range(60..=600) * 1000),
            _ if self.rng.random_bool(0.3) => Some(self.rng.random_range(300..=3600) * 1000),
            _ => None,
        };
        let deadline = |t: Option<i64>| t.map(|ms| submitted_at + Duration::milliseconds(ms));
        if status.is_pending() && deadline(timeout_ms).is_some_and(|d| d <= self.now) {
            timeout_ms = None; // a pending job past its deadline would read as TIMEDOUT
        }
        let queue_ms = 20 + (self.rng.random::<f64>().powi(3) * 60_000.0) as i64;
        let work_ms: i64 = (0..total)
            .map(|_| 50 + (self.rng.random::<f64>().powi(2) * 20_000.0) as i64)
            .sum();

        // (started, finished, completed, failed) per status; the rest of the inputs stay pending.
        let started = submitted_at + Duration::milliseconds(queue_ms);
        let (started_at, finished_at, completed, failed) = match status {
            JobStatus::Submitted => (None, None, 0, 0),
            JobStatus::InProgress => {
                let done = self.rng.random_range(0..total);
                (Some(started.min(self.now)), None, done, 0)
            }
            JobStatus::Completed => {
                let failed = if total > 1 && self.rng.random_bool(0.1) {
                    1
                } else {
                    0
                };
                (
                    Some(started),
                    Some(started + Duration::milliseconds(work_ms)),
                    total - failed,
                    failed,
                )
            }
            JobStatus::Error => (
                Some(started),
                Some(started + Duration::milliseconds(work_ms)),
                0,
                total,
            ),
            JobStatus::Canceled if self.rng.random_bool(0.5) => (
                None,
                Some(submitted_at + Duration::milliseconds(queue_ms / 2)),
                0,
                0,
            ),
            JobStatus::Canceled => {
                let done = self.rng.random_range(0..total);
                (
                    Some(started),
                    Some(started + Duration::milliseconds(work_ms / 2)),
                    done,
                    0,
                )
            }
            JobStatus::Timedout => {
                let end = deadline(timeout_ms).expect("timed-out jobs have a timeout");
                if started < end && self.rng.random_bool(0.7) {
                    (Some(started), Some(end), self.rng.random_range(0..total), 0)
                } else {
                    (None, Some(end), 0, 0)
                }
            }
        };
        let pending = total - completed - failed;
        let updated_at = finished_at.or(started_at).unwrap_or(submitted_at);
        let ms = |a: NaiveDateTime, b: NaiveDateTime| (a - b).num_milliseconds();

        let mut input_byte_amount = 0;
        let slice = Duration::milliseconds(work_ms / i64::from(total));
        let inputs = (0..total)
            .map(|i| {
                let byte_amount = (1024.0 * 20_000f64.powf(self.rng.random::<f64>())) as i64;
                input_byte_amount += byte_amount;
                let status = if i < completed {
                    InputStatus::Completed
                } else if i < completed + failed {
                    InputStatus::Failed
                } else {
                    InputStatus::Pending
                };
                let done = status != InputStatus::Pending;
                let begin = started_at.map(|s| s + slice * i);
                NewJobInput {
                    job_id: JobId(0),
                    position: i,
                    name: format!("input-{}-{}", i + 1, self.pick(catalogue::INPUT_NAMES)),
                    status,
                    byte_amount,
                    started_at: begin.filter(|_| done),
                    finished_at: begin.map(|b| b + slice).filter(|_| done),
                    error_message: (status == InputStatus::Failed).then(|| {
                        self.pick(&[
                            "model raised: out of memory",
                            "unsupported input format",
                            "input is empty",
                        ])
                        .into()
                    }),
                }
            })
            .collect();

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
                deadline_at: deadline(timeout_ms),
                total,
                pending,
                completed,
                failed,
                input_byte_amount,
                created_at,
                updated_at,
                submitted_at,
                started_at,
                finished_at,
                queue_ms: started_at.map(|s| ms(s, submitted_at)),
                elapsed_ms: started_at.zip(finished_at).map(|(s, f)| ms(f, s)),
            },
            inputs,
        }
    }
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
