//! A small seeded history with the awkward cases made explicit: ties on every timestamp sort
//! key, ties and NULLs on durations, and pending jobs past their deadline (which must read as
//! TIMEDOUT). [`truth`] reads every job back with plain queries, for tests to compute expected
//! results independently of the API.
#![allow(dead_code)]

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use job_history::db::schema::{jobs, models, users};
use job_history::db::{Db, DbError};
use job_history::domain::JobStatus;
use job_history::seed::{SeedOptions, seed};

/// Every `JobOrderField`.
pub const ORDER_FIELDS: [&str; 8] = [
    "CREATED_AT",
    "SUBMITTED_AT",
    "UPDATED_AT",
    "STATUS",
    "ELAPSED_TIME",
    "QUEUE_TIME",
    "INPUT_BYTE_AMOUNT",
    "TOTAL",
];

/// One job as the tests see it.
#[derive(Clone, Debug)]
pub struct Row {
    pub id: i64,
    pub identifier: String,
    pub account_id: i64,
    pub created_at: NaiveDateTime,
    pub submitted_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub stored_status: i32,
    pub deadline_at: Option<NaiveDateTime>,
    pub elapsed_ms: Option<i64>,
    pub queue_ms: Option<i64>,
    pub input_byte_amount: i64,
    pub total: i32,
    pub submitted_by: String,
    pub explain: bool,
    pub image_classification_model: bool,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub model_name: String,
    pub model_identifier: String,
    pub model_version: String,
}

impl Row {
    /// The status the API must show at `now`.
    pub fn status(&self, now: NaiveDateTime) -> JobStatus {
        let s = JobStatus::try_from(self.stored_status).unwrap();
        if s.is_pending() && self.deadline_at.is_some_and(|d| d <= now) {
            JobStatus::Timedout
        } else {
            s
        }
    }
}

/// Seeds `jobs` jobs over 2 accounts and 6 users, then adds ties and expired pending jobs.
pub async fn history(db: &Db, jobs_n: u64) {
    let mut opts = SeedOptions::new(jobs_n);
    opts.accounts = 2;
    opts.users = 6;
    opts.seed = 5;
    seed(db, opts).await.expect("seed");
    let now = Utc::now().naive_utc();
    let run = async {
        job_history::with_conn!(db, conn => {
            let ids: Vec<i64> = jobs::table.order(jobs::id).select(jobs::id).load(conn).await?;
            let every = |n: usize, offset: usize| ids.iter().skip(offset).step_by(n).copied().collect::<Vec<_>>();
            let t: NaiveDateTime = jobs::table.find(ids[3]).select(jobs::created_at).first(conn).await?;
            // Ties on all three timestamps.
            diesel::update(jobs::table.filter(jobs::id.eq_any(every(9, 0))))
                .set((jobs::created_at.eq(t), jobs::submitted_at.eq(t), jobs::updated_at.eq(t)))
                .execute(conn)
                .await?;
            // Ties on durations, bytes and totals; NULL durations exist already (canceled jobs).
            diesel::update(jobs::table.filter(jobs::id.eq_any(every(11, 1))))
                .set((jobs::elapsed_ms.eq(Some(1_000_i64)), jobs::queue_ms.eq(Some(250_i64)), jobs::input_byte_amount.eq(4096_i64)))
                .execute(conn)
                .await?;
            // Pending jobs whose deadline has passed, never swept.
            diesel::update(jobs::table.filter(jobs::id.eq_any(every(13, 2))))
                .set((
                    jobs::status.eq(JobStatus::InProgress.code()),
                    jobs::timeout_ms.eq(Some(60_000_i64)),
                    jobs::deadline_at.eq(Some(now - Duration::minutes(5))),
                    jobs::finished_at.eq(None::<NaiveDateTime>),
                    jobs::elapsed_ms.eq(None::<i64>),
                ))
                .execute(conn)
                .await?;
            // Pending jobs with a deadline still ahead.
            diesel::update(jobs::table.filter(jobs::id.eq_any(every(17, 4))))
                .set((
                    jobs::status.eq(JobStatus::Submitted.code()),
                    jobs::timeout_ms.eq(Some(3_600_000_i64)),
                    jobs::deadline_at.eq(Some(now + Duration::hours(1))),
                    jobs::finished_at.eq(None::<NaiveDateTime>),
                    jobs::elapsed_ms.eq(None::<i64>),
                ))
                .execute(conn)
                .await?;
            Ok::<_, DbError>(())
        })?;
        // created_at and statuses moved behind the writers' backs: rebuild the rollup, and fold
        // the statistics as the seeder does (later writes add rows beside the packed values).
        db.read(async |conn| super::invariants::rebuild_rollup(conn).await)
            .await?;
        job_history::db::upkeep::compact_statistics(db, job_history::db::upkeep::UNITS_PER_LISTING)
            .await?;
        Ok::<_, DbError>(())
    };
    run.await.expect("fixture updates");
}

/// Every job, read with plain queries.
pub async fn truth(db: &Db) -> Vec<Row> {
    type Tuple = (
        (
            i64,
            String,
            i64,
            NaiveDateTime,
            NaiveDateTime,
            NaiveDateTime,
            i32,
            Option<NaiveDateTime>,
        ),
        (Option<i64>, Option<i64>, i64, i32, String, bool, bool),
        (String, String, String),
        (String, String, String),
    );
    let run = async {
        job_history::with_conn!(db, conn => {
            Ok(jobs::table
                .inner_join(users::table)
                .inner_join(models::table)
                .select((
                    (jobs::id, jobs::job_identifier, jobs::account_id, jobs::created_at, jobs::submitted_at, jobs::updated_at, jobs::status, jobs::deadline_at),
                    (jobs::elapsed_ms, jobs::queue_ms, jobs::input_byte_amount, jobs::total, jobs::submitted_by, jobs::explain, jobs::image_classification_model),
                    (users::first_name, users::last_name, users::email),
                    (models::name, models::identifier, models::version),
                ))
                .load::<Tuple>(conn)
                .await?)
        })
    };
    run.await
        .expect("truth")
        .into_iter()
        .map(|(a, b, u, m)| Row {
            id: a.0,
            identifier: a.1,
            account_id: a.2,
            created_at: a.3,
            submitted_at: a.4,
            updated_at: a.5,
            stored_status: a.6,
            deadline_at: a.7,
            elapsed_ms: b.0,
            queue_ms: b.1,
            input_byte_amount: b.2,
            total: b.3,
            submitted_by: b.4,
            explain: b.5,
            image_classification_model: b.6,
            first_name: u.0,
            last_name: u.1,
            email: u.2,
            model_name: m.0,
            model_identifier: m.1,
            model_version: m.2,
        })
        .collect()
}
