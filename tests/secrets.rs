//! No answer and no log line ever repeats an API key's secret. Real bad keys (a good prefix
//! with a wrong secret, malformed headers carrying a real secret, revoked, expired, unknown
//! prefixes) go to a real server over HTTP (POST and GET) and over the websocket; every status
//! line, header, body, close reason and every line the service logged (all levels, captured
//! from `tracing`) is searched for the secrets sent.

mod common;

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use common::ws::{Client, Server};
use job_history::domain::Role;
use job_history::http::HttpConfig;
use serde_json::json;

/// Everything the service logged in this process.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// A `tracing` writer appending to [`LOG`].
struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every event of every level to [`LOG`] (once per process).
fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| Capture)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
    });
}

/// Fails when `text` (from `whence`) contains any of `secrets`.
fn assert_clean(secrets: &[&str], whence: &str, text: &str) {
    for secret in secrets {
        assert!(!text.contains(secret), "{whence} echoes a secret: {text}");
    }
}

const QUERY: &str = "{ jobs(first: 1) { totalCount } }";

backend_tests! {
    async fn messages_never_echo_the_secret(t: TestDb) {
        capture_logs();
        let good = common::issue_key(&t.db, "Acme", "good@example.com", Role::User).await;
        let revoked = common::issue_key(&t.db, "Acme", "revoked@example.com", Role::User).await;
        let expired = common::issue_key(&t.db, "Acme", "expired@example.com", Role::User).await;
        common::revoke_key(&t.db, &revoked).await;
        common::expire_key(&t.db, &expired).await;
        let secret = |key: &str| key.split_once('.').unwrap().1.to_string();
        let (prefix, good_secret) = good.split_once('.').unwrap();
        let wrong = "WrongSecretWrongSecret0123";
        let secrets = [good_secret, wrong, &secret(&revoked), &secret(&expired)];
        // Each is a whole `Authorization` value carrying one of `secrets`.
        let bad = [
            format!("ApiKey {prefix}.{wrong}"),
            format!("ApiKey {good}!"),
            format!("ApiKey {good} {good}"),
            format!("Bearer {good}"),
            good.clone(),
            format!("ApiKey {good_secret}"),
            format!("ApiKey {revoked}"),
            format!("ApiKey {expired}"),
            format!("ApiKey UnknownPrefix0042.{good_secret}"),
        ];
        // The default auth cache (keys cached, unknown prefixes remembered): the paths a
        // deployment takes, twice each so cached answers are seen too.
        let server = Server::start(&t.db, HttpConfig::default()).await;
        let http = reqwest::Client::new();
        for authorization in bad.iter().chain(&bad) {
            let post = http
                .post(&server.http)
                .header("authorization", authorization)
                .json(&json!({ "query": QUERY }))
                .send()
                .await
                .unwrap();
            let get = http
                .get(format!("{}?query={}", server.http, url::form_urlencoded::byte_serialize(QUERY.as_bytes()).collect::<String>()))
                .header("authorization", authorization)
                .header("accept", common::http::GQL)
                .send()
                .await
                .unwrap();
            for response in [post, get] {
                let status = response.status();
                assert!(status.is_client_error(), "{authorization}: {status}");
                let headers = format!("{:?}", response.headers());
                assert_clean(&secrets, "a header", &headers);
                let body = response.text().await.unwrap();
                assert_clean(&secrets, "a body", &body);
                assert!(body.contains("UNAUTHENTICATED"), "{authorization}: {body}");
            }

            let mut ws = Client::open(&server.url, "graphql-transport-ws").await;
            ws.send(json!({ "type": "connection_init", "payload": { "Authorization": authorization } })).await;
            let answer = ws.next().await;
            assert_eq!((answer["type"].as_str(), answer["code"].as_u64()), (Some("close"), Some(4403)), "{authorization}: {answer}");
            assert_clean(&secrets, "a websocket close", &answer.to_string());
        }
        drop(server);

        let log = String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned();
        assert!(log.contains("/graphql"), "the service's logs were captured: {log}");
        for line in log.lines() {
            assert_clean(&secrets, "a log line", line);
        }
    }
}
