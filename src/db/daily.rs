//! Counting by days: a count whose conditions the rollup `job_counts` ([`super::rollup`]) can
//! answer — any statuses, model, flags and creation range, for one account or all — is a sum
//! over whole UTC days of the rollup, plus live counts of the two partial edge days and of the
//! jobs still stored as pending. [`DailyPlan`] says which, [`crate::db::count`] asks.

use chrono::{NaiveDate, NaiveDateTime};

use super::jobs::{JobConditions, Range};
use crate::domain::JobStatus;

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

/// How to answer a count from the rollup: whole days summed, corrected by the live counts
/// of the partial days at each end of the range, plus the live count of the jobs still stored
/// as pending (which the rollup does not hold by status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyPlan {
    /// The first day summed from the rollup.
    pub first_day: i32,
    /// The last day summed.
    pub last_day: i32,
    /// The partial day at each end of the range, counted live: added when the range covers
    /// the smaller part of its day, or subtracted (the rest of a summed day) when it covers
    /// the larger part — whichever has fewer jobs to count, on average half a day fewer.
    pub head: Edge,
    /// The partial day at the end of the range.
    pub tail: Edge,
    /// Which rollup columns to add up, as 0/1 factors (bound, so one statement text).
    pub columns: Columns,
    /// The effective statuses counted live among the jobs of the summed days still stored as
    /// pending: SUBMITTED and IN_PROGRESS while their deadline is ahead, TIMEDOUT once it
    /// passed. Empty when the columns say everything (every status: `created`).
    pub pending: Vec<JobStatus>,
}

/// The factor of each rollup column in a count: 1 to add it, 0 to leave it out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    /// `created`: every job, whatever its status.
    pub created: i32,
    /// `completed`.
    pub completed: i32,
    /// `canceled`.
    pub canceled: i32,
    /// `timedout` (recorded TIMEDOUT; pending jobs past their deadline are counted live).
    pub timedout: i32,
    /// `error`.
    pub error: i32,
}

impl Columns {
    /// The columns for effective `statuses` (`None`: every job), and the statuses left to
    /// count live among jobs stored as pending.
    pub fn for_statuses(statuses: Option<&[JobStatus]>) -> (Self, Vec<JobStatus>) {
        let Some(statuses) = statuses else {
            return (
                Self {
                    created: 1,
                    ..Self::default()
                },
                Vec::new(),
            );
        };
        let has = |s| i32::from(statuses.contains(&s));
        let columns = Self {
            created: 0,
            completed: has(JobStatus::Completed),
            canceled: has(JobStatus::Canceled),
            timedout: has(JobStatus::Timedout),
            error: has(JobStatus::Error),
        };
        let pending: Vec<JobStatus> = [
            JobStatus::Submitted,
            JobStatus::InProgress,
            JobStatus::Timedout,
        ]
        .into_iter()
        .filter(|s| statuses.contains(s))
        .collect();
        (columns, pending)
    }
}

/// A stretch of a partial day, counted live and added to or subtracted from the day sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The stretch.
    pub range: Range,
    /// `1` to add its count, `-1` to subtract it, `0` for no correction.
    pub sign: i64,
}

impl Edge {
    /// `range`, its live count added to the day sums.
    fn added(range: Range) -> Self {
        Self { range, sign: 1 }
    }

    /// `range`, its live count subtracted from the day sums (the rest of a summed day).
    fn subtracted(range: Range) -> Self {
        Self { range, sign: -1 }
    }
}

const MICRO: chrono::Duration = chrono::Duration::microseconds(1);
const HALF_DAY: chrono::Duration = chrono::Duration::hours(12);

impl DailyPlan {
    /// The plan for `c`, when the rollup can answer it: no condition but statuses, model,
    /// flags and the creation range, over more than one day.
    pub fn for_conditions(c: &JobConditions) -> Option<Self> {
        if !c.only_rollup_keys(true) {
            return None;
        }
        let (columns, pending) = Columns::for_statuses(c.statuses.as_deref());
        let Some(range) = c.created else {
            return Some(Self::every_day(columns, pending));
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
            columns,
            pending,
        })
    }

    /// The creation range of the summed days (`None`: every day).
    pub fn whole_days(&self) -> Option<Range> {
        (self.first_day != i32::MIN).then(|| Range {
            from: day_start(self.first_day),
            to: day_start(self.last_day.saturating_add(1)) - MICRO,
        })
    }

    /// No range: every day there is, nothing to correct (the default page's count, 70 ms
    /// over 1M jobs counted live).
    fn every_day(columns: Columns, pending: Vec<JobStatus>) -> Self {
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
            columns,
            pending,
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
            (day, Edge::subtracted(skipped))
        } else {
            let counted = Range {
                from,
                to: day_start(day + 1) - MICRO,
            };
            (day + 1, Edge::added(counted))
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
            (day, Edge::subtracted(skipped))
        } else {
            let counted = Range {
                from: day_start(day),
                to,
            };
            (day - 1, Edge::added(counted))
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
