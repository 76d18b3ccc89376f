//! The soak driver behind `scripts/soak` (which starts the server and makes the keys): for a
//! fixed duration, mixed reads (history pages under several filters and orders, the next page
//! by cursor, job details, `node`), writes (the `simulate` lifecycle: submit, start, report,
//! cancel, time out) and websocket subscriptions (`jobEvents`, reconnecting now and then)
//! against one server on loopback. Then it prints requests, errors by `extensions.code`,
//! p50/p99 latency and the server's RSS (sampled every second; the growth compares the median
//! of the first minute after the warm-up with the median of the last minute), and exits 1 when
//! an error other than a deliberate limit appeared or RSS grew more than `--rss-growth-pct`.
//!
//! Every rate is fixed (no open-ended load): reads at `--read-rate` per second spread over the
//! reader keys (each under the default per-key limit of 50/s), `--submit-rate` jobs per second.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use job_history::simulate::{self, Api, Outcome, SimulateOptions};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Soak a running job-history server.
#[derive(Parser, Debug, Clone)]
struct Args {
    /// Base URL of the server (loopback).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A `user` key: submits and cancels.
    #[arg(long)]
    user_key: String,
    /// A `worker` key: starts jobs and reports inputs.
    #[arg(long)]
    worker_key: String,
    /// `user` keys of the same account that read, comma-separated.
    #[arg(long, value_delimiter = ',')]
    reader_keys: Vec<String>,
    /// Seconds to run.
    #[arg(long, default_value_t = 600)]
    duration: u64,
    /// Seconds before the "start" RSS is taken (caches and pools fill first).
    #[arg(long, default_value_t = 60)]
    warmup: u64,
    /// Reads per second, all readers together.
    #[arg(long, default_value_t = 40.0)]
    read_rate: f64,
    /// Jobs submitted per second (each then started and reported input by input).
    #[arg(long, default_value_t = 2.0)]
    submit_rate: f64,
    /// Websocket subscribers.
    #[arg(long, default_value_t = 4)]
    subscribers: usize,
    /// A subscriber closes and reopens its socket after this many seconds.
    #[arg(long, default_value_t = 30)]
    resubscribe: u64,
    /// The server's process id (for its RSS).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Largest RSS growth from after the warm-up to the end, in percent.
    #[arg(long, default_value_t = 10.0)]
    rss_growth_pct: f64,
    /// Codes that are deliberate in this run (e.g. RATE_LIMITED when exceeding it on purpose).
    #[arg(long, value_delimiter = ',')]
    allow: Vec<String>,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

/// Everything measured, shared by the tasks.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    requests: BTreeMap<&'static str, u64>,
    errors: BTreeMap<String, u64>,
    events: u64,
    subscriptions: u64,
}

type Shared = Arc<Mutex<Tally>>;

fn record(tally: &Shared, outcome: Outcome) {
    let mut t = tally.lock().expect("tally");
    t.latencies_us.push(outcome.elapsed.as_micros() as u64);
    *t.requests.entry(outcome.operation).or_default() += 1;
    if let Some(code) = outcome.code {
        *t.errors.entry(code).or_default() += 1;
    }
}

const FIELDS: &str = "jobIdentifier id status submittedBy createdAt updatedAt total pending completed failed elapsedTime queueTime inputByteAmount model { name version } user { email } jobInputs { identifier status byteAmount }";

/// History pages under a handful of filters and orders, the next page by cursor, job details
/// and `node` for jobs seen on earlier pages.
async fn reader(api: Arc<Api>, keys: Vec<String>, args: Args, until: Instant) {
    let mut rng = SmallRng::seed_from_u64(args.seed);
    let filters = [
        json!({}),
        json!({ "status": "TERMINATED" }),
        json!({ "status": "PENDING" }),
        json!({ "statuses": ["COMPLETED", "ERROR"] }),
        json!({ "model": "sentiment" }),
        json!({ "user": "a" }),
        json!({ "createdAt": { "from": (chrono::Utc::now() - chrono::Duration::days(30)).to_rfc3339() } }),
    ];
    let orders = [
        "CREATED_AT",
        "UPDATED_AT",
        "STATUS",
        "ELAPSED_TIME",
        "QUEUE_TIME",
        "TOTAL",
    ];
    let history = format!(
        "query($f: JobFilter, $o: JobOrder, $n: Int, $a: String, $c: Boolean!) {{ jobs(first: $n, after: $a, filter: $f, orderBy: $o) {{ totalCount @include(if: $c) pageInfo {{ hasNextPage endCursor }} nodes {{ {FIELDS} }} }} }}"
    );
    let detail = format!("query($j: String!) {{ job(jobIdentifier: $j) {{ {FIELDS} }} }}");
    let node = "query($id: ID!) { node(id: $id) { id ... on Job { status total } } }";
    let semaphore = Arc::new(tokio::sync::Semaphore::new(8));
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.read_rate.max(0.1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_key = 0;
    while Instant::now() < until {
        ticker.tick().await;
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            break;
        };
        let key = keys[next_key % keys.len()].clone();
        next_key += 1;
        let known = seen.lock().expect("seen").choose(&mut rng).cloned();
        let (label, query, variables): (&'static str, String, Value) = match (
            rng.random_range(0..10),
            known,
        ) {
            (0, Some((j, _))) => ("job", detail.clone(), json!({ "j": j })),
            (1, Some((_, id))) => ("node", node.into(), json!({ "id": id })),
            (roll, _) => {
                let vars = json!({
                    "f": filters.choose(&mut rng),
                    "o": { "field": orders.choose(&mut rng), "direction": if rng.random_bool(0.5) { "ASC" } else { "DESC" } },
                    "n": *[10, 20, 50].choose(&mut rng).expect("sizes"),
                    "c": roll % 3 == 0,
                });
                ("history", history.clone(), vars)
            }
        };
        let (api, seen) = (api.clone(), seen.clone());
        let follow = rng.random_bool(0.3);
        let history = history.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let Ok(data) = api.call(label, &key, &query, variables.clone()).await else {
                return;
            };
            let Some(nodes) = data["jobs"]["nodes"].as_array() else {
                return;
            };
            {
                let mut seen = seen.lock().expect("seen");
                for n in nodes.iter().take(3) {
                    if let (Some(j), Some(id)) = (n["jobIdentifier"].as_str(), n["id"].as_str()) {
                        seen.push((j.into(), id.into()));
                    }
                }
                let excess = seen.len().saturating_sub(500);
                seen.drain(..excess);
            }
            let cursor = &data["jobs"]["pageInfo"]["endCursor"];
            if follow && cursor.is_string() {
                let mut next = variables;
                next["a"] = cursor.clone();
                let _ = api.call("next page", &key, &history, next).await;
            }
        });
    }
}

/// One websocket subscriber: `jobEvents` of its account, reopened every `resubscribe` seconds.
async fn subscriber(ws_url: String, key: String, args: Args, tally: Shared, until: Instant) {
    while Instant::now() < until {
        let session_end = (Instant::now() + Duration::from_secs(args.resubscribe)).min(until);
        if let Err(code) = subscribe_once(&ws_url, &key, &tally, session_end).await {
            *tally.lock().expect("tally").errors.entry(code).or_default() += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn subscribe_once(
    ws_url: &str,
    key: &str,
    tally: &Shared,
    until: Instant,
) -> Result<(), String> {
    let mut request = ws_url.into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .map_err(|_| "WS_CONNECT_TIMEOUT".to_string())?
    .map_err(|_| "WS_CONNECT_FAILED".to_string())?;
    let send = |v: Value| Message::Text(v.to_string().into());
    ws.send(send(json!({ "type": "connection_init", "payload": { "Authorization": format!("ApiKey {key}") } })))
        .await
        .map_err(|_| "WS_SEND_FAILED".to_string())?;
    ws.send(send(json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { jobEvents { jobIdentifier status pending } }" } })))
        .await
        .map_err(|_| "WS_SEND_FAILED".to_string())?;
    tally.lock().expect("tally").subscriptions += 1;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let _ = ws
                .send(send(json!({ "id": "1", "type": "complete" })))
                .await;
            let _ = ws.close(None).await;
            return Ok(());
        }
        let message = match tokio::time::timeout(left, ws.next()).await {
            Err(_) => continue, // the session's time is up
            Ok(None) => return Err("WS_CLOSED".into()),
            Ok(Some(Err(_))) => return Err("WS_BROKEN".into()),
            Ok(Some(Ok(m))) => m,
        };
        let Message::Text(text) = message else {
            if let Message::Close(frame) = message {
                return Err(format!(
                    "WS_CLOSED_{}",
                    frame.map(|f| u16::from(f.code)).unwrap_or(0)
                ));
            }
            continue;
        };
        let v: Value = serde_json::from_str(&text).map_err(|_| "WS_NOT_JSON".to_string())?;
        match v["type"].as_str() {
            Some("next") => {
                let mut t = tally.lock().expect("tally");
                match v["payload"]["errors"].get(0) {
                    Some(e) => {
                        let code = e["extensions"]["code"].as_str().unwrap_or("NO_CODE");
                        *t.errors.entry(code.to_string()).or_default() += 1;
                    }
                    None => t.events += 1,
                }
            }
            Some("ping") => {
                let _ = ws.send(send(json!({ "type": "pong" }))).await;
            }
            Some("error") => return Err("WS_SUBSCRIBE_ERROR".into()),
            Some("complete") => return Err("WS_COMPLETED_BY_SERVER".into()),
            _ => {}
        }
    }
}

/// The resident set of process `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1_000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let mut args = Args::parse();
    args.allow.retain(|code| !code.is_empty());
    let tally: Shared = Arc::default();
    let started = Instant::now();
    let until = started + Duration::from_secs(args.duration);
    let rss_launch = args.server_pid.and_then(rss_kib);
    let observer: simulate::Observer = {
        let tally = tally.clone();
        Arc::new(move |o| record(&tally, o))
    };

    let writes = tokio::spawn(simulate::run_observed(
        SimulateOptions {
            url: args.url.clone(),
            user_key: args.user_key.clone(),
            worker_key: args.worker_key.clone(),
            rate: args.submit_rate,
            duration: Some(Duration::from_secs(args.duration)),
            failure_rate: 0.1,
            timeout_rate: 0.05,
            cancel_rate: 0.05,
            seed: args.seed,
            pace: 0.2,
        },
        Some(observer.clone()),
    ));
    let readers = if args.reader_keys.is_empty() {
        vec![args.user_key.clone()]
    } else {
        args.reader_keys.clone()
    };
    let api = Arc::new(Api::new(&args.url, Some(observer)));
    let reads = tokio::spawn(reader(api, readers, args.clone(), until));
    let ws_url = format!(
        "{}/graphql/ws",
        args.url.trim_end_matches('/').replacen("http", "ws", 1)
    );
    let subs: Vec<_> = (0..args.subscribers)
        .map(|_| {
            tokio::spawn(subscriber(
                ws_url.clone(),
                args.user_key.clone(),
                args.clone(),
                tally.clone(),
                until,
            ))
        })
        .collect();
    let warmup = Duration::from_secs(args.warmup.min(args.duration / 2));
    tokio::time::sleep(warmup).await;
    // RSS is sampled every second: one sample of a quantity that swings by several MiB as
    // requests overlap (and the allocator returns pages late) is no measure of growth, so the
    // growth compares the median of the first minute after the warm-up with the median of the
    // last minute.
    let mut samples: Vec<(Instant, u64)> = Vec::new();
    let mut next_sample = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(rss) = args.server_pid.and_then(rss_kib) else {
            continue;
        };
        samples.push((Instant::now(), rss));
        if Instant::now() >= next_sample {
            // The curve, not only its ends: a cache filling up flattens, a leak keeps climbing.
            let secs = started.elapsed().as_secs();
            println!("server RSS at {secs} s: {:.1} MiB", rss as f64 / 1024.0);
            next_sample += Duration::from_secs(60);
        }
    }
    let window = Duration::from_secs(60).min((until - started - warmup) / 3);
    let first = samples.first().map(|s| s.0);
    let median_where = |keep: &dyn Fn(Instant) -> bool| {
        let mut v: Vec<u64> = samples.iter().filter(|s| keep(s.0)).map(|s| s.1).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied()
    };
    let rss_start = first.and_then(|f| median_where(&|t| t <= f + window));
    let rss_end = median_where(&|t| t + window >= until);
    let rss_peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let _ = reads.await;
    for s in subs {
        let _ = s.await;
    }
    let submitted = match tokio::time::timeout(Duration::from_secs(60), writes).await {
        Ok(Ok(Ok(n))) => n,
        _ => {
            eprintln!("soak: the writers did not finish");
            *tally
                .lock()
                .expect("tally")
                .errors
                .entry("SIMULATE_FAILED".into())
                .or_default() += 1;
            0
        }
    };

    let elapsed = started.elapsed().as_secs_f64();
    let mut t = tally.lock().expect("tally");
    t.latencies_us.sort_unstable();
    let total: u64 = t.requests.values().sum();
    let error_total: u64 = t.errors.values().sum();
    println!("soak: {:.0} s against {}", elapsed, args.url);
    println!(
        "requests: {total} ({:.1}/s); jobs submitted: {submitted}; subscriptions opened: {}, events received: {}",
        total as f64 / elapsed,
        t.subscriptions,
        t.events
    );
    let by_op: Vec<String> = t.requests.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("  by operation: {}", by_op.join(", "));
    println!(
        "latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&t.latencies_us, 0.50),
        percentile(&t.latencies_us, 0.99),
        percentile(&t.latencies_us, 1.0)
    );
    if t.errors.is_empty() {
        println!("errors: none");
    } else {
        let errors: Vec<String> = t.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("errors: {error_total} ({})", errors.join(", "));
    }
    let mut failed = t.errors.keys().any(|code| !args.allow.contains(code));
    match (rss_launch, rss_start, rss_end) {
        (launch, Some(start), Some(end)) => {
            let growth = (end as f64 - start as f64) * 100.0 / start as f64;
            println!(
                "server RSS: {} MiB at launch, median {:.1} MiB in the {} s after a {} s warm-up, median {:.1} MiB in the last {} s (peak {:.1} MiB): growth {growth:+.1} % (limit {} %)",
                launch.map_or("?".into(), |l| format!("{:.1}", l as f64 / 1024.0)),
                start as f64 / 1024.0,
                window.as_secs(),
                warmup.as_secs(),
                end as f64 / 1024.0,
                window.as_secs(),
                rss_peak as f64 / 1024.0,
                args.rss_growth_pct
            );
            failed |= growth > args.rss_growth_pct;
        }
        _ => println!("server RSS: unknown (no --server-pid, or the server is gone)"),
    }
    if failed {
        println!(
            "soak: FAILED (errors other than {:?}, or RSS growth)",
            args.allow
        );
        std::process::ExitCode::FAILURE
    } else {
        println!("soak: passed");
        std::process::ExitCode::SUCCESS
    }
}
