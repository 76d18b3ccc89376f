//! `GET /graphql/ws`: subscriptions over websockets, with the `graphql-transport-ws` protocol
//! (and the legacy `graphql-ws`). The API key travels in the `connection_init` payload as
//! `{"Authorization": "ApiKey PREFIX.SECRET"}` (also accepted: `authorization`, or inside
//! `headers`); a bad key closes the connection with the authentication error as reason.

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;
use serde_json::Value;

use super::AppState;

/// The `Authorization` value of a `connection_init` payload.
fn authorization(payload: &Value) -> Option<String> {
    let pick = |v: &Value| {
        ["Authorization", "authorization"]
            .iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
    };
    pick(payload).or_else(|| payload.get("headers").and_then(pick))
}

/// Upgrades to a GraphQL websocket.
pub async fn handle(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = state.schema.clone();
    let auth = state.auth.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let caller = auth
                        .authenticate(authorization(&payload).as_deref(), crate::db::now())
                        .await
                        .map_err(|e| async_graphql::Error::new(e.message()))?;
                    let mut data = Data::default();
                    data.insert(caller);
                    Ok(data)
                })
                .serve()
        })
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
}
