//! Prometheus metrics, exposed as text at `GET /metrics`: GraphQL requests and their latency
//! per operation name, REST requests and their latency per route, SQL statements executed,
//! pool state, active subscriptions, and the process's resident memory. Operators scrape it;
//! the benchmark reads statements per request and peak memory from it.
//!
//! The `prometheus` crate (without its protobuf and process features: it adds no dependency
//! the service does not already build) keeps the per-operation counters and histogram and
//! writes the text exposition format. What is read at scrape time (the database's counters,
//! the pool, subscriptions, memory) is handed to [`Metrics::render`] as a [`Snapshot`] and
//! written as one sample per family. Operation names are sanitized and bounded here: the
//! crate does not cap label cardinality.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use prometheus::proto::{self, MetricFamily, MetricType};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Latency bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Distinct operation names tracked; later ones are counted as `other` (bounded cardinality).
const MAX_OPERATIONS: usize = 100;

/// Request metrics per GraphQL operation and per REST route.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    errors: IntCounterVec,
    latency: HistogramVec,
    rest_requests: IntCounterVec,
    rest_errors: IntCounterVec,
    rest_latency: HistogramVec,
    /// The operation names with their own label so far.
    operations: Mutex<HashSet<String>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let label = &["operation"];
        let requests = IntCounterVec::new(
            Opts::new(
                "jh_graphql_requests_total",
                "GraphQL requests by operation name.",
            ),
            label,
        );
        let errors = IntCounterVec::new(
            Opts::new(
                "jh_graphql_errors_total",
                "GraphQL requests that returned errors.",
            ),
            label,
        );
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "jh_graphql_request_duration_seconds",
                "GraphQL request latency.",
            )
            .buckets(BUCKETS.to_vec()),
            label,
        );
        // The REST routes: the label is the route's template (`GET /api/jobs/{id}`), a fixed
        // set, so its cardinality is bounded by the router.
        let route = &["route"];
        let rest_requests = IntCounterVec::new(
            Opts::new("jh_rest_requests_total", "REST requests by route."),
            route,
        );
        let rest_errors = IntCounterVec::new(
            Opts::new(
                "jh_rest_errors_total",
                "REST requests answered with an error status (4xx or 5xx).",
            ),
            route,
        );
        let rest_latency = HistogramVec::new(
            HistogramOpts::new("jh_rest_request_duration_seconds", "REST request latency.")
                .buckets(BUCKETS.to_vec()),
            route,
        );
        // Fixed names, help and buckets: these cannot fail.
        let (requests, errors, latency) = (
            requests.expect("valid counter"),
            errors.expect("valid counter"),
            latency.expect("valid histogram"),
        );
        let (rest_requests, rest_errors, rest_latency) = (
            rest_requests.expect("valid counter"),
            rest_errors.expect("valid counter"),
            rest_latency.expect("valid histogram"),
        );
        let registry = Registry::new();
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(errors.clone()),
            Box::new(latency.clone()),
            Box::new(rest_requests.clone()),
            Box::new(rest_errors.clone()),
            Box::new(rest_latency.clone()),
        ] {
            registry.register(collector).expect("distinct metric names");
        }
        Self {
            registry,
            requests,
            errors,
            latency,
            rest_requests,
            rest_errors,
            rest_latency,
            operations: Mutex::default(),
        }
    }
}

/// Gauges read at scrape time.
pub struct Snapshot {
    /// SQL statements executed since start.
    pub statements: u64,
    /// Statements prepared into a connection's statement cache since start.
    pub statements_cached: u64,
    /// Statements held right now in the caches of open connections (bounded, `db::pool`).
    pub statements_cached_live: u64,
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

/// An operation name as a label value: word characters only, at most 64.
fn label(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

impl Metrics {
    /// Records one GraphQL request.
    pub fn observe(&self, operation: Option<&str>, elapsed: Duration, failed: bool) {
        let name = self.bounded(operation);
        let labels = &[name.as_str()];
        self.requests.with_label_values(labels).inc();
        self.errors
            .with_label_values(labels)
            .inc_by(u64::from(failed));
        self.latency
            .with_label_values(labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Records one REST request on `route`, a route template of the router (a fixed set).
    pub fn observe_rest(&self, route: &'static str, elapsed: Duration, failed: bool) {
        let labels = &[route];
        self.rest_requests.with_label_values(labels).inc();
        self.rest_errors
            .with_label_values(labels)
            .inc_by(u64::from(failed));
        self.rest_latency
            .with_label_values(labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The label of `operation`: `anonymous` without a name, `other` once
    /// [`MAX_OPERATIONS`] names have their own.
    fn bounded(&self, operation: Option<&str>) -> String {
        let name = operation
            .map(label)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "anonymous".into());
        // A panic elsewhere while holding the lock leaves at worst one name unrecorded: the
        // set is still good to use, so a poisoned lock is recovered, not a panic for everyone.
        let mut names = self.operations.lock().unwrap_or_else(|p| p.into_inner());
        if names.contains(&name) || names.len() < MAX_OPERATIONS {
            names.insert(name.clone());
            name
        } else {
            "other".into()
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, s: &Snapshot) -> String {
        let mut families = self.registry.gather();
        families.extend(scraped(s));
        let mut out = Vec::new();
        // Writing text into a `Vec` fails only on a malformed family, which these are not.
        if let Err(e) = prometheus::TextEncoder::new().encode(&families, &mut out) {
            tracing::error!(error = %e, "cannot render metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The families read at scrape time, one sample each.
fn scraped(s: &Snapshot) -> Vec<MetricFamily> {
    use MetricType::{COUNTER, GAUGE};
    [
        (
            "jh_sql_statements_total",
            COUNTER,
            "SQL statements executed.",
            s.statements as f64,
        ),
        (
            "jh_sql_statements_cached_total",
            COUNTER,
            "SQL statements prepared and cached by a connection (grows with new query shapes; \
             connections whose cache is full are retired).",
            s.statements_cached as f64,
        ),
        (
            "jh_sql_statements_cached",
            GAUGE,
            "SQL statements held now in open connections' statement caches (at most the pool \
             size times the per-connection bound).",
            s.statements_cached_live as f64,
        ),
        (
            "jh_db_pool_connections",
            GAUGE,
            "Open pooled connections.",
            f64::from(s.pool_connections),
        ),
        (
            "jh_db_pool_idle_connections",
            GAUGE,
            "Idle pooled connections.",
            f64::from(s.pool_idle),
        ),
        (
            "jh_db_pool_waits_total",
            COUNTER,
            "Connection checkouts that waited.",
            s.pool_waits as f64,
        ),
        (
            "jh_db_pool_timeouts_total",
            COUNTER,
            "Connection checkouts that timed out.",
            s.pool_timeouts as f64,
        ),
        (
            "jh_subscriptions_active",
            GAUGE,
            "Subscriptions attached to the event bus.",
            s.subscriptions as f64,
        ),
        (
            "jh_event_listener_connected",
            GAUGE,
            "1 while the job event listener is connected.",
            f64::from(u8::from(s.listener_connected)),
        ),
        (
            "jh_event_listener_connects_total",
            COUNTER,
            "Job event listener (re)connections.",
            s.listener_connects as f64,
        ),
        (
            "jh_process_resident_memory_bytes",
            GAUGE,
            "Resident memory of the process.",
            resident_bytes() as f64,
        ),
    ]
    .into_iter()
    .map(|(name, kind, help, value)| family(name, kind, help, value))
    .collect()
}

/// A family of one sample without labels.
fn family(name: &str, kind: MetricType, help: &str, value: f64) -> MetricFamily {
    let mut metric = proto::Metric::default();
    if kind == MetricType::COUNTER {
        let mut counter = proto::Counter::default();
        counter.set_value(value);
        metric.set_counter(counter);
    } else {
        let mut gauge = proto::Gauge::default();
        gauge.set_value(value);
        metric.set_gauge(gauge);
    }
    let mut family = MetricFamily::default();
    family.set_name(name.into());
    family.set_help(help.into());
    family.set_field_type(kind);
    family.set_metric(vec![metric]);
    family
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
        m.observe_rest("GET /api/jobs/history", Duration::from_millis(2), false);
        m.observe_rest("GET /api/jobs/history", Duration::from_millis(2), true);
        let text = m.render(&Snapshot {
            statements: 7,
            statements_cached: 5,
            statements_cached_live: 4,
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
        assert!(text.contains("jh_rest_requests_total{route=\"GET /api/jobs/history\"} 2"));
        assert!(text.contains("jh_rest_errors_total{route=\"GET /api/jobs/history\"} 1"));
        assert!(
            text.contains("jh_sql_statements_total 7")
                && text.contains("jh_sql_statements_cached_total 5")
                && text.contains("jh_sql_statements_cached 4")
                && text.contains("jh_subscriptions_active 3")
        );
        for name in [
            "jh_graphql_requests_total",
            "jh_graphql_errors_total",
            "jh_graphql_request_duration_seconds",
            "jh_rest_requests_total",
            "jh_rest_errors_total",
            "jh_rest_request_duration_seconds",
            "jh_sql_statements_total",
            "jh_sql_statements_cached_total",
            "jh_sql_statements_cached",
            "jh_db_pool_connections",
            "jh_db_pool_idle_connections",
            "jh_db_pool_waits_total",
            "jh_db_pool_timeouts_total",
            "jh_subscriptions_active",
            "jh_event_listener_connected",
            "jh_event_listener_connects_total",
            "jh_process_resident_memory_bytes",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
        assert!(text.contains(
            "jh_graphql_request_duration_seconds_bucket{operation=\"History\",le=\"+Inf\"} 2"
        ));
    }

    #[test]
    fn operation_names_are_bounded() {
        let m = Metrics::default();
        for i in 0..MAX_OPERATIONS + 5 {
            m.observe(Some(&format!("Op{i}")), Duration::from_millis(1), false);
        }
        m.observe(None, Duration::from_millis(1), false);
        m.observe(Some("Op0"), Duration::from_millis(1), false);
        let text = m.render(&Snapshot {
            statements: 0,
            statements_cached: 0,
            statements_cached_live: 0,
            pool_connections: 0,
            pool_idle: 0,
            pool_waits: 0,
            pool_timeouts: 0,
            subscriptions: 0,
            listener_connected: false,
            listener_connects: 0,
        });
        assert!(text.contains("jh_graphql_requests_total{operation=\"Op0\"} 2"));
        assert!(text.contains("jh_graphql_requests_total{operation=\"other\"} 6"));
        assert!(!text.contains("operation=\"Op100\""));
    }
}
