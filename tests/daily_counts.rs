//! The history's COUNT answered from the rollup (`job_counts`) must equal the live count, for
//! every range shape (day-aligned or not, spanning months or two days), every scope, ALL and
//! TERMINATED, and stay right as jobs are submitted (`tests/rollup_counts.rs` covers the other
//! filters, transitions and concurrent writers).

mod common;

use chrono::Duration;
use common::gql::run_as;
use job_history::db::count::{count, count_live};
use job_history::db::jobs::{JobConditions, Range};
use job_history::domain::{AccountId, JobStatus, Role, Scope};
use serde_json::json;

backend_tests! {
    async fn daily_counts_equal_live_counts(t: TestDb) {
        common::fixtures::history(&t.db, 3_000).await;
        let rows = common::fixtures::truth(&t.db).await;
        let now = job_history::db::now();
        let accounts: Vec<Scope> = vec![Scope::All, Scope::Account(AccountId(rows[0].account_id)), Scope::Account(AccountId(rows[1].account_id)), Scope::Account(AccountId(-1))];
        let day = |d: i64| job_history::db::daily::day_start(job_history::db::daily::day_of(now)) - Duration::days(d);
        let ranges: Vec<Range> = vec![
            Range { from: now - Duration::days(91), to: now },
            Range { from: day(30), to: day(10) },                                  // day-aligned both ends
            Range { from: day(30) + Duration::hours(5), to: day(29) + Duration::minutes(1) }, // two days
            Range { from: now - Duration::days(400), to: now },                    // beyond the history
            Range { from: day(100) + Duration::microseconds(1), to: day(2) - Duration::microseconds(1) },
            Range { from: rows[5].created_at, to: rows[5].created_at },           // one instant
            // Each end in the first and in the second half of its day: the partial day is
            // added, or the rest of a summed day subtracted.
            Range { from: day(40) + Duration::hours(3), to: day(5) + Duration::hours(2) },
            Range { from: day(40) + Duration::hours(20), to: day(5) + Duration::hours(22) },
            Range { from: day(40) + Duration::hours(3), to: day(5) + Duration::hours(22) },
            Range { from: day(40) + Duration::hours(20), to: day(5) + Duration::hours(2) },
            Range { from: day(3) + Duration::hours(1), to: day(2) + Duration::hours(23) }, // a day and a bit
            Range { from: day(3) + Duration::hours(23), to: day(2) + Duration::hours(1) }, // two hours
            Range { from: day(60) + Duration::hours(13), to: now + Duration::days(36_500) }, // far future
        ];
        let terminated = vec![JobStatus::Completed, JobStatus::Canceled, JobStatus::Timedout, JobStatus::Error];
        // `None`: no range at all (every day).
        let ranges: Vec<Option<Range>> = ranges.into_iter().map(Some).chain([None]).collect();
        // One connection for every count: the counts read, they do not need a checkout each.
        let checked = t.db.read(async |conn| {
            for scope in &accounts {
                for range in &ranges {
                    for statuses in [None, Some(terminated.clone()), Some(vec![JobStatus::Error, JobStatus::Timedout, JobStatus::Completed, JobStatus::Canceled])] {
                        let c = JobConditions { statuses, created: *range, now: Some(now), ..Default::default() };
                        let (fast, live) = (count(conn, *scope, &c).await?, count_live(conn, *scope, &c).await?);
                        assert_eq!(fast, live, "{scope:?} {c:?}");
                    }
                }
            }
            Ok::<_, job_history::db::DbError>(())
        }).await;
        checked.unwrap();
        let independent = rows.iter().filter(|r| r.created_at >= now - Duration::days(91) && !r.status(now).is_pending()).count();
        let c = JobConditions { statuses: Some(terminated), created: ranges[0], now: Some(now), ..Default::default() };
        let counted = t.db.read(async |conn| count(conn, Scope::All, &c).await).await.unwrap();
        assert_eq!(counted as usize, independent);
    }

    async fn submitted_jobs_are_counted_at_once(t: TestDb) {
        job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(500)).await.unwrap();
        let key = common::issue_key(&t.db, "Acme", "count@acme.test", Role::User).await;
        let user = common::caller_for(&t.db, &key).await;
        let from = (job_history::db::now() - Duration::days(10)).and_utc().to_rfc3339();
        let q = "query($f: String!) { jobs(first: 0, filter: { createdAt: { from: $f } }) { totalCount } all: jobs(first: 0, filter: { status: ALL, createdAt: { from: $f } }) { totalCount } }";
        let before = run_as(&t.db, Some(user.clone()), q, json!({ "f": from })).await;
        assert_eq!(before["data"]["jobs"]["totalCount"], 0, "{before}");
        let submit = r#"mutation { submitJob(input: { model: { identifier: "ed542963de", version: "1.0.1" }, inputs: [{ name: "a", byteAmount: 1 }] }) { jobIdentifier } }"#;
        for _ in 0..3 {
            let r = run_as(&t.db, Some(user.clone()), submit, json!({})).await;
            assert!(r.get("errors").is_none(), "{r}");
        }
        let after = run_as(&t.db, Some(user), q, json!({ "f": from })).await;
        assert_eq!(after["data"]["jobs"]["totalCount"], 3, "{after}");
    }
}
