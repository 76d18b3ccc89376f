//! The range a page's conditions imply on its order's own time, through a constraint of
//! `jobs`: a job is submitted at most [`SUBMIT_LAG`] after it is created
//! (`jobs_submitted_soon_after_created`, migration `…000016`). So a creation range `[a, b]`
//! holds only jobs submitted in `[a, b + lag]`, and a submission range `[a, b]` only jobs
//! created in `[a − lag, b]`.
//!
//! A page ordered by the submission time with a creation range (or the reverse) gets that
//! range as a condition of its own, and the order's index scan starts at the range's edge and
//! stops after the page. Without it the scan stepped over every job on the far side of the
//! range first — for a month two months back, newest first, the two months of jobs created
//! since (1M jobs: 31 ms on PostgreSQL, which read and sorted the month instead, 120–200 ms on
//! SQLite) — or read the whole range and sorted it. The condition is redundant: a page's rows
//! are the same with it or without, only the plan changes; counts do not get it.
//!
//! Counts use the same constraint the other way ([`SubmissionCount`]): a submission range is
//! the creation range of the same bounds, which the rollup answers, give or take the jobs
//! that cross either bound within the lag.
//!
//! Any range on the order's own time, asked for or implied, also ends at the page's cursors
//! ([`PageRequest::with_implied_range`]), where SQLite's planner needs it.
//!
//! Only the order's own time gets an implied range: a second range on a page ordered by another key would
//! be one more index for SQLite's planner to range over, undoing [`super::range_scan`]'s
//! choice of the order's index.

use std::borrow::Cow;

use chrono::{NaiveDateTime, TimeDelta};

use super::jobs::{JobConditions, PageRequest, Range, SortKey};

/// The longest a job's submission may follow its creation (the constraint's interval).
pub const SUBMIT_LAG: TimeDelta = TimeDelta::minutes(1);

impl PageRequest {
    /// This request with the range its conditions imply on its order's time added to it
    /// (intersected with the one asked for, if any), and the order's time range, asked or
    /// implied, ended at the cursors; the request itself when that changes nothing.
    pub fn with_implied_range(&self) -> Cow<'_, PageRequest> {
        let c = &self.conditions;
        let implied = match self.sort.key {
            SortKey::SubmittedAt => c.created.map(|r| Range {
                from: r.from,
                to: later(r.to),
            }),
            SortKey::CreatedAt => c.submitted.map(|r| Range {
                from: earlier(r.from),
                to: r.to,
            }),
            _ => None,
        };
        let mut request = self.clone();
        let Some(own) = own_range(&mut request.conditions, self.sort.key) else {
            return Cow::Borrowed(self);
        };
        let range = match (*own, implied) {
            (asked, Some(implied)) => within(asked, implied),
            (Some(asked), None) => asked,
            (None, None) => return Cow::Borrowed(self),
        };
        let range = Some(self.up_to_cursors(range));
        if range == *own {
            return Cow::Borrowed(self);
        }
        *own = range;
        Cow::Owned(request)
    }

    /// `range` (of the order's time) ending where the cursors bound the page: a page after a
    /// cursor in a descending order holds no key above the cursor's, and so on. Redundant with
    /// the keyset condition, and needed beside it: given two upper bounds on the same column,
    /// SQLite ranged over the range's, so a page 10 000 rows deep stepped over the 10 000
    /// (2.1 ms instead of 0.2, for an implied range and for one asked for alike).
    fn up_to_cursors(&self, mut range: Range) -> Range {
        // A cursor from another sort fails the page itself (`jobs::seeks`).
        for (at, _, greater) in
            super::jobs::seeks(self, super::jobs::from_micros).unwrap_or_default()
        {
            if greater {
                range.from = range.from.max(at);
            } else {
                range.to = range.to.min(at);
            }
        }
        range
    }
}

/// A count of a submission range `[a, b]` read through the creation range `[a, b]`, which the
/// rollup answers in O(days) ([`super::count`]): the jobs created in it, plus those created
/// in the lag before `a` and submitted from `a` on (`entered`), minus those created in the lag
/// before `b` and submitted after `b` (`left`). Both corrections are live counts of at most a
/// minute of jobs; a job is never submitted before it is created, so nothing else crosses.
#[derive(Clone, Debug)]
pub struct SubmissionCount {
    /// The conditions with the submission range read as a creation range.
    pub created: JobConditions,
    /// Jobs created in `[a − lag, a)` and submitted in `[a, b]`: added.
    pub entered: JobConditions,
    /// Jobs created in `[max(a, b − lag), b]` and submitted in `(b, b + lag]`: subtracted.
    pub left: JobConditions,
}

impl SubmissionCount {
    /// The three counts for conditions with a submission range and no creation range, all at
    /// `now`; `None` for other conditions and for an empty range.
    pub fn for_conditions(c: &JobConditions, now: NaiveDateTime) -> Option<Self> {
        let range = c
            .submitted
            .filter(|r| r.from <= r.to && c.created.is_none())?;
        let (a, b) = (range.from, range.to);
        let with = |created: Range, submitted: Option<Range>| JobConditions {
            created: Some(created),
            submitted,
            now: Some(now),
            ..c.clone()
        };
        Some(Self {
            created: with(range, None),
            entered: with(
                Range {
                    from: earlier(a),
                    to: a
                        .checked_sub_signed(TimeDelta::microseconds(1))
                        .unwrap_or(a),
                },
                Some(range),
            ),
            left: with(
                Range {
                    from: earlier(b).max(a),
                    to: b,
                },
                Some(Range {
                    from: b
                        .checked_add_signed(TimeDelta::microseconds(1))
                        .unwrap_or(b),
                    to: later(b),
                }),
            ),
        })
    }
}

/// The range condition on the time `key` orders by, if `key` is a time.
fn own_range(c: &mut JobConditions, key: SortKey) -> Option<&mut Option<Range>> {
    match key {
        SortKey::CreatedAt => Some(&mut c.created),
        SortKey::SubmittedAt => Some(&mut c.submitted),
        SortKey::UpdatedAt => Some(&mut c.updated),
        _ => None,
    }
}

/// `t + SUBMIT_LAG`, at most the last instant of year 9999 (unless `t` is later): SQLite
/// compares timestamps as text, and a later year is written with a sign (`+10000-…`) that
/// sorts before every other, so a range ending there would match nothing.
fn later(t: NaiveDateTime) -> NaiveDateTime {
    let last = chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
        .unwrap_or(NaiveDateTime::MAX);
    t.checked_add_signed(SUBMIT_LAG)
        .map_or(last, |l| l.min(last))
        .max(t)
}

/// `t - SUBMIT_LAG`, or the first instant there is.
fn earlier(t: NaiveDateTime) -> NaiveDateTime {
    t.checked_sub_signed(SUBMIT_LAG)
        .unwrap_or(NaiveDateTime::MIN)
}

/// The part of `implied` inside `asked` (all of it when nothing was asked); empty ranges
/// (`from > to`) stay as they are and match nothing.
pub(super) fn within(asked: Option<Range>, implied: Range) -> Range {
    match asked {
        None => implied,
        Some(r) => Range {
            from: r.from.max(implied.from),
            to: r.to.min(implied.to),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::jobs::Sort;

    fn at(minute: i64) -> NaiveDateTime {
        chrono::DateTime::UNIX_EPOCH.naive_utc() + TimeDelta::minutes(minute)
    }

    fn range(from: i64, to: i64) -> Option<Range> {
        Some(Range {
            from: at(from),
            to: at(to),
        })
    }

    fn req(key: SortKey, created: Option<Range>, submitted: Option<Range>) -> PageRequest {
        PageRequest {
            conditions: JobConditions {
                created,
                submitted,
                ..JobConditions::default()
            },
            sort: Sort {
                key,
                descending: true,
            },
            after: None,
            before: None,
            limit: 51,
            from_end: false,
        }
    }

    #[test]
    fn a_creation_range_bounds_the_submission_a_lag_later() {
        let r = req(SortKey::SubmittedAt, range(100, 200), None);
        let implied = r.with_implied_range();
        assert_eq!(implied.conditions.submitted, range(100, 201));
        assert_eq!(implied.conditions.created, range(100, 200));
        // A submission range asked for too: the two intersect.
        let both = req(SortKey::SubmittedAt, range(100, 200), range(150, 500));
        assert_eq!(
            both.with_implied_range().conditions.submitted,
            range(150, 201)
        );
        let apart = req(SortKey::SubmittedAt, range(100, 200), range(300, 500));
        let empty = apart.with_implied_range().conditions.submitted.unwrap();
        assert!(empty.from > empty.to, "{empty:?}");
    }

    #[test]
    fn a_submission_range_bounds_the_creation_a_lag_earlier() {
        let r = req(SortKey::CreatedAt, None, range(100, 200));
        assert_eq!(r.with_implied_range().conditions.created, range(99, 200));
        let both = req(SortKey::CreatedAt, range(50, 150), range(100, 200));
        assert_eq!(both.with_implied_range().conditions.created, range(99, 150));
    }

    #[test]
    fn cursors_end_the_implied_range_on_the_side_they_bound() {
        let seek = |minute: i64| {
            Some(crate::db::jobs::Seek {
                key: Some(at(minute).and_utc().timestamp_micros()),
                id: crate::domain::JobId(7),
            })
        };
        // Newest first, after a cursor: nothing above it.
        let mut r = req(SortKey::SubmittedAt, range(100, 200), None);
        r.after = seek(150);
        assert_eq!(r.with_implied_range().conditions.submitted, range(100, 150));
        // Before a cursor, newest first: nothing below it; a cursor beyond the range leaves
        // it empty, as the page is.
        r.after = None;
        r.before = seek(120);
        assert_eq!(r.with_implied_range().conditions.submitted, range(120, 201));
        r.before = seek(500);
        assert_eq!(r.with_implied_range().conditions.submitted, range(500, 201));
        // Oldest first, after a cursor.
        let mut r = req(SortKey::CreatedAt, None, range(100, 200));
        r.sort.descending = false;
        r.after = seek(130);
        assert_eq!(r.with_implied_range().conditions.created, range(130, 200));
        // A range asked for on the order's own time ends there too, the update time's
        // included; one the cursor does not narrow is left as it is.
        let mut r = req(SortKey::UpdatedAt, None, None);
        r.conditions.updated = range(100, 200);
        r.after = seek(150);
        assert_eq!(r.with_implied_range().conditions.updated, range(100, 150));
        r.after = seek(250);
        assert!(matches!(r.with_implied_range(), Cow::Borrowed(_)));
    }

    #[test]
    fn other_orders_and_lone_ranges_are_left_alone() {
        for r in [
            req(SortKey::Status, range(100, 200), range(100, 200)),
            req(SortKey::UpdatedAt, range(100, 200), None),
            req(SortKey::SubmittedAt, None, range(100, 200)),
            req(SortKey::CreatedAt, range(100, 200), None),
        ] {
            assert!(matches!(r.with_implied_range(), Cow::Borrowed(_)), "{r:?}");
        }
        // Never past year 9999 (SQLite would compare `+10000-…` as text before every year),
        // never before the range's own end.
        let end_of_9999 = |minute: i64| {
            chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
                .and_then(|d| d.and_hms_opt(23, 59, 0))
                .unwrap()
                + TimeDelta::minutes(minute)
        };
        let last = end_of_9999(1) - TimeDelta::microseconds(1);
        for (to, want) in [
            (end_of_9999(0) + TimeDelta::seconds(30), last),
            (NaiveDateTime::MAX, NaiveDateTime::MAX),
        ] {
            let created = Some(Range { from: at(0), to });
            let r = req(SortKey::SubmittedAt, created, None);
            assert_eq!(
                r.with_implied_range().conditions.submitted.unwrap().to,
                want
            );
        }
    }
}
