//! The data's invariants, checked with plain SQL (the same text on both backends) and Rust,
//! independently of the code under test: every job's counters add up and match its inputs,
//! the rollup `job_counts` equals a live count of `jobs` per account (and all accounts), day,
//! model and flags, by final status, its spans of final updates the earliest and latest
//! `updated_at` of those jobs in a final status, and `user_job_counts` one per user and account;
//! `job_stats` equals a recount of the jobs in a final status per account (and all accounts),
//! hour and day, model and status — numbers, maxima and histograms.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use job_history::db::Db;
use job_history::db::schema::{job_counts, job_stats, jobs};
use job_history::db::statistics::figures::Point;
use job_history::db::statistics::histogram::Histogram;
use job_history::db::statistics::rollup::{Tally, hour_of};
use job_history::domain::{AccountId, JobStatus, ModelId, UserId};

/// A rollup row's key: account (0 for every account), UTC day, model, explain, image flag.
pub type RollupKey = (i64, i32, i64, bool, bool);
/// A rollup row's columns: created, completed, canceled, timedout, error.
pub type RollupRow = [i64; 5];

/// A rollup row's span of final updates: the earliest and latest `updated_at`.
pub type SpanRow = (NaiveDateTime, NaiveDateTime);
/// What `job_counts` holds or must hold: counts per cell, and spans of the cells with a final
/// job.
pub type Rollup = (BTreeMap<RollupKey, RollupRow>, BTreeMap<RollupKey, SpanRow>);

type JobCell = (
    AccountId,
    NaiveDateTime,
    ModelId,
    bool,
    bool,
    JobStatus,
    NaiveDateTime,
);
/// A `job_counts` row as read: the key's five columns, the five counts, the span.
type StoredRow = (
    (i64, i32, i64, bool, bool),
    (i32, i32, i32, i32, i32),
    (Option<NaiveDateTime>, Option<NaiveDateTime>),
);

/// Widens `span` to hold `t`.
fn widen(span: &mut Option<SpanRow>, t: NaiveDateTime) {
    *span = Some(span.map_or((t, t), |(first, last)| (first.min(t), last.max(t))));
}

/// What `job_counts` must hold, computed from `jobs` by plain Rust: every job counted as
/// created, and under its stored status when final, in its account's row and in account 0's;
/// each cell's span from the update times of its jobs in a final status.
pub async fn live_rollup(
    conn: &mut job_history::db::Conn<'_>,
) -> Result<Rollup, job_history::db::DbError> {
    let rows: Vec<JobCell> = job_history::on_backend!(conn, c => {
        jobs::table
            .select((
                jobs::account_id,
                jobs::created_at,
                jobs::model_id,
                jobs::explain,
                jobs::image_classification_model,
                jobs::status,
                jobs::updated_at,
            ))
            .load(c)
            .await?
    });
    let mut rollup = BTreeMap::new();
    let mut spans: BTreeMap<RollupKey, Option<SpanRow>> = BTreeMap::new();
    for (account, created, model, explain, image, status, updated) in rows {
        let day = job_history::db::daily::day_of(created);
        for a in [account.0, 0] {
            let key = (a, day, model.0, explain, image);
            count_in(rollup.entry(key).or_default(), status);
            if !status.is_pending() {
                widen(spans.entry(key).or_default(), updated);
            }
        }
    }
    let spans = spans
        .into_iter()
        .filter_map(|(k, s)| Some((k, s?)))
        .collect();
    Ok((rollup, spans))
}

/// Counts a job stored with `status` in a rollup row: created, and under its final status.
fn count_in(row: &mut RollupRow, status: JobStatus) {
    row[0] += 1;
    let column = match status {
        JobStatus::Completed => Some(1),
        JobStatus::Canceled => Some(2),
        JobStatus::Timedout => Some(3),
        JobStatus::Error => Some(4),
        JobStatus::Submitted | JobStatus::InProgress => None,
    };
    if let Some(i) = column {
        row[i] += 1;
    }
}

/// Adds one stored slot's five counts to a rollup row (readers sum a cell's slots).
fn add_slot(row: &mut RollupRow, slot: [i32; 5]) {
    for (total, n) in row.iter_mut().zip(slot) {
        *total += i64::from(n);
    }
}

/// A `user_job_counts` row's key: user, account.
pub type PersonKey = (i64, i64);

/// What `user_job_counts` must hold, computed from `jobs` by plain Rust.
pub async fn live_people(
    conn: &mut job_history::db::Conn<'_>,
) -> Result<BTreeMap<PersonKey, RollupRow>, job_history::db::DbError> {
    let rows: Vec<(UserId, AccountId, JobStatus)> = job_history::on_backend!(conn, c => {
        jobs::table
            .select((jobs::user_id, jobs::account_id, jobs::status))
            .load(c)
            .await?
    });
    let mut people = BTreeMap::new();
    for (user, account, status) in rows {
        count_in(people.entry((user.0, account.0)).or_default(), status);
    }
    Ok(people)
}

/// What `user_job_counts` holds, its slots summed as readers sum them.
async fn stored_people(
    conn: &mut job_history::db::Conn<'_>,
) -> Result<BTreeMap<PersonKey, RollupRow>, job_history::db::DbError> {
    use job_history::db::schema::user_job_counts as t;
    type Row = (i64, i64, i32, i32, i32, i32, i32);
    let rows: Vec<Row> = job_history::on_backend!(conn, c => {
        t::table
            .select((t::user_id, t::account_id, t::created, t::completed, t::canceled, t::timedout, t::error))
            .load(c)
            .await?
    });
    let mut people: BTreeMap<PersonKey, RollupRow> = BTreeMap::new();
    for (user, account, n0, n1, n2, n3, n4) in rows {
        add_slot(
            people.entry((user, account)).or_default(),
            [n0, n1, n2, n3, n4],
        );
    }
    Ok(people)
}

/// A `job_stats` row's key: account (0 for every account), grain (0 hour, 1 day), period,
/// model, status.
pub type StatsKey = (i64, i32, i32, i64, i32);
/// A `job_stats` row's numbers (jobs, inputs, completed, failed, bytes, queue count, sum, max,
/// elapsed count, sum, max) and histograms.
pub type StatsValue = ([i64; 11], Histogram, Histogram);

/// The jobs as points for the statistics, every one under its *stored* status.
async fn stored_points(
    conn: &mut job_history::db::Conn<'_>,
) -> Result<Vec<Point>, job_history::db::DbError> {
    type Read = (
        (NaiveDateTime, i64, i64, i64, String, JobStatus),
        (i32, i32, i32, i64, Option<i64>, Option<i64>),
    );
    let rows: Vec<Read> = job_history::on_backend!(conn, c => {
        jobs::table
            .select((
                (jobs::created_at, jobs::account_id, jobs::model_id, jobs::user_id, jobs::submitted_by, jobs::status),
                (jobs::total, jobs::completed, jobs::failed, jobs::input_byte_amount, jobs::queue_ms, jobs::elapsed_ms),
            ))
            .load(c)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |((created_at, a, m, u, key, status), (t, done, failed, bytes, q, e))| Point {
                created_at,
                account_id: AccountId(a),
                model_id: ModelId(m),
                user_id: job_history::domain::UserId(u),
                submitted_by: key,
                status,
                inputs: [t.into(), done.into(), failed.into()],
                bytes,
                queue_ms: q,
                elapsed_ms: e,
                stored_pending: status.is_pending(),
            },
        )
        .collect())
}

/// What `job_stats` must hold, computed from `jobs` by plain Rust: every job stored in a final
/// status, in its account's rows and account 0's, hour and day.
pub async fn live_stats(
    conn: &mut job_history::db::Conn<'_>,
) -> Result<BTreeMap<StatsKey, StatsValue>, job_history::db::DbError> {
    let mut out: BTreeMap<StatsKey, StatsValue> = BTreeMap::new();
    for p in stored_points(conn).await? {
        if p.stored_pending {
            continue;
        }
        let hour = i32::try_from(p.created_at.and_utc().timestamp().div_euclid(3600)).unwrap();
        assert_eq!(hour, hour_of(p.created_at));
        for a in [p.account_id.0, 0] {
            for (grain, period) in [(0, hour), (1, hour.div_euclid(24))] {
                let v = out
                    .entry((a, grain, period, p.model_id.0, p.status.code()))
                    .or_default();
                let n = &mut v.0;
                n[0] += 1;
                n[1] += p.inputs[0];
                n[2] += p.inputs[1];
                n[3] += p.inputs[2];
                n[4] += p.bytes;
                if let Some(q) = p.queue_ms {
                    (n[5], n[6], n[7]) = (n[5] + 1, n[6] + q, n[7].max(q));
                    v.1.add(q);
                }
                if let Some(e) = p.elapsed_ms {
                    (n[8], n[9], n[10]) = (n[8] + 1, n[9] + e, n[10].max(e));
                    v.2.add(e);
                }
            }
        }
    }
    Ok(out)
}

/// `job_stats` and `job_stats_packed` as stored, slots and packed cells summed, histograms
/// parsed.
pub async fn stored_stats(
    conn: &mut job_history::db::Conn<'_>,
) -> Result<BTreeMap<StatsKey, StatsValue>, job_history::db::DbError> {
    type Read = (
        (i64, i32, i32, i64, i32),
        (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64),
        (String, String),
    );
    let rows: Vec<Read> = job_history::on_backend!(conn, c => {
        use job_stats::dsl as t;
        t::job_stats
            .select((
                (t::account_id, t::grain, t::period, t::model_id, t::status),
                (t::jobs, t::inputs, t::inputs_completed, t::inputs_failed, t::input_bytes, t::queue_count, t::queue_sum, t::queue_max, t::elapsed_count, t::elapsed_sum, t::elapsed_max),
                (t::queue_hist, t::elapsed_hist),
            ))
            .load(c)
            .await?
    });
    let mut out: BTreeMap<StatsKey, StatsValue> = BTreeMap::new();
    for (key, (a, b, c, d, e, f, g, h, i, j, k), (qh, eh)) in rows {
        if a == 0 {
            continue; // a unit marked for refolding by migration …000013: no job
        }
        let v = out.entry(key).or_default();
        add_numbers(&mut v.0, [a, b, c, d, e, f, g, h, i, j, k]);
        v.1.add_text(&qh);
        v.2.add_text(&eh);
    }
    // The packed values (folded by the compaction), cell by cell; their totals and the month
    // values are sums of them, checked here.
    type PackedRow = (i64, i32, i32, Vec<u8>, Option<Vec<u8>>);
    let packed: Vec<PackedRow> = job_history::on_backend!(conn, c => {
        use job_history::db::schema::job_stats_packed::dsl as p;
        p::job_stats_packed.select((p::account_id, p::grain, p::period, p::cells, p::totals)).load(c).await?
    });
    use job_history::db::statistics::packed::{self, CellMap};
    use job_history::db::statistics::rollup::{Grain, month_of_day};
    let decode = |bytes: &[u8]| packed::decode(bytes).expect("a packed value decodes");
    let (mut months, mut months_of_days) = (BTreeMap::new(), BTreeMap::<_, CellMap>::new());
    for (account, grain, period, bytes, totals) in packed {
        let cells = decode(&bytes);
        if let Some(totals) = totals {
            assert_eq!(
                decode(&totals),
                packed::totals(&cells),
                "the totals of packed value {:?} are not the sums of its cells",
                (account, grain, period)
            );
        }
        if grain == Grain::Month as i32 {
            months.insert((account, period), cells);
            continue;
        }
        if grain == Grain::Day as i32 {
            let month = months_of_days
                .entry((account, month_of_day(period)))
                .or_default();
            packed::decode_into(&bytes, month).expect("a packed value decodes");
        }
        for ((model, status), f) in cells {
            let v = out
                .entry((account, grain, period, model.0, status.code()))
                .or_default();
            add_numbers(&mut v.0, f.cell_numbers(status));
            v.1.merge(&f.queue.histogram);
            v.2.merge(&f.elapsed.histogram);
        }
    }
    // A month value is the sum of its days' values (a month without one is summed from them
    // by readers: values folded before migration …000013, not yet refolded).
    for (month, cells) in &months {
        assert_eq!(
            Some(cells),
            months_of_days.get(month),
            "month value {month:?} is not the sum of its days' values"
        );
    }
    Ok(out)
}

/// Adds a cell's eleven numbers to a sum of cells: the two maxima (queue and elapsed) by
/// maximum, the rest by sum.
fn add_numbers(sum: &mut [i64; 11], n: [i64; 11]) {
    for (idx, x) in n.into_iter().enumerate() {
        if idx == 7 || idx == 10 {
            sum[idx] = sum[idx].max(x);
        } else {
            sum[idx] += x;
        }
    }
}

/// Rewrites `job_counts`, `user_job_counts` and `job_stats` from `jobs` (for fixtures that edit jobs behind the writers' backs).
pub async fn rebuild_rollup(
    conn: &mut job_history::db::Conn<'_>,
) -> Result<(), job_history::db::DbError> {
    use job_history::db::rollup::{Cell, Counts, Span, upsert, upsert_person};
    let (rollup, spans) = live_rollup(conn).await?;
    let people = live_people(conn).await?;
    let n32 = |v: i64| i32::try_from(v).expect("fits");
    let counts = |n: [i64; 5]| Counts {
        created: n32(n[0]),
        completed: n32(n[1]),
        canceled: n32(n[2]),
        timedout: n32(n[3]),
        error: n32(n[4]),
    };
    let mut tally = Tally::default();
    for p in stored_points(conn).await? {
        tally.add(&p);
    }
    job_history::on_backend!(conn, c => {
        diesel::delete(job_stats::table).execute(c).await?;
        diesel::delete(job_history::db::schema::job_stats_packed::table).execute(c).await?;
        for upsert in tally.drain(50) {
            upsert.execute(c).await?;
        }
        diesel::delete(job_counts::table).execute(c).await?;
        for (key, n) in rollup {
            let (account, day, model, explain, image) = key;
            let cell = Cell { day, model_id: ModelId(model), explain, image_classification_model: image };
            let span = spans.get(&key).map(|&(first, last)| Span { first, last });
            upsert(AccountId(account), cell, 0, counts(n), span).execute(c).await?;
        }
        diesel::delete(job_history::db::schema::user_job_counts::table).execute(c).await?;
        for ((user, account), n) in people {
            upsert_person(UserId(user), AccountId(account), 0, counts(n)).execute(c).await?;
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
    #[diesel(sql_type = BigInt)]
    ran_without_durations: i64,
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
            OR failed <> (SELECT count(*) FROM job_inputs i WHERE i.job_id = j.id AND i.status = 2)) AS bad_inputs, \
        (SELECT count(*) FROM jobs WHERE status IN (2, 5) AND (queue_ms IS NULL OR elapsed_ms IS NULL)) AS ran_without_durations";
    let run = async {
        db.read(async |conn| {
            let v: Violations = job_history::on_backend!(conn, c => {
                diesel::sql_query(SQL).get_result(c).await?
            });
            let live = live_rollup(conn).await?;
            let stored: Vec<StoredRow> = job_history::on_backend!(conn, c => {
                job_counts::table
                    .select((
                        (
                            job_counts::account_id,
                            job_counts::day,
                            job_counts::model_id,
                            job_counts::explain,
                            job_counts::image_classification_model,
                        ),
                        (
                            job_counts::created,
                            job_counts::completed,
                            job_counts::canceled,
                            job_counts::timedout,
                            job_counts::error,
                        ),
                        (job_counts::final_updated_min, job_counts::final_updated_max),
                    ))
                    .load(c)
                    .await?
            });
            let stats = (live_stats(conn).await?, stored_stats(conn).await?);
            let people = (live_people(conn).await?, stored_people(conn).await?);
            Ok::<_, job_history::db::DbError>((v, live, stored, stats, people))
        })
        .await
    };
    let (v, live, stored, (live_stats, stored_stats), (live_people, stored_people)) =
        run.await.expect("read the invariants");
    assert_eq!(
        (v.bad_sum, v.bad_inputs, v.ran_without_durations),
        (0, 0, 0),
        "jobs whose counters do not add up / do not match their inputs / that are COMPLETED or \
         ERROR without both durations (`JobStatus::ran`), of {}",
        v.jobs
    );
    // Readers sum a cell's slots and take the widest span of them: so does the comparison.
    let (live, live_spans) = live;
    let mut summed: BTreeMap<RollupKey, RollupRow> = BTreeMap::new();
    let mut spans: BTreeMap<RollupKey, Option<SpanRow>> = BTreeMap::new();
    for (key, (n0, n1, n2, n3, n4), span) in stored {
        add_slot(summed.entry(key).or_default(), [n0, n1, n2, n3, n4]);
        let cell = spans.entry(key).or_default();
        assert_eq!(
            span.0.is_some(),
            span.1.is_some(),
            "half a span in {key:?}: {span:?}"
        );
        if let (Some(first), Some(last)) = span {
            widen(cell, first);
            widen(cell, last);
        }
    }
    let stored = summed;
    assert_eq!(
        stored, live,
        "job_counts differs from a live count of jobs per account, day, model, flags and status"
    );
    let stored_spans: BTreeMap<RollupKey, SpanRow> = spans
        .into_iter()
        .filter_map(|(k, s)| Some((k, s?)))
        .collect();
    assert_eq!(
        stored_spans, live_spans,
        "job_counts' spans differ from the update times of the final jobs of each cell"
    );
    assert_eq!(
        stored_people, live_people,
        "user_job_counts differs from a live count of jobs per user, account and status"
    );
    for (key, want) in &live_stats {
        assert_eq!(
            stored_stats.get(key),
            Some(want),
            "job_stats row {key:?} differs from a recount of jobs"
        );
    }
    assert_eq!(
        stored_stats.len(),
        live_stats.len(),
        "job_stats holds rows no job accounts for: {:?}",
        stored_stats
            .keys()
            .filter(|k| !live_stats.contains_key(k))
            .take(5)
            .collect::<Vec<_>>()
    );
    Report { jobs: v.jobs }
}
