//! Abuse limits through the real router: each triggers with its code, and none triggers for
//! the largest legitimate query (a page of 100 jobs with users and inputs) or for GraphiQL's
//! introspection. Also CORS, security headers and PostgreSQL's statement timeout.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use common::TestDb;
use common::http::{api_key, app, code, graphql_post, send};
use job_history::db::Db;
use job_history::domain::Role;
use job_history::http::rate_limit::Rate;
use job_history::http::{self, AppState, HttpConfig};
use serde_json::{Value, json};

async fn call_with(
    db: &Db,
    config: HttpConfig,
    key: &str,
    query: &str,
) -> (StatusCode, HeaderMap, Value) {
    let request = graphql_post(Some(&api_key(key)))
        .header(header::ORIGIN, "https://dashboard.example.com")
        .body(Body::from(json!({ "query": query }).to_string()))
        .unwrap();
    let reply = send(app(db, config), request).await;
    let body = serde_json::from_slice(&reply.bytes).unwrap_or(Value::Null);
    (reply.status, reply.headers, body)
}

/// POSTs `query` without an API key (introspection answers without one).
async fn call_anonymous(db: &Db, query: &str) -> Value {
    call_anonymous_with(db, HttpConfig::default(), query).await
}

/// POSTs `query` without an API key, with `config`.
async fn call_anonymous_with(db: &Db, config: HttpConfig, query: &str) -> Value {
    let request = graphql_post(None)
        .body(Body::from(json!({ "query": query }).to_string()))
        .unwrap();
    let reply = send(app(db, config), request).await;
    serde_json::from_slice(&reply.bytes).unwrap_or(Value::Null)
}

/// Bounds a call that would run for minutes before documents were judged first.
async fn bounded<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), call)
        .await
        .expect("answered within 60 s (before the fix this took minutes)")
}

async fn call(db: &Db, key: &str, query: &str) -> Value {
    call_with(db, HttpConfig::default(), key, query).await.2
}

const LARGEST: &str = r#"{ jobs(first: 100) {
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node {
    id jobIdentifier submittedBy accountIdentifier status createdAt updatedAt submittedAt
    total pending completed failed elapsedTime queueTime timeout explain inputByteAmount
    imageClassificationModel model { identifier version name }
    user { identifier externalIdentifier firstName lastName email status title }
    jobInputs { identifier position status byteAmount startedAt finishedAt elapsedTime errorMessage }
  } }
} }"#;

/// graphql-js's `getIntrospectionQuery()`, as GraphiQL sends it.
const INTROSPECTION: &str = r#"query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }
  types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue } interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name } } } } } } } }"#;

backend_tests! {
    async fn the_largest_legitimate_query_and_introspection_pass(t: TestDb) {
        let key = common::issue_key(&t.db, "Acme", "big@example.com", Role::User).await;
        job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(120)).await.unwrap();
        let body = call(&t.db, &key, LARGEST).await;
        assert!(body.get("errors").is_none(), "{body}");
        let body = call(&t.db, &key, INTROSPECTION).await;
        assert!(body["data"]["__schema"]["types"].is_array(), "{body}");
    }

    async fn depth_complexity_aliases_and_root_fields_are_limited(t: TestDb) {
        let key = common::issue_key(&t.db, "Acme", "limits@example.com", Role::User).await;
        let deep = format!("{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}", "ofType { ".repeat(12), "} ".repeat(12));
        let body = call(&t.db, &key, &deep).await;
        assert_eq!(code(&body), "QUERY_TOO_DEEP", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("at most 15"));

        let two_pages = format!("{{ a: {} b: {} }}", &LARGEST[2..LARGEST.len() - 1], &LARGEST[2..LARGEST.len() - 1]);
        let body = call(&t.db, &key, &two_pages).await;
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("at most 10000"));
        // Complexity follows the page size asked for.
        let small = LARGEST.replace("first: 100", "first: 10");
        let body = call(&t.db, &key, &format!("{{ a: {} b: {} }}", &small[2..small.len() - 1], &small[2..small.len() - 1])).await;
        assert!(body.get("errors").is_none(), "{body}");

        let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
        let body = call(&t.db, &key, &format!("{{ viewer {{ {aliases} }} }}")).await;
        assert_eq!(code(&body), "TOO_MANY_ALIASES", "{body}");
        let roots: String = (0..11).map(|i| format!("m{i}: models {{ name }} ")).collect();
        let body = call(&t.db, &key, &format!("{{ {roots} }}")).await;
        assert_eq!(code(&body), "TOO_MANY_ROOT_FIELDS", "{body}");

        // Limits are settings.
        let mut config = HttpConfig::default();
        config.schema.limits.depth = 3;
        let (_, _, body) = call_with(&t.db, config, &key, "{ jobs { edges { node { jobIdentifier } } } }").await;
        assert_eq!(code(&body), "QUERY_TOO_DEEP");
    }

    async fn fragments_that_double_are_judged_without_expanding_them(t: TestDb) {
        // 25 levels, each spreading the next twice: 2^25 expansions in async-graphql's checks
        // (4.5 s before; each level doubles it). Sent with 40 levels, it would never answer.
        let mut doc = String::from("{ __schema { queryType { ...F0 } } }");
        for i in 0..40 {
            doc.push_str(&format!(" fragment F{i} on __Type {{ ...F{} ...F{} }}", i + 1, i + 1));
        }
        doc.push_str(" fragment F40 on __Type { name }");
        let body = bounded(call_anonymous(&t.db, &doc)).await;
        assert_eq!(code(&body), "INTROSPECTION_TOO_LARGE", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("at most 1000000"), "{body}");

        let cycle = "{ __schema { queryType { ...A } } } fragment A on __Type { ...B } fragment B on __Type { ...A }";
        let body = bounded(call_anonymous(&t.db, cycle)).await;
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("cycle"), "{body}");
        let unknown = "{ __schema { queryType { ...Nope } } }";
        let body = bounded(call_anonymous(&t.db, unknown)).await;
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("`Nope`"), "{body}");
    }

    async fn directives_and_errors_are_capped(t: TestDb) {
        let doc = format!("{{ __schema {} {{ queryType {{ name }} }} }}", "@aa ".repeat(40_000));
        let body = bounded(call_anonymous(&t.db, &doc)).await;
        assert_eq!(code(&body), "TOO_MANY_DIRECTIVES", "{body}");
        assert_eq!(body["errors"].as_array().unwrap().len(), 1, "one error, not 40 000");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("40000 directives; at most 10"), "{body}");
        // Within the cap per field, unknown directives on many fields: at most 100 errors.
        let fields: String = (0..20).map(|i| format!("n{i}: name @aa @bb @cc @dd @ee @ff @gg ")).collect();
        let mut config = HttpConfig::default();
        config.schema.limits.aliases = 100;
        let body = call_anonymous_with(&t.db, config, &format!("{{ __schema {{ queryType {{ {fields} }} }} }}")).await;
        let errors = body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 101, "{body}");
        assert_eq!(errors[100]["extensions"]["code"], "TOO_MANY_ERRORS");
        assert!(errors[100]["message"].as_str().unwrap().contains("40 more errors were dropped"), "{body}");
    }

    async fn limits_see_through_fragments(t: TestDb) {
        let key = common::issue_key(&t.db, "Acme", "frag@example.com", Role::User).await;
        // 8 aliases in a fragment spread 4 times: 32 aliases.
        let aliases: String = (0..8).map(|i| format!("a{i}: keyPrefix ")).collect();
        let doc = format!("{{ viewer {{ ...V ...V ...V ...V }} }} fragment V on Viewer {{ {aliases} }}");
        let body = call(&t.db, &key, &doc).await;
        assert_eq!(code(&body), "TOO_MANY_ALIASES", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("32 aliases"), "{body}");

        // Depth through a chain of fragments.
        let mut doc = String::from("{ __schema { types { ...T0 } } }");
        for i in 0..14 {
            doc.push_str(&format!(" fragment T{i} on __Type {{ ofType {{ ...T{} }} }}", i + 1));
        }
        doc.push_str(" fragment T14 on __Type { name }");
        let body = call(&t.db, &key, &doc).await;
        assert_eq!(code(&body), "QUERY_TOO_DEEP", "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("17 levels deep; at most 15"), "{body}");

        // Complexity through fragments: the largest page twice, hidden in a fragment.
        let page = &LARGEST[2..LARGEST.len() - 1];
        let doc = format!("{{ ...P ...P }} fragment P on Query {{ {page} }}");
        let body = call(&t.db, &key, &doc).await;
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");

        // Root fields through fragments.
        let roots: String = (0..11).map(|i| format!("m{i}: models {{ name }} ")).collect();
        let body = call(&t.db, &key, &format!("{{ ...R }} fragment R on Query {{ {roots} }}")).await;
        assert_eq!(code(&body), "TOO_MANY_ROOT_FIELDS", "{body}");
    }

    async fn a_huge_introspection_answer_is_refused_before_it_is_built(t: TestDb) {
        // Nested, aliased `fields` of every type: tens of millions of values if answered.
        let level = |inner: &str| format!("a: fields {{ name type {{ {inner} }} }} b: fields {{ name type {{ {inner} }} }}");
        let doc = format!("{{ __schema {{ types {{ {} }} }} }}", level(&level(&level("name"))));
        let body = bounded(call_anonymous(&t.db, &doc)).await;
        assert_eq!(code(&body), "INTROSPECTION_TOO_LARGE", "{body}");
    }

    async fn rate_timeout_body_size_and_introspection_settings(t: TestDb) {
        let key = common::issue_key(&t.db, "Acme", "rate@example.com", Role::User).await;
        let nz = |n| NonZeroU32::new(n).unwrap();
        let config = HttpConfig { rate_limit: Some(Rate { per_second: nz(1), burst: nz(2) }), ..Default::default() };
        let state = AppState::new(t.db.clone(), config);
        let mut statuses = Vec::new();
        let mut last = None;
        for _ in 0..3 {
            let request = graphql_post(Some(&api_key(&key)))
                .body(Body::from(r#"{"query":"{ viewer { keyPrefix } }"}"#))
                .unwrap();
            let reply = send(http::router(state.clone()), request).await;
            statuses.push(reply.status);
            last = Some(reply);
        }
        assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS]);
        let reply = last.unwrap();
        assert_eq!(reply.headers[header::RETRY_AFTER], "1");
        assert_eq!(code(&reply.json()), "RATE_LIMITED");

        // A request that cannot get a database connection in time: a one-connection pool whose
        // connection the test holds.
        let mut one = job_history::db::DbConfig::new(t.db.url().clone());
        one.pool_size = 1;
        let busy = job_history::db::connect::connect(&one).await.unwrap();
        let held = match busy.pools() {
            job_history::db::Pools::Postgres(p) => (Some(p.get().await.unwrap()), None),
            job_history::db::Pools::Sqlite(p) => (None, Some(p.get().await.unwrap())),
        };
        let config = HttpConfig { request_timeout: Duration::from_millis(100), ..Default::default() };
        let (status, _, body) = call_with(&busy, config, &key, "{ jobs { totalCount } }").await;
        assert_eq!((status, code(&body)), (StatusCode::GATEWAY_TIMEOUT, "TIMEOUT"));
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("longer than 100 ms"));
        drop(held);

        let config = HttpConfig { max_body_bytes: 100, ..Default::default() };
        let (status, ..) = call_with(&t.db, config, &key, &format!("{{ viewer {{ keyPrefix }} }} # {}", "x".repeat(200))).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

        let mut config = HttpConfig::default();
        config.schema.limits.introspection = false;
        let (_, _, body) = call_with(&t.db, config, &key, "{ __schema { queryType { name } } }").await;
        assert_eq!(code(&body), "INTROSPECTION_DISABLED", "{body}");
    }

    async fn cors_and_security_headers(t: TestDb) {
        let key = common::issue_key(&t.db, "Acme", "cors@example.com", Role::User).await;
        let (_, headers, _) = call_with(&t.db, HttpConfig::default(), &key, "{ viewer { keyPrefix } }").await;
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "no CORS unless configured");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        let config = HttpConfig { cors_origins: vec!["https://dashboard.example.com".into()], ..Default::default() };
        let (_, headers, _) = call_with(&t.db, config, &key, "{ viewer { keyPrefix } }").await;
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://dashboard.example.com");
        let config = HttpConfig { cors_origins: vec!["https://other.example.com".into()], ..Default::default() };
        let (_, headers, _) = call_with(&t.db, config, &key, "{ viewer { keyPrefix } }").await;
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statement_timeout_is_a_clear_error() {
    use diesel_async::RunQueryDsl;
    let (url, guard) = TestDb::postgres_url().await;
    let mut config = job_history::db::DbConfig::new(url);
    config.statement_timeout = Duration::from_millis(50);
    let db = job_history::db::connect::connect(&config).await.unwrap();
    let run = async {
        job_history::with_conn!(&db, conn => {
            Ok(diesel::sql_query("SELECT pg_sleep(2)").execute(conn).await?)
        })
    };
    let err: job_history::graphql::error::ApiError = run.await.unwrap_err().into();
    assert_eq!(err.code(), "TIMEOUT");
    assert!(err.message().contains("took too long"));
    drop(db);
    drop(guard);
}
