//! `GET /healthz` (the process answers), `GET /readyz` (the database answers and every
//! migration is applied), for load balancers and orchestrators, and `GET /metrics`
//! (Prometheus) for monitoring.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::AppState;
use crate::db::migrate;

/// Liveness: always 200 while the process serves requests.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 200 when the database answers and is fully migrated, else 503 with the reason.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let not_ready = |reason: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": reason })),
        )
    };
    if let Err(e) = state.db.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return not_ready("database unreachable");
    }
    match migrate::is_up_to_date(&state.db).await {
        Ok(true) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Ok(false) => not_ready("migrations pending"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read migrations");
            not_ready("migrations pending")
        }
    }
}

/// Prometheus metrics in the text exposition format.
pub async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let (connections, idle, waits, timeouts) = state.db.pool_state();
    let snapshot = crate::metrics::Snapshot {
        statements: state.db.stats().statements(),
        statements_cached: state.db.stats().cached(),
        pool_connections: connections,
        pool_idle: idle,
        pool_waits: waits,
        pool_timeouts: timeouts,
        subscriptions: state.events.subscribers(),
        listener_connected: state.events.status().connected(),
        listener_connects: state.events.status().connects(),
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&snapshot),
    )
}
