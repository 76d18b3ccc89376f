//! The job lifecycle through GraphQL mutations on both backends: validation, roles, every
//! transition and refusal, timeouts and the sweeper, and the counters' invariant under 64
//! concurrent reports (real parallel connections on PostgreSQL).

mod common;

use common::gql::run_as;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use job_history::auth::Caller;
use job_history::db::schema::jobs;
use job_history::db::{Db, DbError};
use job_history::domain::Role;
use serde_json::{Value, json};

const SUBMIT: &str = r#"mutation($input: SubmitJobInput!) { submitJob(input: $input) {
  jobIdentifier status total pending completed failed inputByteAmount submittedBy timeout updatedAt
  model { identifier version } jobInputs { identifier status byteAmount } } }"#;
const START: &str =
    "mutation($j: String!) { startJob(jobIdentifier: $j) { status queueTime updatedAt } }";
const CANCEL: &str = "mutation($j: String!) { cancelJob(jobIdentifier: $j) { status updatedAt } }";
const REPORT: &str = r#"mutation($j: String!, $i: String!, $o: InputOutcome!, $e: String) {
  reportInputResult(jobIdentifier: $j, inputName: $i, outcome: $o, error: $e) {
    status total pending completed failed elapsedTime updatedAt jobInputs { identifier status errorMessage } } }"#;

struct Actors {
    user: Caller,
    worker: Caller,
    other: Caller,
}

async fn actors(db: &Db) -> Actors {
    job_history::seed::seed(db, job_history::seed::SeedOptions::new(0))
        .await
        .unwrap(); // the catalogue
    let user = common::issue_key(db, "Acme", "user@acme.test", Role::User).await;
    let worker = common::issue_key(db, "Acme", "worker@acme.test", Role::Worker).await;
    let other = common::issue_key(db, "Globex", "user@globex.test", Role::User).await;
    Actors {
        user: common::caller_for(db, &user).await,
        worker: common::caller_for(db, &worker).await,
        other: common::caller_for(db, &other).await,
    }
}

fn job_input(n: usize, timeout: Option<i64>) -> Value {
    let inputs: Vec<Value> = (0..n)
        .map(|i| json!({ "name": format!("in-{i}"), "byteAmount": 1000 + i }))
        .collect();
    json!({ "input": { "model": { "identifier": "ed542963de", "version": "1.0.1" }, "inputs": inputs, "timeout": timeout } })
}

async fn ok(db: &Db, caller: &Caller, query: &str, vars: Value) -> Value {
    let response = run_as(db, Some(caller.clone()), query, vars).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    response["data"].clone()
}

async fn err(db: &Db, caller: &Caller, query: &str, vars: Value) -> (String, String) {
    let response = run_as(db, Some(caller.clone()), query, vars).await;
    let e = &response["errors"][0];
    assert!(!e.is_null(), "expected an error: {response:#}");
    (
        e["extensions"]["code"].as_str().unwrap().to_string(),
        e["message"].as_str().unwrap().to_string(),
    )
}

async fn submit(db: &Db, a: &Actors, n: usize) -> String {
    let data = ok(db, &a.user, SUBMIT, job_input(n, None)).await;
    data["submitJob"]["jobIdentifier"]
        .as_str()
        .unwrap()
        .to_string()
}

backend_tests! {
    async fn submit_validates_and_creates_a_submitted_job(t: TestDb) {
        let a = actors(&t.db).await;
        let data = ok(&t.db, &a.user, SUBMIT, job_input(3, Some(60_000))).await;
        let job = &data["submitJob"];
        assert_eq!(job["status"], "SUBMITTED");
        assert_eq!((job["total"].as_i64(), job["pending"].as_i64(), job["completed"].as_i64()), (Some(3), Some(3), Some(0)));
        assert_eq!(job["inputByteAmount"], 3003);
        assert_eq!(job["submittedBy"], a.user.prefix.as_str());
        assert_eq!(job["timeout"], 60_000);
        assert!(uuid::Uuid::parse_str(job["jobIdentifier"].as_str().unwrap()).is_ok());
        assert_eq!(job["jobInputs"].as_array().unwrap().iter().map(|i| i["identifier"].as_str().unwrap()).collect::<Vec<_>>(), ["in-0", "in-1", "in-2"]);

        let bad = |input: Value| json!({ "input": input });
        let model = json!({ "identifier": "ed542963de", "version": "1.0.1" });
        let one = json!([{ "name": "a", "byteAmount": 1 }]);
        let cases = [
            (bad(json!({ "model": { "identifier": "nope", "version": "9" }, "inputs": one })), "BAD_USER_INPUT", "no model nope version 9"),
            (bad(json!({ "model": model, "inputs": [] })), "BAD_USER_INPUT", "at least one input"),
            (bad(json!({ "model": model, "inputs": [{ "name": "a", "byteAmount": 1 }, { "name": "a", "byteAmount": 2 }] })), "BAD_USER_INPUT", "used twice"),
            (bad(json!({ "model": model, "inputs": [{ "name": "a", "byteAmount": -1 }] })), "BAD_USER_INPUT", "0 or more"),
            (bad(json!({ "model": model, "inputs": one, "timeout": 0 })), "BAD_USER_INPUT", "input.timeout"),
        ];
        for (vars, code, text) in cases {
            let (c, m) = err(&t.db, &a.user, SUBMIT, vars.clone()).await;
            assert_eq!(c, code, "{vars}");
            assert!(m.contains(text), "{vars}: {m}");
        }
        let (c, m) = err(&t.db, &a.worker, SUBMIT, job_input(1, None)).await;
        assert_eq!(c, "FORBIDDEN");
        assert!(m.contains("role user or admin; this key's role is worker"), "{m}");
    }

    async fn a_job_runs_to_completion_or_error(t: TestDb) {
        let a = actors(&t.db).await;
        let id = submit(&t.db, &a, 2).await;
        let (c, _) = err(&t.db, &a.user, START, json!({ "j": id })).await;
        assert_eq!(c, "FORBIDDEN", "users do not start jobs");
        let (c, _) = err(&t.db, &a.worker, REPORT, json!({ "j": id, "i": "in-0", "o": "COMPLETED" })).await;
        assert_eq!(c, "CONFLICT", "no report before the start");
        let started = ok(&t.db, &a.worker, START, json!({ "j": id })).await;
        assert_eq!(started["startJob"]["status"], "IN_PROGRESS");
        assert!(started["startJob"]["queueTime"].as_i64().unwrap() >= 0);
        let (c, m) = err(&t.db, &a.worker, START, json!({ "j": id })).await;
        assert_eq!(c, "CONFLICT");
        assert!(m.contains("cannot start a job that is IN_PROGRESS"), "{m}");

        let r = ok(&t.db, &a.worker, REPORT, json!({ "j": id, "i": "in-0", "o": "COMPLETED" })).await;
        assert_eq!((r["reportInputResult"]["status"].as_str(), r["reportInputResult"]["pending"].as_i64()), (Some("IN_PROGRESS"), Some(1)));
        let (c, m) = err(&t.db, &a.worker, REPORT, json!({ "j": id, "i": "in-0", "o": "FAILED" })).await;
        assert_eq!(c, "CONFLICT");
        assert!(m.contains("already reported as COMPLETED"), "{m}");
        let (c, m) = err(&t.db, &a.worker, REPORT, json!({ "j": id, "i": "nope", "o": "FAILED" })).await;
        assert_eq!(c, "NOT_FOUND");
        assert!(m.contains("no input named \"nope\""), "{m}");
        let r = ok(&t.db, &a.worker, REPORT, json!({ "j": id, "i": "in-1", "o": "FAILED", "e": "bad pixels" })).await;
        let job = &r["reportInputResult"];
        assert_eq!(job["status"], "COMPLETED", "some inputs succeeded");
        assert_eq!((job["total"].as_i64(), job["pending"].as_i64(), job["completed"].as_i64(), job["failed"].as_i64()), (Some(2), Some(0), Some(1), Some(1)));
        assert!(job["elapsedTime"].as_i64().unwrap() >= 0);
        assert_eq!(job["jobInputs"][1]["errorMessage"], "bad pixels");
        let (c, m) = err(&t.db, &a.worker, REPORT, json!({ "j": id, "i": "in-1", "o": "FAILED" })).await;
        assert_eq!(c, "CONFLICT");
        assert!(m.contains("that is COMPLETED"), "{m}");

        let id = submit(&t.db, &a, 1).await;
        ok(&t.db, &a.worker, START, json!({ "j": id })).await;
        let r = ok(&t.db, &a.worker, REPORT, json!({ "j": id, "i": "in-0", "o": "FAILED" })).await;
        assert_eq!(r["reportInputResult"]["status"], "ERROR", "every input failed");
        // Other accounts cannot touch the job.
        let (c, _) = err(&t.db, &a.other, CANCEL, json!({ "j": id })).await;
        assert_eq!(c, "NOT_FOUND");
    }

    async fn cancel_applies_to_pending_jobs_only_and_freezes_them(t: TestDb) {
        let a = actors(&t.db).await;
        let id = submit(&t.db, &a, 2).await;
        ok(&t.db, &a.worker, START, json!({ "j": id })).await;
        let before = ok(&t.db, &a.user, "query($j: String!) { job(jobIdentifier: $j) { updatedAt } }", json!({ "j": id })).await;
        let c = ok(&t.db, &a.user, CANCEL, json!({ "j": id })).await;
        assert_eq!(c["cancelJob"]["status"], "CANCELED");
        assert!(c["cancelJob"]["updatedAt"].as_str() >= before["job"]["updatedAt"].as_str(), "updatedAt moves");
        let (code, m) = err(&t.db, &a.user, CANCEL, json!({ "j": id })).await;
        assert_eq!(code, "CONFLICT");
        assert!(m.contains("cannot cancel a job that is CANCELED; only SUBMITTED or IN_PROGRESS jobs can be"), "{m}");
        let (code, m) = err(&t.db, &a.worker, REPORT, json!({ "j": id, "i": "in-0", "o": "COMPLETED" })).await;
        assert_eq!(code, "CONFLICT");
        assert!(m.contains("that is CANCELED"), "{m}");
        let after = ok(&t.db, &a.user, "query($j: String!) { job(jobIdentifier: $j) { pending completed jobInputs { status } } }", json!({ "j": id })).await;
        assert_eq!(after["job"]["pending"], 2, "a refused report changes nothing");
    }

    async fn timeouts_read_at_once_and_are_swept_once(t: TestDb) {
        let a = actors(&t.db).await;
        let id = submit(&t.db, &a, 1).await;
        let past = job_history::db::now() - chrono::Duration::seconds(5);
        let run = async {
            job_history::with_conn!(&t.db, conn => {
                diesel::update(jobs::table.filter(jobs::job_identifier.eq(&id)))
                    .set((jobs::timeout_ms.eq(Some(1_i64)), jobs::deadline_at.eq(Some(past))))
                    .execute(conn)
                    .await?;
                Ok::<_, DbError>(())
            })
        };
        run.await.unwrap();
        let read = ok(&t.db, &a.user, "query($j: String!) { job(jobIdentifier: $j) { status } }", json!({ "j": id })).await;
        assert_eq!(read["job"]["status"], "TIMEDOUT", "before any sweep");
        let (code, m) = err(&t.db, &a.worker, START, json!({ "j": id })).await;
        assert_eq!(code, "CONFLICT");
        assert!(m.contains("that is TIMEDOUT"), "{m}");
        // Two sweepers at once (two replicas): the job is recorded once.
        let events = job_history::events::EventBus::new(t.db.clone());
        let (x, y) = tokio::join!(job_history::sweeper::sweep_once(&t.db, &events), job_history::sweeper::sweep_once(&t.db, &events));
        assert_eq!(x + y, 1);
        assert_eq!(job_history::sweeper::sweep_once(&t.db, &events).await, 0);
        let status: i32 = {
            let run = async {
                job_history::with_conn!(&t.db, conn => {
                    Ok(jobs::table.filter(jobs::job_identifier.eq(&id)).select(jobs::status).first::<i32>(conn).await?)
                })
            };
            run.await.unwrap()
        };
        assert_eq!(status, job_history::domain::JobStatus::Timedout.code());
    }

    async fn counters_hold_under_64_concurrent_reports(t: TestDb) {
        let a = actors(&t.db).await;
        let id = submit(&t.db, &a, 64).await;
        ok(&t.db, &a.worker, START, json!({ "j": id })).await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..64 {
            let (db, worker, id) = (t.db.clone(), a.worker.clone(), id.clone());
            let outcome = if i % 5 == 0 { "FAILED" } else { "COMPLETED" };
            tasks.spawn(async move { run_as(&db, Some(worker), REPORT, json!({ "j": id, "i": format!("in-{i}"), "o": outcome })).await });
        }
        let responses: Vec<Value> = tasks.join_all().await;
        let failures: Vec<_> = responses.iter().filter(|r| r.get("errors").is_some()).collect();
        assert!(failures.is_empty(), "{failures:#?}");
        let job = ok(&t.db, &a.user, "query($j: String!) { job(jobIdentifier: $j) { status total pending completed failed jobInputs { status } } }", json!({ "j": id })).await;
        let job = &job["job"];
        let (total, pending, completed, failed) = (job["total"].as_i64().unwrap(), job["pending"].as_i64().unwrap(), job["completed"].as_i64().unwrap(), job["failed"].as_i64().unwrap());
        assert_eq!(total, pending + completed + failed);
        assert_eq!((pending, completed, failed), (0, 51, 13));
        assert_eq!(job["status"], "COMPLETED");
        assert!(job["jobInputs"].as_array().unwrap().iter().all(|i| i["status"] != "PENDING"));

        // Racing duplicates: exactly one report of an input wins.
        let id = submit(&t.db, &a, 2).await;
        ok(&t.db, &a.worker, START, json!({ "j": id })).await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (db, worker, id) = (t.db.clone(), a.worker.clone(), id.clone());
            tasks.spawn(async move { run_as(&db, Some(worker), REPORT, json!({ "j": id, "i": "in-0", "o": "COMPLETED" })).await });
        }
        let responses = tasks.join_all().await;
        let wins = responses.iter().filter(|r| r.get("errors").is_none()).count();
        assert_eq!(wins, 1, "{responses:#?}");
        assert!(responses.iter().filter(|r| r.get("errors").is_some()).all(|r| r["errors"][0]["extensions"]["code"] == "CONFLICT"));
        let job = ok(&t.db, &a.user, "query($j: String!) { job(jobIdentifier: $j) { pending completed } }", json!({ "j": id })).await;
        assert_eq!((job["job"]["pending"].as_i64(), job["job"]["completed"].as_i64()), (Some(1), Some(1)));
    }

    async fn mutations_answer_from_the_row_they_wrote(t: TestDb) {
        let a = actors(&t.db).await;
        const FIELDS: &str = "status total pending completed failed queueTime elapsedTime updatedAt";
        let read = format!("query($j: String!) {{ job(jobIdentifier: $j) {{ {FIELDS} }} }}");
        let start = format!("mutation($j: String!) {{ startJob(jobIdentifier: $j) {{ {FIELDS} }} }}");
        let cancel = format!("mutation($j: String!) {{ cancelJob(jobIdentifier: $j) {{ {FIELDS} }} }}");
        let report = format!(
            "mutation($j: String!, $i: String!) {{ reportInputResult(jobIdentifier: $j, inputName: $i, outcome: COMPLETED) {{ {FIELDS} }} }}"
        );
        let (finished, canceled) = (submit(&t.db, &a, 2).await, submit(&t.db, &a, 1).await);
        // Each answer is what a later read finds: the columns the transition's one UPDATE
        // computes (queue time, the final status, elapsed time) are in its RETURNING.
        // Statements of each: BEGIN, the transition (one UPDATE: no follow-up UPDATE of the
        // job), a report's UPDATE of its input, when the job reaches a final status the count
        // rollups' three upserts (its account's row, every account's and its user's) and the
        // statistics rollup's one multi-row upsert, COMMIT, and on PostgreSQL the `pg_notify`
        // that publishes it; never a read of the job afterwards.
        let notify = u64::from(t.db.backend() == job_history::db::Backend::Postgres);
        for (caller, query, job, vars, statements) in [
            (&a.worker, &start, &finished, json!({}), 3),
            (&a.worker, &report, &finished, json!({ "i": "in-0" }), 4),
            (&a.worker, &report, &finished, json!({ "i": "in-1" }), 4 + 4),
            (&a.worker, &start, &canceled, json!({}), 3),
            (&a.user, &cancel, &canceled, json!({}), 3 + 4),
        ] {
            let mut vars = vars;
            vars["j"] = json!(job);
            let before = t.db.stats().statements();
            let answer = ok(&t.db, caller, query, vars).await;
            let cost = t.db.stats().statements() - before;
            let answer = answer.as_object().unwrap().values().next().unwrap().clone();
            let now = ok(&t.db, caller, &read, json!({ "j": job })).await;
            assert_eq!(answer, now["job"], "{query}");
            assert_eq!(cost, statements + notify, "{query}");
        }
    }


    async fn writes_in_one_transaction_commit_or_roll_back_together(t: TestDb) {
        use job_history::db::lifecycle::{self, JobSpec, LifecycleError, Submitter};
        use job_history::db::schema::{job_counts, job_inputs};
        let a = actors(&t.db).await;
        let who = Submitter { account_id: a.user.account_id, user_id: a.user.user_id, key_prefix: a.user.prefix.clone() };
        let spec = JobSpec {
            model_identifier: "ed542963de".into(),
            model_version: "1.0.1".into(),
            inputs: vec![("in-0".into(), 10), ("in-1".into(), 20)],
            explain: false,
            timeout_ms: None,
            image_classification_model: false,
        };
        let (scope, now) = (a.user.scope(), job_history::db::now());
        // What the account holds: jobs, their inputs, and the daily rollup's sum.
        let held = async || {
            t.db.read(async |conn| job_history::on_backend!(conn, c => {
                let jobs = jobs::table.filter(jobs::account_id.eq(a.user.account_id)).count().get_result::<i64>(c).await?;
                let inputs = job_inputs::table.count().get_result::<i64>(c).await?;
                let daily = job_counts::table.filter(job_counts::account_id.eq(a.user.account_id)).select(diesel::dsl::sum(job_counts::created)).get_result::<Option<i64>>(c).await?;
                Ok::<_, DbError>((jobs, inputs, daily.unwrap_or(0)))
            })).await.unwrap()
        };
        let before = held().await;
        // A submit, then a change that is refused: the submit is rolled back with it.
        let refused = t.db.write(async |tx| {
            let job = lifecycle::submit(tx, &who, &spec, now).await?;
            lifecycle::start(tx, scope, "no-such-job", now).await?;
            Ok::<_, LifecycleError>(job)
        }).await;
        assert!(matches!(refused, Err(LifecycleError::JobNotFound(_))), "{refused:?}");
        assert_eq!(held().await, before, "nothing of the failed transaction is visible");
        // The same two writes, the second succeeding: both are visible.
        let started = t.db.write(async |tx| {
            let job = lifecycle::submit(tx, &who, &spec, now).await?;
            lifecycle::start(tx, scope, &job.job_identifier, now).await
        }).await.unwrap();
        assert_eq!(started.status, job_history::domain::JobStatus::InProgress);
        assert_eq!(held().await, (before.0 + 1, before.1 + 2, before.2 + 1));
    }
}
