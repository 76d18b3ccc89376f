//! `job_daily`: jobs created per account and UTC day, kept in the same transaction as every
//! insert into `jobs`. It turns the history's most common COUNT — a date range with no filter
//! or the TERMINATED group, for one account or all — into a sum over whole days plus two small
//! live counts of the partial edge days (see [`crate::db::jobs::count`]).

use chrono::{NaiveDate, NaiveDateTime};

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

/// `INSERT … ON CONFLICT DO UPDATE` adding `$n` jobs to `($account, $day)`; one row per
/// statement (SQLite cannot combine a multi-row insert with ON CONFLICT).
#[macro_export]
macro_rules! add_daily {
    ($account:expr, $day:expr, $n:expr) => {
        diesel::insert_into($crate::db::schema::job_daily::table)
            .values((
                $crate::db::schema::job_daily::account_id.eq($account),
                $crate::db::schema::job_daily::day.eq($day),
                $crate::db::schema::job_daily::created.eq($n),
            ))
            .on_conflict((
                $crate::db::schema::job_daily::account_id,
                $crate::db::schema::job_daily::day,
            ))
            .do_update()
            .set(
                $crate::db::schema::job_daily::created.eq($crate::db::schema::job_daily::created
                    + diesel::upsert::excluded($crate::db::schema::job_daily::created)),
            )
    };
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
