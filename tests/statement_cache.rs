//! The prepared-statement caches are bounded: a client walking through ever-new query shapes
//! cannot grow the server's memory without limit (`db::pool`). The lifecycle's writes are kept
//! prepared (`db::cached`), and the durations they compute in SQL (`db::millis`) agree with
//! chrono's to the millisecond on both backends.

mod common;

use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use common::gql::run_as;
use diesel::connection::InstrumentationEvent;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamp};
use diesel_async::{AsyncConnection, RunQueryDsl};
use job_history::auth::Caller;
use job_history::db::millis::millis_since;
use job_history::db::pool::MAX_CACHED_STATEMENTS;
use job_history::db::schema::jobs;
use job_history::db::{self, Db, DbConfig};
use job_history::domain::Role;
use serde_json::{Value, json};

backend_tests! {
    async fn a_connection_that_cached_its_share_is_retired(t: TestDb) {
        // One connection, so every statement lands in the same cache.
        let config = DbConfig { pool_size: 1, ..DbConfig::new(t.db.url().clone()) };
        let db = db::connect::connect(&config).await.expect("connect");
        let shapes = 2 * MAX_CACHED_STATEMENTS + 50;
        for k in 1..=shapes {
            // k conditions: a statement text of its own, cacheable like the history's queries.
            let run = job_history::with_conn!(db, conn => {
                let mut query = jobs::table.select(jobs::id).into_boxed();
                for _ in 0..k {
                    query = query.filter(jobs::id.ge(0_i64));
                }
                Ok::<_, db::DbError>(query.load::<i64>(conn).await?)
            });
            assert!(run.expect("query").is_empty(), "no jobs in a fresh database");
        }
        let stats = db.stats();
        assert!(stats.cached() >= shapes as u64, "every shape was cached: {}", stats.cached());
        let live = stats.cached_live();
        assert!(
            live <= MAX_CACHED_STATEMENTS as u64,
            "{live} statements held by one connection (at most {MAX_CACHED_STATEMENTS})"
        );
        let (connections, ..) = db.pool_state();
        assert!(connections <= 1, "{connections} connections in a pool of one");
    }
}

backend_tests! {
    async fn a_batch_reaches_the_server_in_the_order_pushed(t: TestDb) {
        use job_history::db::batch::Batch;
        use job_history::db::cached::CacheDsl;
        // One connection: a statement it has prepared before ("warm") pushed after one it has
        // never seen ("cold"), which PostgreSQL must parse first; pipelined, the warm one must
        // not overtake it — writers lock the shared rollup rows in the order pushed.
        let config = DbConfig { pool_size: 1, ..DbConfig::new(t.db.url().clone()) };
        let db = db::connect::connect(&config).await.expect("connect");
        // Each row records how many rows were there before it: the order the server ran them.
        let insert = |tag: &str| {
            diesel::sql_query(format!(
                "INSERT INTO batch_order (seq, tag) SELECT COUNT(*), '{tag}' FROM batch_order"
            ))
            .cached()
        };
        let ran = db
            .write(async |tx: &mut db::Tx<'_>| {
                let mut batch = Batch::default();
                batch.push(diesel::sql_query("CREATE TEMP TABLE batch_order (seq BIGINT, tag TEXT)"));
                batch.run(tx).await?;
                batch.push(insert("warm"));
                batch.run(tx).await?;
                for tag in ["cold-1", "warm", "cold-2", "warm", "cold-1"] {
                    batch.push(insert(tag));
                }
                assert_eq!(batch.len(), 5);
                batch.run(tx).await?;
                assert!(batch.is_empty(), "a batch is emptied by running it");
                job_history::on_backend!(tx.conn(), c => {
                    Ok::<_, db::DbError>(
                        diesel::sql_query("SELECT tag FROM batch_order ORDER BY seq")
                            .load::<Tag>(c)
                            .await?,
                    )
                })
            })
            .await
            .expect("batch");
        let ran: Vec<&str> = ran.iter().map(|t| t.tag.as_str()).collect();
        assert_eq!(ran, ["warm", "cold-1", "warm", "cold-2", "warm", "cold-1"]);
    }
}

/// One row of `batch_order`.
#[derive(QueryableByName)]
struct Tag {
    #[diesel(sql_type = diesel::sql_types::Text)]
    tag: String,
}

/// A full lifecycle (submit two inputs, start, report both) through GraphQL as `user` and
/// `worker`; the job's final `(queueTime, elapsedTime)`.
async fn one_lifecycle(db: &Db, user: &Caller, worker: &Caller) -> (i64, i64) {
    const SUBMIT: &str = r#"mutation { submitJob(input: { model: { identifier: "ed542963de",
      version: "1.0.1" }, inputs: [{ name: "a", byteAmount: 1 }, { name: "b", byteAmount: 2 }] })
      { jobIdentifier } }"#;
    let ok = |r: Value| {
        assert!(r.get("errors").is_none(), "{r:#}");
        r["data"].clone()
    };
    let d = ok(run_as(db, Some(user.clone()), SUBMIT, json!({})).await);
    let id = d["submitJob"]["jobIdentifier"]
        .as_str()
        .unwrap()
        .to_string();
    let start = "mutation($j: String!) { startJob(jobIdentifier: $j) { status } }";
    ok(run_as(db, Some(worker.clone()), start, json!({ "j": id })).await);
    let report = r#"mutation($j: String!, $i: String!) { reportInputResult(jobIdentifier: $j,
      inputName: $i, outcome: COMPLETED) { status queueTime elapsedTime } }"#;
    let mut last = Value::Null;
    for input in ["a", "b"] {
        last = ok(run_as(
            db,
            Some(worker.clone()),
            report,
            json!({ "j": id, "i": input }),
        )
        .await);
    }
    let job = &last["reportInputResult"];
    assert_eq!(job["status"], "COMPLETED");
    (
        job["queueTime"].as_i64().unwrap(),
        job["elapsedTime"].as_i64().unwrap(),
    )
}

backend_tests! {
    async fn the_lifecycles_writes_are_kept_prepared(t: TestDb) {
        // One connection, watched: which statements it adds to its cache.
        let config = DbConfig { pool_size: 1, ..DbConfig::new(t.db.url().clone()) };
        let db = db::connect::connect(&config).await.expect("connect");
        let cached = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = Arc::clone(&cached);
        job_history::with_conn!(db, conn => {
            conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                    log.lock().unwrap().push(sql.to_string());
                }

            });
            Ok(())
        })
        .expect("instrument");
        job_history::seed::seed(&db, job_history::seed::SeedOptions::new(0)).await.unwrap();
        let user = common::issue_key(&db, "Acme", "user@acme.test", Role::User).await;
        let worker = common::issue_key(&db, "Acme", "worker@acme.test", Role::Worker).await;
        let (user, worker) = (common::caller_for(&db, &user).await, common::caller_for(&db, &worker).await);

        one_lifecycle(&db, &user, &worker).await;
        // Identifiers unquoted: PostgreSQL's "jobs", SQLite's `jobs`.
        let first: Vec<String> = cached.lock().unwrap().iter().map(|s| s.replace(['"', '`'], "")).collect();
        for write in [
            "INSERT INTO jobs ",
            "INSERT INTO job_inputs ",
            "UPDATE jobs SET status",
            "UPDATE jobs SET pending",
            "UPDATE job_inputs ",
            "INSERT INTO job_counts ",
            "INSERT INTO user_job_counts ",
            "INSERT INTO job_stats ",
        ] {
            assert!(
                first.iter().any(|sql| sql.starts_with(write)),
                "no statement starting {write} was kept prepared: {first:#?}"
            );
        }
        // The same lifecycle again: every statement found prepared, none added.
        one_lifecycle(&db, &user, &worker).await;
        let again = cached.lock().unwrap()[first.len()..].to_vec();
        assert!(again.is_empty(), "a second lifecycle prepared statements again: {again:#?}");
    }

    async fn stored_durations_are_whole_milliseconds_as_chrono_counts_them(t: TestDb) {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%F %T%.f").unwrap();
        let pairs = [
            ("2026-03-01 10:00:00", "2026-03-01 10:00:00"),
            ("2026-03-01 10:00:00.000001", "2026-03-01 10:00:00.001000"),
            ("2026-03-01 10:00:00.000001", "2026-03-01 10:00:00.001001"),
            ("2026-03-01 10:00:00.000002", "2026-03-01 10:00:00.001001"),
            ("2026-03-01 10:00:00.999999", "2026-03-01 10:00:01"),
            ("2026-03-01 10:00:00.999", "2026-03-01 10:00:01.998"),
            ("2026-03-01 10:00:00.5", "2026-03-01 10:00:01.25"),
            ("2026-02-28 23:59:59.123456", "2026-03-02 00:00:00.000123"),
            ("2025-12-31 23:59:59.999999", "2026-01-01 00:00:00"),
            ("2020-01-01 00:00:00", "2026-11-29 12:34:56.789012"),
            ("2026-03-01 10:00:01", "2026-03-01 10:00:00"), // the clock went back: 0
        ];
        for (since, now) in pairs {
            let (since, now) = (at(since), at(now));
            let want = (now - since).num_milliseconds().max(0);
            let got: Option<i64> = job_history::with_conn!(t.db, conn => {
                Ok(diesel::select(millis_since(since.into_sql::<Nullable<Timestamp>>(), now))
                    .get_result(conn)
                    .await?)
            })
            .expect("select");
            assert_eq!(got, Some(want), "{since} → {now}");
        }
        let never: Option<i64> = job_history::with_conn!(t.db, conn => {
            let none: Option<NaiveDateTime> = None;
            Ok(diesel::select(millis_since(none.into_sql::<Nullable<Timestamp>>(), at("2026-03-01 10:00:00")))
                .get_result(conn)
                .await?)
        })
        .expect("select");
        assert_eq!(never, None, "no start, no elapsed time");
    }
}
