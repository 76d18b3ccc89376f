//! A minimal `graphql-transport-ws` client over a real websocket (tokio-tungstenite), with
//! every wait bounded.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Longest any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A connected client.
pub struct Client {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Client {
    /// Opens a websocket to `url` with `protocol`, sending nothing.
    pub async fn open(url: &str, protocol: &str) -> Self {
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("connect in time")
            .expect("connect");
        Self { ws }
    }

    /// Connects to `url` (`ws://…/graphql/ws`) with `protocol` and sends `connection_init`
    /// with `key`; returns the client and the server's first answer.
    pub async fn connect(url: &str, protocol: &str, key: &str) -> (Self, Value) {
        let mut client = Self::open(url, protocol).await;
        client.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("ApiKey {key}") } })).await;
        let first = client.next().await;
        (client, first)
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
    }

    /// Subscribes (`graphql-transport-ws`).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } })).await;
    }

    /// The next JSON message (pings are answered and skipped); a close frame comes back as
    /// `{"type": "close", "code": …, "reason": …}`.
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    if v["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return v;
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((0, String::new()));
                    return json!({ "type": "close", "code": code, "reason": reason });
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return json!({ "type": "error", "reason": e.to_string() }),
                None => return json!({ "type": "close", "code": 0, "reason": "" }),
            }
        }
    }
}

/// A real `serve` on a loopback port over a test database, stopped when dropped.
pub struct Server {
    /// The websocket endpoint (`ws://…/graphql/ws`).
    pub url: String,
    /// The HTTP endpoint (`http://…/graphql`).
    pub http: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Server {
    /// Serves `db` with `config` on a free loopback port (the real listener and router).
    pub async fn start(db: &job_history::db::Db, config: job_history::http::HttpConfig) -> Self {
        use job_history::http::{self, AppState};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = http::router(AppState::new(db.clone(), config));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(http::server::serve(
            listener,
            app,
            async move {
                let _ = stopped.await;
            },
            std::time::Duration::from_secs(1),
        ));
        Self {
            url: format!("ws://{addr}/graphql/ws"),
            http: format!("http://{addr}/graphql"),
            stop: Some(stop),
        }
    }
}
