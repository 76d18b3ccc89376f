//! Health and readiness through the real router, and graceful shutdown of the real server.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestDb;
use job_history::http::{self, AppState, HttpConfig};
use tower::ServiceExt;

fn app(db: &job_history::db::Db) -> axum::Router {
    http::router(AppState::new(db.clone(), HttpConfig::default()))
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, serde_json::Value) {
    let response = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

backend_tests! {
    async fn healthz_and_readyz_answer_when_migrated(t: TestDb) {
        let (status, body) = get(app(&t.db), "/healthz").await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
        let (status, body) = get(app(&t.db), "/readyz").await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ok")));
    }

    async fn graphql_answers_over_the_router(t: TestDb) {
        let key = common::issue_key(&t.db, "Acme", "basics@example.com", job_history::domain::Role::User).await;
        let request = Request::post("/graphql")
            .header("content-type", "application/json")
            .header("authorization", format!("ApiKey {key}"))
            .body(Body::from(r#"{"query":"{ models { identifier } }"}"#))
            .unwrap();
        let response = app(&t.db).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(body["data"]["models"].is_array(), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_unavailable_before_migrations() {
    for (url, guard) in [TestDb::sqlite_url(), TestDb::postgres_url().await] {
        let t = TestDb::unmigrated(url, guard).await;
        let (status, body) = get(app(&t.db), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["reason"], "migrations pending");
        job_history::db::migrate::run(&t.db).await.unwrap();
        assert_eq!(get(app(&t.db), "/readyz").await.0, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_requests_finish() {
    use axum::routing::get as route_get;
    use tokio::sync::{Notify, oneshot};

    // A handler that holds its request open until the test releases it.
    let entered = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (e, r) = (entered.clone(), release.clone());
    let app = axum::Router::new().route(
        "/slow",
        route_get(move || {
            let (e, r) = (e.clone(), r.clone());
            async move {
                e.notify_one();
                r.notified().await;
                "done"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(http::server::serve(
        listener,
        app,
        async move {
            let _ = stop_rx.await;
        },
        std::time::Duration::from_secs(30),
    ));
    let request = tokio::spawn(reqwest::get(format!("http://{addr}/slow")));
    entered.notified().await;
    stop_tx.send(()).unwrap();
    release.notify_one();
    let response = request.await.unwrap().expect("in-flight request completes");
    assert_eq!(response.text().await.unwrap(), "done");
    server.await.unwrap().expect("server stops cleanly");
    assert!(
        reqwest::get(format!("http://{addr}/slow")).await.is_err(),
        "listener is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_statements_and_pool() {
    let t = TestDb::sqlite().await;
    let key = common::issue_key(
        &t.db,
        "Acme",
        "metrics@example.com",
        job_history::domain::Role::User,
    )
    .await;
    let app = http::router(AppState::new(t.db.clone(), HttpConfig::default()));
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("ApiKey {key}"))
        .body(Body::from(r#"{"query":"query History { jobs(first: 5) { totalCount } }","operationName":"History"}"#))
        .unwrap();
    assert_eq!(
        app.clone().oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
    let response = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(
        axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains("jh_graphql_requests_total{operation=\"History\"} 1"),
        "{text}"
    );
    assert!(text.contains("jh_graphql_request_duration_seconds_count{operation=\"History\"} 1"));
    let statements: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("jh_sql_statements_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(statements >= 3, "auth lookup, page and count: {statements}");
    assert!(
        text.contains("jh_process_resident_memory_bytes")
            && text.contains("jh_db_pool_connections")
    );
}
