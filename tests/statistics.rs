//! `jobStatistics` against a recount of the jobs, on both backends: random buckets, zones (UTC,
//! New York, Kolkata's :30 and Kathmandu's :45 offsets), ranges, statuses, models, scopes and
//! groupings, after the fixture's forced cases and after random lifecycle transitions with
//! timeouts (recorded or not yet swept); days across daylight-saving changes; percentiles within
//! the stated bound of exact nearest-rank percentiles in every bucket; account isolation; the
//! errors; the migration that fills `job_stats` from existing jobs.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime};
use common::workload::Workload;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use job_history::db::Db;
use job_history::db::jobs::{JobConditions, Range};
use job_history::db::lifecycle::{self, JobSpec, Outcome, Submitter};
use job_history::db::schema::{api_keys, jobs, models};
use job_history::db::statistics::histogram::{Histogram, RELATIVE_ERROR, rank};
use job_history::db::statistics::{Dimensions, GroupKey, Histograms, Request, statistics};
use job_history::domain::{AccountId, JobStatus, ModelId, Role, Scope, UserId};
use job_history::graphql::statistics::calendar::{Buckets, StatisticsBucket, zone};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// A job as the oracle sees it, read with one plain query.
#[derive(Clone, Debug)]
struct J {
    created: NaiveDateTime,
    account: i64,
    user: i64,
    key: String,
    model: i64,
    model_identifier: String,
    stored: i32,
    deadline: Option<NaiveDateTime>,
    started: Option<NaiveDateTime>,
    inputs: [i64; 3],
    bytes: i64,
    queue: Option<i64>,
    elapsed: Option<i64>,
}

impl J {
    /// Effective status and elapsed time at `now` (a pending job past its deadline is TIMEDOUT,
    /// and has run from its start to its deadline).
    fn at(&self, now: NaiveDateTime) -> (i32, Option<i64>) {
        if self.stored <= 1 && self.deadline.is_some_and(|d| d <= now) {
            let elapsed = self
                .started
                .zip(self.deadline)
                .map(|(s, d)| (d - s).num_milliseconds().max(0));
            (4, elapsed)
        } else {
            (self.stored, self.elapsed)
        }
    }
}

async fn all_jobs(db: &Db) -> Vec<J> {
    type Read = (
        (
            NaiveDateTime,
            i64,
            i64,
            String,
            i32,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        ),
        (i32, i32, i32, i64, Option<i64>, Option<i64>),
        (i64, String),
    );
    let rows: Vec<Read> = job_history::with_conn!(db, c => {
        Ok(jobs::table
            .inner_join(models::table)
            .select((
                (jobs::created_at, jobs::account_id, jobs::model_id, models::identifier, jobs::status, jobs::deadline_at, jobs::started_at),
                (jobs::total, jobs::completed, jobs::failed, jobs::input_byte_amount, jobs::queue_ms, jobs::elapsed_ms),
                (jobs::user_id, jobs::submitted_by),
            ))
            .load(c)
            .await?)
    })
    .unwrap();
    rows.into_iter()
        .map(
            |(
                (created, account, model, ident, stored, deadline, started),
                (t, c, f, b, q, e),
                (user, key),
            )| J {
                created,
                account,
                user,
                key,
                model,
                model_identifier: ident,
                stored,
                deadline,
                started,
                inputs: [t.into(), c.into(), f.into()],
                bytes: b,
                queue: q,
                elapsed: e,
            },
        )
        .collect()
}

/// What a cell must hold: jobs by status, inputs, bytes, and per duration (count, sum, max,
/// values).
#[derive(Clone, Debug, Default, PartialEq)]
struct Expected {
    statuses: [i64; 6],
    inputs: [i64; 3],
    bytes: i64,
    queue: (i64, i64, i64, Vec<i64>),
    elapsed: (i64, i64, i64, Vec<i64>),
}

fn add_duration(d: &mut (i64, i64, i64, Vec<i64>), v: Option<i64>) {
    if let Some(v) = v {
        d.0 += 1;
        d.1 += v;
        d.2 = d.2.max(v);
        d.3.push(v);
    }
}

/// One random question: scope, conditions, buckets, grouping.
struct Case {
    scope: Scope,
    conditions: JobConditions,
    request: Request,
}

fn oracle(jobs: &[J], case: &Case) -> Vec<BTreeMap<GroupKey, Expected>> {
    let r = &case.request;
    let c = &case.conditions;
    let mut out = vec![BTreeMap::new(); r.buckets()];
    for j in jobs {
        if case.scope.account().is_some_and(|a| a.0 != j.account) {
            continue;
        }
        let (status, elapsed) = j.at(r.now);
        let code = JobStatus::try_from(status).unwrap();
        if c.statuses.as_ref().is_some_and(|s| !s.contains(&code)) {
            continue;
        }
        if c.model_identifier
            .as_ref()
            .is_some_and(|m| *m != j.model_identifier)
        {
            continue;
        }
        let Some(b) = r.bucket_of(j.created) else {
            continue;
        };
        let d = r.dimensions;
        let key = GroupKey {
            status: d.status.then_some(code),
            model: d.model.then_some(ModelId(j.model)),
            user: d.user.then_some(UserId(j.user)),
            account: d.account.then_some(AccountId(j.account)),
            access_key: d.access_key.then(|| j.key.clone()),
        };
        let e: &mut Expected = out[b].entry(key).or_default();
        e.statuses[usize::try_from(status).unwrap()] += 1;
        for (a, n) in e.inputs.iter_mut().zip(j.inputs) {
            *a += n;
        }
        e.bytes += j.bytes;
        add_duration(&mut e.queue, j.queue);
        add_duration(&mut e.elapsed, elapsed);
    }
    out
}

/// Compares the data layer's answer with the oracle's, cell by cell; histograms hold exactly
/// the values' buckets.
/// The histogram of `values`.
fn hist(values: impl IntoIterator<Item = i64>) -> Histogram {
    let mut h = Histogram::default();
    values.into_iter().for_each(|v| h.add(v));
    h
}

async fn compare(db: &Db, jobs: &[J], case: &Case, label: &str) -> usize {
    let got = db
        .read(async |c| statistics(c, case.scope, &case.conditions, &case.request).await)
        .await
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let want = oracle(jobs, case);
    assert_eq!(got.buckets.len(), want.len(), "{label}: buckets");
    // The histograms summed apart from the cells: each bucket's total, each group's range.
    for (i, (got, want)) in got.buckets.iter().zip(&want).enumerate() {
        let queue = hist(want.values().flat_map(|w| w.queue.3.iter().copied()));
        let elapsed = hist(want.values().flat_map(|w| w.elapsed.3.iter().copied()));
        assert_eq!(got, &[queue, elapsed], "{label}: bucket {i}'s total");
    }
    let groups: std::collections::BTreeSet<&GroupKey> =
        want.iter().flat_map(BTreeMap::keys).collect();
    let got_groups: BTreeMap<&GroupKey, _> = got.group_histograms().collect();
    for &key in &groups {
        let of = |bucket: &BTreeMap<GroupKey, Expected>| bucket.get(key).cloned();
        let queue = hist(want.iter().filter_map(of).flat_map(|w| w.queue.3));
        let elapsed = hist(want.iter().filter_map(of).flat_map(|w| w.elapsed.3));
        let seen = got_groups
            .get(key)
            .map_or_else(Default::default, |&h| h.clone());
        assert_eq!(
            seen,
            [queue, elapsed],
            "{label}: group {key:?} over the range"
        );
    }
    for key in got_groups.keys() {
        assert!(
            groups.contains(key),
            "{label}: group {key:?} has histograms and no job"
        );
    }
    let mut nonzero = 0;
    for (i, want) in want.iter().enumerate() {
        let got: BTreeMap<&GroupKey, _> = got.cells(i).collect();
        assert_eq!(
            got.keys().copied().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{label}: bucket {i}'s groups"
        );
        for (key, w) in want {
            let g = got[key];
            let seen = (
                g.statuses,
                g.inputs,
                g.bytes,
                (
                    g.queue.count,
                    g.queue.sum,
                    g.queue.max,
                    g.queue.histogram.clone(),
                ),
                (
                    g.elapsed.count,
                    g.elapsed.sum,
                    g.elapsed.max,
                    g.elapsed.histogram.clone(),
                ),
            );
            let (q, e) = (&w.queue, &w.elapsed);
            let expected = (
                w.statuses,
                w.inputs,
                w.bytes,
                (q.0, q.1, q.2, hist(q.3.iter().copied())),
                (e.0, e.1, e.2, hist(e.3.iter().copied())),
            );
            assert_eq!(seen, expected, "{label}: bucket {i}, group {key:?}");
            nonzero += 1;
        }
    }
    nonzero
}

const ZONES: [&str; 4] = ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"];

fn random_case(rng: &mut SmallRng, jobs: &[J], accounts: &[i64], now: NaiveDateTime) -> Case {
    let bucket = [
        StatisticsBucket::Hour,
        StatisticsBucket::Day,
        StatisticsBucket::Week,
        StatisticsBucket::Month,
    ][rng.random_range(0..4)];
    let tz = zone(ZONES[rng.random_range(0..ZONES.len())]).unwrap();
    let span = match bucket {
        StatisticsBucket::Hour => Duration::hours(rng.random_range(1..200)),
        _ => Duration::days(rng.random_range(1..200)),
    };
    let to = now - Duration::minutes(rng.random_range(0..60 * 24 * 30));
    let from = to - span + Duration::seconds(rng.random_range(0..3_600));
    let range = rng.random_bool(0.9).then_some(Range {
        from: from.min(to),
        to,
    });
    let buckets = Buckets::new(bucket, tz, range, now).unwrap();
    let mut conditions = JobConditions {
        now: Some(now),
        ..Default::default()
    };
    conditions.statuses = match rng.random_range(0..4) {
        0 => Some(vec![JobStatus::Submitted, JobStatus::InProgress]),
        1 => Some(vec![JobStatus::Timedout, JobStatus::Completed]),
        _ => None,
    };
    if rng.random_bool(0.3) {
        conditions.model_identifier = Some(
            jobs[rng.random_range(0..jobs.len())]
                .model_identifier
                .clone(),
        );
    }
    let scope = match rng.random_range(0..=accounts.len()) {
        0 => Scope::All,
        i => Scope::Account(AccountId(accounts[i - 1])),
    };
    let dimensions = Dimensions {
        status: rng.random_bool(0.5),
        model: rng.random_bool(0.5),
        account: scope == Scope::All && rng.random_bool(0.3),
        // Not in the rollup: the matching jobs are scanned.
        user: rng.random_bool(0.15),
        access_key: rng.random_bool(0.15),
    };
    Case {
        scope,
        conditions,
        request: Request {
            edges: buckets.edges(),
            dimensions,
            histograms: Histograms::ALL,
            now,
        },
    }
}

async fn accounts(db: &Db) -> Vec<i64> {
    job_history::with_conn!(db, c => {
        Ok(api_keys::table.select(api_keys::account_id).distinct().load::<i64>(c).await?)
    })
    .unwrap()
}

/// Random lifecycle work on the jobs of every key's account: submits (some with a 1 ms
/// timeout), starts, reports, cancels, sweeps.
async fn lifecycle_work(db: &Db, seed: u64, ops: usize) {
    let keys: Vec<(String, UserId, AccountId)> = job_history::with_conn!(db, c => {
        Ok(api_keys::table.select((api_keys::prefix, api_keys::user_id, api_keys::account_id)).load(c).await?)
    })
    .unwrap();
    let models: Vec<(String, String)> = job_history::with_conn!(db, c => {
        Ok(models::table.select((models::identifier, models::version)).load(c).await?)
    })
    .unwrap();
    let mut work = Workload::new(seed, models, false);
    for _ in 0..ops {
        let now = job_history::db::now();
        let submitted = work
            .step(db, now, |rng| {
                let (key_prefix, user_id, account_id) =
                    keys[rng.random_range(0..keys.len())].clone();
                Submitter {
                    account_id,
                    user_id,
                    key_prefix,
                }
            })
            .await;
        if !submitted && work.rng().random_bool(0.1) {
            let overdue = db
                .read(async |c| lifecycle::overdue(c, now, 20).await)
                .await
                .unwrap();
            for job in overdue {
                db.write(async |tx| lifecycle::time_out(tx, job).await)
                    .await
                    .unwrap();
            }
        }
    }
}

/// On PostgreSQL a fold waits while another replica's fold holds the advisory lock, rather than
/// merging into the same packed values at the same time (one would overwrite the other's sum).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fold_waits_for_another_replicas_fold() {
    use job_history::db::Pools;
    use job_history::db::statistics::rollup::COMPACTION_LOCK;
    let t = common::TestDb::postgres().await;
    common::fixtures::history(&t.db, 200).await;
    lifecycle_work(&t.db, 5, 40).await;
    assert!(
        !unfolded(&t.db).await.is_empty(),
        "nothing to fold: the test would prove little"
    );
    let Pools::Postgres(pool) = t.db.pools() else {
        unreachable!("PostgreSQL")
    };
    // Another replica's fold, in progress: its transaction holds the lock.
    let mut other = pool.get().await.unwrap();
    diesel::sql_query("BEGIN")
        .execute(&mut *other)
        .await
        .unwrap();
    diesel::sql_query(COMPACTION_LOCK)
        .execute(&mut *other)
        .await
        .unwrap();
    let fold = tokio::spawn({
        let db = t.db.clone();
        async move {
            job_history::db::upkeep::compact_statistics(
                &db,
                job_history::db::upkeep::UNITS_PER_LISTING,
            )
            .await
        }
    });
    // Observed, not timed: wait until PostgreSQL shows the fold waiting for that lock.
    #[derive(QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let w: Waiting = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        )
        .get_result(&mut *other)
        .await
        .unwrap();
        if w.n == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the fold never waited for the lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!fold.is_finished());
    assert!(
        !unfolded(&t.db).await.is_empty(),
        "the fold went ahead while the lock was held"
    );
    diesel::sql_query("COMMIT")
        .execute(&mut *other)
        .await
        .unwrap();
    drop(other);
    assert!(fold.await.unwrap().unwrap() > 0);
    assert!(unfolded(&t.db).await.is_empty());
    common::invariants::check(&t.db).await;
}

/// The units with `job_stats` rows not folded into packed values yet.
async fn unfolded(db: &Db) -> Vec<job_history::db::statistics::rollup::Unit> {
    db.read(async |c| job_history::db::statistics::rollup::unfolded_units(c, 1_000_000).await)
        .await
        .unwrap()
}

fn at(s: &str) -> NaiveDateTime {
    DateTime::parse_from_rfc3339(s).unwrap().naive_utc()
}

backend_tests! {
    async fn statistics_equal_a_recount_of_the_jobs(t: TestDb) {
        // The fixture folds the seeded jobs into packed values; the work writes rows beside
        // them, folded halfway, so the reads add packed values and rows of the same periods.
        common::fixtures::history(&t.db, 1_500).await;
        lifecycle_work(&t.db, 9, 90).await;
        job_history::db::upkeep::compact_statistics(&t.db, 7).await.unwrap();
        lifecycle_work(&t.db, 10, 60).await;
        assert!(!unfolded(&t.db).await.is_empty(), "the work wrote no row: the test would not mix both sources");
        common::invariants::check(&t.db).await;
        let (jobs, accounts) = (all_jobs(&t.db).await, accounts(&t.db).await);
        let mut rng = SmallRng::seed_from_u64(14);
        let now = job_history::db::now();
        let (mut nonzero, mut with_months) = (0, 0);
        for i in 0..60 {
            let case = random_case(&mut rng, &jobs, &accounts, now);
            let plan = job_history::db::statistics::plan::Plan::new(&case.request.edges);
            with_months += usize::from(!plan.months().is_empty());
            nonzero += compare(&t.db, &jobs, &case, &format!("case {i}")).await;
        }
        assert!(nonzero > 300, "too few non-empty cells ({nonzero}): the test would prove little");
        assert!(with_months > 5, "only {with_months} cases read month values");
        assert!(month_values(&t.db).await > 0);
        // Later: pending jobs with a deadline ahead have timed out, not yet swept.
        let later = now + Duration::hours(2);
        for i in 0..20 {
            let case = random_case(&mut rng, &jobs, &accounts, later);
            compare(&t.db, &jobs, &case, &format!("later case {i}")).await;
        }
        // Folding the rows into the packed values changes nothing.
        job_history::db::upkeep::compact_statistics(&t.db, 1_000_000).await.unwrap();
        let left = unfolded(&t.db).await;
        assert!(left.is_empty(), "{left:?}");
        common::invariants::check(&t.db).await;
        for i in 0..20 {
            let case = random_case(&mut rng, &jobs, &accounts, now);
            compare(&t.db, &jobs, &case, &format!("compacted case {i}")).await;
        }
    }

    async fn folding_while_writers_finish_jobs_loses_and_doubles_nothing(t: TestDb) {
        // Two folds at once (as two replicas' upkeep would: on PostgreSQL they take turns on an
        // advisory lock) while jobs start, finish and time out: every job is in the rollup once.
        common::fixtures::history(&t.db, 300).await;
        let fold = async || {
            for _ in 0..12 {
                job_history::db::upkeep::compact_statistics(&t.db, 5).await.unwrap();
            }
        };
        tokio::join!(lifecycle_work(&t.db, 21, 120), fold(), fold());
        common::invariants::check(&t.db).await;
        job_history::db::upkeep::compact_statistics(&t.db, job_history::db::upkeep::UNITS_PER_LISTING).await.unwrap();
        assert!(unfolded(&t.db).await.is_empty());
        common::invariants::check(&t.db).await;
    }

    async fn days_across_daylight_saving_changes_have_23_and_25_hours(t: TestDb) {
        common::fixtures::history(&t.db, 10).await;
        let key = common::issue_key(&t.db, "Acme", "dst@acme.test", Role::User).await;
        let caller = common::caller_for(&t.db, &key).await;
        let who = Submitter { account_id: caller.account_id, user_id: caller.user_id, key_prefix: caller.prefix.clone() };
        let model: (String, String) = job_history::with_conn!(t.db, c => {
            Ok(models::table.select((models::identifier, models::version)).first(c).await?)
        }).unwrap();
        let spec = JobSpec { model_identifier: model.0, model_version: model.1, inputs: vec![("a".into(), 1)], explain: false, timeout_ms: None, image_classification_model: false };
        // One job every 30 minutes across both changes; every other one completed.
        for (start, n) in [("2026-03-07T12:00:00Z", 110), ("2026-10-31T12:00:00Z", 110)] {
            for k in 0..n {
                let created = at(start) + Duration::minutes(30 * k);
                let job = t.db.write(async |tx| lifecycle::submit(tx, &who, &spec, created).await).await.unwrap();
                if k % 2 == 0 {
                    let (s, id) = (Scope::All, job.job_identifier.clone());
                    let later = created + Duration::minutes(1);
                    t.db.write(async |tx| lifecycle::start(tx, s, &id, later).await).await.unwrap();
                    t.db.write(async |tx| lifecycle::report(tx, s, &id, "a", Outcome::Completed, None, later + Duration::seconds(7)).await).await.unwrap();
                }
            }
        }
        common::invariants::check(&t.db).await;
        let query = r#"query($f: JobFilter, $b: StatisticsBucket!) {
            jobStatistics(filter: $f, bucket: $b, timeZone: "America/New_York", groupBy: [STATUS]) {
                buckets { start end total { jobs } groups { key { status } figures { jobs elapsedTime { p50 max } } } } } }"#;
        // As the key's user: its account's rows of the rollup.
        let run = async |vars| {
            let r = common::gql::run_as(&t.db, Some(caller.clone()), query, vars).await;
            assert!(r.get("errors").is_none(), "{r:#}");
            r["data"].clone()
        };
        let days = |from: &str, to: &str| json!({ "f": { "createdAt": { "from": from, "to": to } }, "b": "DAY" });
        let d = run(days("2026-03-08T05:00:00Z", "2026-03-09T03:59:59.999Z")).await;
        let b = &d["jobStatistics"]["buckets"];
        assert_eq!(b.as_array().unwrap().len(), 1, "{d:#}");
        assert_eq!((b[0]["start"].as_str(), b[0]["end"].as_str()), (Some("2026-03-08T05:00:00.000+00:00"), Some("2026-03-09T04:00:00.000+00:00")));
        assert_eq!(b[0]["total"]["jobs"], 46, "23 hours of one job every 30 minutes");
        let d = run(days("2026-11-01T04:00:00Z", "2026-11-02T04:59:59.999Z")).await;
        let b = &d["jobStatistics"]["buckets"];
        assert_eq!(b[0]["end"], "2026-11-02T05:00:00.000+00:00", "{d:#}");
        assert_eq!(b[0]["total"]["jobs"], 50, "25 hours of one job every 30 minutes");
        let completed = b[0]["groups"].as_array().unwrap().iter().find(|g| g["key"]["status"] == "COMPLETED").unwrap();
        assert_eq!(completed["figures"]["jobs"], 25);
        assert_eq!(completed["figures"]["elapsedTime"]["max"], 7000);
        // Hourly buckets across the fall change: 25 local hours, two jobs each.
        let hours = json!({ "f": { "createdAt": { "from": "2026-11-01T04:00:00Z", "to": "2026-11-02T04:59:59.999Z" } }, "b": "HOUR" });
        let d = run(hours).await;
        let b = d["jobStatistics"]["buckets"].as_array().unwrap().clone();
        assert_eq!(b.len(), 25);
        assert!(b.iter().all(|h| h["total"]["jobs"] == 2), "{b:?}");
        // The data layer agrees with a recount around both changes, in every zone.
        let jobs = all_jobs(&t.db).await;
        let now = job_history::db::now();
        for (name, range) in [("spring", ("2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z")), ("fall", ("2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z"))] {
            for tz in ZONES {
                for bucket in [StatisticsBucket::Hour, StatisticsBucket::Day] {
                    let r = Range { from: at(range.0), to: at(range.1) };
                    let buckets = Buckets::new(bucket, zone(tz).unwrap(), Some(r), now).unwrap();
                    let case = Case {
                        scope: Scope::All,
                        conditions: JobConditions { now: Some(now), ..Default::default() },
                        request: Request { edges: buckets.edges(), dimensions: Dimensions { status: true, ..Default::default() }, histograms: Histograms::ALL, now },
                    };
                    compare(&t.db, &jobs, &case, &format!("{name} {tz} {bucket:?}")).await;
                }
            }
        }
    }

    async fn percentiles_are_within_the_bound_in_every_bucket(t: TestDb) {
        common::fixtures::history(&t.db, 2_000).await;
        let jobs = all_jobs(&t.db).await;
        let query = r#"query($f: JobFilter) { jobStatistics(filter: $f, bucket: WEEK) {
            buckets { start end total { queueTime { count p50 p90 p95 p99 max }
                                         elapsedTime { count p50 p90 p95 p99 max } } } } }"#;
        let now = job_history::db::now();
        let from = now - Duration::days(200);
        let f = json!({ "f": { "createdAt": { "from": from.and_utc().to_rfc3339() } } });
        let d = common::gql::data(&t.db, query, f).await;
        let mut checked = 0;
        for b in d["jobStatistics"]["buckets"].as_array().unwrap() {
            let (start, end) = (at(b["start"].as_str().unwrap()), at(b["end"].as_str().unwrap()));
            let inside: Vec<&J> = jobs.iter().filter(|j| j.created >= start.max(from) && j.created < end).collect();
            for (field, values) in [
                ("queueTime", inside.iter().filter_map(|j| j.queue).collect::<Vec<_>>()),
                ("elapsedTime", inside.iter().filter_map(|j| j.at(now).1).collect::<Vec<_>>()),
            ] {
                let mut values = values;
                values.sort_unstable();
                let got = &b["total"][field];
                assert_eq!(got["count"], values.len(), "{field} in {start}");
                if values.is_empty() {
                    assert!(got["p50"].is_null());
                    continue;
                }
                assert_eq!(got["max"], *values.last().unwrap());
                for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)] {
                    let n = u64::try_from(values.len()).unwrap();
                    let exact = values[usize::try_from(rank(q, n)).unwrap() - 1] as f64;
                    let estimate = got[name].as_f64().unwrap();
                    let error = (estimate - exact).abs();
                    assert!(error <= exact * RELATIVE_ERROR + 1e-9,
                        "{field} {name} in the bucket of {start}: {estimate} for exact {exact}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 150, "{checked}");
    }

    async fn the_groups_listed_are_those_with_jobs_in_the_range(t: TestDb) {
        // Ranges starting and ending inside months: their month values hold jobs outside the
        // range (taken back out), and groups only they name must not be listed.
        common::fixtures::history(&t.db, 1_500).await;
        let jobs = all_jobs(&t.db).await;
        let query = r#"query($f: JobFilter) { jobStatistics(filter: $f, bucket: DAY,
            groupBy: [MODEL, STATUS], groupLimit: 100) {
            groups { key { status model { identifier } other } figures { jobs elapsedTime { p50 } } }
            total { jobs } } }"#;
        let now = job_history::db::now();
        let mut listed = 0;
        for (back, days) in [(150, 40), (120, 75), (95, 3), (70, 58)] {
            let from = (now - Duration::days(back)).date().and_hms_opt(0, 0, 0).unwrap() + Duration::days(2);
            let to = from + Duration::days(days) - Duration::microseconds(1);
            let f = json!({ "f": { "createdAt": { "from": from.and_utc().to_rfc3339(), "to": to.and_utc().to_rfc3339() } } });
            let d = common::gql::data(&t.db, query, f).await;
            let inside: Vec<&J> = jobs.iter().filter(|j| j.created >= from && j.created <= to).collect();
            let want: std::collections::BTreeSet<(String, i32)> =
                inside.iter().map(|j| (j.model_identifier.clone(), j.at(now).0)).collect();
            let groups = d["jobStatistics"]["groups"].as_array().unwrap();
            let mut seen = std::collections::BTreeSet::new();
            let mut sum = 0;
            for g in groups {
                let jobs = g["figures"]["jobs"].as_i64().unwrap();
                assert!(jobs > 0, "a group without jobs in {from}..{to}: {g}");
                sum += jobs;
                let names = ["SUBMITTED", "IN_PROGRESS", "COMPLETED", "CANCELED", "TIMEDOUT", "ERROR"];
                let status = names.iter().position(|n| g["key"]["status"] == *n).unwrap();
                seen.insert((g["key"]["model"]["identifier"].as_str().unwrap().to_string(), i32::try_from(status).unwrap()));
            }
            assert_eq!(seen, want, "{from}..{to}");
            assert_eq!(sum, d["jobStatistics"]["total"]["jobs"].as_i64().unwrap());
            assert_eq!(sum, i64::try_from(inside.len()).unwrap());
            listed += groups.len();
        }
        assert!(listed > 20, "{listed}");
    }

    async fn percentiles_are_read_wherever_they_are_selected(t: TestDb) {
        common::fixtures::history(&t.db, 600).await;
        let from = (job_history::db::now() - Duration::days(200)).and_utc().to_rfc3339();
        let vars = json!({ "f": { "createdAt": { "from": from } } });
        // Every percentile in every place…
        let all = r#"query($f: JobFilter) { jobStatistics(filter: $f, bucket: WEEK, groupBy: [STATUS]) {
            buckets { total { ...D } groups { figures { ...D } } } groups { figures { ...D } } total { ...D } } }
            fragment D on JobFigures { queueTime { p50 p99 } elapsedTime { p50 p99 } }"#;
        // …and one duration per place, through fragments, an inline fragment and aliases: each
        // place's histograms are summed only where selected, and must still be there.
        let each = r#"query($f: JobFilter) { jobStatistics(filter: $f, bucket: WEEK, groupBy: [STATUS]) {
            b: buckets { ...Totals groups { figures { elapsedTime { ...P } } } }
            groups { f: figures { queueTime { ...P } } }
            total { ... on JobFigures { elapsedTime { p99 } } } } }
            fragment Totals on JobStatisticsBucket { total { queueTime { p50 } } }
            fragment P on DurationFigures { p50 }"#;
        let all = &common::gql::data(&t.db, all, vars.clone()).await["jobStatistics"];
        let each = &common::gql::data(&t.db, each, vars).await["jobStatistics"];
        let mut values = 0;
        let mut same = |got: &serde_json::Value, want: &serde_json::Value, at: String| {
            assert_eq!(got, want, "{at}");
            values += usize::from(!got.is_null());
        };
        for (i, (e, a)) in each["b"].as_array().unwrap().iter().zip(all["buckets"].as_array().unwrap()).enumerate() {
            same(&e["total"]["queueTime"]["p50"], &a["total"]["queueTime"]["p50"], format!("bucket {i} total"));
            for (j, (eg, ag)) in e["groups"].as_array().unwrap().iter().zip(a["groups"].as_array().unwrap()).enumerate() {
                let at = format!("bucket {i} group {j}");
                same(&eg["figures"]["elapsedTime"]["p50"], &ag["figures"]["elapsedTime"]["p50"], at);
            }
        }
        for (j, (e, a)) in each["groups"].as_array().unwrap().iter().zip(all["groups"].as_array().unwrap()).enumerate() {
            same(&e["f"]["queueTime"]["p50"], &a["figures"]["queueTime"]["p50"], format!("group {j}"));
        }
        same(&each["total"]["elapsedTime"]["p99"], &all["total"]["elapsedTime"]["p99"], "total".into());
        assert!(values > 40, "{values} percentiles compared");
    }

    async fn accounts_see_their_own_figures_only(t: TestDb) {
        common::fixtures::history(&t.db, 600).await;
        let acme = common::issue_key(&t.db, "Acme", "a@acme.test", Role::User).await;
        let caller = common::caller_for(&t.db, &acme).await;
        let jobs = all_jobs(&t.db).await;
        let query = "{ jobStatistics(bucket: MONTH) { total { jobs } } }";
        let mine = common::gql::run_as(&t.db, Some(caller.clone()), query, json!({})).await;
        let since = job_history::db::now() - Duration::days(400);
        let own = jobs.iter().filter(|j| j.account == caller.account_id.0 && j.created > since).count();
        let every = common::gql::data(&t.db, query, json!({})).await;
        assert_eq!(mine["data"]["jobStatistics"]["total"]["jobs"], own, "{mine:#}");
        assert!(every["jobStatistics"]["total"]["jobs"].as_u64().unwrap() > own as u64);
        // Grouping by account is for administrators.
        let by_account = "{ jobStatistics(groupBy: [ACCOUNT]) { groups { key { accountIdentifier } figures { jobs } } } }";
        let refused = common::gql::run_as(&t.db, Some(caller), by_account, json!({})).await;
        assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused:#}");
        let groups = common::gql::data(&t.db, by_account, json!({})).await;
        assert!(groups["jobStatistics"]["groups"].as_array().unwrap().len() >= 2, "{groups:#}");
    }

    async fn bad_arguments_are_clear_errors(t: TestDb) {
        common::fixtures::history(&t.db, 10).await;
        let (code, message) = common::gql::error(&t.db, r#"{ jobStatistics(timeZone: "Mars/Olympus") { total { jobs } } }"#, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains("\"Mars/Olympus\""), "{message}");
        let (code, message) = common::gql::error(&t.db, r#"{ jobStatistics(bucket: HOUR, filter: { createdAt: { from: "2026-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z" } }) { total { jobs } } }"#, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains("more than 1000 buckets"), "{message}");
        let (code, message) = common::gql::error(&t.db, "{ jobStatistics(groupLimit: 0) { total { jobs } } }", json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains("groupLimit"), "{message}");
    }

    async fn the_migration_fills_job_stats_from_the_jobs_already_stored(t: TestDb) {
        common::fixtures::history(&t.db, 1_500).await;
        lifecycle_work(&t.db, 3, 60).await;
        let before = job_history::with_conn!(t.db, c => {
            let n: i64 = job_history::db::schema::job_stats::table.count().get_result(c).await?;
            Ok(n)
        }).unwrap();
        assert!(before > 0);
        // Back to before `…000010_job_stats` (the migrations after it: the duration indexes and
        // the packed values), then forward again: the rollup is recounted from the jobs.
        let reverted = revert_to(&t.db, "20261130000010").await;
        assert!(reverted >= 4, "{reverted}");
        let applied = job_history::db::migrate::run(&t.db).await.unwrap();
        assert_eq!(applied.len(), reverted, "{applied:?}");
        // Recounted from the jobs: numbers, maxima and histograms (the SQL's buckets are Rust's),
        // first as rows, then folded into packed values by the upkeep, as after an upgrade.
        common::invariants::check(&t.db).await;
        assert!(!unfolded(&t.db).await.is_empty());
        job_history::db::upkeep::compact_statistics(&t.db, job_history::db::upkeep::UNITS_PER_LISTING).await.unwrap();
        assert!(unfolded(&t.db).await.is_empty());
        common::invariants::check(&t.db).await;
    }

    async fn values_folded_before_totals_and_months_upgrade_in_place(t: TestDb) {
        common::fixtures::history(&t.db, 1_500).await;
        lifecycle_work(&t.db, 4, 60).await;
        job_history::db::upkeep::compact_statistics(&t.db, job_history::db::upkeep::UNITS_PER_LISTING).await.unwrap();
        assert!(packed_without_totals(&t.db).await == (0, 0) && month_values(&t.db).await > 0);
        // As the previous release left it (values without totals, no month values), then
        // upgraded: every unit is marked for refolding, and readers are right before it.
        let reverted = revert_to(&t.db, "20261130000013").await;
        assert!(reverted >= 1, "{reverted}");
        assert_eq!(job_history::db::migrate::run(&t.db).await.unwrap().len(), reverted);
        let (values, marked) = packed_without_totals(&t.db).await;
        assert!(values > 0 && month_values(&t.db).await == 0);
        assert_eq!(unfolded(&t.db).await.len(), values, "every unit is marked");
        assert_eq!(marked, values);
        common::invariants::check(&t.db).await;
        let (jobs, accounts) = (all_jobs(&t.db).await, accounts(&t.db).await);
        let mut rng = SmallRng::seed_from_u64(15);
        let now = job_history::db::now();
        for i in 0..25 {
            let case = random_case(&mut rng, &jobs, &accounts, now);
            compare(&t.db, &jobs, &case, &format!("upgraded case {i}")).await;
        }
        // Partly refolded (some values with totals, some months), then all of it.
        use job_history::db::statistics::rollup;
        let some = unfolded(&t.db).await.into_iter().step_by(3).collect::<Vec<_>>();
        for batch in rollup::batches(&some, 40) {
            t.db.write(async |tx| rollup::compact(tx, &batch).await).await.unwrap();
        }
        let (half, _) = packed_without_totals(&t.db).await;
        assert!(0 < half && half < values, "{half} of {values}");
        for i in 0..25 {
            let case = random_case(&mut rng, &jobs, &accounts, now);
            compare(&t.db, &jobs, &case, &format!("partly refolded case {i}")).await;
        }
        job_history::db::upkeep::compact_statistics(&t.db, job_history::db::upkeep::UNITS_PER_LISTING).await.unwrap();
        assert!(packed_without_totals(&t.db).await == (0, 0) && month_values(&t.db).await > 0);
        common::invariants::check(&t.db).await;
        for i in 0..25 {
            let case = random_case(&mut rng, &jobs, &accounts, now);
            compare(&t.db, &jobs, &case, &format!("refolded case {i}")).await;
        }
    }
}

/// Packed values without totals, and units marked for refolding (rows with no job).
async fn packed_without_totals(db: &Db) -> (usize, usize) {
    use job_history::db::schema::{job_stats, job_stats_packed as p};
    job_history::with_conn!(db, c => {
        let values: i64 = p::table.filter(p::totals.is_null()).count().get_result(c).await?;
        let marks: i64 = job_stats::table.filter(job_stats::jobs.eq(0)).count().get_result(c).await?;
        Ok((values as usize, marks as usize))
    })
    .unwrap()
}

/// How many month values are stored.
async fn month_values(db: &Db) -> i64 {
    use job_history::db::schema::job_stats_packed as p;
    job_history::with_conn!(db, c => {
        Ok(p::table.filter(p::grain.eq(2)).count().get_result(c).await?)
    })
    .unwrap()
}

/// Reverts migrations, the last first, down to and including
/// `version` (as Diesel prints a migration's version: the digits of its name); returns how
/// many were reverted.
async fn revert_to(db: &Db, version: &'static str) -> usize {
    use diesel_migrations::MigrationHarness;
    use job_history::db::DatabaseUrl;
    use job_history::db::migrate::{POSTGRES, SQLITE};
    fn revert<C: MigrationHarness<B>, B: diesel::backend::Backend>(
        c: &mut C,
        source: fn() -> diesel_migrations::EmbeddedMigrations,
        version: &str,
    ) -> usize {
        let mut n = 0;
        loop {
            let reverted = c.revert_last_migration(source()).unwrap();
            n += 1;
            if reverted.to_string() == version {
                return n;
            }
        }
    }
    let url = db.url().clone();
    tokio::task::spawn_blocking(move || match url {
        DatabaseUrl::Postgres(url) => {
            type Pg = diesel_async::async_connection_wrapper::AsyncConnectionWrapper<
                diesel_async::AsyncPgConnection,
            >;
            let mut c = <Pg as diesel::Connection>::establish(&url).unwrap();
            revert(&mut c, || POSTGRES, version)
        }
        DatabaseUrl::Sqlite(path) => {
            let mut c = <diesel::SqliteConnection as diesel::Connection>::establish(&path).unwrap();
            revert(&mut c, || SQLITE, version)
        }
    })
    .await
    .unwrap()
}
