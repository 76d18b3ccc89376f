//! Health and readiness through the real router, and graceful shutdown of the real server.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use common::TestDb;
use job_history::http::{self, HttpConfig};

fn app(db: &job_history::db::Db) -> axum::Router {
    common::http::app(db, HttpConfig::default())
}

async fn get(app: axum::Router, path: &str) -> (StatusCode, serde_json::Value) {
    let reply = common::http::get(app, path).await;
    (reply.status, reply.json())
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
        let reply = common::http::post(&t.db, &key, "{ models { identifier } }", serde_json::json!({})).await;
        assert_eq!(reply.status, StatusCode::OK);
        let body = reply.json();
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

/// Draining, proven: a request is held in flight by the test, shutdown starts, new connections
/// are refused while that request is still open, and only then is it released — and it
/// completes. (Releasing it before shutdown started would prove nothing.)
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
    // The server closes its listener when shutdown starts: wait for that (each try is a
    // connection attempt, bounded in time), while the handler is still held.
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("new connections are refused once shutdown starts");
    assert!(!request.is_finished(), "the request is still in flight");
    assert!(!server.is_finished(), "the server waits for it");
    release.notify_one();
    let response = request.await.unwrap().expect("in-flight request completes");
    assert_eq!(response.status(), StatusCode::OK);
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
    let app = app(&t.db);
    let body =
        r#"{"query":"query History { jobs(first: 5) { totalCount } }","operationName":"History"}"#;
    let request = common::http::graphql_post(Some(&common::http::api_key(&key)))
        .body(Body::from(body))
        .unwrap();
    assert_eq!(
        common::http::send(app.clone(), request).await.status,
        StatusCode::OK
    );
    let reply = common::http::get(app, "/metrics").await;
    assert!(reply.content_type().starts_with("text/plain"));
    let text = reply.text();
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
