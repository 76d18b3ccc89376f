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

use crate::db::statistics::{Histograms, Kinds};

/// Whether `field`'s selection asks, at any depth (fragments included), for a field named in
/// `names`.
pub fn selects(field: SelectionField<'_>, names: &[&str]) -> bool {
    field
        .selection_set()
        .any(|f| names.contains(&f.name()) || selects(f, names))
}

/// The percentile fields: the histograms are read only when one of them is selected.
pub const PERCENTILES: [&str; 4] = ["p50", "p90", "p95", "p99"];

/// Where `jobStatistics` (`field`) selects percentiles, so which histograms it needs: in the
/// buckets' groups, the buckets' totals, or the range's groups and total; per duration.
pub fn histograms(field: SelectionField<'_>) -> Histograms {
    let mut h = Histograms::default();
    for f in field.selection_set() {
        match f.name() {
            "buckets" => {
                for g in f.selection_set() {
                    match g.name() {
                        "total" => add_kinds(&mut h.buckets, g),
                        "groups" => add_group_kinds(&mut h.cells, g),
                        _ => {}
                    }
                }
            }
            "groups" => add_group_kinds(&mut h.range, f),
            "total" => add_kinds(&mut h.range, f),
            _ => {}
        }
    }
    h
}

/// Marks the durations whose percentiles a `JobFigures` selection (`figures`) asks for.
fn add_kinds(into: &mut Kinds, figures: SelectionField<'_>) {
    for (i, name) in ["queueTime", "elapsedTime"].into_iter().enumerate() {
        into[i] |= figures
            .selection_set()
            .any(|f| f.name() == name && selects(f, &PERCENTILES));
    }
}

/// [`add_kinds`] for the `figures` of a `JobStatisticsGroup` selection (`group`).
fn add_group_kinds(into: &mut Kinds, group: SelectionField<'_>) {
    for f in group.selection_set().filter(|f| f.name() == "figures") {
        add_kinds(into, f);
    }
}
