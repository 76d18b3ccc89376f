//! Subscriptions over a real websocket against a real server (in-process listener on port 0):
//! both protocols, authentication in `connection_init`, jobUpdated and jobEvents with the
//! history's filter semantics, and account isolation.

mod common;

use std::time::Duration;

use common::TestDb;
use common::ws::{Client, Server};
use job_history::domain::Role;
use job_history::http::HttpConfig;
use serde_json::{Value, json};

async fn server(t: &TestDb) -> Server {
    Server::start(&t.db, HttpConfig::default()).await
}

/// Runs a GraphQL document over HTTP as `key`: changes go through the server, whose event bus
/// the subscriptions listen to.
async fn post(srv: &Server, key: &str, query: &str, variables: Value) -> Value {
    common::post_graphql(&srv.http, key, query, variables).await
}

const SUBMIT: &str = r#"mutation($m: String!) { submitJob(input: { model: { identifier: $m, version: "1.0.1" },
  inputs: [{ name: "a", byteAmount: 10 }, { name: "b", byteAmount: 20 }] }) { jobIdentifier } }"#;

async fn submit(srv: &Server, key: &str) -> String {
    let r = post(srv, key, SUBMIT, json!({ "m": "ed542963de" })).await;
    r["data"]["submitJob"]["jobIdentifier"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string()
}

async fn start(srv: &Server, worker: &str, id: &str) {
    let r = post(
        srv,
        worker,
        "mutation($j: String!) { startJob(jobIdentifier: $j) { status } }",
        json!({ "j": id }),
    )
    .await;
    assert_eq!(r["data"]["startJob"]["status"], "IN_PROGRESS", "{r}");
}

const UPDATED: &str = "subscription($j: String!) { jobUpdated(jobIdentifier: $j) { jobIdentifier status pending user { email } jobInputs { identifier status } } }";
const EVENTS: &str =
    "subscription($f: JobFilter) { jobEvents(filter: $f) { jobIdentifier status } }";

fn next_of(message: &Value, id: &str) -> Value {
    assert_eq!(
        (message["type"].as_str(), message["id"].as_str()),
        (Some("next"), Some(id)),
        "{message}"
    );
    message["payload"].clone()
}

backend_tests! {
    async fn job_updated_and_job_events_deliver_changes_live(t: TestDb) {
        job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(0)).await.unwrap();
        let user_key = common::issue_key(&t.db, "Acme", "u@acme.test", Role::User).await;
        let worker = common::issue_key(&t.db, "Acme", "w@acme.test", Role::Worker).await;
        let other = common::issue_key(&t.db, "Globex", "u@globex.test", Role::User).await;
        let srv = server(&t).await;
        let (mut ws, ack) = Client::connect(&srv.url, "graphql-transport-ws", &user_key).await;
        assert_eq!(ack["type"], "connection_ack");

        let id = submit(&srv, &user_key).await;
        // jobEvents first, then jobUpdated: its immediate snapshot proves both are live.
        ws.subscribe("events", EVENTS, json!({ "f": { "status": "PENDING" } })).await;
        ws.subscribe("one", UPDATED, json!({ "j": id })).await;
        let snapshot = next_of(&ws.next().await, "one");
        assert_eq!(snapshot["data"]["jobUpdated"]["status"], "SUBMITTED");
        assert_eq!(snapshot["data"]["jobUpdated"]["user"]["email"], "u@acme.test");

        // Another account's job changes: nothing for us. Then ours does.
        submit(&srv, &other).await; // a foreign event, published before ours
        start(&srv, &worker, &id).await;
        let mut got = [ws.next().await, ws.next().await];
        got.sort_by_key(|m| m["id"].as_str().unwrap_or("").to_string());
        let events = next_of(&got[0], "events");
        let one = next_of(&got[1], "one");
        assert_eq!(events["data"]["jobEvents"], json!({ "jobIdentifier": id, "status": "IN_PROGRESS" }), "the foreign job never shows");
        assert_eq!(one["data"]["jobUpdated"]["status"], "IN_PROGRESS");

        // A report: jobUpdated shows fresh inputs (no stale cache between events).
        let r = post(&srv, &worker, "mutation($j: String!) { reportInputResult(jobIdentifier: $j, inputName: \"a\", outcome: COMPLETED) { pending } }", json!({ "j": id })).await;
        assert_eq!(r["data"]["reportInputResult"]["pending"], 1, "{r}");
        let mut got = [ws.next().await, ws.next().await];
        got.sort_by_key(|m| m["id"].as_str().unwrap_or("").to_string());
        let one = next_of(&got[1], "one");
        assert_eq!(one["data"]["jobUpdated"]["pending"], 1);
        assert_eq!(one["data"]["jobUpdated"]["jobInputs"][0]["status"], "COMPLETED");
        assert_eq!(next_of(&got[0], "events")["data"]["jobEvents"]["status"], "IN_PROGRESS");

        // The last input: the job leaves the PENDING filter, so only jobUpdated speaks.
        post(&srv, &worker, "mutation($j: String!) { reportInputResult(jobIdentifier: $j, inputName: \"b\", outcome: COMPLETED) { pending } }", json!({ "j": id })).await;
        let one = next_of(&ws.next().await, "one");
        assert_eq!(one["data"]["jobUpdated"]["status"], "COMPLETED");
        // Proof that no jobEvents message was pending: a fresh submit arrives next.
        let id2 = submit(&srv, &user_key).await;
        assert_eq!(next_of(&ws.next().await, "events")["data"]["jobEvents"]["jobIdentifier"], id2.as_str());
    }

    async fn subscriptions_need_a_valid_key_and_a_visible_job(t: TestDb) {
        job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(0)).await.unwrap();
        let key = common::issue_key(&t.db, "Acme", "u@acme.test", Role::User).await;
        let other = common::issue_key(&t.db, "Globex", "u@globex.test", Role::User).await;
        let srv = server(&t).await;
        let (_, answer) = Client::connect(&srv.url, "graphql-transport-ws", "nope.nope").await;
        assert_eq!(answer["type"], "close", "{answer}");
        assert!(answer["reason"].as_str().unwrap().contains("unknown API key"), "{answer}");

        let foreign = submit(&srv, &other).await;
        let (mut ws, ack) = Client::connect(&srv.url, "graphql-transport-ws", &key).await;
        assert_eq!(ack["type"], "connection_ack");
        ws.subscribe("x", UPDATED, json!({ "j": foreign })).await;
        let m = ws.next().await;
        assert_eq!(m["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{m}");
        assert!(m["payload"]["data"].is_null());

        // The document limits apply to subscriptions too.
        let aliases: String = (0..31).map(|i| format!("a{i}: status ")).collect();
        let greedy = format!("subscription($j: String!) {{ jobUpdated(jobIdentifier: $j) {{ {aliases} }} }}");
        ws.subscribe("y", &greedy, json!({ "j": foreign })).await;
        let mut m = ws.next().await;
        if m["id"] == "x" {
            assert_eq!(m["type"], "complete", "{m}"); // the end of the refused subscription above
            m = ws.next().await;
        }
        assert_eq!(m["id"], "y", "{m}");
        assert_eq!(m["payload"]["errors"][0]["extensions"]["code"], "TOO_MANY_ALIASES", "{m}");

        // The legacy protocol works too.
        let (mut legacy, ack) = Client::connect(&srv.url, "graphql-ws", &key).await;
        assert_eq!(ack["type"], "connection_ack");
        let mine = submit(&srv, &key).await;
        legacy.send(json!({ "id": "1", "type": "start", "payload": { "query": UPDATED, "variables": { "j": mine } } })).await;
        let m = legacy.next().await;
        assert_eq!(m["type"], "data", "{m}");
        assert_eq!(m["payload"]["data"]["jobUpdated"]["jobIdentifier"], mine.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_drives_jobs_through_their_lifecycle() {
    let t = TestDb::sqlite().await;
    job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(0))
        .await
        .unwrap();
    let user = common::issue_key(&t.db, "Acme", "sim-u@acme.test", Role::User).await;
    let worker = common::issue_key(&t.db, "Acme", "sim-w@acme.test", Role::Worker).await;
    let srv = server(&t).await;
    let (mut ws, _) = Client::connect(&srv.url, "graphql-transport-ws", &user).await;
    ws.subscribe("all", EVENTS, json!({})).await;
    let options = job_history::simulate::SimulateOptions {
        url: srv.http.trim_end_matches("/graphql").to_string(),
        user_key: user.clone(),
        worker_key: worker,
        rate: 20.0,
        duration: Some(Duration::from_secs(1)),
        failure_rate: 0.2,
        timeout_rate: 0.2,
        cancel_rate: 0.1,
        seed: 3,
        pace: 0.01,
    };
    let submitted = job_history::simulate::run(options).await.unwrap();
    assert!(submitted >= 10, "{submitted}");
    let data = post(&srv, &user, "{ jobs(first: 100) { totalCount nodes { status total pending completed failed timeout } } }", json!({})).await;
    let nodes = data["data"]["jobs"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len() as u64, submitted);
    for n in nodes {
        let c = |k: &str| n[k].as_i64().unwrap();
        assert_eq!(c("total"), c("pending") + c("completed") + c("failed"));
        // Worked jobs are finished; the rest were left to time out (short timeouts).
        let status = n["status"].as_str().unwrap();
        assert!(
            matches!(status, "COMPLETED" | "ERROR" | "CANCELED")
                || (status == "SUBMITTED" && c("timeout") < 10_000)
                || status == "TIMEDOUT",
            "{n}"
        );
    }
    assert!(nodes.iter().any(|n| n["status"] == "COMPLETED"));
    let first = ws.next().await;
    assert_eq!(
        first["type"], "next",
        "a subscriber saw the movement: {first}"
    );
}
