//! The packed form of the rollup: every cell (model × final status) of one `(account, grain,
//! period)` in one binary value, `job_stats_packed.cells`, written only by the compaction.
//!
//! A dashboard over 180 days across 20 models reads ~16 000 cells; as rows of `job_stats` that
//! is ~16 000 rows each carrying two histogram texts, and producing, sending, decoding and
//! parsing them was most of a request. Packed, it is 180 values of a few kilobytes of varints,
//! walked in place ([`cells`]) without allocating. The write path does not change: writers
//! still add one `job_stats` row per cell and slot, which the compaction folds into the packed
//! value ([`super::rollup::compact`]).
//!
//! **Format** (version 1): the byte `1`, then per cell, in (model, status) order: the model id,
//! the status code, the eleven numbers of [`super::rollup::StatsRow::numbers`], then per
//! duration (queue, elapsed) the length in bytes of its histogram and the histogram: for each
//! non-empty bucket, the gap from the previous bucket's index and its count. Every integer is
//! an unsigned LEB128 varint (the numbers are never negative). The lengths let a reader step
//! over a histogram it does not want without decoding it. A value that does not decode is
//! reported as a deserialization error, never guessed at.
//!
//! **Totals** (`job_stats_packed.totals`, migration `…000013`): the same format, one cell per
//! final status summed over every model (model id [`EVERY_MODEL`]), written beside the cells
//! by the compaction ([`totals`]). A chart of a bucket's total, or of statuses alone, reads
//! these four cells instead of every model's. `NULL` in values folded before `…000013` (the
//! first compaction after the upgrade fills them); readers then sum the cells.

use std::collections::BTreeMap;

use super::figures::{Durations, Figures, status_index};
use super::rollup::{Cell, Encoded};
use crate::domain::{JobStatus, ModelId};

/// The format's version byte.
const VERSION: u8 = 1;

/// The packed value of no cell.
pub const EMPTY: [u8; 1] = [VERSION];

/// The model id of a total's cells: every model.
pub const EVERY_MODEL: ModelId = ModelId(0);

/// One cell's figures by (model, final status): what a packed value holds.
pub type CellMap = BTreeMap<(ModelId, JobStatus), Figures>;

/// A packed value that does not decode (written by another version, or damaged).
#[derive(Debug, thiserror::Error)]
#[error("a packed statistics value does not decode (at byte {0})")]
pub struct Corrupt(pub usize);

impl From<Corrupt> for diesel::result::Error {
    fn from(e: Corrupt) -> Self {
        diesel::result::Error::DeserializationError(Box::new(e))
    }
}

impl From<Corrupt> for crate::db::DbError {
    fn from(e: Corrupt) -> Self {
        diesel::result::Error::from(e).into()
    }
}

/// One cell of a packed value, borrowed from it: its key, numbers and histograms (still
/// encoded: [`for_each_bucket`] walks them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedCell<'a> {
    /// The model.
    pub model_id: ModelId,
    /// The final status.
    pub status: JobStatus,
    /// The numbers, in [`super::rollup::StatsRow::numbers`]' order.
    pub numbers: [i64; 11],
    /// The queue-time and elapsed-time histograms, encoded.
    pub histograms: [&'a [u8]; 2],
}

impl PackedCell<'_> {
    /// This cell as a cell to add up (as [`super::rollup::StatsRow::cell`] for a row).
    pub fn cell(&self) -> Cell<'_> {
        let [queue, elapsed] = self.histograms;
        Cell {
            status: self.status,
            numbers: &self.numbers,
            histograms: [Encoded::Packed(queue), Encoded::Packed(elapsed)],
        }
    }
}

/// Encodes `cells`.
pub fn encode(cells: &CellMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + cells.len() * 48);
    out.push(VERSION);
    for (&(model, status), f) in cells {
        put(&mut out, model.0.unsigned_abs());
        put(&mut out, status_index(status) as u64);
        for n in f.cell_numbers(status) {
            put(&mut out, n.unsigned_abs());
        }
        for d in [&f.queue, &f.elapsed] {
            put_histogram(&mut out, d);
        }
    }
    out
}

fn put_histogram(out: &mut Vec<u8>, d: &Durations) {
    let mut pairs = Vec::new();
    let mut previous = 0;
    for (k, n) in d.histogram.buckets() {
        put(&mut pairs, (k - previous) as u64);
        put(&mut pairs, n);
        previous = k;
    }
    put(out, pairs.len() as u64);
    out.extend_from_slice(&pairs);
}

/// Appends `v` as an unsigned LEB128 varint.
fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads values out of a packed value.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn varint(&mut self) -> Result<u64, Corrupt> {
        // Most values (bucket gaps, counts, status) fit one byte.
        if let Some(&b) = self.bytes.get(self.at)
            && b < 0x80
        {
            self.at += 1;
            return Ok(u64::from(b));
        }
        self.varint_long()
    }

    fn varint_long(&mut self) -> Result<u64, Corrupt> {
        let (mut v, mut shift) = (0_u64, 0);
        loop {
            let &b = self.bytes.get(self.at).ok_or(Corrupt(self.at))?;
            self.at += 1;
            if shift > 63 {
                return Err(Corrupt(self.at));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
        }
    }

    fn number(&mut self) -> Result<i64, Corrupt> {
        let at = self.at;
        i64::try_from(self.varint()?).map_err(|_| Corrupt(at))
    }

    /// One encoded histogram's pairs (its length says where it ends; the pairs are checked
    /// when walked).
    fn histogram(&mut self) -> Result<&'a [u8], Corrupt> {
        let at = self.at;
        let len = usize::try_from(self.varint()?).map_err(|_| Corrupt(at))?;
        let end = self.at.checked_add(len).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(Corrupt(at))?;
        let pairs = &self.bytes[self.at..end];
        self.at = end;
        Ok(pairs)
    }

    fn cell(&mut self) -> Result<PackedCell<'a>, Corrupt> {
        let at = self.at;
        let model_id = ModelId(self.number()?);
        let code = i32::try_from(self.varint()?).map_err(|_| Corrupt(at))?;
        let status = JobStatus::try_from(code).map_err(|_| Corrupt(at))?;
        let mut numbers = [0; 11];
        for n in &mut numbers {
            *n = self.number()?;
        }
        let histograms = [self.histogram()?, self.histogram()?];
        Ok(PackedCell {
            model_id,
            status,
            numbers,
            histograms,
        })
    }
}

/// The cells of packed value `bytes`, in order; an error ends the walk.
pub fn cells(bytes: &[u8]) -> impl Iterator<Item = Result<PackedCell<'_>, Corrupt>> {
    let mut reader = Reader { bytes, at: 1 };
    let mut failed = bytes.first() != Some(&VERSION);
    let mut first_error = failed.then_some(Err(Corrupt(0)));
    std::iter::from_fn(move || {
        if let Some(e) = first_error.take() {
            return Some(e);
        }
        if failed || reader.at >= reader.bytes.len() {
            return None;
        }
        let cell = reader.cell();
        failed = cell.is_err();
        Some(cell)
    })
}

/// Calls `f(k, n)` for each bucket of an encoded histogram (as in a [`PackedCell`]), in
/// increasing order; fails at the first pair that does not decode.
#[inline]
pub fn for_each_bucket(encoded: &[u8], mut f: impl FnMut(usize, u64)) -> Result<(), Corrupt> {
    let mut r = Reader {
        bytes: encoded,
        at: 0,
    };
    let mut k = 0_usize;
    while r.at < encoded.len() {
        let gap = r.varint()?;
        let n = r.varint()?;
        k = k.saturating_add(usize::try_from(gap).unwrap_or(usize::MAX));
        f(k, n);
    }
    Ok(())
}

/// Decodes packed value `bytes` into figures per cell (what the compaction merges into).
pub fn decode(bytes: &[u8]) -> Result<CellMap, Corrupt> {
    let mut out = CellMap::new();
    decode_into(bytes, &mut out)?;
    Ok(out)
}

/// Adds the cells of packed value `bytes` to `sums`, cell by cell.
pub fn decode_into(bytes: &[u8], sums: &mut CellMap) -> Result<(), Corrupt> {
    for cell in cells(bytes) {
        let cell = cell?;
        cell.cell()
            .add_to(sums.entry((cell.model_id, cell.status)).or_default())?;
    }
    Ok(())
}

/// The totals of `cells`: per final status, the sum over every model (keyed by
/// [`EVERY_MODEL`]), to [`encode`] as a value's `totals`.
pub fn totals(cells: &CellMap) -> CellMap {
    let mut out = CellMap::new();
    for (&(_, status), f) in cells {
        out.entry((EVERY_MODEL, status)).or_default().merge(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::statistics::histogram::Histogram;

    /// Figures of a cell of `status` (a cell counts jobs of its own status only).
    fn figures(status: JobStatus, seed: i64) -> Figures {
        let mut f = Figures::default();
        f.statuses[status_index(status)] = 3 + seed;
        f.inputs = [9, 7, 2];
        f.bytes = 1 << 40;
        f.queue = Durations {
            count: 3,
            sum: 1_000_000 + seed,
            max: 900_000,
            histogram: Histogram::parse(",0,5,300:2"),
        };
        f.elapsed.count = 0;
        f
    }

    #[test]
    fn cells_round_trip() {
        let mut map = CellMap::new();
        map.insert(
            (ModelId(7), JobStatus::Completed),
            figures(JobStatus::Completed, 0),
        );
        map.insert((ModelId(7), JobStatus::Error), figures(JobStatus::Error, 1));
        map.insert(
            (ModelId(300), JobStatus::Completed),
            figures(JobStatus::Completed, 2),
        );
        let bytes = encode(&map);
        assert_eq!(decode(&bytes).unwrap(), map);
        let read: Vec<PackedCell<'_>> = cells(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), 3);
        assert_eq!(read[2].model_id, ModelId(300));
        assert_eq!(
            read[1].numbers,
            figures(JobStatus::Error, 1).cell_numbers(JobStatus::Error)
        );
        let mut buckets = vec![];
        for_each_bucket(read[0].histograms[0], |k, n| buckets.push((k, n))).unwrap();
        assert_eq!(buckets, [(0, 1), (5, 1), (300, 2)]);
        assert!(decode(&EMPTY).unwrap().is_empty());
    }

    #[test]
    fn totals_sum_each_status_over_every_model() {
        let mut map = CellMap::new();
        for (model, status, seed) in [
            (7, JobStatus::Completed, 0),
            (8, JobStatus::Completed, 1),
            (8, JobStatus::Error, 2),
        ] {
            map.insert((ModelId(model), status), figures(status, seed));
        }
        let totals = decode(&encode(&totals(&map))).unwrap();
        assert_eq!(
            totals.keys().copied().collect::<Vec<_>>(),
            [
                (EVERY_MODEL, JobStatus::Completed),
                (EVERY_MODEL, JobStatus::Error)
            ]
        );
        let mut completed = figures(JobStatus::Completed, 0);
        completed.merge(&figures(JobStatus::Completed, 1));
        assert_eq!(totals[&(EVERY_MODEL, JobStatus::Completed)], completed);
        assert_eq!(
            totals[&(EVERY_MODEL, JobStatus::Error)],
            figures(JobStatus::Error, 2)
        );
        assert_eq!(totals[&(EVERY_MODEL, JobStatus::Completed)].queue.count, 6);
    }

    #[test]
    fn damaged_values_are_errors() {
        let mut map = CellMap::new();
        map.insert(
            (ModelId(7), JobStatus::Completed),
            figures(JobStatus::Completed, 0),
        );
        let bytes = encode(&map);
        for cut in 2..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(&[]).is_err());
        assert!(decode(&[2]).is_err(), "an unknown version");
        let mut bad_status = bytes.clone();
        bad_status[2] = 9;
        assert!(decode(&bad_status).is_err());
        assert!(
            decode(&[
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ])
            .is_err()
        );
    }
}
