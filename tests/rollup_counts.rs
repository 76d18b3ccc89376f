//! `totalCount` from the rollups (`job_counts`, `user_job_counts`) must equal a live `COUNT(*)`
//! for any filter they answer — statuses (groups, exact lists, the empty list), model
//! conditions, flags, creation and submission ranges of every shape, users, every scope — after random
//! lifecycle transitions, timeouts (recorded or not yet swept) and concurrent writers; and the
//! rollups' rows must equal a recount of `jobs` (`common::invariants`). The update spans a
//! creation range holds (`db::update_span`, read from the same rows) must hold every update
//! time of the range's jobs, and no more than those of the jobs created on its days.

mod common;

use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDateTime};
use common::workload::Workload;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use job_history::db::count::{count, count_live};
use job_history::db::daily::{day_of, day_start};
use job_history::db::jobs::{JobConditions, Range, Texts};
use job_history::db::lifecycle::{self, Submitter};
use job_history::db::schema::{api_keys, jobs, models, users};
use job_history::db::{Db, DbError};
use job_history::domain::{AccountId, JobStatus, Scope, UserId};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// What a random filter may name: models of the catalogue, the accounts there are and the
/// users' first names.
struct World {
    models: Vec<(String, String, String)>,
    accounts: Vec<AccountId>,
    names: Vec<String>,
    /// Creation and submission times of jobs submitted after their creation: bounds a job
    /// crosses.
    lagging: Vec<(NaiveDateTime, NaiveDateTime)>,
}

async fn world(db: &Db) -> World {
    db.read(async |conn| {
        job_history::on_backend!(conn, c => {
            let models = models::table
                .select((models::identifier, models::version, models::name))
                .load(c)
                .await?;
            let accounts = api_keys::table
                .select(api_keys::account_id)
                .distinct()
                .load(c)
                .await?;
            let names = users::table.select(users::first_name).load(c).await?;
            let lagging = jobs::table
                .filter(jobs::submitted_at.gt(jobs::created_at))
                .select((jobs::created_at, jobs::submitted_at))
                .limit(200)
                .load(c)
                .await?;
            Ok::<_, DbError>(World { models, accounts, names, lagging })
        })
    })
    .await
    .unwrap()
}

const STATUSES: [JobStatus; 6] = [
    JobStatus::Submitted,
    JobStatus::InProgress,
    JobStatus::Completed,
    JobStatus::Canceled,
    JobStatus::Timedout,
    JobStatus::Error,
];

/// A random instant around the history: day-aligned, either half of a day, now, or the
/// creation or submission time of a job submitted after its creation.
fn instant(rng: &mut SmallRng, w: &World, now: NaiveDateTime) -> NaiveDateTime {
    let day = day_start(day_of(now)) - Duration::days(rng.random_range(0..200));
    let (created, submitted) = match w.lagging.len() {
        0 => (day, day),
        n => w.lagging[rng.random_range(0..n)],
    };
    match rng.random_range(0..6) {
        0 => day,
        1 => day + Duration::minutes(rng.random_range(0..720)),
        2 => day + Duration::minutes(rng.random_range(720..1440)),
        3 => created,
        4 => submitted,
        _ => now + Duration::microseconds(rng.random_range(-5..5)),
    }
}

/// Random conditions the rollup can answer, and a scope.
fn random_filter(rng: &mut SmallRng, w: &World, now: NaiveDateTime) -> (Scope, JobConditions) {
    let mut c = JobConditions {
        now: Some(now),
        ..Default::default()
    };
    c.statuses = match rng.random_range(0..5) {
        0 => None,
        1 => Some(vec![
            JobStatus::Completed,
            JobStatus::Canceled,
            JobStatus::Timedout,
            JobStatus::Error,
        ]),
        2 => Some(vec![JobStatus::Submitted, JobStatus::InProgress]),
        _ => Some(
            STATUSES
                .into_iter()
                .filter(|_| rng.random_bool(0.4))
                .collect(),
        ),
    };
    let scope = match rng.random_range(0..=w.accounts.len()) {
        0 => Scope::All,
        i => Scope::Account(w.accounts[i - 1]),
    };
    if rng.random_bool(0.25) {
        // Users and statuses alone: the per-user rows (`user_job_counts`). One text, texts
        // ORed in a group, or two groups ANDed; a text matching nobody now and then.
        let text = |rng: &mut SmallRng| {
            let name = w.names[rng.random_range(0..w.names.len())].to_lowercase();
            match rng.random_range(0..6) {
                0 => "zzqx".to_string(),
                n => name.chars().take(n).collect(),
            }
        };
        let groups = match rng.random_range(0..3) {
            0 => vec![vec![text(rng)]],
            1 => vec![vec![text(rng), text(rng)]],
            _ => vec![vec![text(rng)], vec![text(rng)]],
        };
        c.user = Some(Texts(groups));
        return (scope, c);
    }
    let (identifier, version, name) = &w.models[rng.random_range(0..w.models.len())];
    match rng.random_range(0..5) {
        0 => c.model_name = Some(Texts::one(name[..name.len().min(4)].to_lowercase())),
        1 => c.model_identifier = Some(identifier.clone()),
        2 => {
            (c.model_identifier, c.model_version) =
                (Some(identifier.clone()), Some(version.clone()))
        }
        3 => c.model_version = Some(version.clone()),
        _ => {}
    }
    if rng.random_bool(0.3) {
        c.explain = Some(rng.random_bool(0.5));
    }
    if rng.random_bool(0.3) {
        c.image_classification_model = Some(rng.random_bool(0.5));
    }
    if rng.random_bool(0.8) {
        let (a, b) = (instant(rng, w, now), instant(rng, w, now));
        let range = Some(Range {
            from: a.min(b),
            to: a.max(b),
        });
        // A submission range is read as the creation range it nearly is (`db::implied`).
        if rng.random_bool(0.3) {
            c.submitted = range;
        } else {
            c.created = range;
        }
    }
    (scope, c)
}

/// Compares `cases` random counts with live counts; returns how many were non-zero.
async fn compare(db: &Db, seed: u64, cases: usize, now: NaiveDateTime) -> usize {
    let w = world(db).await;
    let mut rng = SmallRng::seed_from_u64(seed);
    db.read(async |conn| {
        let mut nonzero = 0;
        for i in 0..cases {
            let (scope, c) = random_filter(&mut rng, &w, now);
            let (fast, live) = (
                count(conn, scope, &c).await?,
                count_live(conn, scope, &c).await?,
            );
            assert_eq!(fast, live, "case {i} (seed {seed}): {scope:?} {c:?}");
            nonzero += usize::from(live > 0);
        }
        Ok::<_, DbError>(nonzero)
    })
    .await
    .unwrap()
}

/// Checks the update spans of `cases` random creation ranges in random scopes against the
/// jobs: each holds the update time of every job the range holds, and lies within those of
/// the jobs created on the range's days (the rollup keeps whole days). Returns how many ranges
/// held a job.
async fn spans_hold(db: &Db, seed: u64, cases: usize, now: NaiveDateTime) -> usize {
    use job_history::db::update_span::of_creation_range;
    let w = world(db).await;
    let mut rng = SmallRng::seed_from_u64(seed);
    db.snapshot(async |conn| {
        let all: Vec<(AccountId, NaiveDateTime, NaiveDateTime)> = job_history::on_backend!(conn, c => {
            jobs::table.select((jobs::account_id, jobs::created_at, jobs::updated_at)).load(c).await?
        });
        let mut held = 0;
        for i in 0..cases {
            let (scope, c) = random_filter(&mut rng, &w, now);
            let Some(range) = c.created else { continue };
            let span = of_creation_range(conn, scope, range).await?;
            let visible = all.iter().filter(|(a, ..)| scope.account().is_none_or(|s| s == *a));
            let inside: Vec<NaiveDateTime> = visible.clone().filter(|(_, c, _)| *c >= range.from && *c <= range.to).map(|j| j.2).collect();
            let days = day_of(range.from)..=day_of(range.to);
            let on_days: Vec<NaiveDateTime> = visible.filter(|(_, c, _)| days.contains(&day_of(*c))).map(|j| j.2).collect();
            let case = format!("case {i} (seed {seed}): {scope:?} {range:?} → {span:?}");
            match span {
                None => assert!(inside.is_empty(), "{case}: {} jobs", inside.len()),
                Some(s) => {
                    assert!(inside.iter().all(|t| *t >= s.first && *t <= s.last), "{case}");
                    let (lo, hi) = (on_days.iter().min(), on_days.iter().max());
                    assert!(lo.is_some_and(|lo| *lo <= s.first) && hi.is_some_and(|hi| *hi >= s.last), "{case}: days hold {lo:?} – {hi:?}");
                }
            }
            held += usize::from(!inside.is_empty());
        }
        Ok::<_, DbError>(held)
    })
    .await
    .unwrap()
}

/// One writer's random work: submits, starts, reports, cancels, on its account's jobs.
async fn writer(db: Db, who: Submitter, models: Vec<(String, String)>, seed: u64, ops: usize) {
    let mut work = Workload::new(seed, models, true);
    for _ in 0..ops {
        work.step(&db, job_history::db::now(), |_| who.clone())
            .await;
    }
}

/// How many rollup rows are in a slot other than 0.
async fn slotted(db: &Db) -> usize {
    use job_history::db::schema::job_counts;
    db.read(async |conn| job_history::on_backend!(conn, c => {
        let n: i64 = job_counts::table.filter(job_counts::slot.ne(0)).count().get_result(c).await?;
        Ok::<_, DbError>(usize::try_from(n).unwrap())
    }))
    .await
    .unwrap()
}

/// The sweeper's work, `rounds` times: record what is overdue.
async fn sweeper(db: Db, rounds: usize) {
    for _ in 0..rounds {
        let now = job_history::db::now();
        let overdue = db
            .read(async |c| lifecycle::overdue(c, now, 50).await)
            .await
            .unwrap();
        for job in overdue {
            db.write(async |tx| lifecycle::time_out(tx, job).await)
                .await
                .unwrap();
        }
        tokio::task::yield_now().await;
    }
}

/// How many embedded migrations came after `…000005`, the last schema without the rollup: the
/// migration test reverts them all, whatever later changes add.
fn migrations_since_the_rollup() -> usize {
    use diesel::migration::MigrationSource;
    use diesel::pg::Pg;
    let all = MigrationSource::<Pg>::migrations(&job_history::db::migrate::POSTGRES).unwrap();
    all.iter()
        .filter(|m| m.name().version().to_string().as_str() > "20261129000005")
        .count()
}

/// Reverts the last `n` migrations (their `down.sql`), as an older binary's schema.
async fn revert(db: &Db, n: usize) {
    use diesel_migrations::MigrationHarness;
    use job_history::db::DatabaseUrl;
    use job_history::db::migrate::{POSTGRES, SQLITE};
    let url = db.url().clone();
    tokio::task::spawn_blocking(move || match url {
        DatabaseUrl::Postgres(url) => {
            type Pg = diesel_async::async_connection_wrapper::AsyncConnectionWrapper<
                diesel_async::AsyncPgConnection,
            >;
            let mut c = <Pg as diesel::Connection>::establish(&url).unwrap();
            for _ in 0..n {
                c.revert_last_migration(POSTGRES).unwrap();
            }
        }
        DatabaseUrl::Sqlite(path) => {
            let mut c = <diesel::SqliteConnection as diesel::Connection>::establish(&path).unwrap();
            for _ in 0..n {
                c.revert_last_migration(SQLITE).unwrap();
            }
        }
    })
    .await
    .unwrap();
}

backend_tests! {
    async fn the_migration_fills_the_rollup_from_the_jobs_already_stored(t: TestDb) {
        common::fixtures::history(&t.db, 1_500).await;
        // Back to the schema before the rollup (`job_daily`, rebuilt by the down migration;
        // no `job_counts`, no global sort indexes, no `job_stats`): a database as the release
        // before issue 13 left it.
        let since = migrations_since_the_rollup();
        assert!(since >= 2, "{since}: the rollup's migrations are …000006 and …000007");
        revert(&t.db, since).await;
        let gone = t.db.read(async |conn| job_history::on_backend!(conn, c => {
            Ok::<_, DbError>(diesel::sql_query("SELECT count(*) FROM job_counts").execute(c).await.is_err())
        })).await.unwrap();
        assert!(gone, "job_counts should not exist after reverting its migration");
        let applied = job_history::db::migrate::run(&t.db).await.unwrap();
        assert_eq!(applied.len(), since, "{applied:?}");
        common::invariants::check(&t.db).await;
        compare(&t.db, 4, 100, job_history::db::now()).await;
        spans_hold(&t.db, 4, 100, job_history::db::now()).await;
    }

    async fn rollup_counts_equal_live_counts_for_random_filters(t: TestDb) {
        common::fixtures::history(&t.db, 2_000).await;
        common::invariants::check(&t.db).await;
        let now = job_history::db::now();
        let nonzero = compare(&t.db, 1, 400, now).await;
        assert!(nonzero > 100, "too few cases matched anything ({nonzero}): the test would prove little");
        let held = spans_hold(&t.db, 1, 400, now).await;
        assert!(held > 50, "too few ranges held a job ({held})");
        // Later, the pending jobs with a deadline ahead have timed out (never swept).
        compare(&t.db, 2, 200, now + Duration::hours(2)).await;
    }

    async fn rollup_stays_exact_under_concurrent_writers_and_sweeps(t: TestDb) {
        common::fixtures::history(&t.db, 300).await;
        let w = world(&t.db).await;
        let submitters: Vec<Submitter> = t.db.read(async |conn| job_history::on_backend!(conn, c => {
            let keys: Vec<(String, UserId, AccountId)> = api_keys::table
                .select((api_keys::prefix, api_keys::user_id, api_keys::account_id))
                .order(api_keys::id)
                .load(c)
                .await?;
            Ok::<_, DbError>(keys.into_iter().map(|(key_prefix, user_id, account_id)| Submitter { account_id, user_id, key_prefix }).collect())
        })).await.unwrap();
        let models: Vec<(String, String)> = w.models.iter().map(|(i, v, _)| (i.clone(), v.clone())).collect();
        let done = Arc::new(Mutex::new(0));
        let mut tasks = Vec::new();
        for (i, who) in submitters.into_iter().take(6).enumerate() {
            let (db, models, done) = (t.db.clone(), models.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                writer(db, who, models, i as u64, 60).await;
                *done.lock().unwrap() += 1;
            }));
        }
        tasks.push(tokio::spawn(sweeper(t.db.clone(), 30)));
        for task in tasks {
            task.await.expect("no writer panicked");
        }
        assert_eq!(*done.lock().unwrap(), 6);
        // A last sweep of what expired meanwhile; then the rows and random counts.
        sweeper(t.db.clone(), 1).await;
        common::invariants::check(&t.db).await;
        let now = job_history::db::now();
        compare(&t.db, 3, 300, now).await;
        spans_hold(&t.db, 3, 300, now).await;
        // Folding every day's slots into slot 0 changes no count and leaves one row per cell.
        let spread = slotted(&t.db).await;
        assert!(spread > 0, "the writers should have spread rows over slots");
        let removed = t.db.write(async |tx| job_history::db::rollup::compact(tx, i32::MAX, 100_000).await).await.unwrap();
        assert_eq!((removed, slotted(&t.db).await), (spread, 0));
        common::invariants::check(&t.db).await;
        compare(&t.db, 3, 300, now).await;
        spans_hold(&t.db, 3, 300, now).await;
    }
}
