//! Two server processes on one PostgreSQL database: a change made through one reaches
//! subscribers on the other (LISTEN/NOTIFY), and the listener recovers after its connection is
//! killed (as in a database restart), telling subscribers that events may have been missed.

mod common;

use common::TestDb;
use common::process::{Served, bin};
use common::ws::Client;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use job_history::domain::Role;
use serde_json::json;

/// A `serve` replica against `url`.
fn replica(url: &str) -> Served {
    Served::spawn(
        bin()
            .args(["serve", "--port", "0", "--timeout-sweep-ms", "0"])
            .env("DATABASE_URL", url),
    )
}

const UPDATED: &str =
    "subscription($j: String!) { jobUpdated(jobIdentifier: $j) { status pending } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_through_one_replica_reach_subscribers_of_another() {
    let t = TestDb::postgres().await;
    job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(0))
        .await
        .unwrap();
    let user = common::issue_key(&t.db, "Acme", "u@acme.test", Role::User).await;
    let worker = common::issue_key(&t.db, "Acme", "w@acme.test", Role::Worker).await;
    let job_history::db::DatabaseUrl::Postgres(url) = t.db.url().clone() else {
        unreachable!()
    };
    let (a, b) = (replica(&url), replica(&url));

    let submitted = b
        .post(&user, r#"mutation { submitJob(input: { model: { identifier: "ed542963de", version: "1.0.1" }, inputs: [{ name: "x", byteAmount: 1 }, { name: "y", byteAmount: 2 }] }) { jobIdentifier } }"#, json!({}))
        .await;
    let id = submitted["data"]["submitJob"]["jobIdentifier"]
        .as_str()
        .unwrap_or_else(|| panic!("{submitted}"))
        .to_string();

    let (mut ws, ack) = Client::connect(&a.ws(), "graphql-transport-ws", &user).await;
    assert_eq!(ack["type"], "connection_ack");
    ws.subscribe("1", UPDATED, json!({ "j": id })).await;
    assert_eq!(
        ws.next().await["payload"]["data"]["jobUpdated"]["status"],
        "SUBMITTED",
        "snapshot: subscribed and listening"
    );

    let r = b
        .post(
            &worker,
            "mutation($j: String!) { startJob(jobIdentifier: $j) { status } }",
            json!({ "j": id }),
        )
        .await;
    assert_eq!(r["data"]["startJob"]["status"], "IN_PROGRESS", "{r}");
    let m = ws.next().await;
    assert_eq!(
        m["payload"]["data"]["jobUpdated"]["status"], "IN_PROGRESS",
        "B's change reached A's subscriber: {m}"
    );

    // Kill every listener connection, as a database restart would.
    let mut admin = AsyncPgConnection::establish(&url).await.unwrap();
    admin
        .batch_execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'job-history-listener' AND datname = current_database()")
        .await
        .unwrap();
    let m = ws.next().await;
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"], "EVENTS_MISSED",
        "subscribers hear of the gap: {m}"
    );
    // A new subscription is answered only once A's listener is back.
    ws.subscribe("2", UPDATED, json!({ "j": id })).await;
    assert_eq!(ws.next().await["id"], "2");

    let r = b.post(&worker, "mutation($j: String!) { reportInputResult(jobIdentifier: $j, inputName: \"x\", outcome: COMPLETED) { pending } }", json!({ "j": id })).await;
    assert_eq!(r["data"]["reportInputResult"]["pending"], 1, "{r}");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let m = ws.next().await;
        assert_eq!(m["payload"]["data"]["jobUpdated"]["pending"], 1, "{m}");
        ids.push(m["id"].as_str().unwrap().to_string());
    }
    ids.sort();
    assert_eq!(
        ids,
        ["1", "2"],
        "both subscriptions, old and new, receive events after the reconnect"
    );
    drop((a, b));
}
