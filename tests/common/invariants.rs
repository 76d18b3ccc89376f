//! The data's invariants, checked with plain SQL (the same text on both backends) and Rust,
//! independently of the code under test: every job's counters add up and match its inputs,
//! and the rollup `job_counts` equals a live count of `jobs` per account (and all accounts),
//! day, model and flags, by final status.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use job_history::db::Db;
use job_history::db::schema::{job_counts, jobs};
use job_history::domain::{AccountId, JobStatus, ModelId};

/// A rollup row's key: account (0 for every account), UTC day, model, explain, image flag.
pub type RollupKey = (i64, i32, i64, bool, bool);
/// A rollup row's columns: created, completed, canceled, timedout, error.
pub type RollupRow = [i64; 5];

type JobCell = (AccountId, NaiveDateTime, ModelId, bool, bool, JobStatus);
/// A `job_counts` row as read: the key's five columns, then the five counts.
type StoredRow = (i64, i32, i64, bool, bool, i32, i32, i32, i32, i32);

/// What `job_counts` must hold, computed from `jobs` by plain Rust: every job counted as
/// created, and under its stored status when final, in its account's row and in account 0's.
pub async fn live_rollup(
    conn: &mut job_history::db::Conn<'_>,
) -> Result<BTreeMap<RollupKey, RollupRow>, job_history::db::DbError> {
    let rows: Vec<JobCell> = job_history::on_backend!(conn, c => {
        jobs::table
            .select((
                jobs::account_id,
                jobs::created_at,
                jobs::model_id,
                jobs::explain,
                jobs::image_classification_model,
                jobs::status,
            ))
            .load(c)
            .await?
    });
    let mut rollup = BTreeMap::new();
    for (account, created, model, explain, image, status) in rows {
        let day = job_history::db::daily::day_of(created);
        let column = match status {
            JobStatus::Completed => Some(1),
            JobStatus::Canceled => Some(2),
            JobStatus::Timedout => Some(3),
            JobStatus::Error => Some(4),
            JobStatus::Submitted | JobStatus::InProgress => None,
        };
        for a in [account.0, 0] {
            let row: &mut RollupRow = rollup.entry((a, day, model.0, explain, image)).or_default();
            row[0] += 1;
            if let Some(i) = column {
                row[i] += 1;
            }
        }
    }
    Ok(rollup)
}

/// Rewrites `job_counts` from `jobs` (for fixtures that edit jobs behind the writers' backs).
pub async fn rebuild_rollup(
    conn: &mut job_history::db::Conn<'_>,
) -> Result<(), job_history::db::DbError> {
    use job_history::db::rollup::{Cell, Counts, upsert};
    let rollup = live_rollup(conn).await?;
    job_history::on_backend!(conn, c => {
        diesel::delete(job_counts::table).execute(c).await?;
        for ((account, day, model, explain, image), n) in rollup {
            let cell = Cell { day, model_id: ModelId(model), explain, image_classification_model: image };
            let n32 = |v: i64| i32::try_from(v).expect("fits");
            let counts = Counts { created: n32(n[0]), completed: n32(n[1]), canceled: n32(n[2]), timedout: n32(n[3]), error: n32(n[4]) };
            upsert(AccountId(account), cell, 0, counts).execute(c).await?;
        }
    });
    Ok(())
}

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct Violations {
    #[diesel(sql_type = BigInt)]
    jobs: i64,
    #[diesel(sql_type = BigInt)]
    bad_sum: i64,
    #[diesel(sql_type = BigInt)]
    bad_inputs: i64,
}

/// What a check found; `jobs` is how many jobs were checked.
#[derive(Debug)]
pub struct Report {
    pub jobs: i64,
}

/// Panics, saying what broke, unless every invariant holds; returns how many jobs there are.
pub async fn check(db: &Db) -> Report {
    // Input statuses: 0 PENDING, 1 COMPLETED, 2 FAILED.
    const SQL: &str = "SELECT \
        (SELECT count(*) FROM jobs) AS jobs, \
        (SELECT count(*) FROM jobs WHERE total <> pending + completed + failed) AS bad_sum, \
        (SELECT count(*) FROM jobs j WHERE \
            total <> (SELECT count(*) FROM job_inputs i WHERE i.job_id = j.id) \
            OR pending <> (SELECT count(*) FROM job_inputs i WHERE i.job_id = j.id AND i.status = 0) \
            OR completed <> (SELECT count(*) FROM job_inputs i WHERE i.job_id = j.id AND i.status = 1) \
            OR failed <> (SELECT count(*) FROM job_inputs i WHERE i.job_id = j.id AND i.status = 2)) AS bad_inputs";
    let run = async {
        db.read(async |conn| {
            let v: Violations = job_history::on_backend!(conn, c => {
                diesel::sql_query(SQL).get_result(c).await?
            });
            let live = live_rollup(conn).await?;
            let stored: Vec<StoredRow> = job_history::on_backend!(conn, c => {
                job_counts::table
                    .select((
                        job_counts::account_id,
                        job_counts::day,
                        job_counts::model_id,
                        job_counts::explain,
                        job_counts::image_classification_model,
                        job_counts::created,
                        job_counts::completed,
                        job_counts::canceled,
                        job_counts::timedout,
                        job_counts::error,
                    ))
                    .load(c)
                    .await?
            });
            Ok::<_, job_history::db::DbError>((v, live, stored))
        })
        .await
    };
    let (v, live, stored) = run.await.expect("read the invariants");
    assert_eq!(
        (v.bad_sum, v.bad_inputs),
        (0, 0),
        "jobs whose counters do not add up / do not match their inputs, of {}",
        v.jobs
    );
    // Readers sum a cell's slots: so does the comparison.
    let mut summed: BTreeMap<RollupKey, RollupRow> = BTreeMap::new();
    for (a, d, m, e, i, n0, n1, n2, n3, n4) in stored {
        let row = summed.entry((a, d, m, e, i)).or_default();
        for (total, n) in row.iter_mut().zip([n0, n1, n2, n3, n4]) {
            *total += i64::from(n);
        }
    }
    let stored = summed;
    assert_eq!(
        stored, live,
        "job_counts differs from a live count of jobs per account, day, model, flags and status"
    );
    Report { jobs: v.jobs }
}
