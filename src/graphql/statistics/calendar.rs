//! Where `jobStatistics`' buckets start: local hours, midnights, Mondays and firsts of the month
//! in an IANA time zone (`chrono-tz`), as UTC instants. A day is midnight to midnight in local
//! time, so across a daylight-saving change it lasts 23 or 25 hours; an hour bucket is always
//! 3 600 s (a 25-hour day has 25 of them).

use async_graphql::Enum;
use chrono::{
    DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, NaiveDateTime, TimeZone, Timelike,
};
use chrono_tz::Tz;

use crate::db::jobs::Range;
use crate::graphql::error::ApiError;

/// Most buckets one request may cover.
pub const MAX_BUCKETS: usize = 1_000;
/// Buckets covered when the filter has no `createdAt` range: the current one and those before.
pub const DEFAULT_BUCKETS: usize = 30;

/// How long a bucket is.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatisticsBucket {
    /// One hour (3 600 s), starting on the time zone's full hours.
    Hour,
    /// One day, from local midnight to local midnight (23 or 25 hours across a
    /// daylight-saving change).
    #[default]
    Day,
    /// One week, from Monday's local midnight.
    Week,
    /// One calendar month, from the first's local midnight.
    Month,
}

/// A time zone by its IANA name; `BAD_USER_INPUT` naming it when unknown.
pub fn zone(name: &str) -> Result<Tz, ApiError> {
    name.trim().parse::<Tz>().map_err(|_| {
        ApiError::bad_input(format!(
            "timeZone {name:?} is not an IANA time zone name \
             (such as \"UTC\", \"Europe/Paris\" or \"America/New_York\")"
        ))
    })
}

/// The buckets of a request: their starts, and the range of instants they cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buckets {
    /// Each bucket's start, then the end of the last (UTC): `starts.len()` = buckets + 1.
    pub starts: Vec<NaiveDateTime>,
    /// The instants counted: the filter's range (inclusive), or the default window.
    pub range: Range,
}

impl Buckets {
    /// The buckets of `bucket` size in `tz` covering `range` (the default window ending at
    /// `now` when `None`); `BAD_USER_INPUT` past [`MAX_BUCKETS`].
    pub fn new(
        bucket: StatisticsBucket,
        tz: Tz,
        range: Option<Range>,
        now: NaiveDateTime,
    ) -> Result<Self, ApiError> {
        let range = range.unwrap_or_else(|| Range {
            from: back(bucket, tz, start_of(bucket, tz, now), DEFAULT_BUCKETS - 1),
            to: now,
        });
        let mut starts = vec![start_of(bucket, tz, range.from)];
        while *starts.last().expect("one start") <= range.to {
            if starts.len() > MAX_BUCKETS {
                return Err(ApiError::bad_input(format!(
                    "filter.createdAt spans more than {MAX_BUCKETS} buckets of {}; \
                     narrow the range or choose a longer bucket",
                    bucket.noun()
                )));
            }
            let last = *starts.last().expect("one start");
            starts.push(next(bucket, tz, last));
        }
        Ok(Self { starts, range })
    }

    /// How many buckets.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Whether there are none (never: a range holds at least one instant).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buckets' edges clipped to the range: bucket `i` counts `[edges[i], edges[i+1])`.
    pub fn edges(&self) -> Vec<NaiveDateTime> {
        let end = self.range.to + Duration::microseconds(1);
        self.starts
            .iter()
            .map(|&t| t.clamp(self.range.from, end))
            .collect()
    }
}

impl StatisticsBucket {
    fn noun(self) -> &'static str {
        match self {
            Self::Hour => "an hour",
            Self::Day => "a day",
            Self::Week => "a week",
            Self::Month => "a month",
        }
    }
}

/// The UTC instant of local wall time `local` in `tz`: the earlier one when the clock is set
/// back (it occurs twice), the first instant after the gap when it is set forward (it does not
/// occur).
fn instant(tz: Tz, local: NaiveDateTime) -> NaiveDateTime {
    let mut probe = local;
    for _ in 0..48 {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.naive_utc(),
            // In a gap: the first full quarter hour after it.
            LocalResult::None => probe += Duration::minutes(15),
        }
    }
    local // unreachable with real zones: no gap lasts 12 hours
}

/// Local wall time of UTC instant `t` in `tz`.
fn local(tz: Tz, t: NaiveDateTime) -> NaiveDateTime {
    tz.from_utc_datetime(&t).naive_local()
}

/// The start of the bucket holding instant `t`.
pub fn start_of(bucket: StatisticsBucket, tz: Tz, t: NaiveDateTime) -> NaiveDateTime {
    let l = local(tz, t);
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight");
    match bucket {
        StatisticsBucket::Hour => {
            // Local full hours are instants a whole number of hours apart in every zone, so
            // the start is `t` less the local minutes and seconds.
            let into = Duration::seconds(i64::from(l.minute() * 60 + l.second()))
                + Duration::nanoseconds(i64::from(l.nanosecond()));
            let start = t - into;
            // In the hour after a change of offset the local reading is still right.
            debug_assert!(local(tz, start).minute() == 0);
            start
        }
        StatisticsBucket::Day => instant(tz, midnight(l.date())),
        StatisticsBucket::Week => {
            let monday = l.date() - Duration::days(i64::from(l.weekday().num_days_from_monday()));
            instant(tz, midnight(monday))
        }
        StatisticsBucket::Month => instant(tz, midnight(l.date().with_day(1).expect("day 1"))),
    }
}

/// The start of the bucket after the one starting at `start`.
pub fn next(bucket: StatisticsBucket, tz: Tz, start: NaiveDateTime) -> NaiveDateTime {
    step(bucket, tz, start, 1)
}

/// The start of the bucket `n` buckets before the one starting at `start`.
fn back(bucket: StatisticsBucket, tz: Tz, start: NaiveDateTime, n: usize) -> NaiveDateTime {
    step(bucket, tz, start, -i64::try_from(n).unwrap_or(0))
}

/// The start `n` buckets after (before, when negative) the bucket starting at `start`.
fn step(bucket: StatisticsBucket, tz: Tz, start: NaiveDateTime, n: i64) -> NaiveDateTime {
    let day = local(tz, start).date();
    let midnight = |d: NaiveDate| instant(tz, d.and_hms_opt(0, 0, 0).expect("midnight"));
    match bucket {
        StatisticsBucket::Hour => start + Duration::hours(n),
        StatisticsBucket::Day => midnight(day + Duration::days(n)),
        StatisticsBucket::Week => midnight(day + Duration::weeks(n)),
        StatisticsBucket::Month => {
            let months = Months::new(u32::try_from(n.unsigned_abs()).unwrap_or(u32::MAX));
            let moved = if n >= 0 {
                day.checked_add_months(months)
            } else {
                day.checked_sub_months(months)
            };
            midnight(moved.unwrap_or(day))
        }
    }
}

/// `t` as an instant with an offset, for printing.
pub fn utc(t: NaiveDateTime) -> DateTime<chrono::Utc> {
    t.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        DateTime::parse_from_rfc3339(s).unwrap().naive_utc()
    }

    fn range(from: &str, to: &str) -> Option<Range> {
        Some(Range {
            from: at(from),
            to: at(to),
        })
    }

    #[test]
    fn new_york_days_last_23_and_25_hours_across_dst() {
        let tz = zone("America/New_York").unwrap();
        let now = at("2026-12-01T00:00:00Z");
        let spring = Buckets::new(
            StatisticsBucket::Day,
            tz,
            range("2026-03-07T12:00:00Z", "2026-03-09T12:00:00Z"),
            now,
        )
        .unwrap();
        assert_eq!(
            spring.starts,
            [
                at("2026-03-07T05:00:00Z"),
                at("2026-03-08T05:00:00Z"),
                at("2026-03-09T04:00:00Z"),
                at("2026-03-10T04:00:00Z"),
            ]
        );
        let fall = Buckets::new(
            StatisticsBucket::Day,
            tz,
            range("2026-11-01T04:00:00Z", "2026-11-01T23:00:00Z"),
            now,
        )
        .unwrap();
        assert_eq!(fall.starts[1] - fall.starts[0], Duration::hours(25));
        let hours = Buckets::new(
            StatisticsBucket::Hour,
            tz,
            range("2026-11-01T04:00:00Z", "2026-11-02T04:59:59Z"),
            now,
        )
        .unwrap();
        assert_eq!(hours.len(), 25);
        assert_eq!(hours.edges()[0], at("2026-11-01T04:00:00Z"));
    }

    #[test]
    fn half_hour_zones_weeks_months_and_the_default_window() {
        let now = at("2026-05-20T10:10:00Z");
        let india = zone("Asia/Kolkata").unwrap();
        assert_eq!(
            start_of(StatisticsBucket::Hour, india, now),
            at("2026-05-20T09:30:00Z")
        );
        assert_eq!(
            start_of(StatisticsBucket::Day, india, now),
            at("2026-05-19T18:30:00Z")
        );
        let utc = zone("UTC").unwrap();
        assert_eq!(
            start_of(StatisticsBucket::Week, utc, now),
            at("2026-05-18T00:00:00Z")
        );
        assert_eq!(
            next(StatisticsBucket::Month, utc, at("2026-01-01T00:00:00Z")),
            at("2026-02-01T00:00:00Z")
        );
        let default = Buckets::new(StatisticsBucket::Day, utc, None, now).unwrap();
        assert_eq!(default.len(), DEFAULT_BUCKETS);
        assert_eq!(default.range.from, at("2026-04-21T00:00:00Z"));
        let edges = default.edges();
        assert_eq!(edges[DEFAULT_BUCKETS], now + Duration::microseconds(1));
    }

    #[test]
    fn unknown_zones_and_too_many_buckets_are_refused() {
        let e = zone("Mars/Olympus").unwrap_err();
        assert_eq!(e.code(), "BAD_USER_INPUT");
        assert!(e.message().contains("\"Mars/Olympus\""), "{}", e.message());
        let utc = zone("UTC").unwrap();
        let e = Buckets::new(
            StatisticsBucket::Hour,
            utc,
            range("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"),
            at("2026-05-20T10:10:00Z"),
        )
        .unwrap_err();
        assert!(
            e.message().contains("more than 1000 buckets of an hour"),
            "{}",
            e.message()
        );
    }
}
