//! The data's invariants, checked with plain SQL (the same text on both backends) and Rust,
//! independently of the code under test: every job's counters add up and match its inputs,
//! and the per-day counts in `job_daily` equal a live count of `jobs`.
#![allow(dead_code)]

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use job_history::db::Db;
use job_history::db::schema::{job_daily, jobs};

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
        job_history::with_conn!(db, conn => {
            let v: Violations = diesel::sql_query(SQL).get_result(conn).await?;
            let created: Vec<(i64, chrono::NaiveDateTime)> =
                jobs::table.select((jobs::account_id, jobs::created_at)).load(conn).await?;
            let daily: Vec<(i64, i32, i32)> = job_daily::table
                .select((job_daily::account_id, job_daily::day, job_daily::created))
                .load(conn)
                .await?;
            Ok((v, created, daily))
        })
    };
    let (v, created, daily) = run.await.expect("read the invariants");
    assert_eq!(
        (v.bad_sum, v.bad_inputs),
        (0, 0),
        "jobs whose counters do not add up / do not match their inputs, of {}",
        v.jobs
    );
    let mut live: HashMap<(i64, i32), i64> = HashMap::new();
    for (account, at) in created {
        *live
            .entry((account, job_history::db::daily::day_of(at)))
            .or_default() += 1;
    }
    let kept: HashMap<(i64, i32), i64> = daily
        .into_iter()
        .filter(|(_, _, n)| *n != 0)
        .map(|(a, d, n)| ((a, d), i64::from(n)))
        .collect();
    assert_eq!(
        kept, live,
        "job_daily differs from a live count of jobs per account and day"
    );
    Report { jobs: v.jobs }
}
