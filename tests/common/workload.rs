//! Random lifecycle work for the tests that hold a rollup against a recount of `jobs`
//! (`rollup_counts`, `statistics`): submits (some with a 1 ms timeout, so they expire at once),
//! starts, reports and cancels of the jobs the work itself submitted. Refused transitions
//! (wrong status, timed out, reported twice) are part of the mix. The steps depend only on the
//! seed and on who submits, so a failing seed replays.

use chrono::NaiveDateTime;
use job_history::db::Db;
use job_history::db::lifecycle::{self, JobSpec, Outcome, Submitter};
use job_history::domain::Scope;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// A seeded stream of random lifecycle steps.
pub struct Workload {
    rng: SmallRng,
    /// (identifier, version) of the models jobs are submitted to.
    models: Vec<(String, String)>,
    /// Whether submits set the `explain` and `image_classification_model` flags at random
    /// (else never).
    flags: bool,
    /// The jobs submitted so far: identifier, the submitter's account, number of inputs.
    jobs: Vec<(String, Scope, usize)>,
}

impl Workload {
    /// Steps drawn from `seed`, submitting to `models`.
    pub fn new(seed: u64, models: Vec<(String, String)>, flags: bool) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed),
            models,
            flags,
            jobs: Vec::new(),
        }
    }

    /// The random source, for a caller's own draws between steps.
    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    /// One step, at `now`: 3 in 10 (and always while there is no job yet) a submit
    /// by `who` (drawn from the random source if it likes) of 1–3 inputs, with no timeout,
    /// 1 ms or an hour; else, on one of the jobs submitted so far, a start (3 in 10), a report
    /// of one of its inputs (3 in 10; completed 4 times in 5, else failed) or a cancel.
    /// Returns whether it submitted.
    pub async fn step(
        &mut self,
        db: &Db,
        now: NaiveDateTime,
        who: impl FnOnce(&mut SmallRng) -> Submitter,
    ) -> bool {
        let rng = &mut self.rng;
        let r = rng.random_range(0..10);
        if self.jobs.is_empty() || r < 3 {
            let who = who(rng);
            let (model_identifier, model_version) =
                self.models[rng.random_range(0..self.models.len())].clone();
            let n = rng.random_range(1..4);
            let spec = JobSpec {
                model_identifier,
                model_version,
                inputs: (0..n).map(|i| (format!("in-{i}"), 100)).collect(),
                explain: self.flags && rng.random_bool(0.3),
                // Some expire at once (TIMEDOUT before or after the sweeper records it).
                timeout_ms: [None, Some(1), Some(3_600_000)][rng.random_range(0..3)],
                image_classification_model: self.flags && rng.random_bool(0.3),
            };
            let job = db
                .write(async |tx| lifecycle::submit(tx, &who, &spec, now).await)
                .await
                .expect("submit");
            let scope = Scope::Account(who.account_id);
            self.jobs.push((job.job_identifier, scope, n));
            return true;
        }
        let (job, scope, inputs) = self.jobs[rng.random_range(0..self.jobs.len())].clone();
        // Refusals are part of the mix: ignored.
        let _ = match r {
            3..=5 => {
                db.write(async |tx| lifecycle::start(tx, scope, &job, now).await)
                    .await
            }
            6..=8 => {
                let input = format!("in-{}", rng.random_range(0..inputs));
                let outcome = if rng.random_bool(0.8) {
                    Outcome::Completed
                } else {
                    Outcome::Failed
                };
                db.write(async |tx| {
                    lifecycle::report(tx, scope, &job, &input, outcome, Some("boom"), now).await
                })
                .await
            }
            _ => {
                db.write(async |tx| lifecycle::cancel(tx, scope, &job, now).await)
                    .await
            }
        };
        false
    }
}
