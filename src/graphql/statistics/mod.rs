//! `jobStatistics` and `jobStatisticsUpdated`: job counts by status, inputs, bytes and
//! latency percentiles per time bucket and group, for dashboards. The buckets' calendar
//! ([`calendar`]: IANA zones, daylight-saving days), the answer's objects ([`types`]), the
//! resolver ([`resolve`]); the figures themselves come from [`crate::db::statistics`].

pub mod calendar;
pub mod cost;
pub mod live;
pub mod resolve;
pub mod types;

use async_graphql::SelectionField;

/// Whether `field`'s selection asks, at any depth (fragments included), for a field named in
/// `names`.
pub fn selects(field: SelectionField<'_>, names: &[&str]) -> bool {
    field
        .selection_set()
        .any(|f| names.contains(&f.name()) || selects(f, names))
}

/// The percentile fields: the histograms are read only when one of them is selected.
pub const PERCENTILES: [&str; 4] = ["p50", "p90", "p95", "p99"];
