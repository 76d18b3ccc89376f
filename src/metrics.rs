//! Prometheus metrics, exposed as text at `GET /metrics`: GraphQL requests and their latency
//! per operation name, SQL statements executed, pool state, active subscriptions, and the
//! process's resident memory. Operators scrape it; the benchmark reads statements per request
//! and peak memory from it.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Distinct operation names tracked; later ones are counted as `other` (bounded cardinality).
const MAX_OPERATIONS: usize = 100;

#[derive(Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
    errors: u64,
}

/// Request metrics per GraphQL operation.
#[derive(Default)]
pub struct Metrics {
    operations: Mutex<HashMap<String, Histogram>>,
}

/// Gauges read at scrape time.
pub struct Snapshot {
    /// SQL statements executed since start.
    pub statements: u64,
    /// Statements prepared into a connection's statement cache since start.
    pub statements_cached: u64,
    /// Connections open in the pool.
    pub pool_connections: u32,
    /// Idle connections in the pool.
    pub pool_idle: u32,
    /// Pool checkouts that had to wait.
    pub pool_waits: u64,
    /// Pool checkouts that timed out.
    pub pool_timeouts: u64,
    /// Subscriptions currently attached.
    pub subscriptions: usize,
    /// Whether the job event listener is connected (always on SQLite).
    pub listener_connected: bool,
    /// How many times the event listener has (re)connected.
    pub listener_connects: u64,
}

fn label(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

impl Metrics {
    /// Records one GraphQL request.
    pub fn observe(&self, operation: Option<&str>, elapsed: Duration, failed: bool) {
        let name = operation
            .map(label)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "anonymous".into());
        // A panic elsewhere while holding the lock leaves at worst one count unrecorded: the
        // map is still good to use, so a poisoned lock is recovered, not a panic for everyone.
        let mut ops = self.operations.lock().unwrap_or_else(|p| p.into_inner());
        let key = if ops.contains_key(&name) || ops.len() < MAX_OPERATIONS {
            name
        } else {
            "other".into()
        };
        let h = ops.entry(key).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
        h.errors += u64::from(failed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, s: &Snapshot) -> String {
        let mut out = String::new();
        let ops = self
            .operations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut names: Vec<_> = ops.keys().cloned().collect();
        names.sort();
        let _ = writeln!(
            out,
            "# HELP jh_graphql_requests_total GraphQL requests by operation name."
        );
        let _ = writeln!(out, "# TYPE jh_graphql_requests_total counter");
        for n in &names {
            let _ = writeln!(
                out,
                "jh_graphql_requests_total{{operation=\"{n}\"}} {}",
                ops[n].count
            );
        }
        let _ = writeln!(
            out,
            "# HELP jh_graphql_errors_total GraphQL requests that returned errors."
        );
        let _ = writeln!(out, "# TYPE jh_graphql_errors_total counter");
        for n in &names {
            let _ = writeln!(
                out,
                "jh_graphql_errors_total{{operation=\"{n}\"}} {}",
                ops[n].errors
            );
        }
        let _ = writeln!(
            out,
            "# HELP jh_graphql_request_duration_seconds GraphQL request latency."
        );
        let _ = writeln!(out, "# TYPE jh_graphql_request_duration_seconds histogram");
        for n in &names {
            let h = &ops[n];
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "jh_graphql_request_duration_seconds_bucket{{operation=\"{n}\",le=\"{bound}\"}} {}",
                    h.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "jh_graphql_request_duration_seconds_bucket{{operation=\"{n}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "jh_graphql_request_duration_seconds_sum{{operation=\"{n}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "jh_graphql_request_duration_seconds_count{{operation=\"{n}\"}} {}",
                h.count
            );
        }
        let gauges = [
            (
                "jh_sql_statements_total",
                "counter",
                "SQL statements executed.",
                s.statements.to_string(),
            ),
            (
                "jh_sql_statements_cached_total",
                "counter",
                "SQL statements prepared and cached by a connection (flat once each connection has met every query shape).",
                s.statements_cached.to_string(),
            ),
            (
                "jh_db_pool_connections",
                "gauge",
                "Open pooled connections.",
                s.pool_connections.to_string(),
            ),
            (
                "jh_db_pool_idle_connections",
                "gauge",
                "Idle pooled connections.",
                s.pool_idle.to_string(),
            ),
            (
                "jh_db_pool_waits_total",
                "counter",
                "Connection checkouts that waited.",
                s.pool_waits.to_string(),
            ),
            (
                "jh_db_pool_timeouts_total",
                "counter",
                "Connection checkouts that timed out.",
                s.pool_timeouts.to_string(),
            ),
            (
                "jh_subscriptions_active",
                "gauge",
                "Subscriptions attached to the event bus.",
                s.subscriptions.to_string(),
            ),
            (
                "jh_event_listener_connected",
                "gauge",
                "1 while the job event listener is connected.",
                u8::from(s.listener_connected).to_string(),
            ),
            (
                "jh_event_listener_connects_total",
                "counter",
                "Job event listener (re)connections.",
                s.listener_connects.to_string(),
            ),
            (
                "jh_process_resident_memory_bytes",
                "gauge",
                "Resident memory of the process.",
                resident_bytes().to_string(),
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

/// Resident set size from `/proc/self/statm` (0 where unavailable).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_buckets_and_bounded_labels() {
        let m = Metrics::default();
        m.observe(Some("History"), Duration::from_millis(3), false);
        m.observe(Some("History"), Duration::from_millis(30), true);
        m.observe(Some("bad\"label}"), Duration::from_millis(1), false);
        let text = m.render(&Snapshot {
            statements: 7,
            statements_cached: 5,
            pool_connections: 2,
            pool_idle: 1,
            pool_waits: 0,
            pool_timeouts: 0,
            subscriptions: 3,
            listener_connected: true,
            listener_connects: 2,
        });
        assert!(text.contains("jh_graphql_requests_total{operation=\"History\"} 2"));
        assert!(text.contains("jh_graphql_errors_total{operation=\"History\"} 1"));
        assert!(text.contains(
            "jh_graphql_request_duration_seconds_bucket{operation=\"History\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "jh_graphql_request_duration_seconds_bucket{operation=\"History\",le=\"0.05\"} 2"
        ));
        assert!(text.contains("operation=\"badlabel\""));
        assert!(
            text.contains("jh_sql_statements_total 7")
                && text.contains("jh_sql_statements_cached_total 5")
                && text.contains("jh_subscriptions_active 3")
        );
    }
}
