//! `job-history simulate`: a load of users and workers driving jobs through the public
//! GraphQL API over HTTP, so the demo and load tests show live movement. Users submit jobs
//! (and now and then cancel one); workers start them after a queue delay and report each
//! input after a processing delay, some failing; some jobs are left alone until they time out.
//! The pauses are the simulation itself: they stand for queues and model inference.
//! [`run_observed`] reports every call's latency and error code (the soak driver's writes).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimulateOptions {
    /// Base URL of the server (`http://127.0.0.1:8080`).
    pub url: String,
    /// A `user` key (submits and cancels).
    pub user_key: String,
    /// A `worker` key (starts and reports).
    pub worker_key: String,
    /// Jobs submitted per second.
    pub rate: f64,
    /// Stop after this long (`None`: run until stopped).
    pub duration: Option<Duration>,
    /// Share of inputs that fail.
    pub failure_rate: f64,
    /// Share of jobs left unprocessed until their (short) timeout.
    pub timeout_rate: f64,
    /// Share of jobs their user cancels.
    pub cancel_rate: f64,
    /// Random seed.
    pub seed: u64,
    /// Multiplies every simulated delay (1.0: queue 0.3–3 s, inputs 0.2–2.5 s each).
    pub pace: f64,
}

/// What one API call came to, for callers that measure (the soak driver).
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Which call (`submit`, `start`, `report`, `cancel`, or the caller's own label).
    pub operation: &'static str,
    /// From sending the request to reading the whole answer.
    pub elapsed: Duration,
    /// `None` on success; else the first error's `extensions.code`, `HTTP_<status>` for an
    /// answer that is not GraphQL, `UNREACHABLE` when no answer came.
    pub code: Option<String>,
}

/// Receives the [`Outcome`] of every call.
pub type Observer = Arc<dyn Fn(Outcome) + Send + Sync>;

/// A GraphQL client of one server, reporting every call to an optional [`Observer`].
pub struct Api {
    client: reqwest::Client,
    url: String,
    observer: Option<Observer>,
}

impl Api {
    /// A client of the server at `base_url` (`http://127.0.0.1:8080`).
    pub fn new(base_url: &str, observer: Option<Observer>) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: format!("{}/graphql", base_url.trim_end_matches('/')),
            observer,
        }
    }

    /// Runs `query` as `key`; `data` on success, the first error's message otherwise.
    pub async fn call(
        &self,
        operation: &'static str,
        key: &str,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let started = std::time::Instant::now();
        let answer = self.send(key, query, variables).await;
        if let Some(observe) = &self.observer {
            let code = match &answer {
                Ok(response) => response["errors"].get(0).map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("NO_CODE")
                        .to_string()
                }),
                Err(e) => Some(e.code.clone()),
            };
            observe(Outcome {
                operation,
                elapsed: started.elapsed(),
                code,
            });
        }
        let response = answer.map_err(|e| e.error)?;
        if let Some(error) = response["errors"].get(0) {
            bail!("{}", error["message"].as_str().unwrap_or("GraphQL error"));
        }
        Ok(response["data"].clone())
    }

    async fn send(&self, key: &str, query: &str, variables: Value) -> Result<Value, Failure> {
        let response = self
            .client
            .post(&self.url)
            .header("authorization", format!("ApiKey {key}"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| Failure {
                code: "UNREACHABLE".into(),
                error: anyhow::Error::new(e).context(format!(
                    "cannot reach {} (is the server running there? give its address with --url)",
                    self.url
                )),
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| Failure {
            code: "UNREACHABLE".into(),
            error: anyhow::Error::new(e).context("the answer broke off"),
        })?;
        serde_json::from_slice::<Value>(&body)
            .ok()
            .filter(|v| v.get("data").is_some() || v.get("errors").is_some())
            .ok_or_else(|| Failure {
                code: format!("HTTP_{}", status.as_u16()),
                error: anyhow::anyhow!(
                    "{} answered {status} with something that is not a GraphQL response: \
                     is --url the job-history server?",
                    self.url
                ),
            })
    }
}

/// A call that got no GraphQL answer.
struct Failure {
    code: String,
    error: anyhow::Error,
}

const SUBMIT: &str =
    r#"mutation($input: SubmitJobInput!) { submitJob(input: $input) { jobIdentifier } }"#;
const START: &str = r#"mutation($j: String!) { startJob(jobIdentifier: $j) { status } }"#;
const REPORT: &str = r#"mutation($j: String!, $i: String!, $o: InputOutcome!, $e: String) {
  reportInputResult(jobIdentifier: $j, inputName: $i, outcome: $o, error: $e) { status } }"#;
const CANCEL: &str = r#"mutation($j: String!) { cancelJob(jobIdentifier: $j) { status } }"#;

fn pause(rng: &mut SmallRng, pace: f64, min_ms: u64, max_ms: u64) -> Duration {
    Duration::from_millis(rng.random_range(min_ms..=max_ms)).mul_f64(pace.max(0.0))
}

/// Runs the simulation until `duration` elapses (or forever); with a duration it returns once
/// every job it works on is finished. Returns how many jobs it submitted.
pub async fn run(opts: SimulateOptions) -> anyhow::Result<u64> {
    run_observed(opts, None).await
}

/// [`run`], reporting every call's outcome to `observer`.
pub async fn run_observed(
    opts: SimulateOptions,
    observer: Option<Observer>,
) -> anyhow::Result<u64> {
    let api = Arc::new(Api::new(&opts.url, observer));
    check_keys(&api, &opts).await?;
    let models = api
        .call(
            "models",
            &opts.user_key,
            "{ models { identifier version } }",
            json!({}),
        )
        .await?;
    let models: Vec<(String, String)> = models["models"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| {
                    (
                        m["identifier"].as_str().unwrap_or("").into(),
                        m["version"].as_str().unwrap_or("").into(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if models.is_empty() {
        bail!("the catalogue is empty: run `job-history seed` first");
    }
    let mut rng = SmallRng::seed_from_u64(opts.seed);
    let started = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / opts.rate.max(0.001));
    let mut ticker = tokio::time::interval(interval);
    let mut submitted = 0_u64;
    let mut workers = tokio::task::JoinSet::new();
    loop {
        ticker.tick().await;
        while workers.try_join_next().is_some() {}
        if opts.duration.is_some_and(|d| started.elapsed() >= d) {
            workers.join_all().await;
            tracing::info!(submitted, "simulation finished");
            return Ok(submitted);
        }
        let (identifier, version) = &models[rng.random_range(0..models.len())];
        let n = rng.random_range(1..=4);
        let inputs: Vec<Value> = (0..n)
            .map(|i| {
                let bytes = rng.random_range(1_000..5_000_000);
                json!({ "name": format!("input-{i}"), "byteAmount": bytes })
            })
            .collect();
        let stalls = rng.random_bool(opts.timeout_rate);
        let timeout = if stalls {
            Some(rng.random_range(2_000..6_000))
        } else {
            Some(120_000)
        };
        let model = json!({ "identifier": identifier, "version": version });
        let input = json!({ "model": model, "inputs": inputs, "timeout": timeout });
        let job = match api
            .call("submit", &opts.user_key, SUBMIT, json!({ "input": input }))
            .await
        {
            Ok(data) => data["submitJob"]["jobIdentifier"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            Err(e) => {
                tracing::warn!(error = %e, "submit failed");
                continue;
            }
        };
        submitted += 1;
        if stalls {
            continue; // nobody works on it: it will time out
        }
        let (api, opts, seed) = (api.clone(), opts.clone(), rng.random());
        workers.spawn(async move {
            if let Err(e) = work(&api, &opts, &job, n, seed).await {
                tracing::debug!(job = %job, error = %e, "simulated job stopped");
            }
        });
    }
}

/// One job's life after submission: maybe canceled, else started and processed input by input.
async fn work(
    api: &Api,
    opts: &SimulateOptions,
    job: &str,
    inputs: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let mut rng = SmallRng::seed_from_u64(seed);
    tokio::time::sleep(pause(&mut rng, opts.pace, 300, 3_000)).await;
    if rng.random_bool(opts.cancel_rate) {
        api.call("cancel", &opts.user_key, CANCEL, json!({ "j": job }))
            .await?;
        return Ok(());
    }
    api.call("start", &opts.worker_key, START, json!({ "j": job }))
        .await?;
    for i in 0..inputs {
        tokio::time::sleep(pause(&mut rng, opts.pace, 200, 2_500)).await;
        let failed = rng.random_bool(opts.failure_rate);
        let (outcome, error) = if failed {
            ("FAILED", Some("model raised: out of memory"))
        } else {
            ("COMPLETED", None)
        };
        api.call(
            "report",
            &opts.worker_key,
            REPORT,
            json!({ "j": job, "i": format!("input-{i}"), "o": outcome, "e": error }),
        )
        .await?;
    }
    Ok(())
}

const WHOAMI: &str = "{ viewer { role account { identifier } } }";

/// Fails fast, with what to change, unless the user key may submit and cancel, the worker key
/// may start and report, and the worker can see the user's jobs (same account, or an admin).
async fn check_keys(api: &Api, opts: &SimulateOptions) -> anyhow::Result<()> {
    let whoami = async |flag: &str, key: &str| -> anyhow::Result<(String, String)> {
        let data = api
            .call("whoami", key, WHOAMI, json!({}))
            .await
            .with_context(|| format!("{flag} does not work"))?;
        let viewer = &data["viewer"];
        Ok((
            viewer["role"].as_str().unwrap_or_default().to_string(),
            viewer["account"]["identifier"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ))
    };
    let (user_role, user_account) = whoami("--user-key", &opts.user_key).await?;
    let (worker_role, worker_account) = whoami("--worker-key", &opts.worker_key).await?;
    if user_role == "WORKER" && worker_role == "USER" {
        bail!("the keys are swapped: --user-key is a worker key and --worker-key a user key");
    }
    if !matches!(user_role.as_str(), "USER" | "ADMIN") {
        bail!("--user-key has role {user_role}: it needs role user (or admin) to submit jobs");
    }
    if !matches!(worker_role.as_str(), "WORKER" | "ADMIN") {
        bail!("--worker-key has role {worker_role}: it needs role worker (or admin) to work jobs");
    }
    if worker_role != "ADMIN" && user_account != worker_account {
        bail!("the keys belong to different accounts: the worker could not see the user's jobs");
    }
    Ok(())
}
