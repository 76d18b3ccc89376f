//! Writing `job_stats`, the statistics' rollup: per account (and `account_id = 0` for every
//! account), UTC hour and UTC day, model and final status, the jobs, their inputs and bytes,
//! and their durations (count, sum, exact maximum, histogram text).
//!
//! A job is written once, when it reaches its final status ([`bump_final`], in that
//! transaction): its four rows (account × all-accounts, hour × day) in **one** multi-row
//! `INSERT … ON CONFLICT DO UPDATE` that adds its numbers and appends its histogram tokens
//! (`hist = hist || excluded.hist`), so a transition costs one statement and no read. Rows are
//! always written in one order — accounts' rows before the all-accounts rows, then by grain,
//! period, model, status, slot ([`Key::order`]) — by the writers and the seeder alike, so
//! PostgreSQL writers cannot deadlock on them (the compaction only deletes them, see
//! [`compact`]). Live writes go to slot
//! `1 + id % 16` ([`SLOTS`]), against row-lock waits at commit; [`compact`] folds every row of
//! a period into the period's packed value (`job_stats_packed`, [`super::packed`]), which is
//! what readers mostly read.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Binary, Integer, Text};
use diesel_async::RunQueryDsl;

use super::figures::{Durations, Figures, Point, status_index};
use super::histogram;
use super::packed::{self, CellMap, Corrupt};
use crate::db::batch::Batch as Statements;
use crate::db::models::Job;
use crate::db::rollup::ALL_ACCOUNTS;
use crate::db::schema::job_stats;
use crate::db::{Conn, DbError, Tx};
use crate::domain::{AccountId, JobStatus, ModelId};

/// The eleven number columns of a row, as read.
pub type Numbers = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);

/// Eleven numbers as an array.
pub fn numbers((a, b, c, d, e, f, g, h, i, j, k): Numbers) -> [i64; 11] {
    [a, b, c, d, e, f, g, h, i, j, k]
}

/// The eleven number columns of `job_stats`, in [`StatsRow::numbers`]' order.
macro_rules! numbers_columns {
    () => {
        (
            job_stats::jobs,
            job_stats::inputs,
            job_stats::inputs_completed,
            job_stats::inputs_failed,
            job_stats::input_bytes,
            job_stats::queue_count,
            job_stats::queue_sum,
            job_stats::queue_max,
            job_stats::elapsed_count,
            job_stats::elapsed_sum,
            job_stats::elapsed_max,
        )
    };
}
pub(crate) use numbers_columns;

/// Rows one cell's live writes are spread over (slots 1 to 16; slot 0 holds what
/// [`compact`] folded), as `job_counts` does (`crate::db::rollup::SLOTS`).
pub const SLOTS: i64 = 16;

/// A row's or packed value's grain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// One UTC hour: `period` is hours since 1970-01-01T00:00Z.
    Hour = 0,
    /// One UTC day: `period` is days since 1970-01-01.
    Day = 1,
    /// One UTC calendar month: `period` is months since January 1970. Packed values only
    /// (no row is written per month): the compaction sums a month's daily values into it
    /// ([`compact`]), so a long range's groups can be summed from ~30× fewer values.
    Month = 2,
}

/// 1970-01-01 as days since 0001-01-01 (chrono's `num_days_from_ce`).
const EPOCH_CE: i32 = 719_163;

/// The UTC month holding day `day` (days since the epoch), as months since January 1970.
pub fn month_of_day(day: i32) -> i32 {
    let date = chrono::NaiveDate::from_num_days_from_ce_opt(day.saturating_add(EPOCH_CE));
    date.map_or(if day < 0 { i32::MIN } else { i32::MAX }, |d| {
        use chrono::Datelike;
        (d.year() - 1970) * 12 + d.month0() as i32
    })
}

/// The days (since the epoch) of month `month` (months since January 1970).
pub fn days_of_month(month: i32) -> std::ops::Range<i32> {
    use chrono::{Datelike, Months, NaiveDate};
    let first = i32::try_from(i64::from(month.div_euclid(12)) + 1970)
        .ok()
        .and_then(|year| NaiveDate::from_ymd_opt(year, month.rem_euclid(12) as u32 + 1, 1));
    let next = first.and_then(|d| d.checked_add_months(Months::new(1)));
    match (first, next) {
        (Some(a), Some(b)) => a.num_days_from_ce() - EPOCH_CE..b.num_days_from_ce() - EPOCH_CE,
        _ => 0..0,
    }
}

/// The UTC hour of `t` (hours since the epoch).
pub fn hour_of(t: NaiveDateTime) -> i32 {
    i32::try_from(t.and_utc().timestamp().div_euclid(3_600)).unwrap_or(i32::MAX)
}

/// The key of a `job_stats` row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The account (0: every account).
    pub account_id: AccountId,
    /// Hour or day.
    pub grain: Grain,
    /// Hours or days since the epoch.
    pub period: i32,
    /// The model.
    pub model_id: ModelId,
    /// The final status.
    pub status: JobStatus,
    /// The slot (0: compacted).
    pub slot: i32,
}

impl Key {
    /// The order every writer locks rows in: accounts' rows first, then all-accounts rows,
    /// each by grain, period, model, status and slot.
    pub fn order(&self) -> (bool, AccountId, Grain, i32, ModelId, i32, i32) {
        (
            self.account_id == ALL_ACCOUNTS,
            self.account_id,
            self.grain,
            self.period,
            self.model_id,
            self.status.code(),
            self.slot,
        )
    }
}

/// A row to add: its key and its numbers (histograms as text to append).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsRow {
    /// Which row.
    pub key: Key,
    /// `jobs`, `inputs`, `inputs_completed`, `inputs_failed`, `input_bytes`, `queue_count`,
    /// `queue_sum`, `queue_max`, `elapsed_count`, `elapsed_sum`, `elapsed_max`.
    pub numbers: [i64; 11],
    /// Text appended to `queue_hist` (starts with `,` unless empty).
    pub queue_hist: String,
    /// Text appended to `elapsed_hist`.
    pub elapsed_hist: String,
}

impl StatsRow {
    /// The row adding `f` (the figures of jobs of one final status) under `key`.
    pub fn of_figures(key: Key, f: &Figures) -> Self {
        let text = |d: &Durations| {
            let t = d.histogram.to_text();
            if t.is_empty() { t } else { format!(",{t}") }
        };
        Self {
            key,
            numbers: f.cell_numbers(key.status),
            queue_hist: text(&f.queue),
            elapsed_hist: text(&f.elapsed),
        }
    }

    /// This row as a cell to add up.
    pub fn cell(&self) -> Cell<'_> {
        Cell {
            status: self.key.status,
            numbers: &self.numbers,
            histograms: [
                Encoded::Text(&self.queue_hist),
                Encoded::Text(&self.elapsed_hist),
            ],
        }
    }
}

/// A rollup cell as read — a `job_stats` row or one cell of a packed value
/// ([`super::packed`]): its final status, numbers and histograms, still encoded.
#[derive(Clone, Copy, Debug)]
pub struct Cell<'a> {
    /// The final status.
    pub status: JobStatus,
    /// The numbers, as [`Figures::cell_numbers`] lists them.
    pub numbers: &'a [i64; 11],
    /// The queue-time and elapsed-time histograms.
    pub histograms: [Encoded<'a>; 2],
}

/// A histogram as stored: text (a `job_stats` row) or varints (a packed value).
#[derive(Clone, Copy, Debug)]
pub enum Encoded<'a> {
    /// `,k` tokens and `k:n` pairs ([`histogram::for_each_bucket`]).
    Text(&'a str),
    /// Varint pairs ([`super::packed::for_each_bucket`]).
    Packed(&'a [u8]),
}

impl Encoded<'_> {
    /// Calls `f(k, n)` for each bucket written; fails on packed bytes that do not decode
    /// (text is lenient: only this module writes it).
    #[inline]
    pub fn for_each_bucket(&self, f: impl FnMut(usize, u64)) -> Result<(), Corrupt> {
        match self {
            Self::Text(t) => {
                histogram::for_each_bucket(t, f);
                Ok(())
            }
            Self::Packed(b) => super::packed::for_each_bucket(b, f),
        }
    }
}

impl Cell<'_> {
    /// Adds this cell's figures to `f`, its histograms parsed straight into `f`'s.
    pub fn add_to(&self, f: &mut Figures) -> Result<(), Corrupt> {
        f.add_cell_numbers(self.status, self.numbers);
        let [queue, elapsed] = self.histograms;
        queue.for_each_bucket(|k, n| f.queue.histogram.bump(k, n))?;
        elapsed.for_each_bucket(|k, n| f.elapsed.histogram.bump(k, n))
    }
}

/// The rows a job in a final status adds, in slot `slot`: its account's and every account's,
/// hour and day, in the writers' order.
pub fn rows_of(p: &Point, slot: i32) -> Vec<StatsRow> {
    let hour = hour_of(p.created_at);
    let numbers = [
        1,
        p.inputs[0],
        p.inputs[1],
        p.inputs[2],
        p.bytes,
        i64::from(p.queue_ms.is_some()),
        p.queue_ms.unwrap_or(0),
        p.queue_ms.unwrap_or(0),
        i64::from(p.elapsed_ms.is_some()),
        p.elapsed_ms.unwrap_or(0),
        p.elapsed_ms.unwrap_or(0),
    ];
    let mut rows = Vec::with_capacity(4);
    for account_id in [p.account_id, ALL_ACCOUNTS] {
        for (grain, period) in [(Grain::Hour, hour), (Grain::Day, hour.div_euclid(24))] {
            rows.push(StatsRow {
                key: Key {
                    account_id,
                    grain,
                    period,
                    model_id: p.model_id,
                    status: p.status,
                    slot,
                },
                numbers,
                queue_hist: histogram::token(p.queue_ms),
                elapsed_hist: histogram::token(p.elapsed_ms),
            });
        }
    }
    rows
}

/// Adds to `batch` the one statement adding `job`, just moved to its final status, to the
/// rollup; nothing for a job still pending. Run the batch in the transition's transaction.
pub fn bump_final(batch: &mut Statements, job: &Job) {
    if !job.status.is_pending() {
        let slot = i32::try_from(1 + job.id.0.rem_euclid(SLOTS)).unwrap_or(1);
        batch.push(Upsert(rows_of(&Point::of_job(job), slot)));
    }
}

/// `INSERT INTO job_stats … VALUES (…), (…) ON CONFLICT (key) DO UPDATE`, adding each row's
/// numbers to the stored ones, keeping the larger maximum and appending the histogram text.
/// The rows must be in the writers' order ([`Key::order`]) with distinct keys. One statement
/// text per number of rows (the values are bound), runnable on either backend's connection,
/// async or sync. Diesel's own multi-row insert is not available through diesel-async's SQLite
/// wrapper (diesel_async #277), hence this fragment.
#[derive(Clone, Debug)]
pub struct Upsert(pub Vec<StatsRow>);

const COLUMNS: &str = "INSERT INTO job_stats (account_id, grain, period, model_id, status, slot, \
    jobs, inputs, inputs_completed, inputs_failed, input_bytes, queue_count, queue_sum, \
    queue_max, elapsed_count, elapsed_sum, elapsed_max, queue_hist, elapsed_hist) VALUES ";

const ON_CONFLICT: &str = " ON CONFLICT (account_id, grain, period, model_id, status, slot) \
    DO UPDATE SET jobs = job_stats.jobs + excluded.jobs, \
    inputs = job_stats.inputs + excluded.inputs, \
    inputs_completed = job_stats.inputs_completed + excluded.inputs_completed, \
    inputs_failed = job_stats.inputs_failed + excluded.inputs_failed, \
    input_bytes = job_stats.input_bytes + excluded.input_bytes, \
    queue_count = job_stats.queue_count + excluded.queue_count, \
    queue_sum = job_stats.queue_sum + excluded.queue_sum, \
    queue_max = CASE WHEN excluded.queue_max > job_stats.queue_max \
        THEN excluded.queue_max ELSE job_stats.queue_max END, \
    elapsed_count = job_stats.elapsed_count + excluded.elapsed_count, \
    elapsed_sum = job_stats.elapsed_sum + excluded.elapsed_sum, \
    elapsed_max = CASE WHEN excluded.elapsed_max > job_stats.elapsed_max \
        THEN excluded.elapsed_max ELSE job_stats.elapsed_max END, \
    queue_hist = job_stats.queue_hist || excluded.queue_hist, \
    elapsed_hist = job_stats.elapsed_hist || excluded.elapsed_hist";

impl<DB: Backend> QueryFragment<DB> for Upsert
where
    DB: diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Integer>
        + diesel::sql_types::HasSqlType<Text>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    str: diesel::serialize::ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(COLUMNS);
        for (i, row) in self.0.iter().enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            let k = &row.key;
            out.push_bind_param::<BigInt, i64>(&k.account_id.0)?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, i32>(grain_code(k.grain))?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, i32>(&k.period)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, i64>(&k.model_id.0)?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, i32>(status_code(k.status))?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, i32>(&k.slot)?;
            for n in &row.numbers {
                out.push_sql(", ");
                out.push_bind_param::<BigInt, i64>(n)?;
            }
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(&row.queue_hist)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(&row.elapsed_hist)?;
            out.push_sql(")");
        }
        out.push_sql(ON_CONFLICT);
        Ok(())
    }
}

/// Codes bound by reference (Diesel's generic `ToSql` borrows what it binds).
static GRAIN_CODES: [i32; 3] = [0, 1, 2];
static STATUS_CODES: [i32; 6] = [0, 1, 2, 3, 4, 5];

fn grain_code(g: Grain) -> &'static i32 {
    &GRAIN_CODES[g as usize]
}

fn status_code(s: JobStatus) -> &'static i32 {
    &STATUS_CODES[status_index(s)]
}

impl QueryId for Upsert {
    type QueryId = ();
    /// The text depends on the number of rows: cached by SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

/// Figures of many jobs gathered before they are written (the seeder's batches), by row.
#[derive(Debug, Default)]
pub struct Tally(BTreeMap<Key, Figures>);

impl Tally {
    /// Adds a job stored in a final status (those stored as pending are not in the rollup).
    pub fn add(&mut self, p: &Point) {
        if p.stored_pending {
            return;
        }
        for row in rows_of(p, 0) {
            self.0.entry(row.key).or_default().add(p, [true; 2]);
        }
    }

    /// The upserts writing the gathered rows, `per` rows each, in the writers' order; empties
    /// the tally.
    pub fn drain(&mut self, per: usize) -> Vec<Upsert> {
        let mut rows: Vec<StatsRow> = std::mem::take(&mut self.0)
            .into_iter()
            .map(|(k, f)| StatsRow::of_figures(k, &f))
            .collect();
        rows.sort_by_key(|r| r.key.order());
        rows.chunks(per.max(1))
            .map(|c| Upsert(c.to_vec()))
            .collect()
    }
}

/// One `(account, grain, period)` of the rollup: one packed value.
pub type Unit = (AccountId, i32, i32);

/// Up to `limit` units with rows in `job_stats` (every one of them is to be folded), in key
/// order, listed once so that a compaction pass ends even while writers keep adding rows.
pub async fn unfolded_units(conn: &mut Conn<'_>, limit: i64) -> Result<Vec<Unit>, DbError> {
    use job_stats::dsl as t;
    Ok(crate::on_backend!(conn, c => {
        t::job_stats
            .select((t::account_id, t::grain, t::period))
            .distinct()
            .order_by((t::account_id, t::grain, t::period))
            .limit(limit)
            .load(c)
            .await?
    }))
}

/// Units of one account and grain that one transaction folds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The account (0: every account).
    pub account_id: AccountId,
    /// The grain's code.
    pub grain: i32,
    /// The periods.
    pub periods: Vec<i32>,
}

/// `units` grouped into batches of at most `per` periods of one account and grain.
pub fn batches(units: &[Unit], per: usize) -> Vec<Batch> {
    let mut out: Vec<Batch> = Vec::new();
    for &(account_id, grain, period) in units {
        match out.last_mut() {
            Some(b) if b.account_id == account_id && b.grain == grain && b.periods.len() < per => {
                b.periods.push(period);
            }
            _ => out.push(Batch {
                account_id,
                grain,
                periods: vec![period],
            }),
        }
    }
    out
}

/// Folds the `job_stats` rows of `batch`'s units into their packed values
/// (`job_stats_packed`, [`super::packed`]); returns how many rows it removed.
///
/// `DELETE … RETURNING` takes exactly what it removes, so a job finishing meanwhile is either
/// in what was taken or written afterwards to a fresh row: never lost, never counted twice
/// (readers add packed values and rows in one snapshot). On PostgreSQL the transaction first
/// takes an advisory lock that every compaction takes, so two replicas never fold into the
/// same packed value at once (each would overwrite the other's sum); SQLite's writers are
/// serialized anyway. A writer holds at most one row of a batch (its job's one hour or one day
/// of that account) and never waits for a packed value, so no lock cycle forms.
///
/// Each value is stored with its totals per status ([`PackedValue::of`]), and a batch of days
/// rebuilds the month values of its months from their days' values ([`Grain::Month`]). A row
/// with no job is a mark the upgrade to totals and months (migration `…000013`) left on every
/// unit folded before it: the unit is stored again, with its totals, and nothing is added.
pub async fn compact(tx: &mut Tx<'_>, batch: &Batch) -> Result<usize, DbError> {
    use crate::db::schema::job_stats_packed::dsl as p;
    use job_stats::dsl as t;
    let Batch {
        account_id,
        grain,
        periods,
    } = batch;
    if let Conn::Postgres(c) = tx.conn() {
        diesel::sql_query(COMPACTION_LOCK).execute(*c).await?;
    }
    type Taken = (i32, ModelId, JobStatus, Numbers, String, String);
    let taken: Vec<Taken> = crate::on_backend!(tx.conn(), c => {
        diesel::delete(
            t::job_stats
                .filter(t::account_id.eq(account_id))
                .filter(t::grain.eq(grain))
                .filter(t::period.eq_any(periods)),
        )
        .returning((t::period, t::model_id, t::status, numbers_columns!(), t::queue_hist, t::elapsed_hist))
        .get_results(c)
        .await?
    });
    let packed: Vec<(i32, Vec<u8>)> = crate::on_backend!(tx.conn(), c => {
        p::job_stats_packed
            .filter(p::account_id.eq(account_id))
            .filter(p::grain.eq(grain))
            .filter(p::period.eq_any(periods))
            .select((p::period, p::cells))
            .load(c)
            .await?
    });
    let mut sums: BTreeMap<i32, CellMap> = BTreeMap::new();
    for (period, bytes) in packed {
        let cells = packed::decode(&bytes)?;
        sums.insert(period, cells);
    }
    let removed = taken.len();
    for (period, model_id, status, n, queue_hist, elapsed_hist) in taken {
        let n = numbers(n);
        let sum = sums.entry(period).or_default();
        if n[0] == 0 {
            // A mark (migration `…000013`): the unit is refolded, nothing is added.
            continue;
        }
        let cell = Cell {
            status,
            numbers: &n,
            histograms: [Encoded::Text(&queue_hist), Encoded::Text(&elapsed_hist)],
        };
        cell.add_to(sum.entry((model_id, status)).or_default())?;
    }
    let values: Vec<PackedValue> = sums
        .iter()
        .map(|(&period, cells)| PackedValue::of((*account_id, *grain, period), cells))
        .collect();
    store(tx, &values).await?;
    if *grain == Grain::Day as i32 {
        fold_months(tx, *account_id, periods).await?;
    }
    Ok(removed)
}

/// Rebuilds the month values of the months holding `days` from every daily value of those
/// months, as stored now (the caller has just stored the days'): a month value is always the
/// sum of its days' values, in the same transaction that changes one of them.
async fn fold_months(tx: &mut Tx<'_>, account_id: AccountId, days: &[i32]) -> Result<(), DbError> {
    use crate::db::schema::job_stats_packed::dsl as p;
    let mut sums: BTreeMap<i32, CellMap> = days
        .iter()
        .map(|&d| (month_of_day(d), CellMap::new()))
        .collect();
    let (Some(&first), Some(&last)) = (sums.keys().next(), sums.keys().next_back()) else {
        return Ok(());
    };
    let (lo, hi) = (days_of_month(first).start, days_of_month(last).end - 1);
    let stored: Vec<(i32, Vec<u8>)> = crate::on_backend!(tx.conn(), c => {
        p::job_stats_packed
            .filter(p::account_id.eq(account_id))
            .filter(p::grain.eq(Grain::Day as i32))
            .filter(p::period.between(lo, hi))
            .select((p::period, p::cells))
            .load(c)
            .await?
    });
    for (day, bytes) in stored {
        // Months between two folded ones are read but not rebuilt.
        if let Some(sum) = sums.get_mut(&month_of_day(day)) {
            packed::decode_into(&bytes, sum)?;
        }
    }
    let values: Vec<PackedValue> = sums
        .iter()
        .map(|(&month, cells)| PackedValue::of((account_id, Grain::Month as i32, month), cells))
        .collect();
    store(tx, &values).await
}

/// Stores `values`, a hundred per statement.
async fn store(tx: &mut Tx<'_>, values: &[PackedValue]) -> Result<(), DbError> {
    for chunk in values.chunks(100) {
        let upsert = PackedUpsert(chunk);
        crate::on_backend!(tx.conn(), c => upsert.execute(c).await?);
    }
    Ok(())
}

/// Taken by every compaction transaction on PostgreSQL (released at its end): one fold at a
/// time across replicas. The key is arbitrary, this service's own.
pub const COMPACTION_LOCK: &str = "SELECT pg_advisory_xact_lock(7140014)";

/// A unit's packed value to store.
#[derive(Clone, Debug)]
pub struct PackedValue {
    /// Which unit.
    pub unit: Unit,
    /// Its cells, encoded ([`super::packed::encode`]).
    pub cells: Vec<u8>,
    /// Their totals per status, encoded ([`super::packed::totals`]).
    pub totals: Vec<u8>,
}

impl PackedValue {
    /// The value of `unit` holding `cells`, and their totals.
    pub fn of(unit: Unit, cells: &CellMap) -> Self {
        Self {
            unit,
            cells: packed::encode(cells),
            totals: packed::encode(&packed::totals(cells)),
        }
    }
}

/// `INSERT INTO job_stats_packed … VALUES (…), (…) ON CONFLICT DO UPDATE SET cells =
/// excluded.cells, totals = excluded.totals`: stores the values, replacing what each unit held
/// (the caller merged it in). One statement text per number of rows, either backend.
#[derive(Clone, Copy, Debug)]
pub struct PackedUpsert<'a>(pub &'a [PackedValue]);

impl<DB: Backend> QueryFragment<DB> for PackedUpsert<'_>
where
    DB: diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Integer>
        + diesel::sql_types::HasSqlType<Binary>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    [u8]: diesel::serialize::ToSql<Binary, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO job_stats_packed (account_id, grain, period, cells, totals) VALUES ",
        );
        for (i, value) in self.0.iter().enumerate() {
            let (account, grain, period) = &value.unit;
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<BigInt, i64>(&account.0)?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, i32>(grain)?;
            out.push_sql(", ");
            out.push_bind_param::<Integer, i32>(period)?;
            out.push_sql(", ");
            out.push_bind_param::<Binary, [u8]>(&value.cells)?;
            out.push_sql(", ");
            out.push_bind_param::<Binary, [u8]>(&value.totals)?;
            out.push_sql(")");
        }
        out.push_sql(
            " ON CONFLICT (account_id, grain, period) \
             DO UPDATE SET cells = excluded.cells, totals = excluded.totals",
        );
        Ok(())
    }
}

impl QueryId for PackedUpsert<'_> {
    type QueryId = ();
    /// The text depends on the number of rows: cached by SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}
