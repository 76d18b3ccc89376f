//! The seeder: consistent, deterministic data, and seeding a non-empty database only adds.

mod common;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use job_history::db::Db;
use job_history::db::schema::{accounts, api_keys, job_inputs, jobs, models, users};
use job_history::seed::{SeedOptions, seed};

#[derive(Debug, PartialEq)]
struct Counts {
    accounts: i64,
    users: i64,
    keys: i64,
    models: i64,
    jobs: i64,
    inputs: i64,
    broken_counters: i64,
    wrong_bytes: i64,
}

async fn counts(db: &Db) -> Counts {
    let run = async {
        job_history::with_conn!(db, conn => {
            // Jobs whose counters or byte total disagree with their inputs.
            let per_job: Vec<(i32, i32, i32, i32, i64, i64)> = jobs::table
                .select((jobs::total, jobs::pending, jobs::completed, jobs::failed, jobs::input_byte_amount, jobs::id))
                .load(conn)
                .await?;
            let inputs: Vec<(i64, i32, i64)> = job_inputs::table
                .select((job_inputs::job_id, job_inputs::status, job_inputs::byte_amount))
                .load(conn)
                .await?;
            let mut by_job = std::collections::HashMap::<i64, (i32, i32, i32, i64)>::new();
            for (job, status, bytes) in &inputs {
                let e = by_job.entry(*job).or_default();
                match status { 0 => e.0 += 1, 1 => e.1 += 1, _ => e.2 += 1 }
                e.3 += bytes;
            }
            let broken_counters = per_job.iter().filter(|(t, p, c, f, _, id)| {
                let (ip, ic, if_, _) = by_job.get(id).copied().unwrap_or_default();
                *t != p + c + f || (ip, ic, if_) != (*p, *c, *f)
            }).count() as i64;
            let wrong_bytes = per_job.iter().filter(|(.., b, id)| by_job.get(id).map(|e| e.3) != Some(*b)).count() as i64;
            Ok(Counts {
                accounts: accounts::table.count().get_result(conn).await?,
                users: users::table.count().get_result(conn).await?,
                keys: api_keys::table.count().get_result(conn).await?,
                models: models::table.count().get_result(conn).await?,
                jobs: per_job.len() as i64,
                inputs: inputs.len() as i64,
                broken_counters,
                wrong_bytes,
            })
        })
    };
    run.await.expect("count rows")
}

async fn identifiers(db: &Db) -> Vec<String> {
    let run = async {
        job_history::with_conn!(db, conn => {
            Ok(jobs::table.order(jobs::id).select(jobs::job_identifier).load::<String>(conn).await?)
        })
    };
    run.await.unwrap()
}

fn options(jobs: u64) -> SeedOptions {
    let mut o = SeedOptions::new(jobs);
    o.accounts = 3;
    o.users = 12;
    o.seed = 99;
    o.now = chrono::NaiveDate::from_ymd_opt(2026, 6, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    o
}

backend_tests! {
    async fn seeding_produces_consistent_rows(t: TestDb) {
        let report = seed(&t.db, options(12_345)).await.unwrap();
        assert_eq!(report.jobs, 12_345);
        let c = counts(&t.db).await;
        assert_eq!((c.accounts, c.users, c.keys, c.jobs), (3, 12, 12, 12_345));
        assert_eq!(c.inputs as u64, report.inputs);
        assert!(c.inputs >= c.jobs && c.inputs <= 5 * c.jobs);
        assert!(c.models >= 20);
        assert_eq!((c.broken_counters, c.wrong_bytes), (0, 0));
    }

    async fn seeding_twice_adds_and_never_collides(t: TestDb) {
        seed(&t.db, options(3_000)).await.unwrap();
        let first = counts(&t.db).await;
        seed(&t.db, options(2_000)).await.unwrap();
        let second = counts(&t.db).await;
        assert_eq!(second.jobs, first.jobs + 2_000);
        assert_eq!(second.accounts, first.accounts + 3);
        assert_eq!(second.users, first.users + 12);
        assert_eq!(second.models, first.models, "the catalogue is not duplicated");
        assert_eq!((second.broken_counters, second.wrong_bytes), (0, 0));
    }

    async fn seeding_is_deterministic(t: TestDb) {
        let other = match t.db.backend() {
            job_history::db::Backend::Sqlite => common::TestDb::sqlite().await,
            job_history::db::Backend::Postgres => common::TestDb::postgres().await,
        };
        seed(&t.db, options(1_500)).await.unwrap();
        seed(&other.db, options(1_500)).await.unwrap();
        let ids = identifiers(&t.db).await;
        assert_eq!(ids.len(), 1_500);
        assert_eq!(ids, identifiers(&other.db).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_jobs_without_users_is_refused() {
    let t = common::TestDb::sqlite().await;
    let mut o = options(10);
    o.users = 0;
    let err = seed(&t.db, o).await.unwrap_err();
    assert!(err.to_string().contains("at least one user"), "{err}");
    assert_eq!(counts(&t.db).await.jobs, 0);
}

/// Rows the planner's statistics give `jobs` (`None`: never analyzed).
async fn analyzed_jobs(db: &Db) -> Option<i64> {
    #[derive(QueryableByName)]
    struct Stat {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        rows: Option<i64>,
    }
    // Each statement answers NULL for "never analyzed"; the last one gives the rows.
    let statements: &[&str] = match db.backend() {
        job_history::db::Backend::Postgres => {
            &["SELECT NULLIF(reltuples, -1)::bigint AS rows FROM pg_class WHERE relname = 'jobs'"]
        }
        // sqlite_stat1 only exists once something was analyzed; `stat` starts with the rows.
        job_history::db::Backend::Sqlite => &[
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1') THEN 1 END AS rows",
            "SELECT (SELECT CAST(stat AS INTEGER) FROM sqlite_stat1 WHERE idx = 'jobs_created_idx') AS rows",
        ],
    };
    let mut rows = None;
    for sql in statements {
        let run = async {
            job_history::with_conn!(db, conn => {
                Ok(diesel::sql_query(*sql).get_result::<Stat>(conn).await?.rows)
            })
        };
        rows = run.await.expect("read statistics");
        rows?;
    }
    rows
}

backend_tests! {
    async fn the_planner_has_statistics_after_seeding(t: TestDb) {
        assert_eq!(analyzed_jobs(&t.db).await, None, "a fresh database has none");
        seed(&t.db, options(3_000)).await.unwrap();
        assert_eq!(analyzed_jobs(&t.db).await, Some(3_000));
    }
}

/// The server's start-up `PRAGMA optimize` analyzes a database filled by the API.
#[tokio::test]
async fn sqlite_statistics_are_brought_up_to_date() {
    let t = common::TestDb::sqlite().await;
    seed(&t.db, SeedOptions::new(0)).await.unwrap(); // the model catalogue
    let key = common::issue_key(
        &t.db,
        "Acme",
        "stats@acme.test",
        job_history::domain::Role::User,
    )
    .await;
    let caller = common::caller_for(&t.db, &key).await;
    const SUBMIT: &str = r#"mutation { submitJob(input: { model: { identifier: "ed542963de", version: "1.0.1" },
      inputs: [{ name: "a", byteAmount: 10 }] }) { jobIdentifier } }"#;
    for _ in 0..40 {
        let r =
            common::gql::run_as(&t.db, Some(caller.clone()), SUBMIT, serde_json::json!({})).await;
        assert!(r.get("errors").is_none(), "{r}");
    }
    assert_eq!(analyzed_jobs(&t.db).await, None);
    job_history::db::upkeep::optimize(&t.db).await.unwrap();
    assert_eq!(analyzed_jobs(&t.db).await, Some(40));
}

type Time = chrono::NaiveDateTime;
/// A job's times, as `seeded_rows_are_pinned` reads them.
type Times = (
    String,
    Time,
    Time,
    Time,
    Option<Time>,
    Option<Time>,
    Option<Time>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);
/// A job's owners, status and counters.
type Counters = (i64, i64, i64, i32, bool, bool, i32, i32, i32, i32, i64);
/// A job input.
type Input = (
    i64,
    i32,
    String,
    i32,
    i64,
    Option<Time>,
    Option<Time>,
    Option<String>,
);

/// Everything the seeder draws, pinned by a digest of the rows it writes (keys and
/// `submitted_by` are random by design and left out): the demo's names and numbers, which the
/// README's examples and its readers rely on, stay the same from one version to the next. A
/// deliberate change to the generated data updates `PINNED` in the same commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_rows_are_pinned() {
    use sha2::{Digest, Sha256};
    const PINNED: &str = "35ef629fd5b8ce3af5ae60651c3b94339e1be5321da5f1dc2cd76a46a9097bb8";
    let t = common::TestDb::sqlite().await;
    seed(&t.db, options(1_000)).await.unwrap();
    let rows = job_history::with_conn!(&t.db, conn => {
            let people: Vec<(String, String, String, String, String, String)> = users::table
                .inner_join(accounts::table)
                .order(users::id)
                .select((accounts::identifier, accounts::name, users::identifier, users::email, users::first_name, users::title))
                .load(conn)
                .await?;
            let times: Vec<Times> = jobs::table
                .order(jobs::id)
                .select((jobs::job_identifier, jobs::created_at, jobs::updated_at, jobs::submitted_at, jobs::started_at, jobs::finished_at, jobs::deadline_at, jobs::timeout_ms, jobs::queue_ms, jobs::elapsed_ms))
                .load(conn)
                .await?;
            let counts: Vec<Counters> = jobs::table
                .order(jobs::id)
                .select((jobs::account_id, jobs::user_id, jobs::model_id, jobs::status, jobs::explain, jobs::image_classification_model, jobs::total, jobs::pending, jobs::completed, jobs::failed, jobs::input_byte_amount))
                .load(conn)
                .await?;
            let inputs: Vec<Input> = job_inputs::table
                .order(job_inputs::id)
                .select((job_inputs::job_id, job_inputs::position, job_inputs::name, job_inputs::status, job_inputs::byte_amount, job_inputs::started_at, job_inputs::finished_at, job_inputs::error_message))
                .load(conn)
                .await?;
            Ok::<_, job_history::db::DbError>(format!("{people:?}{times:?}{counts:?}{inputs:?}"))
        })
        .unwrap();
    let digest: String = Sha256::digest(rows.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, PINNED, "the seeded data changed");
}
