//! The websocket runs the same pipeline as HTTP, through a real listener and a real
//! websocket client: loaders (nested fields answer as over HTTP), the key's rate limit, the
//! key re-checked (a revoked key's socket closes with 4403), and the socket's own limits —
//! `connection_init` deadline (4408), message size (1009), operations per connection, sockets
//! per key (4429) — with graphql-transport-ws close codes.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use common::TestDb;
use common::ws::{Client, Server};
use job_history::domain::Role;
use job_history::http::rate_limit::Rate;
use job_history::http::{self, AppState, HttpConfig};
use serde_json::{Value, json};

async fn server(t: &TestDb, config: HttpConfig) -> Server {
    Server::start(&t.db, config).await
}

const PROTOCOL: &str = "graphql-transport-ws";

const NESTED: &str =
    "{ jobs(first: 2) { nodes { jobIdentifier user { email } jobInputs { identifier } } } }";

/// The `next` payload of operation `id`, skipping its `complete`.
async fn answer(ws: &mut Client) -> Value {
    loop {
        let m = ws.next().await;
        match m["type"].as_str() {
            Some("next") => return m["payload"].clone(),
            Some("complete") => continue,
            _ => panic!("expected an answer, got {m}"),
        }
    }
}

backend_tests! {
    async fn a_query_over_the_socket_answers_as_over_http(t: TestDb) {
        job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(20)).await.unwrap();
        let key = common::issue_key(&t.db, "Acme", "ws@acme.test", Role::Admin).await;
        let srv = server(&t, HttpConfig::default()).await;
        let over_http = common::post_graphql(&srv.http, &key, NESTED, json!({})).await;
        assert!(over_http.get("errors").is_none(), "{over_http}");
        assert_eq!(over_http["data"]["jobs"]["nodes"].as_array().unwrap().len(), 2);
        let (mut ws, ack) = Client::connect(&srv.url, PROTOCOL, &key).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        ws.subscribe("q", NESTED, json!({})).await;
        let payload = answer(&mut ws).await;
        assert_eq!(payload, over_http, "the socket answers what HTTP answers");

        // The document limits apply on the socket too.
        let aliases: String = (0..31).map(|i| format!("a{i}: __typename ")).collect();
        ws.subscribe("a", &format!("{{ viewer {{ {aliases} }} }}"), json!({})).await;
        let payload = answer(&mut ws).await;
        assert_eq!(payload["errors"][0]["extensions"]["code"], "TOO_MANY_ALIASES", "{payload}");
    }

    async fn operations_on_a_socket_count_against_the_key_rate(t: TestDb) {
        let key = common::issue_key(&t.db, "Acme", "rate@acme.test", Role::User).await;
        let nz = |n| NonZeroU32::new(n).unwrap();
        let mut config = HttpConfig { rate_limit: Some(Rate { per_second: nz(1), burst: nz(20) }), ..Default::default() };
        config.ws.max_operations = 1_000; // this test is about the rate, not the operations in flight
        let srv = server(&t, config).await;
        let (mut ws, ack) = Client::connect(&srv.url, PROTOCOL, &key).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        for i in 0..300 {
            ws.subscribe(&i.to_string(), "{ viewer { keyPrefix } }", json!({})).await;
        }
        let mut limited = 0;
        for _ in 0..300 {
            let payload = answer(&mut ws).await;
            if payload["errors"][0]["extensions"]["code"] == "RATE_LIMITED" {
                limited += 1;
            }
        }
        // 20 of burst, plus at most a few refilled while the test ran.
        assert!(limited >= 250, "{limited} of 300 operations were rate limited");
    }

    async fn a_revoked_key_closes_its_sockets(t: TestDb) {
        let key = common::issue_key(&t.db, "Acme", "revoke@acme.test", Role::User).await;
        let config = HttpConfig { auth_cache_ttl: Duration::from_millis(200), ..Default::default() };
        let srv = server(&t, config).await;
        let (mut ws, ack) = Client::connect(&srv.url, PROTOCOL, &key).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let prefix = key.split('.').next().unwrap().to_string();
        {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use job_history::db::schema::api_keys;
            let db = &t.db;
            let now = job_history::db::now();
            let run = async {
                job_history::with_conn!(db, conn => {
                    Ok(diesel::update(api_keys::table.filter(api_keys::prefix.eq(&prefix)))
                        .set(api_keys::revoked_at.eq(Some(now)))
                        .execute(conn)
                        .await?)
                })
            };
            assert_eq!(run.await.unwrap(), 1);
        }
        // Closed within the auth TTL plus the re-check interval (the client waits up to 20 s).
        let closed = ws.next().await;
        assert_eq!(closed["type"], "close", "{closed}");
        assert_eq!(closed["code"], 4403, "{closed}");
        assert!(closed["reason"].as_str().unwrap().contains("revoked"), "{closed}");
    }

    async fn socket_limits_and_close_codes(t: TestDb) {
        let key = common::issue_key(&t.db, "Acme", "limits@acme.test", Role::User).await;
        let mut config = HttpConfig { max_body_bytes: 1_000, ..Default::default() };
        config.ws.init_timeout = Duration::from_millis(300);
        config.ws.max_operations = 2;
        config.ws.max_connections_per_key = 1;
        let srv = server(&t, config).await;

        // A bad key: 4403 Forbidden.
        let (_, closed) = Client::connect(&srv.url, PROTOCOL, "nope.nope").await;
        assert_eq!((closed["type"].as_str(), closed["code"].as_u64()), (Some("close"), Some(4403)), "{closed}");
        assert!(closed["reason"].as_str().unwrap().contains("unknown API key"), "{closed}");

        // No connection_init in time: 4408.
        let mut silent = Client::open(&srv.url, PROTOCOL).await;
        let closed = silent.next().await;
        assert_eq!(closed["code"], 4408, "{closed}");

        let (mut ws, ack) = Client::connect(&srv.url, PROTOCOL, &key).await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");

        // A second socket for the same key: 4429.
        let (_, closed) = Client::connect(&srv.url, PROTOCOL, &key).await;
        assert_eq!(closed["code"], 4429, "{closed}");

        // Operations in flight: subscriptions run until stopped; the third is refused.
        let events = "subscription { jobEvents { jobIdentifier } }";
        ws.subscribe("s1", events, json!({})).await;
        ws.subscribe("s2", events, json!({})).await;
        ws.subscribe("s3", events, json!({})).await;
        let refused = ws.next().await;
        assert_eq!(refused["id"], "s3", "{refused}");
        assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "TOO_MANY_OPERATIONS", "{refused}");

        // A message over the size limit: 1009.
        ws.subscribe("big", &format!("{{ viewer {{ keyPrefix }} }} # {}", "x".repeat(2_000)), json!({})).await;
        loop {
            let m = ws.next().await;
            if m["type"] == "close" {
                assert_eq!(m["code"], 1009, "{m}");
                break;
            }
            assert_eq!(m["type"], "complete", "only the refused operation's completion before: {m}");
        }
    }
}

/// A client that sends half a request line and nothing more is disconnected after the
/// header-read timeout (axum::serve kept such connections open forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_disconnected_after_the_header_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestDb::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = http::router(AppState::new(t.db.clone(), HttpConfig::default()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(http::server::serve_with(
        listener,
        app,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(1),
        Duration::from_millis(300),
    ));
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HT").await.unwrap();
    let mut buf = Vec::new();
    // The server closes the connection (EOF, or a reset): the read ends instead of hanging.
    let read = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the connection was still open after 20 s");
    // A complete request on a fresh connection still answers.
    let mut ok = tokio::net::TcpStream::connect(addr).await.unwrap();
    ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(20), ok.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let _ = stop.send(());
}
