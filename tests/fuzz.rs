//! A fuzz pass over the HTTP surface, through the real router on a seeded database: GraphQL
//! documents (valid ones mutated, hostile shapes), variables, cursors, global ids, dates, filter
//! and page values, and HTTP methods, paths, headers and bodies. Every case must be answered
//! without a panic, without a 5xx other than 503/504, without internal detail in any message
//! (driver and database names, panics, file paths, SQL, API secrets), with `extensions.code` on
//! every GraphQL error; `/healthz` must answer afterwards.
//!
//! Bounded for CI: `FUZZ_CASES` cases (default 2 000 on SQLite, 800 on PostgreSQL) within
//! `FUZZ_SECS` seconds per backend (default 45 and 25), whichever ends first. Reproducible:
//! `FUZZ_SEED` (default 11; `random` picks one) seeds everything, and case `i` depends only on
//! the seed, `i` and the fixture, so `FUZZ_SEED=s FUZZ_ONLY=i` replays one case. The seed and
//! the failing request are printed on failure; `FUZZ_KEEP_GOING=1` prints every failing case
//! instead of stopping at the first.
//!
//! The findings of its first runs (issue 11: NUL in text, async-graphql's own errors without a
//! code, a plain-text 413, overflowing byte amounts) each keep a named test at the end.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::TestDb;
use common::fixtures;
use job_history::db::DatabaseUrl;
use job_history::domain::Role;
use job_history::http::{self, AppState, HttpConfig};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// Settings and the panic counter
// ---------------------------------------------------------------------------------------------

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    match std::env::var("FUZZ_SEED").as_deref() {
        Ok("random") => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(11),
        Ok(s) => s.parse().expect("FUZZ_SEED is a number or `random`"),
        Err(_) => 11,
    }
}

/// Panics anywhere in the process (handlers, spawned tasks), counted by a hook installed once.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Not a failing test's own report (another test of this file, running alongside,
            // would take it for a panic while answering).
            if info
                .location()
                .is_none_or(|l| !l.file().ends_with("tests/fuzz.rs"))
            {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// What the cases draw from: keys, cursors, ids and models harvested from the fixture
// ---------------------------------------------------------------------------------------------

/// Valid material to mutate, read once from the seeded database.
struct Pool {
    /// (label, full key) for each role, plus a key of an account without jobs.
    keys: Vec<(&'static str, String)>,
    /// Secrets that must never appear in a response.
    secrets: Vec<String>,
    cursors: Vec<String>,
    ids: Vec<String>,
    job_identifiers: Vec<String>,
    models: Vec<(String, String)>,
}

const STATUSES: &[&str] = &[
    "SUBMITTED",
    "IN_PROGRESS",
    "COMPLETED",
    "CANCELED",
    "TIMEDOUT",
    "ERROR",
];
const GROUPS: &[&str] = &["ALL", "PENDING", "TERMINATED", "TIMEDOUT"];

/// A request, kept whole so a failure can print it.
#[derive(Clone, Debug)]
struct Case {
    kind: &'static str,
    method: &'static str,
    uri: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
}

impl Case {
    fn request(&self) -> Request<Body> {
        let mut r = Request::builder()
            .method(self.method)
            .uri(self.uri.as_str());
        for (name, value) in &self.headers {
            r = r.header(*name, value.as_slice());
        }
        r.body(Body::from(self.body.clone()))
            .expect("the generator makes valid HTTP")
    }

    fn text(&self) -> String {
        let mut t = format!("{} {}\n", self.method, self.uri);
        for (name, value) in &self.headers {
            t.push_str(&format!("{name}: {}\n", String::from_utf8_lossy(value)));
        }
        t.push('\n');
        t.push_str(&String::from_utf8_lossy(&self.body));
        t
    }

    /// The request as a reader sees it, shortened for the failure message.
    fn show(&self) -> String {
        let t = self.text();
        if t.len() > 4_000 {
            let cut: String = t.chars().take(4_000).collect();
            format!("{cut}… ({} bytes)", t.len())
        } else {
            t
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

struct Gen<'p> {
    rng: SmallRng,
    pool: &'p Pool,
}

impl Gen<'_> {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).expect("non-empty choice")
    }

    fn upto(&mut self, n: usize) -> usize {
        self.rng.random_range(0..=n)
    }

    /// Printable ASCII and a few troublemakers.
    fn garbage(&mut self, max: usize) -> String {
        const ODD: &[&str] = &[
            "\u{0}", "\u{7f}", "é", "😀", "\u{202e}", "\u{feff}", "\\", "\"", "'", "%", "_", "\n",
        ];
        let n = self.upto(max);
        (0..n)
            .map(|_| {
                if self.chance(0.1) {
                    self.pick(ODD).to_string()
                } else {
                    char::from(self.rng.random_range(0x20_u8..0x7f)).to_string()
                }
            })
            .collect()
    }

    fn text(&mut self) -> Value {
        let s = match self.upto(11) {
            0 => String::new(),
            1 => "%".into(),
            2 => "_".into(),
            3 => "' OR 1=1 --".into(),
            4 => "lovelace".into(),
            5 => "a".repeat(self.rng.random_range(100..5_000)),
            6 => "ünïcødé 😀 \u{0} \u{202e}".into(),
            7 => self.pool.models[0].0.clone(),
            8 => self.pool.keys[0].1.split('.').next().unwrap_or("").into(),
            9 => "Sentiment".into(),
            _ => self.garbage(40),
        };
        Value::String(s)
    }

    fn int(&mut self) -> Value {
        match self.upto(17) {
            0 => json!(0),
            1 => json!(1),
            2 => json!(2),
            3 => json!(20),
            4 => json!(100),
            5 => json!(101),
            6 => json!(-1),
            7 => json!(i32::MAX),
            8 => json!(i64::from(i32::MAX) + 1),
            9 => json!(i32::MIN),
            10 => json!(i64::MAX),
            11 => json!(1e20),
            12 => json!(3.5),
            13 => json!("10"),
            14 => Value::Null,
            15 => json!(true),
            16 => json!([5]),
            _ => json!(self.rng.random_range(-5..130)),
        }
    }

    fn long(&mut self) -> Value {
        match self.upto(13) {
            0 => json!(0),
            1 => json!(-1),
            2 => json!(i64::MAX),
            3 => json!("9223372036854775807"),
            4 => json!("9223372036854775808"),
            5 => json!(i64::MIN),
            6 => json!(1e30),
            7 => json!(1.5),
            8 => json!("abc"),
            9 => json!(u64::MAX),
            10 => Value::Null,
            11 => json!(i64::from(i32::MAX) + 1),
            _ => json!(self.rng.random_range(0..10_000_000)),
        }
    }

    fn date(&mut self) -> Value {
        let now = chrono::Utc::now();
        let s = match self.upto(20) {
            0 => (now - chrono::Duration::days(1)).to_rfc3339(),
            1 => (now - chrono::Duration::days(30)).to_rfc3339(),
            2 => (now + chrono::Duration::days(1)).to_rfc3339(),
            3 => "2026-13-01T00:00:00Z".into(),
            4 => "2026-02-30T00:00:00Z".into(),
            5 => "yesterday".into(),
            6 => String::new(),
            7 => "1970-01-01T00:00:00Z".into(),
            8 => "0001-01-01T00:00:00Z".into(),
            9 => "9999-12-31T23:59:59.999999999Z".into(),
            10 => "+262143-12-31T23:59:59Z".into(),
            11 => "-000001-01-01T00:00:00Z".into(),
            12 => "2026-01-01".into(),
            13 => "2026-01-01T00:00:00".into(),
            14 => "2026-01-01T00:00:00+25:00".into(),
            15 => "2026-01-01T00:00:00.1234567891234Z".into(),
            16 => return json!(1_700_000_000),
            17 => return Value::Null,
            18 => "2026-06-01T12:00:00-23:59".into(),
            _ => self.garbage(30),
        };
        Value::String(s)
    }

    fn range(&mut self) -> Value {
        let mut m = serde_json::Map::new();
        if self.chance(0.7) {
            m.insert("from".into(), self.date());
        }
        if self.chance(0.6) {
            m.insert("to".into(), self.date());
        }
        if self.chance(0.05) {
            m.insert("since".into(), self.date());
        }
        if self.chance(0.05) {
            return self.date();
        }
        Value::Object(m)
    }

    fn enum_or_junk(&mut self, values: &[&str]) -> Value {
        match self.upto(9) {
            0 => json!("BOGUS"),
            1 => json!(self.pick(values).to_lowercase()),
            2 => json!(1),
            _ => json!(self.pick(values)),
        }
    }

    fn list<F: FnMut(&mut Self) -> Value>(&mut self, max: usize, mut item: F) -> Value {
        let n = if self.chance(0.1) {
            self.rng.random_range(100..=max.max(100))
        } else {
            self.upto(5)
        };
        Value::Array((0..n).map(|_| item(self)).collect())
    }

    /// A random (seeded) UUID.
    fn uuid(&mut self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    fn job_identifier(&mut self) -> Value {
        match self.upto(5) {
            0..=2 => json!(self.pick(&self.pool.job_identifiers).clone()),
            3 => json!(self.uuid().to_string()),
            _ => self.text(),
        }
    }

    fn filter(&mut self) -> Value {
        if self.chance(0.03) {
            return self.text();
        }
        let mut m = serde_json::Map::new();
        let p = 0.2;
        if self.chance(p) {
            m.insert("status".into(), self.enum_or_junk(GROUPS));
        }
        if self.chance(p) {
            let v = self.list(300, |g| g.enum_or_junk(STATUSES));
            m.insert("statuses".into(), v);
        }
        for key in [
            "user",
            "accessKey",
            "model",
            "modelIdentifier",
            "modelVersion",
            "accountIdentifier",
        ] {
            if self.chance(p / 2.0) {
                m.insert(key.into(), self.text());
            }
        }
        for key in ["createdAt", "submittedAt", "updatedAt"] {
            if self.chance(p) {
                m.insert(key.into(), self.range());
            }
        }
        if self.chance(p) {
            let v = self.list(150, Self::job_identifier);
            m.insert("jobIdentifiers".into(), v);
        }
        for key in ["explain", "imageClassificationModel"] {
            if self.chance(p / 2.0) {
                let v = match self.upto(3) {
                    0 => json!("yes"),
                    1 => Value::Null,
                    _ => json!(self.chance(0.5)),
                };
                m.insert(key.into(), v);
            }
        }
        if self.chance(0.03) {
            m.insert("nope".into(), json!(1));
        }
        Value::Object(m)
    }

    fn order(&mut self) -> Value {
        if self.chance(0.05) {
            return json!("CREATED_AT");
        }
        let mut m = serde_json::Map::new();
        if self.chance(0.95) {
            m.insert("field".into(), self.enum_or_junk(&fixtures::ORDER_FIELDS));
        }
        if self.chance(0.7) {
            m.insert("direction".into(), self.enum_or_junk(&["ASC", "DESC"]));
        }
        Value::Object(m)
    }

    fn cursor(&mut self) -> Value {
        let wire = |o: &str, k: Value, i: Value| {
            URL_SAFE_NO_PAD.encode(json!({ "o": o, "k": k, "i": i }).to_string())
        };
        let s = match self.upto(14) {
            0..=5 => self.pick(&self.pool.cursors).clone(),
            6 => String::new(),
            7 => "!!!".into(),
            8 => {
                let bytes: Vec<u8> = (0..self.upto(40)).map(|_| self.rng.random()).collect();
                URL_SAFE_NO_PAD.encode(bytes)
            }
            9 => {
                let o = format!(
                    "{} {}",
                    self.pick(&fixtures::ORDER_FIELDS),
                    self.pick(&["ASC", "DESC"])
                );
                let k = *self.pick(&[i64::MAX, i64::MIN, -1, 0, 1 << 40]);
                let i = *self.pick(&[i64::MAX, -1, 0, 1]);
                wire(&o, json!(k), json!(i))
            }
            10 => wire("CREATED_AT DESC", Value::Null, json!(1)),
            11 => URL_SAFE_NO_PAD.encode(format!("{}1{}", "[".repeat(200), "]".repeat(200))),
            12 => STANDARD.encode(r#"{"o":"CREATED_AT DESC","k":1,"i":1}"#),
            13 => wire("CREATED_AT DESC", json!("x"), json!(1.5)),
            _ => self.garbage(60),
        };
        Value::String(s)
    }

    fn global_id(&mut self) -> Value {
        let s = match self.upto(10) {
            0..=3 => self.pick(&self.pool.ids).clone(),
            4 => URL_SAFE_NO_PAD.encode(format!("Job:{}", self.uuid())),
            5 => URL_SAFE_NO_PAD.encode("User:1"),
            6 => URL_SAFE_NO_PAD.encode("Job:"),
            7 => STANDARD.encode(format!("Job:{}", self.pick(&self.pool.job_identifiers))),
            8 => URL_SAFE_NO_PAD.encode(self.garbage(60)),
            9 => "x".repeat(self.rng.random_range(1..10_000)),
            _ => self.garbage(40),
        };
        if self.chance(0.03) {
            return json!(12);
        }
        Value::String(s)
    }

    fn selection(&mut self) -> String {
        const SCALARS: &[&str] = &[
            "id",
            "jobIdentifier",
            "submittedBy",
            "accountIdentifier",
            "status",
            "createdAt",
            "updatedAt",
            "submittedAt",
            "total",
            "pending",
            "completed",
            "failed",
            "elapsedTime",
            "queueTime",
            "timeout",
            "explain",
            "imageClassificationModel",
            "inputByteAmount",
            "model { identifier version name }",
            "user { identifier firstName lastName email status title }",
            "jobInputs { identifier position status byteAmount startedAt finishedAt elapsedTime errorMessage }",
            "__typename",
        ];
        let n = 1 + self.upto(6);
        (0..n)
            .map(|_| *self.pick(SCALARS))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Arguments, each either inline or through a variable (sometimes declared wrongly).
    fn arguments(
        &mut self,
        args: Vec<(&'static str, &'static str, Value)>,
    ) -> (String, String, Value) {
        let (mut decls, mut uses, mut vars) = (Vec::new(), Vec::new(), serde_json::Map::new());
        for (name, ty, value) in args {
            if self.chance(0.5) {
                let ty = if self.chance(0.04) { "String" } else { ty };
                decls.push(format!("${name}: {ty}"));
                uses.push(format!("{name}: ${name}"));
                if !self.chance(0.03) {
                    vars.insert(name.into(), value);
                }
            } else {
                uses.push(format!("{name}: {}", literal(&value, false)));
            }
        }
        if self.chance(0.03) {
            vars.insert("unused".into(), json!({ "deep": [1, 2, { "x": null }] }));
        }
        let decls = if decls.is_empty() {
            String::new()
        } else {
            format!("({})", decls.join(", "))
        };
        let uses = if uses.is_empty() {
            String::new()
        } else {
            format!("({})", uses.join(", "))
        };
        (decls, uses, Value::Object(vars))
    }

    /// A `jobs` query with random page values, cursors, filter and order.
    fn history(&mut self) -> (String, Value) {
        let mut args = Vec::new();
        for (name, p) in [("first", 0.6), ("last", 0.2)] {
            if self.chance(p) {
                args.push((name, "Int", self.int()));
            }
        }
        for (name, p) in [("after", 0.3), ("before", 0.15)] {
            if self.chance(p) {
                args.push((name, "String", self.cursor()));
            }
        }
        if self.chance(0.6) {
            args.push(("filter", "JobFilter", self.filter()));
        }
        if self.chance(0.5) {
            args.push(("orderBy", "JobOrder", self.order()));
        }
        let (decls, uses, vars) = self.arguments(args);
        let count = if self.chance(0.4) { "totalCount" } else { "" };
        let fields = self.selection();
        let body = if self.chance(0.5) {
            format!("edges {{ cursor node {{ {fields} }} }}")
        } else {
            format!("nodes {{ {fields} }}")
        };
        (
            format!(
                "query{decls} {{ jobs{uses} {{ {count} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} {body} }} }}"
            ),
            vars,
        )
    }

    /// A `jobStatistics` query with random filter, bucket, zone, dimensions and limit, and a
    /// random part of the answer (percentiles included).
    fn statistics(&mut self) -> (String, Value) {
        const BUCKETS: &[&str] = &["HOUR", "DAY", "WEEK", "MONTH"];
        const DIMENSIONS: &[&str] = &["STATUS", "MODEL", "USER", "ACCOUNT", "ACCESS_KEY"];
        const ZONES: &[&str] = &[
            "UTC",
            "America/New_York",
            "Asia/Kathmandu",
            "Europe/Nowhere",
        ];
        const PARTS: &[&str] = &[
            "from to bucket timeZone groupBy",
            "buckets { start end total { jobs statuses { error timedout } } }",
            "buckets { groups { key { status other model { name } } figures { jobs elapsedTime { p50 p99 } } } }",
            "groups { key { accountIdentifier accessKey user { email } other } figures { inputs { total byteAmount } queueTime { count mean p90 max } } }",
            "total { jobs queueTime { p95 } elapsedTime { mean p50 max } }",
        ];
        let mut args = Vec::new();
        if self.chance(0.6) {
            args.push(("filter", "JobFilter", self.filter()));
        }
        if self.chance(0.7) {
            args.push(("bucket", "StatisticsBucket", self.enum_or_junk(BUCKETS)));
        }
        if self.chance(0.4) {
            let zone = if self.chance(0.8) {
                json!(self.pick(ZONES))
            } else {
                self.text()
            };
            args.push(("timeZone", "String", zone));
        }
        if self.chance(0.6) {
            let dims = self.list(8, |g| g.enum_or_junk(DIMENSIONS));
            args.push(("groupBy", "[StatisticsDimension!]", dims));
        }
        if self.chance(0.3) {
            args.push(("groupLimit", "Int", self.int()));
        }
        let (decls, uses, vars) = self.arguments(args);
        let parts: Vec<&str> = PARTS.iter().copied().filter(|_| self.chance(0.5)).collect();
        let fields = if parts.is_empty() {
            "total { jobs }".to_string()
        } else {
            parts.join(" ")
        };
        (
            format!("query{decls} {{ jobStatistics{uses} {{ {fields} }} }}"),
            vars,
        )
    }

    /// `node`, `nodes` or `job` with random ids.
    fn lookup(&mut self) -> (String, Value) {
        let fields = self.selection();
        match self.upto(2) {
            0 => {
                let id = self.global_id();
                let (d, u, v) = self.arguments(vec![("id", "ID!", id)]);
                (
                    format!("query{d} {{ node{u} {{ id ... on Job {{ {fields} }} }} }}"),
                    v,
                )
            }
            1 => {
                let ids = self.list(130, Self::global_id);
                let (d, u, v) = self.arguments(vec![("ids", "[ID!]!", ids)]);
                (
                    format!("query{d} {{ nodes{u} {{ id ... on Job {{ {fields} }} }} }}"),
                    v,
                )
            }
            _ => {
                let id = self.job_identifier();
                let (d, u, v) = self.arguments(vec![("jobIdentifier", "String!", id)]);
                (format!("query{d} {{ job{u} {{ {fields} }} }}"), v)
            }
        }
    }

    fn submit_input(&mut self) -> Value {
        let model = if self.chance(0.8) {
            let (i, v) = self.pick(&self.pool.models).clone();
            json!({ "identifier": i, "version": v })
        } else {
            json!({ "identifier": self.text(), "version": self.text() })
        };
        let inputs = self.list(105, |g| {
            let name = if g.chance(0.3) {
                json!("dup")
            } else {
                g.text()
            };
            let amount = g.long();
            json!({ "name": name, "byteAmount": amount })
        });
        let mut input = json!({ "model": model, "inputs": inputs });
        if self.chance(0.5) {
            input["timeout"] = self.long();
        }
        if self.chance(0.3) {
            input["explain"] = json!(self.chance(0.5));
        }
        input
    }

    /// One of the four mutations with random arguments.
    fn mutation(&mut self) -> (String, Value) {
        let fields = self.selection();
        match self.upto(3) {
            0 => {
                let input = self.submit_input();
                let (d, u, v) = self.arguments(vec![("input", "SubmitJobInput!", input)]);
                (format!("mutation{d} {{ submitJob{u} {{ {fields} }} }}"), v)
            }
            1 => {
                let j = self.job_identifier();
                let (d, u, v) = self.arguments(vec![("jobIdentifier", "String!", j)]);
                let op = *self.pick(&["cancelJob", "startJob"]);
                (format!("mutation{d} {{ {op}{u} {{ {fields} }} }}"), v)
            }
            _ => {
                let j = self.job_identifier();
                let name = if self.chance(0.5) {
                    json!(format!("input-{}", self.upto(3)))
                } else {
                    self.text()
                };
                let outcome = self.enum_or_junk(&["COMPLETED", "FAILED"]);
                let error = if self.chance(0.5) {
                    self.text()
                } else {
                    Value::Null
                };
                let (d, u, v) = self.arguments(vec![
                    ("jobIdentifier", "String!", j),
                    ("inputName", "String!", name),
                    ("outcome", "InputOutcome!", outcome),
                    ("error", "String", error),
                ]);
                (
                    format!("mutation{d} {{ reportInputResult{u} {{ {fields} }} }}"),
                    v,
                )
            }
        }
    }

    /// A valid document from the README and tests, mutated at the character level.
    fn mutated(&mut self) -> (String, Value) {
        const CORPUS: &[&str] = &[
            "query History($after: String) { jobs(first: 50, after: $after, filter: { status: TERMINATED, statuses: [COMPLETED, ERROR], user: \"lovelace\", model: \"sentiment\", createdAt: { from: \"2026-09-01T00:00:00Z\", to: \"2026-11-30T00:00:00Z\" } }, orderBy: { field: ELAPSED_TIME, direction: DESC }) { totalCount pageInfo { hasNextPage endCursor } edges { node { jobIdentifier status submittedBy accountIdentifier model { identifier version name } createdAt submittedAt updatedAt total pending completed failed queueTime elapsedTime timeout inputByteAmount explain imageClassificationModel user { firstName lastName email } jobInputs { identifier status byteAmount startedAt finishedAt errorMessage } } } } }",
            "{ jobs(first: 3) { totalCount nodes { jobIdentifier status } } }",
            "{ viewer { keyPrefix role user { email } account { identifier name } } }",
            "{ models { identifier version name } }",
            "query($id: ID!) { node(id: $id) { id ... on Job { jobIdentifier status } } }",
            "{ nodes(ids: [\"Sm9iOjBmNmM1\", \"x\"]) { id } }",
            "{ job(jobIdentifier: \"0f6c5a4e-0000-4000-8000-000000000001\") { status total completed } }",
            "mutation { submitJob(input: { model: { identifier: \"ed542963de\", version: \"1.0.1\" }, inputs: [{ name: \"review-1.txt\", byteAmount: 2048 }], explain: false, timeout: 60000 }) { jobIdentifier status total pending } }",
            "mutation { reportInputResult(jobIdentifier: \"x\", inputName: \"review-1.txt\", outcome: FAILED, error: \"unsupported encoding\") { status pending failed } }",
            "{ __schema { queryType { name } types { name fields { name } } } }",
            "{ __type(name: \"Job\") { fields { name type { name kind ofType { name } } } } }",
            "subscription { jobEvents(filter: { status: PENDING }) { jobIdentifier status } }",
            "query A { jobs(last: 2, before: \"abc\") { edges { cursor } } } query B { viewer { role } }",
            "{ jobs(first: 2) { ...Page } } fragment Page on JobConnection { pageInfo { endCursor } nodes { ...J } } fragment J on Job { id status }",
        ];
        const TOKENS: &[&str] = &[
            "{",
            "}",
            "(",
            ")",
            ":",
            "$",
            "@",
            "...",
            "\"",
            "\"\"\"",
            "#",
            "!",
            "[",
            "]",
            "=",
            ",",
            "|",
            "&",
            "\u{0}",
            "😀",
            "\\u0000",
            "on",
            "fragment",
            "query",
            "1e999",
            "-0",
            "0x10",
            "\u{feff}",
            "$$",
            "@skip(if: true)",
            "@include",
            "__typename",
        ];
        let doc = *self.pick(CORPUS);
        let mut chars: Vec<char> = doc.chars().collect();
        for _ in 0..1 + self.upto(3) {
            if chars.is_empty() {
                break;
            }
            let at = self.upto(chars.len() - 1);
            let len = self.upto(12).min(chars.len() - at);
            match self.upto(5) {
                0 => {
                    chars.drain(at..at + len);
                }
                1 => {
                    let copy: Vec<char> = chars[at..at + len].to_vec();
                    chars.splice(at..at, copy);
                }
                2 | 3 => {
                    let t: Vec<char> = self.pick(TOKENS).chars().collect();
                    chars.splice(at..at, t);
                }
                4 => chars.truncate(at),
                _ => {
                    if at + 1 < chars.len() {
                        chars.swap(at, at + 1);
                    }
                }
            }
        }
        let mut vars = json!({});
        if self.chance(0.5) {
            vars = json!({ "id": self.global_id(), "after": self.cursor() });
        }
        (chars.into_iter().collect(), vars)
    }

    /// Deep, wide, aliased, fragmented and directive-laden documents (modest sizes).
    fn structural(&mut self) -> (String, Value) {
        match self.upto(7) {
            0 => {
                let depth = 1 + self.upto(24);
                let mut q = String::from("name");
                for _ in 0..depth {
                    q = format!("name ofType {{ {q} }}");
                }
                (
                    format!("{{ __schema {{ types {{ fields {{ type {{ {q} }} }} }} }} }}"),
                    json!({}),
                )
            }
            1 => {
                let n = 1 + self.upto(60);
                let first = self.int();
                let fields: Vec<String> = (0..n)
                    .map(|i| {
                        format!(
                            "a{i}: jobs(first: {}) {{ totalCount nodes {{ id }} }}",
                            literal(&first, false)
                        )
                    })
                    .collect();
                (format!("{{ {} }}", fields.join(" ")), json!({}))
            }
            2 => {
                let n = 1 + self.upto(300);
                let fields: Vec<String> = (0..n).map(|i| format!("t{i}: __typename")).collect();
                (format!("{{ {} }}", fields.join(" ")), json!({}))
            }
            3 => {
                // A chain of fragments each spreading the next twice: 2^depth expansions.
                let depth = 1 + self.upto(7);
                let mut q =
                    String::from("{ __schema { queryType { ...F0 } } } fragment F0 on __Type { name ...F1 ...F1 }");
                for i in 1..depth {
                    q.push_str(&format!(
                        " fragment F{i} on __Type {{ name ...F{} ...F{} }}",
                        i + 1,
                        i + 1
                    ));
                }
                q.push_str(&format!(" fragment F{depth} on __Type {{ name }}"));
                if self.chance(0.2) {
                    q.push_str(" fragment C1 on __Type { ...C2 } fragment C2 on __Type { ...C1 }");
                }
                (q, json!({}))
            }
            4 => {
                let n = 1 + self.upto(50);
                let directive = *self.pick(&["@aa", "@skip(if: false)", "@include(if: $b)", "@deprecated"]);
                let ds = directive.repeat(n).replace("@", " @");
                let q = format!("query($b: Boolean = true) {{ viewer {ds} {{ role }} jobs(first: 1) {{ nodes {{ id {ds} }} }} }}");
                (q, json!({ "b": self.int() }))
            }
            5 => {
                let depth = 1 + self.upto(10);
                let mut inner = String::from("id");
                for _ in 0..depth {
                    inner = format!("... on Job {{ {inner} ... {{ status }} }}");
                }
                (
                    format!("{{ jobs(first: 2) {{ nodes {{ {inner} }} }} }}"),
                    json!({}),
                )
            }
            6 => {
                let n = 1 + self.upto(15);
                let roots: Vec<String> = (0..n)
                    .map(|i| format!("v{i}: viewer {{ role }}"))
                    .collect();
                (format!("{{ {} }}", roots.join(" ")), json!({}))
            }
            _ => (
                "query IntrospectionQuery { __schema { queryType { name } mutationType { name } types { kind name fields(includeDeprecated: true) { name args { name type { kind name ofType { kind name } } } } } } }".into(),
                json!({}),
            ),
        }
    }

    fn authorization(&mut self) -> Option<Vec<u8>> {
        let key = self.pick(&self.pool.keys).1.clone();
        let prefix = key.split('.').next().unwrap_or("").to_string();
        if self.chance(0.7) {
            return Some(format!("ApiKey {key}").into_bytes());
        }
        let v: Vec<u8> = match self.upto(24) {
            0..=12 => format!("ApiKey {key}").into_bytes(),
            13 => return None,
            14 => b"ApiKey".to_vec(),
            15 => b"ApiKey ".to_vec(),
            16 => format!("Bearer {key}").into_bytes(),
            17 => format!("apikey {key}").into_bytes(),
            18 => format!("ApiKey  {key} ").into_bytes(),
            19 => format!("ApiKey {prefix}").into_bytes(),
            20 => format!("ApiKey {prefix}.wrongsecret").into_bytes(),
            21 => format!("ApiKey {}.{}", self.garbage(20), self.garbage(30))
                .replace(['\n', '\u{0}', '\u{7f}'], "")
                .into_bytes(),
            22 => format!("ApiKey {}", "A".repeat(5_000)).into_bytes(),
            23 => vec![
                b'A', b'p', b'i', b'K', b'e', b'y', b' ', 0xff, 0xfe, b'.', 0x80,
            ],
            _ => format!("ApiKey {key}, ApiKey {key}").into_bytes(),
        };
        Some(v)
    }

    fn accept(&mut self) -> Option<&'static str> {
        *self.pick(&[
            None,
            None,
            Some("application/json"),
            Some("application/graphql-response+json"),
            Some("*/*"),
            Some("text/html"),
            Some("application/graphql-response+json;q=0, application/json"),
            Some("application/*;q=0.5"),
            Some(",,,;;;"),
            Some("application/json; charset=utf-16"),
        ])
    }

    /// A GraphQL request over POST or GET with ordinary or odd headers.
    fn graphql_case(&mut self, kind: &'static str, query: String, variables: Value) -> Case {
        let mut headers = Vec::new();
        if let Some(a) = self.authorization() {
            headers.push(("authorization", a));
        }
        if self.chance(0.3)
            && let Some(a) = self.accept()
        {
            headers.push(("accept", a.as_bytes().to_vec()));
        }
        let operation_name = match self.upto(19) {
            0 => Some(json!("A")),
            1 => Some(json!("Nope")),
            2 => Some(json!(7)),
            _ => None,
        };
        if self.chance(0.12) && query.len() + variables.to_string().len() < 16_000 {
            let mut uri = format!(
                "/graphql?query={}",
                url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
            );
            if variables.as_object().is_some_and(|m| !m.is_empty()) {
                let v = variables.to_string();
                uri.push_str(&format!(
                    "&variables={}",
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                ));
            }
            if self.chance(0.1) {
                let extra: &&str =
                    self.pick(&["&variables=%7B", "&query=x", "&%ZZ", "&operationName=A"]);
                uri.push_str(extra);
            }
            return Case {
                kind,
                method: "GET",
                uri,
                headers,
                body: Vec::new(),
            };
        }
        let content_type = if self.chance(0.93) {
            "application/json"
        } else {
            *self.pick(&[
                "text/plain",
                "application/graphql",
                "application/json; charset=utf-8",
                "APPLICATION/JSON",
                "multipart/form-data; boundary=x",
                "",
            ])
        };
        if !content_type.is_empty() {
            headers.push(("content-type", content_type.as_bytes().to_vec()));
        }
        let mut body = json!({ "query": query, "variables": variables });
        if let Some(name) = operation_name {
            body["operationName"] = name;
        }
        Case {
            kind,
            method: "POST",
            uri: "/graphql".into(),
            headers,
            body: body.to_string().into_bytes(),
        }
    }

    /// Methods, paths and bodies the handlers must refuse cleanly.
    fn http_case(&mut self) -> Case {
        let key = self.pool.keys[0].1.clone();
        let method = *self.pick(&["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]);
        let uri = self
            .pick(&[
                "/graphql",
                "/graphql",
                "/graphql",
                "/graphql?query=%7B__typename%7D",
                "/graphql?query=%ZZ",
                "/graphql?variables=%7B%7D",
                "/graphql/ws",
                "/healthz",
                "/readyz",
                "/metrics",
                "/",
                "/assets/graphiql/..%2F..%2FCargo.toml",
                "/assets/graphiql/nope.js",
                "/dashboard",
                "/dashboard/",
                "/assets/dashboard/..%2F..%2FCargo.toml",
                "/assets/dashboard/nope.js",
                "/nope",
                "/graphql/",
            ])
            .to_string();
        let body: Vec<u8> = match self.upto(14) {
            0 => Vec::new(),
            1 => b"{".to_vec(),
            2 => b"null".to_vec(),
            3 => br#"[{"query":"{ __typename }"}]"#.to_vec(),
            4 => br#"{"query": 1}"#.to_vec(),
            5 => br#"{"query":"{ __typename }","variables":"x"}"#.to_vec(),
            6 => br#"{"query":"{ __typename }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}"#.to_vec(),
            7 => (0..self.upto(200)).map(|_| self.rng.random()).collect(),
            8 => format!("{}1{}", "[".repeat(5_000), "]".repeat(5_000)).into_bytes(),
            9 => vec![b'{', b'"', b'q', 0xff, b'"', b'}'],
            10 => br#"{"query":"{ viewer { role } }","query":"{ __typename }"}"#.to_vec(),
            11 => format!(r#"{{"query":"{{ __typename }}","pad":"{}"}}"#, "x".repeat(300 * 1024)).into_bytes(),
            12 => br#"{"query":"{ __typename }","operationName":null,"variables":null,"extensions":null}"#.to_vec(),
            13 => br#"{"query":""}"#.to_vec(),
            _ => br#"{}"#.to_vec(),
        };
        let mut headers = Vec::new();
        if self.chance(0.8) {
            headers.push(("authorization", format!("ApiKey {key}").into_bytes()));
        }
        if self.chance(0.8) {
            headers.push(("content-type", b"application/json".to_vec()));
        }
        if self.chance(0.3)
            && let Some(a) = self.accept()
        {
            headers.push(("accept", a.as_bytes().to_vec()));
        }
        if self.chance(0.1) {
            headers.push(("content-encoding", b"gzip".to_vec()));
        }
        if uri == "/graphql/ws" && self.chance(0.5) {
            headers.push(("connection", b"upgrade".to_vec()));
            headers.push(("upgrade", b"websocket".to_vec()));
            headers.push(("sec-websocket-version", b"13".to_vec()));
            headers.push(("sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ==".to_vec()));
        }
        Case {
            kind: "http",
            method,
            uri,
            headers,
            body,
        }
    }

    fn case(&mut self) -> Case {
        match self.upto(99) {
            0..=23 => {
                let (q, v) = self.history();
                self.graphql_case("history", q, v)
            }
            24..=29 => {
                let (q, v) = self.statistics();
                self.graphql_case("statistics", q, v)
            }
            30..=41 => {
                let (q, v) = self.lookup();
                self.graphql_case("lookup", q, v)
            }
            42..=53 => {
                let (q, v) = self.mutation();
                self.graphql_case("mutation", q, v)
            }
            54..=71 => {
                let (q, v) = self.mutated();
                self.graphql_case("mutated", q, v)
            }
            72..=85 => {
                let (q, v) = self.structural();
                self.graphql_case("structural", q, v)
            }
            _ => self.http_case(),
        }
    }
}

/// `value` as a GraphQL literal; strings that are names under enum keys print bare.
fn literal(value: &Value, as_enum: bool) -> String {
    const ENUM_KEYS: &[&str] = &["status", "statuses", "field", "direction", "outcome"];
    // (Top-level enum arguments such as `bucket` print quoted when inline: a type error, which
    // must be answered as clearly as any; through variables they are valid.)
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s)
            if as_enum
                && !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            s.clone()
        }
        Value::String(s) => serde_json::to_string(s).expect("a string serializes"),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|v| literal(v, as_enum))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{k}: {}", literal(v, ENUM_KEYS.contains(&k.as_str()))))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

/// Text no response may contain (lower case), unless the request itself contained it (a
/// message may quote the caller's own input). A word of letters and digits only counts as a
/// whole word ([`mentions`]): the fixture's random key prefixes and identifiers may hold
/// "bb8" inside a longer run of letters and digits.
const INTERNAL: &[&str] = &[
    "diesel",
    "sqlite",
    "postgres",
    "postgresql",
    "panicked",
    "backtrace",
    "thread '",
    "tokio",
    "src/",
    ".rs:",
    "/home/",
    "/tmp/",
    "/work/",
    "/root/",
    "/usr/",
    "select ",
    "insert into",
    "update jobs",
    "delete from",
    "database is locked",
    "syntax error at or near", // PostgreSQL's SQL parser (GraphQL's own says "at line")
    "violates",
    "constraint",
    "jh_test_",
    "bb8",
    "connection refused",
];

/// Whether `text` holds `word`: anywhere, or, for a word of letters and digits only, where no
/// letter or digit is next to it.
fn mentions(text: &str, word: &str) -> bool {
    if !word.chars().all(|c| c.is_ascii_alphanumeric()) {
        return text.contains(word);
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    text.match_indices(word).any(|(at, _)| {
        !alnum(text[..at].chars().next_back()) && !alnum(text[at + word.len()..].chars().next())
    })
}

#[test]
fn internal_words_are_found_whole_and_random_identifiers_pass() {
    assert!(mentions("pool error: bb8 timed out", "bb8"));
    assert!(mentions("\"bb8\"", "bb8"));
    assert!(!mentions("submittedby\":\"kbb83jhweaqu4xmuxnur", "bb8"));
    assert!(mentions("error at src/db/jobs.rs:12", ".rs:"));
    assert!(mentions("postgres://postgres@127.0.0.1", "postgres"));
    assert!(mentions("postgresql said no", "postgresql"));
}

fn check(case: &Case, status: StatusCode, body: &[u8], pool: &Pool) -> Result<(), String> {
    if status.is_server_error()
        && status != StatusCode::SERVICE_UNAVAILABLE
        && status != StatusCode::GATEWAY_TIMEOUT
    {
        return Err(format!("answered {status}"));
    }
    let text = String::from_utf8_lossy(body);
    let lower = text.to_lowercase();
    for secret in &pool.secrets {
        if text.contains(secret.as_str()) {
            return Err("the response contains an API secret".into());
        }
    }
    let request = case.text().to_lowercase();
    if let Some(word) = INTERNAL
        .iter()
        .find(|w| mentions(&lower, w) && !mentions(&request, w))
    {
        // Data may legitimately hold such text only if we put it there; the fixture does not.
        return Err(format!("the response reveals internal detail ({word:?})"));
    }
    let path = case.uri.split('?').next().unwrap_or("");
    if path != "/graphql"
        || case.method == "HEAD"
        || status == StatusCode::METHOD_NOT_ALLOWED && body.is_empty()
    {
        return Ok(());
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|_| format!("answered {status} with a body that is not JSON"))?;
    if json.get("data").is_none() && json.get("errors").is_none() {
        return Err("the response has neither `data` nor `errors`".into());
    }
    if let Some(errors) = json.get("errors") {
        let errors = errors.as_array().ok_or("`errors` is not a list")?;
        if errors.is_empty() {
            return Err("`errors` is empty".into());
        }
        for e in errors {
            let code = e["extensions"]["code"].as_str().unwrap_or("");
            if code.is_empty() {
                return Err(format!("an error without `extensions.code`: {e}"));
            }
            if !e["message"].is_string() {
                return Err(format!("an error without a message: {e}"));
            }
            if code == "INTERNAL_SERVER_ERROR" {
                return Err(format!("an INTERNAL_SERVER_ERROR: {e}"));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The pass
// ---------------------------------------------------------------------------------------------

/// A user key in the fixture's first account, a worker and an admin, and a key of an empty
/// account; then cursors and ids of every order, and the model catalogue.
async fn harvest(t: &TestDb, app: &axum::Router) -> Pool {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use job_history::db::schema::accounts;
    let account = async {
        job_history::with_conn!(&t.db, conn => {
            Ok(accounts::table.order(accounts::id).select(accounts::name).first::<String>(conn).await?)
        })
    }
    .await
    .expect("the fixture has an account");
    let keys = vec![
        (
            "user",
            common::issue_key(&t.db, &account, "fuzz-user@example.com", Role::User).await,
        ),
        (
            "worker",
            common::issue_key(&t.db, &account, "fuzz-worker@example.com", Role::Worker).await,
        ),
        (
            "admin",
            common::issue_key(&t.db, "Fuzz Admins", "fuzz-admin@example.com", Role::Admin).await,
        ),
        (
            "empty",
            common::issue_key(&t.db, "Fuzz Empty", "fuzz-empty@example.com", Role::User).await,
        ),
    ];
    let secrets = keys
        .iter()
        .map(|(_, k)| k.split_once('.').expect("PREFIX.SECRET").1.to_string())
        .collect();
    let admin = keys[2].1.clone();
    let ask = async |query: String| -> Value {
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("ApiKey {admin}"))
            .body(Body::from(json!({ "query": query }).to_string()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(v.get("errors").is_none(), "harvest failed: {v}");
        v["data"].clone()
    };
    let (mut cursors, mut ids, mut job_identifiers) = (Vec::new(), Vec::new(), Vec::new());
    for field in fixtures::ORDER_FIELDS {
        for direction in ["ASC", "DESC"] {
            let q = format!(
                "{{ jobs(first: 4, orderBy: {{ field: {field}, direction: {direction} }}) {{ edges {{ cursor node {{ id jobIdentifier }} }} }} }}"
            );
            for edge in ask(q).await["jobs"]["edges"].as_array().unwrap() {
                cursors.push(edge["cursor"].as_str().unwrap().to_string());
                ids.push(edge["node"]["id"].as_str().unwrap().to_string());
                job_identifiers.push(edge["node"]["jobIdentifier"].as_str().unwrap().to_string());
            }
        }
    }
    let models = ask("{ models { identifier version } }".into()).await["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["identifier"].as_str().unwrap().to_string(),
                m["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    Pool {
        keys,
        secrets,
        cursors,
        ids,
        job_identifiers,
        models,
    }
}

async fn send(app: &axum::Router, request: Request<Body>) -> Result<(StatusCode, Vec<u8>), String> {
    let answer = async {
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
            .await
            .map_err(|e| format!("the body could not be read: {e}"))?;
        Ok((status, bytes.to_vec()))
    };
    tokio::time::timeout(Duration::from_secs(60), answer)
        .await
        .map_err(|_| "no answer within 60 s".to_string())?
}

async fn healthz(app: &axum::Router) -> Result<(), String> {
    let (status, _) = send(app, Request::get("/healthz").body(Body::empty()).unwrap()).await?;
    if status == StatusCode::OK {
        Ok(())
    } else {
        Err(format!("/healthz answered {status}"))
    }
}

/// Runs the pass on `t`; fails with the seed, the case number and the request.
async fn fuzz(t: TestDb) {
    count_panics();
    let sqlite = matches!(t.db.url(), DatabaseUrl::Sqlite(_));
    let backend = if sqlite { "sqlite" } else { "postgres" };
    let cases: usize = env_or("FUZZ_CASES", if sqlite { 2_000 } else { 800 });
    let budget = Duration::from_secs(env_or("FUZZ_SECS", if sqlite { 45 } else { 25 }));
    let only: Option<usize> = std::env::var("FUZZ_ONLY").ok().and_then(|v| v.parse().ok());
    let seed = seed();
    common::fixtures::history(&t.db, 120).await;
    // Thousands of cases from a handful of keys: the per-key rate would refuse most of them.
    let config = HttpConfig {
        request_timeout: Duration::from_secs(10),
        rate_limit: None,
        ..HttpConfig::default()
    };
    let app = http::router(AppState::new(t.db.clone(), config));
    let pool = harvest(&t, &app).await;
    eprintln!(
        "fuzz[{backend}]: seed {seed} (FUZZ_SEED), up to {cases} cases (FUZZ_CASES) in {} s (FUZZ_SECS)",
        budget.as_secs()
    );

    let started = Instant::now();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut ran = 0;
    let mut slowest = (Duration::ZERO, 0);
    let keep_going = std::env::var("FUZZ_KEEP_GOING").is_ok_and(|v| v == "1");
    let mut failures = 0;
    for i in 0..cases {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        if started.elapsed() > budget {
            break;
        }
        let mut g = Gen {
            rng: SmallRng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            pool: &pool,
        };
        let case = g.case();
        let panics = PANICS.load(Ordering::SeqCst);
        let t0 = Instant::now();
        let outcome = send(&app, case.request()).await.and_then(|(status, body)| {
            *statuses.entry(status.as_u16()).or_default() += 1;
            check(&case, status, &body, &pool).map_err(|e| {
                format!(
                    "{e}\n--- response ({status}):\n{}",
                    String::from_utf8_lossy(&body[..body.len().min(3_000)])
                )
            })
        });
        let outcome = outcome.and_then(|()| {
            if PANICS.load(Ordering::SeqCst) == panics {
                Ok(())
            } else {
                Err("a panic happened while answering".into())
            }
        });
        let took = t0.elapsed();
        if took > slowest.0 {
            slowest = (took, i);
        }
        if let Err(e) = outcome {
            let report = format!(
                "fuzz[{backend}] case {i} ({}) failed: {e}\n--- request (replay with FUZZ_SEED={seed} FUZZ_ONLY={i}):\n{}",
                case.kind,
                case.show()
            );
            if !keep_going {
                panic!("{report}");
            }
            eprintln!("{report}\n");
            failures += 1;
        }
        ran += 1;
        if ran % 100 == 0 {
            healthz(&app)
                .await
                .unwrap_or_else(|e| panic!("fuzz[{backend}] after case {i}: {e} (seed {seed})"));
        }
    }
    healthz(&app)
        .await
        .unwrap_or_else(|e| panic!("fuzz[{backend}] at the end: {e} (seed {seed})"));
    eprintln!(
        "fuzz[{backend}]: {ran} cases in {:.1} s, statuses {statuses:?}, slowest case {} ({:.0} ms)",
        started.elapsed().as_secs_f64(),
        slowest.1,
        slowest.0.as_secs_f64() * 1e3
    );
    assert!(ran > 0 || only.is_some(), "no case ran");
    assert_eq!(
        failures, 0,
        "fuzz[{backend}]: {failures} failing cases (seed {seed})"
    );
}

backend_tests! {
    async fn hostile_requests_get_clean_answers(t: TestDb) {
        fuzz(t).await;
    }
}

// ---------------------------------------------------------------------------------------------
// What the pass found: regressions, and the findings other branches fix
// ---------------------------------------------------------------------------------------------

/// A router over a small seeded history, and a user key of its first account (`admin`: an
/// administrator's key, which may call every mutation).
async fn small(t: &TestDb, admin: bool) -> (axum::Router, String) {
    common::fixtures::history(&t.db, 10).await;
    let app = http::router(AppState::new(t.db.clone(), HttpConfig::default()));
    let pool = harvest(t, &app).await;
    (app, pool.keys[if admin { 2 } else { 0 }].1.clone())
}

/// POSTs `body` as JSON with `key`; the status and the body as JSON.
async fn post(app: &axum::Router, key: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("ApiKey {key}"))
        .body(Body::from(body))
        .unwrap();
    let (status, body) = send(app, request).await.unwrap();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("{status}: not JSON: {}", String::from_utf8_lossy(&body)));
    (status, json)
}

async fn ask(app: &axum::Router, key: &str, query: &str, variables: Value) -> Value {
    post(
        app,
        key,
        json!({ "query": query, "variables": variables })
            .to_string()
            .into_bytes(),
    )
    .await
    .1
}

/// The codes of the errors of `response`, `""` for an error without one.
fn codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

backend_tests! {
    // Found by the pass (seed 11): PostgreSQL refuses U+0000 in text, and that refusal was an
    // INTERNAL_SERVER_ERROR for every text argument that reaches SQL.
    async fn nul_characters_in_text_are_the_callers_error(t: TestDb) {
        let (app, key) = small(&t, true).await;
        let nul = "a\u{0}b";
        let cases = [
            ("query($v: String) { jobs(filter: { modelVersion: $v }) { nodes { id } } }", json!({ "v": nul })),
            ("query($v: String) { jobs(filter: { user: $v, accessKey: $v, model: $v }) { totalCount } }", json!({ "v": nul })),
            ("query($v: String!) { job(jobIdentifier: $v) { id } }", json!({ "v": nul })),
            ("query($v: [String!]) { jobs(filter: { jobIdentifiers: $v }) { nodes { id } } }", json!({ "v": [nul] })),
            ("mutation($v: String!) { reportInputResult(jobIdentifier: $v, inputName: $v, outcome: COMPLETED) { id } }", json!({ "v": nul })),
            ("mutation($v: String!) { cancelJob(jobIdentifier: $v) { id } }", json!({ "v": nul })),
        ];
        for (query, variables) in cases {
            let response = ask(&app, &key, query, variables).await;
            for code in codes(&response) {
                assert!(
                    ["BAD_USER_INPUT", "NOT_FOUND"].contains(&code.as_str()),
                    "{query}: {response}"
                );
            }
        }
    }

    async fn async_graphql_own_errors_carry_a_code(t: TestDb) {
        let (app, key) = small(&t, false).await;
        for (query, variables) in [
            ("{ jobs(first: 1) { nodes { id }", json!({})),
            ("{ nope }", json!({})),
            ("{ jobs(first: \"ten\") { totalCount } }", json!({})),
            ("query($f: Int) { jobs(first: $f) { totalCount } }", json!({ "f": "ten" })),
            ("query($d: DateTime) { jobs(filter: { createdAt: { from: $d } }) { totalCount } }", json!({ "d": "yesterday" })),
            ("query($j: String!) { job(jobIdentifier: $j) { id } }", json!({})),
        ] {
            let response = ask(&app, &key, query, variables).await;
            let codes = codes(&response);
            assert!(!codes.is_empty() && codes.iter().all(|c| !c.is_empty()), "{query}: {response}");
        }
    }

    async fn an_oversized_body_is_a_graphql_error(t: TestDb) {
        let (app, key) = small(&t, false).await;
        let body = json!({ "query": "{ __typename }", "pad": "x".repeat(300 * 1024) });
        let (status, response) = post(&app, &key, body.to_string().into_bytes()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(!codes(&response).is_empty() && codes(&response).iter().all(|c| !c.is_empty()), "{response}");
    }

    async fn overflowing_byte_amounts_are_bad_user_input(t: TestDb) {
        let (app, key) = small(&t, false).await;
        let models = ask(&app, &key, "{ models { identifier version } }", json!({})).await;
        let model = &models["data"]["models"][0];
        let inputs: Vec<Value> = (0..3)
            .map(|i| json!({ "name": format!("in-{i}"), "byteAmount": i64::MAX }))
            .collect();
        let input = json!({ "model": { "identifier": model["identifier"], "version": model["version"] }, "inputs": inputs });
        let response = ask(
            &app,
            &key,
            "mutation($input: SubmitJobInput!) { submitJob(input: $input) { jobIdentifier } }",
            json!({ "input": input }),
        )
        .await;
        assert_eq!(codes(&response), ["BAD_USER_INPUT"], "{response}");
    }
}
