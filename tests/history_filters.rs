//! Every `JobFilter` condition alone and combined, on both backends, checked against the same
//! condition evaluated here over all jobs (effective statuses included).

mod common;

use std::collections::BTreeSet;

use chrono::{NaiveDateTime, SecondsFormat, Utc};
use common::fixtures::{self, Row};
use common::gql;
use job_history::db::Db;
use job_history::domain::JobStatus;
use serde_json::{Value, json};

const QUERY: &str = r#"query($filter: JobFilter, $after: String) {
  jobs(first: 100, after: $after, filter: $filter) {
    totalCount
    edges { node { jobIdentifier status } }
    pageInfo { hasNextPage endCursor }
  }
}"#;

/// All matching identifiers (paging through) and the reported totalCount.
async fn matching(db: &Db, filter: Value) -> (BTreeSet<String>, i64) {
    let mut ids = BTreeSet::new();
    let mut after = Value::Null;
    let mut total = None;
    loop {
        let data = gql::data(db, QUERY, json!({ "filter": filter, "after": after })).await;
        let jobs = &data["jobs"];
        total.get_or_insert(jobs["totalCount"].as_i64().unwrap());
        for e in jobs["edges"].as_array().unwrap() {
            assert!(
                ids.insert(e["node"]["jobIdentifier"].as_str().unwrap().to_string()),
                "duplicate"
            );
        }
        if !jobs["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = jobs["pageInfo"]["endCursor"].clone();
    }
    (ids, total.unwrap())
}

fn iso(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn check(db: &Db, rows: &[Row], filter: Value, want: impl Fn(&Row) -> bool) {
    let expected: BTreeSet<String> = rows
        .iter()
        .filter(|r| want(r))
        .map(|r| r.identifier.clone())
        .collect();
    let (got, total) = matching(db, filter.clone()).await;
    assert_eq!(got, expected, "filter {filter}");
    assert_eq!(total as usize, expected.len(), "totalCount for {filter}");
}

backend_tests! {
    async fn each_filter_alone_and_combined_matches_an_independent_computation(t: TestDb) {
        fixtures::history(&t.db, 230).await;
        let rows = fixtures::truth(&t.db).await;
        let now = Utc::now().naive_utc();
        let db = &t.db;
        use JobStatus::*;
        let status = |r: &Row| r.status(now);

        // Status groups and exact statuses (a pending job past its deadline is TIMEDOUT).
        check(db, &rows, json!({ "status": "ALL" }), |_| true).await;
        check(db, &rows, json!({ "status": "PENDING" }), |r| status(r).is_pending()).await;
        check(db, &rows, json!({ "status": "TERMINATED" }), |r| !status(r).is_pending()).await;
        check(db, &rows, json!({ "status": "TIMEDOUT" }), |r| status(r) == Timedout).await;
        check(db, &rows, json!({ "statuses": ["COMPLETED", "ERROR"] }), |r| matches!(status(r), Completed | Error)).await;
        check(db, &rows, json!({ "statuses": ["SUBMITTED", "IN_PROGRESS"] }), |r| status(r).is_pending()).await;
        check(db, &rows, json!({ "statuses": ["IN_PROGRESS", "TIMEDOUT"] }), |r| matches!(status(r), InProgress | Timedout)).await;
        check(db, &rows, json!({ "status": "PENDING", "statuses": ["COMPLETED"] }), |_| false).await;
        assert!(rows.iter().any(|r| r.stored_status <= 1 && status(r) == Timedout), "fixture has expired pending jobs");

        // Users: case-insensitive part of first name, last name or email; wildcards are literal.
        let someone = &rows[7];
        let last = someone.last_name.to_uppercase();
        check(db, &rows, json!({ "user": last }), |r| {
            [&r.first_name, &r.last_name, &r.email].iter().any(|f| f.to_lowercase().contains(&someone.last_name.to_lowercase()))
        }).await;
        let domain_part = someone.email.split('@').next().unwrap().to_string();
        check(db, &rows, json!({ "user": domain_part }), |r| r.email.contains(&domain_part)).await;
        check(db, &rows, json!({ "user": "%" }), |_| false).await;
        check(db, &rows, json!({ "user": "_" }), |_| false).await;

        // Key prefix, model name / identifier / version.
        check(db, &rows, json!({ "accessKey": someone.submitted_by }), |r| r.submitted_by == someone.submitted_by).await;
        check(db, &rows, json!({ "model": "TRANSLATION" }), |r| r.model_name.to_lowercase().contains("translation")).await;
        check(db, &rows, json!({ "modelIdentifier": someone.model_identifier }), |r| r.model_identifier == someone.model_identifier).await;
        check(db, &rows, json!({ "modelIdentifier": someone.model_identifier, "modelVersion": someone.model_version }), |r| {
            r.model_identifier == someone.model_identifier && r.model_version == someone.model_version
        }).await;

        // Date ranges (inclusive), with and without an end.
        let mut created: Vec<_> = rows.iter().map(|r| r.created_at).collect();
        created.sort();
        let (from, to) = (created[40], created[150]);
        check(db, &rows, json!({ "createdAt": { "from": iso(from), "to": iso(to) } }), |r| r.created_at >= from && r.created_at <= to).await;
        check(db, &rows, json!({ "createdAt": { "from": iso(to) } }), |r| r.created_at >= to).await;
        check(db, &rows, json!({ "submittedAt": { "from": iso(from), "to": iso(to) } }), |r| r.submitted_at >= from && r.submitted_at <= to).await;
        check(db, &rows, json!({ "updatedAt": { "from": iso(from) } }), |r| r.updated_at >= from).await;

        // Identifiers and flags.
        let some_ids: Vec<_> = rows.iter().step_by(50).map(|r| r.identifier.clone()).collect();
        check(db, &rows, json!({ "jobIdentifiers": some_ids }), |r| some_ids.contains(&r.identifier)).await;
        check(db, &rows, json!({ "explain": true }), |r| r.explain).await;
        check(db, &rows, json!({ "imageClassificationModel": false }), |r| !r.image_classification_model).await;

        // Everything at once.
        check(
            db,
            &rows,
            json!({ "status": "TERMINATED", "createdAt": { "from": iso(from) }, "explain": false, "imageClassificationModel": true, "user": "e" }),
            |r| {
                !status(r).is_pending()
                    && r.created_at >= from
                    && !r.explain
                    && r.image_classification_model
                    && [&r.first_name, &r.last_name, &r.email].iter().any(|f| f.to_lowercase().contains('e'))
            },
        )
        .await;
    }

    async fn no_job_reads_as_pending_after_its_deadline(t: TestDb) {
        fixtures::history(&t.db, 120).await;
        let rows = fixtures::truth(&t.db).await;
        let data = gql::data(&t.db, "{ jobs(first: 100, filter: { status: PENDING }) { edges { node { jobIdentifier status timeout submittedAt } } } }", json!({})).await;
        let now = Utc::now().naive_utc();
        for e in data["jobs"]["edges"].as_array().unwrap() {
            let id = e["node"]["jobIdentifier"].as_str().unwrap();
            let row = rows.iter().find(|r| r.identifier == id).unwrap();
            assert!(row.deadline_at.is_none_or(|d| d > now), "{id} is past its deadline");
            assert!(matches!(e["node"]["status"].as_str(), Some("SUBMITTED" | "IN_PROGRESS")));
        }
        let expired: Vec<_> = rows.iter().filter(|r| r.stored_status <= 1 && r.deadline_at.is_some_and(|d| d <= now)).collect();
        assert!(!expired.is_empty());
        let ids: Vec<_> = expired.iter().map(|r| r.identifier.clone()).collect();
        let data = gql::data(&t.db, "query($ids: [String!]) { jobs(first: 100, filter: { jobIdentifiers: $ids }) { nodes { status } } }", json!({ "ids": ids })).await;
        for node in data["jobs"]["nodes"].as_array().unwrap() {
            assert_eq!(node["status"], "TIMEDOUT");
        }
    }
}
