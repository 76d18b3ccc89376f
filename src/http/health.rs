//! `GET /healthz` (the process answers), `GET /readyz` (the database answers and every
//! migration is applied), for load balancers and orchestrators, and `GET /metrics`
//! (Prometheus) for monitoring. The readiness answer is kept for [`READINESS_TTL`]: probes
//! from every load balancer (or anyone, it needs no key) cost at most one database check per
//! second, and concurrent probes wait for that one check.

use std::time::{Duration, Instant};

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

/// How long a readiness answer is reused.
pub const READINESS_TTL: Duration = Duration::from_secs(1);

/// The last readiness answer (`Err`: why not ready) and when it was found.
#[derive(Default)]
pub struct Readiness {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), &'static str>)>>,
    checks: std::sync::atomic::AtomicU64,
}

impl Readiness {
    /// How many times the database was checked.
    pub fn checks(&self) -> u64 {
        self.checks.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Readiness: 200 when the database answers and is fully migrated, else 503 with the reason.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let answer = {
        let mut last = state.readiness.last.lock().await;
        match *last {
            Some((at, answer)) if at.elapsed() < READINESS_TTL => answer,
            _ => {
                state
                    .readiness
                    .checks
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let answer = check(&state).await;
                *last = Some((Instant::now(), answer));
                answer
            }
        }
    };
    match answer {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": reason })),
        ),
    }
}

async fn check(state: &AppState) -> Result<(), &'static str> {
    if let Err(e) = state.db.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return Err("database unreachable");
    }
    match state
        .db
        .read(async |c| migrate::is_up_to_date(c).await)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err("migrations pending"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read migrations");
            Err("migrations pending")
        }
    }
}

/// Prometheus metrics in the text exposition format.
pub async fn metrics(State(state): State<AppState>) -> impl axum::response::IntoResponse {
    let (connections, idle, waits, timeouts) = state.db.pool_state();
    let snapshot = crate::metrics::Snapshot {
        statements: state.db.stats().statements(),
        statements_cached: state.db.stats().cached(),
        statements_cached_live: state.db.stats().cached_live(),
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
