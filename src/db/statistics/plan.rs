//! Which parts of each bucket the rollup answers and which are read live: a bucket
//! `[a, b)` (UTC instants) is its whole UTC days (daily rows), the whole UTC hours around them
//! (hourly rows), and the slivers shorter than an hour at its ends (zones with :30 or :45
//! offsets, or a range that starts or ends within an hour), read from `jobs`. A UTC daily
//! chart reads one row per day and group; a New York daily chart 24 hourly rows per day.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};

use super::rollup::{days_of_month, hour_of, month_of_day};
use crate::db::jobs::Range;

/// Where each bucket's figures come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Day (days since the epoch) → bucket, for the days read from daily rows.
    pub days: BTreeMap<i32, usize>,
    /// Hour (hours since the epoch) → bucket, for the hours read from hourly rows.
    pub hours: BTreeMap<i32, usize>,
    /// Stretches shorter than an hour read live (inclusive ranges, adjacent ones merged).
    pub slivers: Vec<Range>,
}

const MICRO: Duration = Duration::microseconds(1);

/// The instant starting hour `h`.
fn hour_start(h: i32) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(i64::from(h) * 3_600, 0)
        .expect("in range")
        .naive_utc()
}

/// The first whole hour starting at or after `t`.
fn ceil_hour(t: NaiveDateTime) -> i32 {
    let h = hour_of(t);
    if hour_start(h) == t { h } else { h + 1 }
}

impl Plan {
    /// The plan for buckets `[edges[i], edges[i+1])`.
    pub fn new(edges: &[NaiveDateTime]) -> Self {
        let mut plan = Self::default();
        for (i, w) in edges.windows(2).enumerate() {
            plan.add_bucket(i, w[0], w[1]);
        }
        plan
    }

    fn add_bucket(&mut self, bucket: usize, a: NaiveDateTime, b: NaiveDateTime) {
        if a >= b {
            return;
        }
        let (ha, hb) = (ceil_hour(a), hour_of(b)); // whole hours: [ha, hb)
        if ha >= hb {
            self.sliver(a, b);
            return;
        }
        self.sliver(a, hour_start(ha));
        self.sliver(hour_start(hb), b);
        // Whole days inside the whole hours: [da, db).
        let (da, db) = ((ha + 23).div_euclid(24), hb.div_euclid(24));
        for h in ha..hb {
            let day = h.div_euclid(24);
            if da <= day && day < db {
                self.days.insert(day, bucket);
            } else {
                self.hours.insert(h, bucket);
            }
        }
    }

    /// The UTC months (months since January 1970) whose month value is worth reading where only
    /// the sum over the range is wanted, each with its days *not* read from daily values (whose
    /// values are then taken back out of the month's): those whose days read daily outnumber
    /// the others by more than one (a month value costs about what a day's does).
    pub fn months(&self) -> BTreeMap<i32, Vec<i32>> {
        let (Some(&first), Some(&last)) = (self.days.keys().next(), self.days.keys().next_back())
        else {
            return BTreeMap::new();
        };
        (month_of_day(first)..=month_of_day(last))
            .filter_map(|m| {
                let days = days_of_month(m);
                let outside: Vec<i32> = days
                    .clone()
                    .filter(|d| !self.days.contains_key(d))
                    .collect();
                let inside = days.len() - outside.len();
                (outside.len() + 1 < inside).then_some((m, outside))
            })
            .collect()
    }

    /// Adds `[a, b)` to the live slivers (nothing when empty).
    fn sliver(&mut self, a: NaiveDateTime, b: NaiveDateTime) {
        if a >= b {
            return;
        }
        match self.slivers.last_mut() {
            Some(last) if last.to + MICRO == a => last.to = b - MICRO,
            _ => self.slivers.push(Range {
                from: a,
                to: b - MICRO,
            }),
        }
    }
}

/// Runs of `periods` (increasing; runs inclusive), neighbours at most `gap` apart merged: each
/// run is one range scan of the rollup, reading the few periods in the gaps too.
pub fn runs(periods: impl IntoIterator<Item = i32>, gap: i32) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = Vec::new();
    for p in periods {
        match out.last_mut() {
            Some((_, hi)) if p - *hi <= gap => *hi = p,
            _ => out.push((p, p)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().naive_utc()
    }

    #[test]
    fn utc_days_read_daily_rows_and_the_edges_hours_and_slivers() {
        let p = Plan::new(&[
            at("2026-05-01T10:30:00Z"),
            at("2026-05-02T00:00:00Z"),
            at("2026-05-03T00:00:00Z"),
            at("2026-05-03T05:15:00Z"),
        ]);
        let day = |s: &str| hour_of(at(s)) / 24;
        assert_eq!(
            p.days.into_iter().collect::<Vec<_>>(),
            [(day("2026-05-02T00:00:00Z"), 1)]
        );
        assert_eq!(p.hours.len(), 13 + 5);
        assert_eq!(p.hours[&hour_of(at("2026-05-01T11:00:00Z"))], 0);
        assert_eq!(p.hours[&hour_of(at("2026-05-03T04:00:00Z"))], 2);
        assert_eq!(
            p.slivers,
            [
                Range {
                    from: at("2026-05-01T10:30:00Z"),
                    to: at("2026-05-01T11:00:00Z") - MICRO
                },
                Range {
                    from: at("2026-05-03T05:00:00Z"),
                    to: at("2026-05-03T05:15:00Z") - MICRO
                },
            ]
        );
    }

    #[test]
    fn months_are_read_where_most_of_their_days_are_read_daily() {
        // 2026-01-15 .. 2026-04-01 (exclusive) in one bucket per day, then a New York day.
        let mut edges: Vec<NaiveDateTime> = (0..=76)
            .map(|d| at("2026-01-15T00:00:00Z") + Duration::days(d))
            .collect();
        assert_eq!(*edges.last().unwrap(), at("2026-04-01T00:00:00Z"));
        edges.push(at("2026-04-02T04:00:00Z"));
        let p = Plan::new(&edges);
        let day = |s: &str| hour_of(at(s)).div_euclid(24);
        let month = |s: &str| month_of_day(day(s));
        let months = p.months();
        // January: 17 days read daily, 14 not (taken back out); February and March whole;
        // April: 1 day read daily, 29 not.
        assert_eq!(
            months.keys().copied().collect::<Vec<_>>(),
            [
                month("2026-01-01T00:00:00Z"),
                month("2026-02-01T00:00:00Z"),
                month("2026-03-31T23:00:00Z")
            ]
        );
        assert_eq!(
            months[&month("2026-01-01T00:00:00Z")],
            (day("2026-01-01T00:00:00Z")..day("2026-01-15T00:00:00Z")).collect::<Vec<_>>()
        );
        assert!(months[&month("2026-02-01T00:00:00Z")].is_empty());
        assert_eq!(month("1970-01-31T00:00:00Z"), 0);
        assert_eq!(month("1969-12-31T00:00:00Z"), -1);
        assert_eq!(days_of_month(0), 0..31);
        assert_eq!(days_of_month(-1), -31..0);
        assert_eq!(days_of_month(month("2024-02-10T00:00:00Z")).len(), 29);
        // 16 days of January: 16 read daily, 15 not; 15 + 1 is not fewer than 16.
        assert!(Plan::new(&edges[..17]).months().is_empty());
        assert_eq!(Plan::new(&edges[..18]).months().len(), 1);
    }

    #[test]
    fn new_york_days_are_hours_and_half_hour_zones_have_slivers() {
        let ny = Plan::new(&[at("2026-03-08T05:00:00Z"), at("2026-03-09T04:00:00Z")]);
        assert!(ny.days.is_empty() && ny.slivers.is_empty());
        assert_eq!(ny.hours.len(), 23);
        let india = Plan::new(&[
            at("2026-05-01T18:30:00Z"),
            at("2026-05-02T18:30:00Z"),
            at("2026-05-03T18:30:00Z"),
        ]);
        assert_eq!(india.slivers.len(), 3, "{:?}", india.slivers);
        assert_eq!(india.slivers[1].from, at("2026-05-02T18:00:00Z"));
        assert_eq!(
            runs(india.hours.keys().copied(), 2),
            [(
                india.hours.keys().next().copied().unwrap(),
                india.hours.keys().next_back().copied().unwrap()
            )]
        );
    }
}
