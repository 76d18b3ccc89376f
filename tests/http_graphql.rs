//! GraphQL over HTTP through the real router: methods, media types, status codes, the
//! playground and its assets.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestDb;
use common::http::{GQL, Reply, api_key, graphql_post};
use job_history::http::{self, AppState, HttpConfig};
use serde_json::json;

async fn send(db: &job_history::db::Db, request: Request<Body>) -> Reply {
    common::http::send(common::http::app(db, HttpConfig::default()), request).await
}

fn post(body: &str, accept: Option<&str>) -> Request<Body> {
    let key = KEY.get().map(|k| api_key(&k)).unwrap_or_default();
    let mut r = graphql_post(Some(&key));
    if let Some(a) = accept {
        r = r.header(header::ACCEPT, a);
    }
    r.body(Body::from(body.to_string())).unwrap()
}

tokio::task_local! {
    static KEY_SLOT: String;
}

/// The key of the current test's caller (set by `with_key`).
struct KeyAccess;
impl KeyAccess {
    fn get(&self) -> Option<String> {
        KEY_SLOT.try_with(|k| k.clone()).ok()
    }
}
static KEY: KeyAccess = KeyAccess;

async fn user_key(db: &job_history::db::Db) -> String {
    common::issue_key(
        db,
        "Acme",
        "http@example.com",
        job_history::domain::Role::User,
    )
    .await
}

fn get_request(uri: &str) -> Request<Body> {
    let mut r = Request::get(uri).header(header::ACCEPT, GQL);
    if let Some(k) = KEY.get() {
        r = r.header(header::AUTHORIZATION, format!("ApiKey {k}"));
    }
    r.body(Body::empty()).unwrap()
}

backend_tests! {
    async fn post_and_get_run_queries_with_negotiated_media_types(t: TestDb) {
        let key = user_key(&t.db).await;
        KEY_SLOT.scope(key, async {
        let q = json!({ "query": "{ jobs(first: 1) { totalCount } }" }).to_string();
        let r = send(&t.db, post(&q, Some(GQL))).await;
        assert_eq!((r.status, r.content_type().starts_with(GQL)), (StatusCode::OK, true));
        assert_eq!(r.json()["data"]["jobs"]["totalCount"], 0);
        let r = send(&t.db, post(&q, Some("application/json"))).await;
        assert!(r.content_type().starts_with("application/json"), "{}", r.content_type());
        let r = send(&t.db, post(&q, None)).await;
        assert!(r.content_type().starts_with("application/json"), "no Accept means application/json");
        let r = send(&t.db, post(&q, Some("text/html"))).await;
        assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);

        let r = send(&t.db, get_request("/graphql?query=%7B%20models%20%7B%20name%20%7D%20%7D")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.json()["data"]["models"].is_array());
        }).await;
    }

    async fn malformed_requests_get_4xx_with_a_reason(t: TestDb) {
        let key = user_key(&t.db).await;
        KEY_SLOT.scope(key, async {
        let r = send(&t.db, post("{not json", Some(GQL))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.json()["errors"][0]["message"].as_str().unwrap().contains("not valid JSON"));
        let r = send(&t.db, post(r#"{"variables":{}}"#, Some(GQL))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.text().contains("no `query`"));
        let r = send(&t.db, post(r#"{"query":"{ models { name } }","variables":"x"}"#, Some(GQL))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);

        let text = Request::post("/graphql").header(header::CONTENT_TYPE, "text/plain").body(Body::from("{ models { name } }")).unwrap();
        assert_eq!(send(&t.db, text).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let put = Request::put("/graphql").body(Body::empty()).unwrap();
        let r = send(&t.db, put).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers.get(header::ALLOW).unwrap(), "GET, POST");

        // Unparseable or invalid documents: 400 with the GraphQL media type, 200 with JSON.
        let bad = json!({ "query": "{ jobs(first: 1) { nope } }" }).to_string();
        assert_eq!(send(&t.db, post(&bad, Some(GQL))).await.status, StatusCode::BAD_REQUEST);
        let r = send(&t.db, post(&bad, Some("application/json"))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.json()["errors"][0]["message"].as_str().unwrap().contains("nope"));
        let syntax = json!({ "query": "{ jobs(" }).to_string();
        assert_eq!(send(&t.db, post(&syntax, Some(GQL))).await.status, StatusCode::BAD_REQUEST);

        // Resolver errors are partial results: 200 either way, with a code.
        let user_error = json!({ "query": "{ jobs(first: 500) { totalCount } }" }).to_string();
        let r = send(&t.db, post(&user_error, Some(GQL))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

        let big = format!(r#"{{"query":"{{ models {{ name }} }}","variables":{{"pad":"{}"}}}}"#, "x".repeat(300 * 1024));
        assert_eq!(send(&t.db, post(&big, Some(GQL))).await.status, StatusCode::PAYLOAD_TOO_LARGE);
        }).await;
    }

    async fn mutations_are_refused_over_get(t: TestDb) {
        let r = send(&t.db, get_request("/graphql?query=mutation%20%7B%20x%20%7D")).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers.get(header::ALLOW).unwrap(), "POST");
    }

    async fn the_playground_is_served_from_the_binary(t: TestDb) {
        let r = send(&t.db, Request::get("/").body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.content_type().starts_with("text/html"));
        assert!(r.text().contains("query RecentJobs") && !r.text().contains("__DEFAULT_QUERY_JSON__"));
        assert!(!r.text().contains("https://"), "no external resources");
        for asset in ["graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"] {
            let r = send(&t.db, Request::get(format!("/assets/graphiql/{asset}")).body(Body::empty()).unwrap()).await;
            assert_eq!(r.status, StatusCode::OK, "{asset}");
            assert!(r.content_type().starts_with(if asset.ends_with(".css") { "text/css" } else { "text/javascript" }));
        }
        let r = send(&t.db, Request::get("/assets/graphiql/nope.js").body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_key_is_prefilled_in_the_playground() {
    let t = TestDb::sqlite().await;
    let mut state = AppState::new(t.db.clone(), HttpConfig::default());
    state.playground_key = Some("ABC.def".into());
    let body = common::http::get(http::router(state), "/").await.bytes;
    assert!(String::from_utf8_lossy(&body).contains(r#"\"Authorization\": \"ApiKey ABC.def\""#));
}
