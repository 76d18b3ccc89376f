//! `job_daily`: jobs created per account and UTC day, kept in the same transaction as every
//! insert into `jobs`. It turns the history's most common COUNT — a date range with no filter
//! or the TERMINATED group, for one account or all — into a sum over whole days plus two small
//! live counts of the partial edge days: [`DailyPlan`] says which, [`crate::db::count`] asks.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::sqlite::Sqlite;
use diesel::upsert::excluded;

use super::jobs::{JobConditions, Range};
use super::schema::job_daily;
use crate::domain::{AccountId, JobStatus};

/// The day number (days since 1970-01-01) of a UTC timestamp.
pub fn day_of(t: NaiveDateTime) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    i32::try_from((t.date() - epoch).num_days()).unwrap_or(i32::MAX)
}

/// Midnight (UTC) starting day `day`.
pub fn day_start(day: i32) -> NaiveDateTime {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    (epoch + chrono::Duration::days(day.into()))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
}

/// `INSERT … ON CONFLICT DO UPDATE` adding `n` jobs to `(account, day)`; one row per
/// statement (SQLite cannot combine a multi-row insert with ON CONFLICT). Runs on either
/// backend's connection.
pub fn add_daily(
    account: AccountId,
    day: i32,
    n: i32,
) -> impl QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send + 'static {
    diesel::insert_into(job_daily::table)
        .values((
            job_daily::account_id.eq(account),
            job_daily::day.eq(day),
            job_daily::created.eq(n),
        ))
        .on_conflict((job_daily::account_id, job_daily::day))
        .do_update()
        .set(job_daily::created.eq(job_daily::created + excluded(job_daily::created)))
}

/// How to answer a count from `job_daily`: whole days summed, corrected by the live counts
/// of the partial days at each end of the range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailyPlan {
    /// The first day summed from `job_daily`.
    pub first_day: i32,
    /// The last day summed.
    pub last_day: i32,
    /// The partial day at each end of the range, counted live: added when the range covers
    /// the smaller part of its day, or subtracted (the rest of a summed day) when it covers
    /// the larger part — whichever has fewer jobs to count, on average half a day fewer.
    pub head: Edge,
    /// The partial day at the end of the range.
    pub tail: Edge,
    /// TERMINATED: every job created in the range but the live pending ones.
    pub subtract_pending: bool,
}

/// A stretch of a partial day, counted live and added to or subtracted from the day sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The stretch.
    pub range: Range,
    /// `1` to add its count, `-1` to subtract it, `0` for no correction.
    pub sign: i64,
}

const MICRO: chrono::Duration = chrono::Duration::microseconds(1);
const HALF_DAY: chrono::Duration = chrono::Duration::hours(12);

impl DailyPlan {
    /// The plan for `c`, when the daily sums can answer it: no condition but the creation
    /// range and ALL or the TERMINATED group, over more than one day.
    pub fn for_conditions(c: &JobConditions) -> Option<Self> {
        let subtract_pending = Self::counts_by_day(c)?;
        let Some(range) = c.created else {
            return Some(Self::every_day(subtract_pending));
        };
        let (first_day, head) = Self::head(range.from);
        let (last_day, tail) = Self::tail(range.to);
        if first_day > last_day || day_of(range.from) == day_of(range.to) {
            return None; // within one day: the live count is small anyway
        }
        Some(Self {
            first_day,
            last_day,
            head,
            tail,
            subtract_pending,
        })
    }

    /// Whether `c` sets only what `job_daily` can answer; `Some(true)` for the TERMINATED
    /// group (the pending jobs to subtract), `Some(false)` for every status.
    fn counts_by_day(c: &JobConditions) -> Option<bool> {
        let JobConditions {
            statuses,
            user: None,
            access_key: None,
            model_name: None,
            model_identifier: None,
            model_version: None,
            created: _,
            submitted: None,
            updated: None,
            job_identifiers: None,
            job_id: None,
            explain: None,
            image_classification_model: None,
            now: _,
        } = c
        else {
            return None;
        };
        match statuses {
            None => Some(false),
            Some(s) => Self::is_terminated(s).then_some(true),
        }
    }

    /// Whether `statuses` is the TERMINATED group, in any order and with repetitions.
    fn is_terminated(statuses: &[JobStatus]) -> bool {
        let mut s = statuses.to_vec();
        s.sort();
        s.dedup();
        s == [
            JobStatus::Completed,
            JobStatus::Canceled,
            JobStatus::Timedout,
            JobStatus::Error,
        ]
    }

    /// No range: every day there is, nothing to correct (the default page's count, 70 ms
    /// over 1M jobs counted live).
    fn every_day(subtract_pending: bool) -> Self {
        let none = Edge {
            range: Range {
                from: day_start(0),
                to: day_start(0) - MICRO,
            },
            sign: 0,
        };
        Self {
            first_day: i32::MIN,
            last_day: i32::MAX,
            head: none,
            tail: none,
            subtract_pending,
        }
    }

    /// The first day to sum for a range starting at `from`, and the correction: either sum
    /// from the next day and add [from, midnight), or sum from this day and subtract
    /// [its midnight, from).
    fn head(from: NaiveDateTime) -> (i32, Edge) {
        let day = day_of(from);
        if from - day_start(day) <= HALF_DAY {
            let skipped = Range {
                from: day_start(day),
                to: from - MICRO,
            };
            (
                day,
                Edge {
                    range: skipped,
                    sign: -1,
                },
            )
        } else {
            let counted = Range {
                from,
                to: day_start(day + 1) - MICRO,
            };
            (
                day + 1,
                Edge {
                    range: counted,
                    sign: 1,
                },
            )
        }
    }

    /// The last day to sum for a range ending at `to` (inclusive), and the correction, as in
    /// [`Self::head`].
    fn tail(to: NaiveDateTime) -> (i32, Edge) {
        let day = day_of(to);
        let on_last_day = day >= day_of(NaiveDateTime::MAX); // no next midnight to count to
        if to - day_start(day) >= HALF_DAY && !on_last_day {
            let skipped = Range {
                from: to + MICRO,
                to: day_start(day + 1) - MICRO,
            };
            (
                day,
                Edge {
                    range: skipped,
                    sign: -1,
                },
            )
        } else {
            let counted = Range {
                from: day_start(day),
                to,
            };
            (
                day - 1,
                Edge {
                    range: counted,
                    sign: 1,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        let t = NaiveDate::from_ymd_opt(2026, 5, 1)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        let d = day_of(t);
        assert_eq!(d, 20574);
        assert_eq!(
            day_start(d),
            NaiveDate::from_ymd_opt(2026, 5, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        );
        assert_eq!(day_of(day_start(d + 1)), d + 1);
    }
}
