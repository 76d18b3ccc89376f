//! Running GraphQL documents against a test database, without HTTP (the router has its own
//! tests) and with fresh per-request loaders, as the server does.
#![allow(dead_code)]

use job_history::auth::Caller;
use job_history::db::Db;
use serde_json::Value;

/// Executes `query` with `variables` as an administrator; returns the whole response as JSON.
pub async fn run(db: &Db, query: &str, variables: Value) -> Value {
    run_as(db, Some(super::admin()), query, variables).await
}

/// Executes `query` with `variables` as `caller`; returns the whole response as JSON.
pub async fn run_as(db: &Db, caller: Option<Caller>, query: &str, variables: Value) -> Value {
    let events = job_history::events::EventBus::new(db.clone());
    let schema = job_history::graphql::build_schema(db.clone(), events, &Default::default());
    let request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables));
    let response = job_history::graphql::execute(&schema, db, caller, request).await;
    serde_json::to_value(&response).expect("response serializes")
}

/// Executes and returns `data`, failing the test on any error.
pub async fn data(db: &Db, query: &str, variables: Value) -> Value {
    let response = run(db, query, variables).await;
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response:#}"
    );
    response["data"].clone()
}

/// Executes and returns the first error's (code, message), failing when there is none.
pub async fn error(db: &Db, query: &str, variables: Value) -> (String, String) {
    let response = run(db, query, variables).await;
    let e = &response["errors"][0];
    assert!(!e.is_null(), "expected an error, got {response:#}");
    (
        e["extensions"]["code"].as_str().unwrap_or("").to_string(),
        e["message"].as_str().unwrap_or("").to_string(),
    )
}
