//! The shape of whole GraphQL answers, compared as snapshots (`tests/snapshots/`) so that no
//! serializer or executor change can alter it unnoticed: a failed field stays in `data` as
//! null, a failed non-null field nulls its nearest nullable parent, keys follow the selection
//! set (aliases and fragments included), and every error — parse, validation, bad input, a
//! body too large — has a code and a readable message. Through the real router, on both
//! backends; the patched executor's rules are also checked on a small schema of their own.

mod common;

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
use axum::body::Body;
use axum::http::{Request, header};
use common::TestDb;
use common::http::{GQL, api_key, graphql_post};
use job_history::http::HttpConfig;
use serde::Serialize;

/// What a snapshot holds: the status, the media type and the body with its keys in the order
/// they were sent (`async_graphql::Value` keeps it; `serde_json::Value` would sort them).
#[derive(Serialize)]
struct Answer {
    status: u16,
    content_type: String,
    body: async_graphql::Value,
}

async fn send(db: &job_history::db::Db, request: Request<Body>) -> Answer {
    let reply = common::http::send(common::http::app(db, HttpConfig::default()), request).await;
    let body = serde_json::from_slice(&reply.bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", reply.text()));
    Answer {
        status: reply.status.as_u16(),
        content_type: reply.content_type(),
        body,
    }
}

fn post(key: &str, body: String) -> Request<Body> {
    graphql_post(Some(&api_key(key)))
        .header(header::ACCEPT, GQL)
        .body(Body::from(body))
        .unwrap()
}

/// Posts `query` (and `variables`) as a user of the account "Acme" (user `shape@example.com`).
async fn ask(t: &TestDb, query: &str, variables: serde_json::Value) -> Answer {
    let key = common::issue_key(
        &t.db,
        "Acme",
        "shape@example.com",
        job_history::domain::Role::User,
    )
    .await;
    let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
    send(&t.db, post(&key, body)).await
}

const NO_VARIABLES: serde_json::Value = serde_json::Value::Null;

backend_tests! {
    async fn a_failed_nullable_field_is_null_in_data(t: TestDb) {
        let a = ask(&t, r#"{ job(jobIdentifier: "00000000-0000-0000-0000-000000000000") { status } models { name } }"#, NO_VARIABLES).await;
        insta::assert_json_snapshot!("failed_nullable_field", a);
    }

    async fn a_failed_non_null_field_nulls_its_nullable_parent(t: TestDb) {
        // `jobs` is non-null and its parent is the root: `data` is null, `models` with it.
        let a = ask(&t, "{ models { name } jobs(first: 500) { totalCount } }", NO_VARIABLES).await;
        insta::assert_json_snapshot!("failed_non_null_field", a);
    }

    async fn keys_follow_the_selection_set(t: TestDb) {
        // `user`, `account` and `totalCount` wait for the database; the others do not.
        let a = ask(
            &t,
            "{ viewer { user { email } account { name } role } jobs(first: 1) { totalCount pageInfo { hasNextPage } edges { cursor } } }",
            NO_VARIABLES,
        )
        .await;
        insta::assert_json_snapshot!("key_order", a);
    }

    async fn keys_follow_the_selection_set_with_aliases_and_fragments(t: TestDb) {
        let query = "query { v: viewer { r: role ...Who ... on Viewer { u: user { last: lastName email } } who: user { email } } } \
                     fragment Who on Viewer { account { name } role user { firstName } }";
        let a = ask(&t, query, NO_VARIABLES).await;
        insta::assert_json_snapshot!("key_order_aliases_fragments", a);
    }

    async fn syntax_errors_are_parse_failures_with_line_and_column(t: TestDb) {
        let a = ask(&t, "{ jobs(first: ) { totalCount } }", NO_VARIABLES).await;
        insta::assert_json_snapshot!("parse_failed", a);
    }

    async fn unknown_fields_and_wrong_types_are_validation_failures(t: TestDb) {
        let a = ask(&t, "{ jobs(filter: { stauts: ALL }) { totalCount } }", NO_VARIABLES).await;
        insta::assert_json_snapshot!("validation_failed_input_field", a);
        let a = ask(&t, "{ jobs(first: \"ten\") { nope } }", NO_VARIABLES).await;
        insta::assert_json_snapshot!("validation_failed_fields", a);
    }

    async fn bad_values_are_bad_user_input_naming_the_argument(t: TestDb) {
        let literal = r#"{ jobs(filter: { createdAt: { from: "2024-01-01T00:00:00" } }) { totalCount } }"#;
        let a = ask(&t, literal, NO_VARIABLES).await;
        insta::assert_json_snapshot!("bad_user_input_literal", a);
        let query = "query History($range: DateRange, $first: Int) { jobs(first: $first, filter: { createdAt: $range }) { totalCount } }";
        let vars = serde_json::json!({ "range": { "from": "2024-01-01T00:00:00" }, "first": 10 });
        let a = ask(&t, query, vars).await;
        insta::assert_json_snapshot!("bad_user_input_variable", a);
        let vars = serde_json::json!({ "first": "ten" });
        let a = ask(&t, query, vars).await;
        insta::assert_json_snapshot!("bad_user_input_variable_type", a);
    }

    async fn an_operation_that_cannot_be_chosen_has_a_code(t: TestDb) {
        let a = ask(&t, "query A { models { name } } query B { models { name } }", NO_VARIABLES).await;
        insta::assert_json_snapshot!("operation_resolution_failure", a);
    }

    async fn a_body_too_large_is_a_graphql_response(t: TestDb) {
        let padding = "x".repeat(300 * 1024);
        let body = serde_json::json!({ "query": "{ models { name } }", "variables": { "pad": padding } }).to_string();
        let a = send(&t.db, post("none", body.clone())).await;
        insta::assert_json_snapshot!("payload_too_large", a);
        // Without a length announced, the limit trips while the body is read: same answer.
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(body.into_bytes())]);
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, GQL)
            .body(Body::from_stream(stream))
            .unwrap();
        let b = send(&t.db, request).await;
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    }
}

/// A schema of its own for the executor's rules, independent of ours: `slow` finishes after
/// its siblings, `broken` fails; `Parent` is reachable as nullable and as non-null.
struct Root;

#[derive(SimpleObject)]
struct Leaf {
    value: i32,
}

struct Parent;

#[Object]
impl Parent {
    async fn slow(&self) -> i32 {
        // Finishes after its siblings, which are ready at once (no timing involved).
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        1
    }

    async fn quick(&self) -> i32 {
        2
    }

    async fn broken(&self) -> async_graphql::Result<i32> {
        Err("broken".into())
    }

    async fn maybe_broken(&self) -> async_graphql::Result<Option<i32>> {
        Err("maybe broken".into())
    }

    async fn leaf(&self) -> Leaf {
        Leaf { value: 3 }
    }
}

#[Object]
impl Root {
    async fn nullable(&self) -> Option<Parent> {
        Some(Parent)
    }

    async fn non_null(&self) -> Parent {
        Parent
    }

    async fn list(&self) -> Vec<Option<Parent>> {
        vec![Some(Parent), Some(Parent)]
    }
}

async fn run(query: &str) -> String {
    let schema = Schema::new(Root, EmptyMutation, EmptySubscription);
    serde_json::to_string(&schema.execute(query).await).unwrap()
}

#[tokio::test]
async fn the_executor_orders_keys_by_the_selection_set() {
    let body = run("{ nullable { slow quick l: leaf { value } q2: quick } }").await;
    assert_eq!(
        body,
        r#"{"data":{"nullable":{"slow":1,"quick":2,"l":{"value":3},"q2":2}}}"#
    );
}

#[tokio::test]
async fn the_executor_nulls_failed_fields_in_place_and_propagates_non_null_ones() {
    // A nullable field that fails is null in place.
    let body = run("{ nullable { quick maybeBroken } }").await;
    assert_eq!(
        body,
        r#"{"data":{"nullable":{"quick":2,"maybeBroken":null}},"errors":[{"message":"maybe broken","locations":[{"line":1,"column":20}],"path":["nullable","maybeBroken"]}]}"#
    );
    // A non-null field that fails nulls its nearest nullable parent, here a list item…
    let body = run("{ list { quick broken } }").await;
    assert_eq!(
        body,
        r#"{"data":{"list":[null,null]},"errors":[{"message":"broken","locations":[{"line":1,"column":16}],"path":["list",0,"broken"]},{"message":"broken","locations":[{"line":1,"column":16}],"path":["list",1,"broken"]}]}"#
    );
    // …here a nullable field, with its sibling kept…
    let body = run("{ nullable { broken } nonNull { quick } }").await;
    assert_eq!(
        body,
        r#"{"data":{"nullable":null,"nonNull":{"quick":2}},"errors":[{"message":"broken","locations":[{"line":1,"column":14}],"path":["nullable","broken"]}]}"#
    );
    // …and through non-null parents up to `data` itself.
    let body = run("{ nullable { quick } nonNull { broken } }").await;
    assert_eq!(
        body,
        r#"{"data":null,"errors":[{"message":"broken","locations":[{"line":1,"column":32}],"path":["nonNull","broken"]}]}"#
    );
}
