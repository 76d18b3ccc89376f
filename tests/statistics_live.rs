//! `jobStatisticsUpdated` over a real websocket against a real server: the current bucket at
//! once, then an update after each change of the caller's account (another account's changes
//! move nothing), several quick changes coalesced, at most one message a second. And the
//! complexity limit on `jobStatistics`: buckets × groups, through fragments and aliases too.

mod common;

use std::time::Instant;

use common::ws::{Client, Server};
use job_history::domain::Role;
use job_history::http::HttpConfig;
use serde_json::{Value, json};

const SUBMIT: &str = r#"mutation { submitJob(input: { model: { identifier: "ed542963de", version: "1.0.1" },
  inputs: [{ name: "a", byteAmount: 10 }] }) { jobIdentifier } }"#;

const LIVE: &str = "subscription { jobStatisticsUpdated(bucket: HOUR, groupBy: [STATUS]) {
  buckets { start } total { jobs inputs { byteAmount } }
  groups { key { status } figures { jobs } } } }";

fn jobs_of(message: &Value) -> i64 {
    assert_eq!(message["type"], "next", "{message}");
    let s = &message["payload"]["data"]["jobStatisticsUpdated"];
    assert_eq!(s["buckets"].as_array().map(Vec::len), Some(1), "{message}");
    s["total"]["jobs"].as_i64().unwrap()
}

backend_tests! {
    async fn the_current_bucket_is_sent_at_once_then_on_changes_at_most_once_a_second(t: TestDb) {
        job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(0)).await.unwrap();
        let key = common::issue_key(&t.db, "Acme", "u@acme.test", Role::User).await;
        let other = common::issue_key(&t.db, "Globex", "u@globex.test", Role::User).await;
        let srv = Server::start(&t.db, HttpConfig::default()).await;
        let (mut ws, ack) = Client::connect(&srv.url, "graphql-transport-ws", &key).await;
        assert_eq!(ack["type"], "connection_ack");
        ws.subscribe("s", LIVE, json!({})).await;
        let first = jobs_of(&ws.next().await);
        assert_eq!(first, 0);

        // Another account's job first, then ours: the update counts ours only.
        common::post_graphql(&srv.http, &other, SUBMIT, json!({})).await;
        common::post_graphql(&srv.http, &key, SUBMIT, json!({})).await;
        let m = ws.next().await;
        assert_eq!(jobs_of(&m), 1, "{m}");
        let groups = &m["payload"]["data"]["jobStatisticsUpdated"]["groups"];
        assert_eq!(groups, &json!([{ "key": { "status": "SUBMITTED" }, "figures": { "jobs": 1 } }]));

        // Five quick submits: coalesced into updates at least a second apart, ending at 6.
        let mut times = vec![Instant::now()];
        for _ in 0..5 {
            common::post_graphql(&srv.http, &key, SUBMIT, json!({})).await;
        }
        let mut seen = Vec::new();
        while seen.last() != Some(&6) {
            seen.push(jobs_of(&ws.next().await));
            times.push(Instant::now());
        }
        assert!(seen.len() < 5, "five changes, fewer updates: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "only changed figures are sent: {seen:?}");
        for pair in times[1..].windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap.as_millis() >= 900, "updates {gap:?} apart: {seen:?}");
        }
    }

    async fn a_created_at_range_ending_before_the_current_bucket_counts_nothing(t: TestDb) {
        job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(0)).await.unwrap();
        let key = common::issue_key(&t.db, "Acme", "u@acme.test", Role::User).await;
        let srv = Server::start(&t.db, HttpConfig::default()).await;
        common::post_graphql(&srv.http, &key, SUBMIT, json!({})).await;
        // The job now created (and submitted: the database holds the two within a minute) at
        // the first microsecond of today (UTC): the current DAY bucket's start, where an empty
        // intersection used to keep the range [start, start].
        let start = job_history::db::now().date().and_hms_opt(0, 0, 0).unwrap();
        let moved = async {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use job_history::db::schema::jobs;
            job_history::with_conn!(&t.db, conn => {
                Ok::<usize, job_history::db::DbError>(
                    diesel::update(jobs::table)
                        .set((jobs::created_at.eq(start), jobs::submitted_at.eq(start)))
                        .execute(conn)
                        .await?,
                )
            })
        };
        assert_eq!(moved.await.unwrap(), 1);
        let (mut ws, _) = Client::connect(&srv.url, "graphql-transport-ws", &key).await;
        let live = "subscription($f: JobFilter) { jobStatisticsUpdated(filter: $f, bucket: DAY) {
            buckets { start } total { jobs } } }";
        let at = |hours| (start - chrono::Duration::hours(hours)).and_utc().to_rfc3339();
        let before = json!({ "f": { "createdAt": { "from": at(48), "to": at(1) } } });
        ws.subscribe("before", live, before).await;
        assert_eq!(jobs_of(&ws.next().await), 0);
        // The same subscription without the range counts the job: the test can tell.
        ws.subscribe("all", live, json!({})).await;
        assert_eq!(jobs_of(&ws.next().await), 1);
    }

    async fn statistics_complexity_counts_buckets_times_groups(t: TestDb) {
        common::fixtures::history(&t.db, 10).await;
        let from = (job_history::db::now() - chrono::Duration::days(179)).and_utc().to_rfc3339();
        let vars = json!({ "f": { "createdAt": { "from": from } } });
        // 180 buckets × 21 groups × 5 fields: over the default 10 000.
        let cells = r#"query($f: JobFilter) { jobStatistics(filter: $f, groupBy: [STATUS, MODEL], groupLimit: 20) {
            buckets { groups { figures { jobs statuses { completed error } } } } } }"#;
        let (code, message) = common::gql::error(&t.db, cells, vars.clone()).await;
        assert_eq!(code, "QUERY_TOO_COMPLEX", "{message}");
        // The same through a fragment measured once, and split over aliases.
        let fragment = r#"query($f: JobFilter) { jobStatistics(filter: $f, groupBy: [STATUS, MODEL], groupLimit: 20) {
            buckets { ...Cell } } }
            fragment Cell on JobStatisticsBucket { groups { figures { jobs statuses { completed error } } } }"#;
        assert_eq!(common::gql::error(&t.db, fragment, vars.clone()).await.0, "QUERY_TOO_COMPLEX");
        let aliases = r#"query($f: JobFilter) {
            a: jobStatistics(filter: $f, groupBy: [MODEL], groupLimit: 15) { buckets { ...Cell } }
            b: jobStatistics(filter: $f, groupBy: [MODEL], groupLimit: 15) { buckets { ...Cell } } }
            fragment Cell on JobStatisticsBucket { groups { figures { jobs } } }"#;
        assert_eq!(common::gql::error(&t.db, aliases, vars.clone()).await.0, "QUERY_TOO_COMPLEX");
        let one = r#"query($f: JobFilter) { a: jobStatistics(filter: $f, groupBy: [MODEL], groupLimit: 15) {
            buckets { ...Cell } } }
            fragment Cell on JobStatisticsBucket { groups { figures { jobs } } }"#;
        common::gql::data(&t.db, one, vars.clone()).await; // 180 × 16 × 2: each alone fits
        // A 180-day stacked chart by status needs no groups: 180 × 7.
        let chart = r#"query($f: JobFilter) { jobStatistics(filter: $f) {
            buckets { start total { statuses { completed error canceled timedout } } } } }"#;
        let d = common::gql::data(&t.db, chart, vars).await;
        assert_eq!(d["jobStatistics"]["buckets"].as_array().unwrap().len(), 180);
    }
}
