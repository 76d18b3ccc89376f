//! The write path under concurrency and bad input, through the real router on both backends:
//! 64 concurrent writers (submits and the lifecycle mutations) mixed with readers answer
//! without a single error and leave every invariant true; a write that cannot get SQLite's
//! lock in time is `SERVICE_UNAVAILABLE` while reads go on; byte amounts whose sum overflows
//! are refused before anything is written.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use common::TestDb;
use job_history::db::Db;
use job_history::domain::Role;
use job_history::http::{self, AppState, HttpConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

const SUBMIT: &str = r#"mutation($inputs: [InputSpec!]!) { submitJob(input: {
  model: { identifier: "ed542963de", version: "1.0.1" }, inputs: $inputs }) { jobIdentifier total } }"#;
const START: &str = "mutation($j: String!) { startJob(jobIdentifier: $j) { status } }";
const REPORT: &str = r#"mutation($j: String!, $i: String!, $o: InputOutcome!) {
  reportInputResult(jobIdentifier: $j, inputName: $i, outcome: $o) { pending } }"#;
const CANCEL: &str = "mutation($j: String!) { cancelJob(jobIdentifier: $j) { status } }";
const PAGE: &str = "{ jobs(first: 20) { totalCount nodes { jobIdentifier total pending completed failed user { email } jobInputs { status } } } }";

/// Posts a document through the router; returns the JSON body.
async fn call(app: &axum::Router, key: &str, query: &str, variables: Value) -> Value {
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("ApiKey {key}"))
        .body(Body::from(
            json!({ "query": query, "variables": variables }).to_string(),
        ))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 4 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}"))
}

fn inputs(n: usize) -> Value {
    (0..n)
        .map(|i| json!({ "name": format!("in-{i}"), "byteAmount": 100 + i }))
        .collect()
}

struct Setup {
    app: axum::Router,
    user: String,
    worker: String,
}

async fn setup(db: &Db) -> Setup {
    job_history::seed::seed(db, job_history::seed::SeedOptions::new(0))
        .await
        .unwrap(); // the model catalogue
    Setup {
        app: http::router(AppState::new(db.clone(), HttpConfig::default())),
        user: common::issue_key(db, "Acme", "user@acme.test", Role::User).await,
        worker: common::issue_key(db, "Acme", "worker@acme.test", Role::Worker).await,
    }
}

async fn submit(s: &Setup, n: usize) -> String {
    let r = call(&s.app, &s.user, SUBMIT, json!({ "inputs": inputs(n) })).await;
    r["data"]["submitJob"]["jobIdentifier"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string()
}

backend_tests! {
    async fn sixty_four_concurrent_writers_and_readers_get_no_errors(t: TestDb) {
        let s = Arc::new(setup(&t.db).await);
        // 16 running jobs of 4 inputs for the workers to report on and cancel.
        let mut running = Vec::new();
        for _ in 0..16 {
            let id = submit(&s, 4).await;
            let r = call(&s.app, &s.worker, START, json!({ "j": id })).await;
            assert_eq!(r["data"]["startJob"]["status"], "IN_PROGRESS", "{r}");
            running.push(id);
        }
        // 64 writers released together: 32 submits, 24 input reports (each on its own input),
        // 8 cancels (on jobs that are also being reported on); and 16 readers of the history.
        let barrier = Arc::new(tokio::sync::Barrier::new(64 + 16));
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..64 {
            let (s, barrier) = (Arc::clone(&s), Arc::clone(&barrier));
            let job = running[w % 16].clone();
            tasks.spawn(async move {
                barrier.wait().await;
                let r = match w {
                    0..32 => call(&s.app, &s.user, SUBMIT, json!({ "inputs": inputs(3) })).await,
                    32..56 => {
                        let input = format!("in-{}", (w - 32) / 16);
                        let outcome = if w % 3 == 0 { "FAILED" } else { "COMPLETED" };
                        call(&s.app, &s.worker, REPORT, json!({ "j": job, "i": input, "o": outcome })).await
                    }
                    _ => call(&s.app, &s.user, CANCEL, json!({ "j": job })).await,
                };
                (w, r)
            });
        }
        for r in 0..16 {
            let (s, barrier) = (Arc::clone(&s), Arc::clone(&barrier));
            tasks.spawn(async move {
                barrier.wait().await;
                (100 + r, call(&s.app, &s.user, PAGE, json!({})).await)
            });
        }
        let mut errors = Vec::new();
        let mut answered = 0;
        while let Some(done) = tasks.join_next().await {
            let (w, r) = done.unwrap();
            answered += 1;
            for e in r["errors"].as_array().into_iter().flatten() {
                // A report racing a cancel of the same job may lose: that is the job's state
                // speaking (CONFLICT), not the write path failing.
                let conflict = e["extensions"]["code"] == "CONFLICT" && (32..64).contains(&w);
                if !conflict {
                    errors.push(format!("request {w}: {e}"));
                }
            }
        }
        println!("{answered} requests, {} errors", errors.len());
        assert!(errors.is_empty(), "{} of {answered} requests failed: {errors:#?}", errors.len());
        let report = common::invariants::check(&t.db).await;
        assert_eq!(report.jobs, 16 + 32);
    }

    async fn byte_amounts_that_overflow_their_sum_are_refused_before_any_write(t: TestDb) {
        let s = setup(&t.db).await;
        let max = json!({ "name": "a", "byteAmount": "9223372036854775807" });
        let three = json!([max, { "name": "b", "byteAmount": "9223372036854775807" }, { "name": "c", "byteAmount": "9223372036854775807" }]);
        let r = call(&s.app, &s.user, SUBMIT, json!({ "inputs": three })).await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{r}");
        let message = r["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("byteAmount values add up to more than"), "{message}");
        // One input of the largest amount is fine; nothing of the refused job was written.
        let r = call(&s.app, &s.user, SUBMIT, json!({ "inputs": [max] })).await;
        assert_eq!(r["data"]["submitJob"]["total"], 1, "{r}");
        assert_eq!(common::invariants::check(&t.db).await.jobs, 1);
    }

    async fn a_submission_outside_a_minute_after_creation_is_refused_by_the_database(t: TestDb) {
        // Pages rely on it (`db::implied`): whatever writes `jobs`, the database itself refuses
        // a submission time before the creation or more than a minute after it.
        use diesel_async::RunQueryDsl;
        let s = setup(&t.db).await;
        submit(&s, 1).await;
        let sqlite = t.db.backend() == job_history::db::Backend::Sqlite;
        let set = |offset: &'static str| {
            let db = t.db.clone();
            let sql = if sqlite {
                format!("UPDATE jobs SET submitted_at = strftime('%Y-%m-%d %H:%M:%f', created_at, '{offset}')")
            } else {
                format!("UPDATE jobs SET submitted_at = created_at + interval '{offset}'")
            };
            async move {
                db.read(async |conn| job_history::on_backend!(conn, c => {
                    Ok::<_, job_history::db::DbError>(diesel::sql_query(sql).execute(c).await.map_err(|e| e.to_string()))
                }))
                .await
                .unwrap()
            }
        };
        for refused in ["61 seconds", "-1 seconds"] {
            let e = set(refused).await.expect_err(refused);
            assert!(e.contains("jobs_submitted_soon_after_created"), "{refused}: {e}");
        }
        assert_eq!(set("59 seconds").await, Ok(1));
        let r = call(&s.app, &s.user, "{ jobs { nodes { createdAt submittedAt } } }", json!({})).await;
        let node = &r["data"]["jobs"]["nodes"][0];
        assert_ne!(node["createdAt"], node["submittedAt"], "{r}");
    }

    async fn filter_lists_are_capped_with_a_clear_error(t: TestDb) {
        let s = setup(&t.db).await;
        let query = "query($f: JobFilter) { jobs(first: 1, filter: $f) { nodes { jobIdentifier } } }";
        let statuses = vec!["COMPLETED"; 7];
        let r = call(&s.app, &s.user, query, json!({ "f": { "statuses": statuses } })).await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{r}");
        assert!(r["errors"][0]["message"].as_str().unwrap().contains("at most 6"), "{r}");
        let ids: Vec<String> = (0..101).map(|i| format!("id-{i}")).collect();
        let r = call(&s.app, &s.user, query, json!({ "f": { "jobIdentifiers": ids } })).await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{r}");
        assert!(r["errors"][0]["message"].as_str().unwrap().contains("at most 100"), "{r}");
    }
}

/// Another process holds SQLite's write lock longer than `busy_timeout` (5 s): the write
/// answers `SERVICE_UNAVAILABLE` saying the database is busy, and reads go on meanwhile (WAL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_write_lock_not_granted_in_time_is_unavailable_and_reads_go_on() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let t = TestDb::sqlite().await;
    let s = setup(&t.db).await;
    submit(&s, 1).await;
    let job_history::db::DatabaseUrl::Sqlite(path) = t.db.url().clone() else {
        unreachable!()
    };
    let mut holder = diesel::SqliteConnection::establish(&path).unwrap();
    holder.batch_execute("BEGIN IMMEDIATE").unwrap();

    let r = call(&s.app, &s.user, PAGE, json!({})).await;
    assert_eq!(r["data"]["jobs"]["totalCount"], 1, "reads go on: {r}");
    let r = call(&s.app, &s.user, SUBMIT, json!({ "inputs": inputs(1) })).await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{r}"
    );
    let message = r["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("busy with other writes"), "{message}");

    holder.batch_execute("ROLLBACK").unwrap();
    submit(&s, 1).await;
    assert_eq!(common::invariants::check(&t.db).await.jobs, 2);
}
