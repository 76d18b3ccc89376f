//! `GET /graphql/ws`: GraphQL over websockets, with the `graphql-transport-ws` protocol (and
//! the legacy `graphql-ws`). The API key travels in the `connection_init` payload as
//! `{"Authorization": "ApiKey PREFIX.SECRET"}` (also accepted: `authorization`, or inside
//! `headers`).
//!
//! Every operation started on a socket goes through the same pipeline as an HTTP request
//! ([`super::pipeline`]): the key is checked again (cached for the auth TTL) and its rate limit
//! counted, then the caller, per-request loaders and the document limits are applied
//! ([`crate::graphql::execute_stream`]). Besides, per connection: `connection_init` must come
//! within `WS_INIT_TIMEOUT_MS`, at most `WS_MAX_OPERATIONS` operations run at once, a
//! message is at most `MAX_BODY_BYTES`, and the key is re-checked every half auth TTL so a
//! revoked or expired key's sockets close. Per key: at most `WS_MAX_CONNECTIONS_PER_KEY`
//! sockets on this replica.
//!
//! Close codes (graphql-transport-ws): 4403 Forbidden (bad, missing, revoked or expired key),
//! 4400 (a message the protocol does not allow), 4408 (no `connection_init` in time), 4429
//! (a second `connection_init`, too many sockets for the key, or its rate exceeded at
//! `connection_init`), 1011 (the key store cannot be read), 1009 (a message over the size
//! limit). Refusals are [`ApiError`]s: their close code is [`ApiError::close_code`], their
//! reason the error's message, and an operation refused sends the error with its code.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::http::{
    ALL_WEBSOCKET_PROTOCOLS, WebSocket as Protocol, WebSocketProtocols, WsMessage,
};
use async_graphql::{Data, Executor, Request, Response};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::{Extension, response::IntoResponse};
use futures_util::SinkExt;
use serde_json::Value;

use super::AppState;
use crate::auth::Caller;
use crate::graphql::error::{ApiError, Limit};

pub use crate::graphql::error::close::{FORBIDDEN, TOO_MANY};

/// A message the protocol does not allow.
pub const BAD_REQUEST: u16 = 4400;
/// No `connection_init` within the deadline.
pub const INIT_TIMEOUT: u16 = 4408;
/// A message over the size limit (RFC 6455).
pub const TOO_BIG: u16 = 1009;

/// The `Authorization` value of a `connection_init` payload.
fn authorization(payload: &Value) -> Option<String> {
    let pick = |v: &Value| {
        ["Authorization", "authorization"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
    };
    pick(payload).or_else(|| payload.get("headers").and_then(pick))
}

/// Open sockets per key prefix.
#[derive(Default)]
pub struct SocketCounts(Mutex<HashMap<String, usize>>);

impl SocketCounts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        // One map operation per critical section: a poisoned lock is still consistent.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one more socket for `prefix` unless it already has `max`.
    fn open(self: &Arc<Self>, prefix: &str, max: usize) -> Option<SocketSlot> {
        let mut counts = self.lock();
        let n = counts.entry(prefix.to_string()).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(SocketSlot(Arc::clone(self), prefix.to_string()))
    }
}

/// One counted socket; uncounted when dropped.
struct SocketSlot(Arc<SocketCounts>, String);

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut counts = self.0.lock();
        if let Some(n) = counts.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.1);
            }
        }
    }
}

/// What one connection knows about itself.
#[derive(Default)]
struct Connection {
    /// The `Authorization` of `connection_init`, once accepted.
    authorization: Mutex<Option<String>>,
    /// Its socket slot, held for the connection's life.
    slot: Mutex<Option<SocketSlot>>,
    /// Operations running.
    running: AtomicUsize,
    /// A close to send instead of the protocol's (code, reason).
    close: Mutex<Option<(u16, String)>>,
    /// Woken when `close` is set from an operation.
    closing: tokio::sync::Notify,
}

impl Connection {
    fn set_close(&self, code: u16, reason: String) {
        let mut close = self.close.lock().unwrap_or_else(|p| p.into_inner());
        close.get_or_insert((code, reason));
        drop(close);
        self.closing.notify_one();
    }

    fn take_close(&self) -> Option<(u16, String)> {
        self.close.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn authorization(&self) -> Option<String> {
        self.authorization
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The executor of one connection's operations: the shared pipeline, per operation.
#[derive(Clone)]
struct SocketExecutor {
    state: AppState,
    connection: Arc<Connection>,
    client: Option<std::net::IpAddr>,
}

/// Uncounts an operation when its stream ends or is dropped.
struct Running(Arc<Connection>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: Request) -> Response {
        // The protocol only streams; a single answer is the stream's first.
        self.execute_stream(request, None)
            .next()
            .await
            .unwrap_or_default()
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
        let max = this.state.config.ws.max_operations;
        if this.connection.running.fetch_add(1, Ordering::Relaxed) >= max {
            this.connection.running.fetch_sub(1, Ordering::Relaxed);
            let error = ApiError::Limit(
                Limit::Operations,
                format!(
                    "{max} operations are already running on this connection; wait for one to \
                     complete"
                ),
            );
            return refused(&error);
        }
        let running = Running(Arc::clone(&this.connection));
        stream::once(async move {
            let authorization = this.connection.authorization();
            let admitted: Result<Option<Caller>, ApiError> = this
                .state
                .admit(authorization.as_deref(), this.client, || false)
                .await;
            match admitted {
                Ok(caller) => crate::graphql::execute_stream(
                    &this.state.schema,
                    &this.state.db,
                    caller,
                    request,
                    session_data,
                ),
                Err(refusal) => {
                    // A key that stopped working ends the socket; a rate limit only the
                    // operation.
                    if let ApiError::Unauthenticated(message) = &refusal {
                        this.connection
                            .set_close(refusal.close_code(), message.clone());
                    }
                    refused(&refusal)
                }
            }
        })
        .flatten()
        .map(move |response| {
            let _ = &running; // held until the operation's stream is dropped
            response
        })
        .boxed()
    }
}

/// Upgrades to a GraphQL websocket.
pub async fn handle(
    State(state): State<AppState>,
    connect_info: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> axum::response::Response {
    // The protocol the client asked for, as async-graphql-axum's extractor reads it.
    let Some(protocol) = headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .and_then(|protocols| {
            protocols
                .split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        })
    else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "ask for the graphql-transport-ws (or graphql-ws) subprotocol",
        )
            .into_response();
    };
    let client = connect_info.map(|Extension(ConnectInfo(addr))| addr.ip());
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(state.config.max_body_bytes)
        .on_upgrade(move |socket| serve(socket, state, protocol, client))
        .into_response()
}

/// Runs one connection to its end.
async fn serve(
    socket: WebSocket,
    state: AppState,
    protocol: WebSocketProtocols,
    client: Option<std::net::IpAddr>,
) {
    let connection = Arc::new(Connection::default());
    let (mut sink, incoming) = futures_util::StreamExt::split(socket);
    let input = {
        let connection = Arc::clone(&connection);
        incoming
            .take_while(move |message| {
                let ok = match message {
                    Ok(_) => true,
                    Err(e) => {
                        if is_too_big(e) {
                            connection.set_close(TOO_BIG, "message too big".into());
                        }
                        false
                    }
                };
                std::future::ready(ok)
            })
            .filter_map(|message| {
                std::future::ready(match message {
                    Ok(Message::Text(text)) => Some(axum::body::Bytes::from(text)),
                    Ok(Message::Binary(bytes)) => Some(bytes),
                    _ => None,
                })
            })
    };
    let executor = SocketExecutor {
        state: state.clone(),
        connection: Arc::clone(&connection),
        client,
    };
    let init = {
        let (state, connection) = (state.clone(), Arc::clone(&connection));
        move |payload: Value| async move {
            let header = authorization(&payload);
            let caller = match state.admit(header.as_deref(), client, || false).await {
                Ok(Some(caller)) => caller,
                Ok(None) => unreachable!("anonymous sockets are not admitted"),
                Err(refusal) => return Err(refuse_init(&connection, refusal)),
            };
            let max = state.config.ws.max_connections_per_key;
            let Some(slot) = state.sockets.open(&caller.prefix, max) else {
                let message = format!("this API key already has {max} open websockets");
                let refusal = ApiError::Limit(Limit::Connections, message);
                return Err(refuse_init(&connection, refusal));
            };
            *connection.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(slot);
            *connection
                .authorization
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = header;
            let mut data = Data::default();
            data.insert(caller);
            Ok(data)
        }
    };
    let mut messages = Protocol::new(executor, input, protocol).on_connection_init(init);
    let deadline = tokio::time::sleep(state.config.ws.init_timeout);
    tokio::pin!(deadline);
    let recheck_every = (state.config.auth_cache_ttl / 2).max(std::time::Duration::from_millis(50));
    let mut recheck = tokio::time::interval(recheck_every);
    let mut acknowledged = false;
    let close: Option<(u16, String)> = loop {
        tokio::select! {
            message = messages.next() => match message {
                Some(WsMessage::Text(text)) => {
                    acknowledged |= text.contains("\"connection_ack\"");
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break None;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    // The protocol closes with 1002 for a refused init and for a malformed
                    // message: say which.
                    break Some(connection.take_close().unwrap_or(match code {
                        1002 => (BAD_REQUEST, reason),
                        other => (other, reason),
                    }));
                }
                None => break connection.take_close(),
            },
            () = &mut deadline, if !acknowledged => {
                break Some((INIT_TIMEOUT, "Connection initialisation timeout".into()));
            }
            () = connection.closing.notified() => break connection.take_close(),
            _ = recheck.tick(), if acknowledged => {
                let header = connection.authorization();
                let now = crate::db::now();
                if let Err(e) = state.auth.authenticate(header.as_deref(), now).await
                    && e != crate::auth::AuthError::Unavailable
                {
                    let refusal = ApiError::from(e);
                    break Some((refusal.close_code(), refusal.message()));
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: reason.chars().take(120).collect::<String>().into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
}

/// An operation's only answer: `error`.
fn refused(error: &ApiError) -> BoxStream<'static, Response> {
    let error = error.to_server_error();
    stream::once(async move { Response::from_errors(vec![error]) }).boxed()
}

/// Refuses a `connection_init`: the socket closes with the error's close code and message,
/// and the legacy protocol's `connection_error` payload carries its code.
fn refuse_init(connection: &Connection, refusal: ApiError) -> async_graphql::Error {
    connection.set_close(refusal.close_code(), refusal.message());
    refusal.into()
}

/// Whether a websocket error is a message over the size limit.
fn is_too_big(e: &axum::Error) -> bool {
    let text = e.to_string();
    text.contains("too long") || text.contains("too big") || text.contains("Space limit")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_key_is_found_where_clients_put_it() {
        assert_eq!(
            authorization(&json!({ "Authorization": "ApiKey a.b" })).as_deref(),
            Some("ApiKey a.b")
        );
        assert_eq!(
            authorization(&json!({ "authorization": "ApiKey a.b" })).as_deref(),
            Some("ApiKey a.b")
        );
        assert_eq!(
            authorization(&json!({ "headers": { "Authorization": "ApiKey a.b" } })).as_deref(),
            Some("ApiKey a.b")
        );
        assert_eq!(authorization(&json!({})), None);
    }

    #[test]
    fn sockets_per_key_are_counted_and_released() {
        let counts = Arc::new(SocketCounts::default());
        let a = counts.open("k", 2).expect("first");
        let _b = counts.open("k", 2).expect("second");
        assert!(counts.open("k", 2).is_none(), "third refused");
        assert!(counts.open("other", 2).is_some(), "per key");
        drop(a);
        assert!(counts.open("k", 2).is_some(), "released on drop");
    }
}
