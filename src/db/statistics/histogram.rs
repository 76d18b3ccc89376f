//! Mergeable log-scaled histograms of durations (milliseconds), stored as text in the rollup
//! `job_stats` and read back for percentiles.
//!
//! **Buckets.** Bucket 0 holds 0 exactly (and negative values); bucket `k ≥ 1` holds the
//! integers in `(B[k-1], B[k]]`, where `B[0] = 0` and `B[k+1] = B[k] + max(1, B[k] / 10)`
//! (integer division): every integer up to 20 has a bucket of its own, and above that a bucket
//! is at most a tenth of its lower bound wide. The same recurrence is written in SQL by the
//! migration that fills the rollup from existing jobs (no logarithm: SQLite has none), so both
//! put a value in the same bucket. Values above [`CAP`] share the last bucket.
//!
//! **Error bound.** A bucket's estimate is the value that minimizes the worst relative error
//! over its integers, `2·lo·hi / (lo + hi)` with `lo = B[k-1] + 1` and `hi = B[k]`; that error
//! is `(hi - lo) / (hi + lo)`, which is below 1/21 (4.76 %) for every bucket
//! ([`RELATIVE_ERROR`]). A nearest-rank percentile read from the histogram is the estimate of
//! the bucket holding that rank, so it is within the bound of the exact percentile.
//!
//! **Text form.** A writer appends `,k` for one job in the same upsert that counts it
//! (`hist = hist || excluded.hist`, the same on both backends, no read-modify-write); the
//! compaction rewrites a row as `k:n,k:n,…` (sorted, each bucket once). A reader accepts any
//! mix of both forms, repeated buckets included.

/// Values above this share the last bucket (10^15 ms: 31 700 years).
pub const CAP: i64 = 1_000_000_000_000_000;

/// The worst relative error of a bucket's estimate (proved for the recurrence above, checked
/// for every bucket by a test).
pub const RELATIVE_ERROR: f64 = 1.0 / 21.0;

/// How many buckets there are.
pub const BUCKETS: usize = count_buckets();

/// `B[k]`, the largest value of bucket `k`.
pub static UPPER: [i64; BUCKETS] = upper_bounds();

const fn next_bound(b: i64) -> i64 {
    let step = if b / 10 > 1 { b / 10 } else { 1 };
    b + step
}

const fn count_buckets() -> usize {
    let (mut b, mut n) = (0_i64, 1_usize);
    while b < CAP {
        b = next_bound(b);
        n += 1;
    }
    n
}

const fn upper_bounds() -> [i64; BUCKETS] {
    let mut out = [0_i64; BUCKETS];
    let mut k = 1;
    while k < BUCKETS {
        out[k] = next_bound(out[k - 1]);
        k += 1;
    }
    out
}

/// The bucket of `value` (milliseconds).
pub fn bucket_of(value: i64) -> u16 {
    let v = value.clamp(0, CAP);
    let k = UPPER.partition_point(|&upper| upper < v);
    u16::try_from(k).unwrap_or(u16::MAX)
}

/// The value bucket `k` stands for: the estimate with the smallest worst relative error.
pub fn estimate(k: u16) -> f64 {
    let k = usize::from(k).min(BUCKETS - 1);
    if k == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)] // bounds stay below 2^53 (CAP)
    let (lo, hi) = ((UPPER[k - 1] + 1) as f64, UPPER[k] as f64);
    2.0 * lo * hi / (lo + hi)
}

/// The token a writer appends for one value: `,k`.
pub fn token(value: Option<i64>) -> String {
    value.map_or_else(String::new, |v| format!(",{}", bucket_of(v)))
}

/// Counts per bucket, dense (index = bucket), as long as the largest bucket used: merging is
/// a loop of additions, and parsing writes straight into it (a dashboard reads thousands of
/// rows' histograms per request).
#[derive(Clone, Debug, Default)]
pub struct Histogram(Vec<u64>);

impl PartialEq for Histogram {
    /// Equal counts, whatever trailing empty buckets either holds.
    fn eq(&self, other: &Self) -> bool {
        let (short, long) = if self.0.len() <= other.0.len() {
            (&self.0, &other.0)
        } else {
            (&other.0, &self.0)
        };
        long[..short.len()] == short[..] && long[short.len()..].iter().all(|&n| n == 0)
    }
}

impl Eq for Histogram {}

impl Histogram {
    /// Adds `n` values to bucket `k` (clamped to the last bucket).
    #[inline]
    pub fn bump(&mut self, k: usize, n: u64) {
        let k = k.min(BUCKETS - 1);
        if self.0.len() <= k {
            self.0.resize(k + 1, 0);
        }
        self.0[k] += n;
    }

    /// Removes `n` values from bucket `k` (clamped to the last bucket; never below zero): what
    /// a sum that held them gives back (a month's value less a day outside the range).
    #[inline]
    pub fn unbump(&mut self, k: usize, n: u64) {
        if let Some(c) = self.0.get_mut(k.min(BUCKETS - 1)) {
            *c = c.saturating_sub(n);
        }
    }

    /// Adds one value.
    pub fn add(&mut self, value: i64) {
        self.bump(usize::from(bucket_of(value)), 1);
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Self) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a += b;
        }
    }

    /// Adds the buckets written in `text` (`,k` tokens and `k:n` pairs, in any mix). Tokens
    /// that do not parse are skipped: the text is only ever written by this module.
    pub fn add_text(&mut self, text: &str) {
        for_each_bucket(text, |k, n| self.bump(k, n));
    }

    /// The histogram written in `text`.
    pub fn parse(text: &str) -> Self {
        let mut h = Self::default();
        h.add_text(text);
        h
    }

    /// The non-empty buckets and their counts, in increasing order.
    pub fn buckets(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (k, *n))
    }

    /// The compact text form: `k:n` pairs, sorted, each bucket once.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (k, n) in self.buckets() {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&format!("{k}:{n}"));
        }
        out
    }

    /// How many values it holds.
    pub fn count(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The nearest-rank `q`-quantile (`0 < q ≤ 1`: the value at rank `⌈q·n⌉`), estimated within
    /// [`RELATIVE_ERROR`]; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = rank(q, n);
        let mut seen = 0;
        for (k, &c) in self.0.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(estimate(u16::try_from(k).unwrap_or(u16::MAX)));
            }
        }
        None
    }
}

/// Calls `f(k, n)` for each bucket written in `text` (`,k` tokens: n = 1; `k:n` pairs), in
/// the order written, repeated buckets included: a reader that adds one row's histogram to
/// several sums parses it once.
pub fn for_each_bucket(text: &str, mut f: impl FnMut(usize, u64)) {
    // By hand over the bytes: `split` and `parse` cost several times as much.
    let (mut k, mut n, mut in_count, mut digits) = (0_u64, 0_u64, false, false);
    let mut flush = |k: u64, n: u64, in_count: bool, digits: bool| {
        if digits {
            f(
                usize::try_from(k).unwrap_or(usize::MAX),
                if in_count { n } else { 1 },
            );
        }
    };
    for &b in text.as_bytes() {
        match b {
            b'0'..=b'9' => {
                let d = u64::from(b - b'0');
                if in_count {
                    n = n.saturating_mul(10).saturating_add(d);
                } else {
                    k = k.saturating_mul(10).saturating_add(d);
                    digits = true;
                }
            }
            b':' => (in_count, n) = (true, 0),
            _ => {
                flush(k, n, in_count, digits);
                (k, n, in_count, digits) = (0, 0, false, false);
            }
        }
    }
    flush(k, n, in_count, digits);
}

/// The nearest rank of quantile `q` among `n` values: `⌈q·n⌉`, at least 1 and at most `n`.
pub fn rank(q: f64, n: u64) -> u64 {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    #[allow(clippy::cast_sign_loss)]
    let r = (q * n as f64).ceil() as u64;
    r.clamp(1, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact_and_every_bucket_is_within_the_bound() {
        for v in 0..=20 {
            assert_eq!(estimate(bucket_of(v)).round() as i64, v, "{v}");
        }
        for k in 1..BUCKETS {
            let (lo, hi) = (UPPER[k - 1] + 1, UPPER[k]);
            assert!(lo <= hi);
            let e = estimate(u16::try_from(k).unwrap());
            for v in [lo, hi] {
                let err = (e - v as f64).abs() / v as f64;
                assert!(
                    err <= RELATIVE_ERROR + 1e-12,
                    "bucket {k} ({lo}..={hi}): {err}"
                );
            }
            assert_eq!(usize::from(bucket_of(lo)), k);
            assert_eq!(usize::from(bucket_of(hi)), k);
        }
        assert!(UPPER[BUCKETS - 1] >= CAP);
        assert_eq!(usize::from(bucket_of(i64::MAX)), BUCKETS - 1);
        assert_eq!(bucket_of(-5), 0);
        const { assert!(BUCKETS < 400) };
    }

    #[test]
    fn text_forms_mix_and_round_trip() {
        let mut h = Histogram::parse(",3,3,17:2,3:1,,5");
        assert_eq!(h.count(), 6);
        assert_eq!(h.to_text(), "3:3,5:1,17:2");
        h.add_text(&token(Some(3)));
        assert_eq!(Histogram::parse(&h.to_text()), h);
        assert_eq!(token(None), "");
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut h = Histogram::default();
        for v in [1, 2, 3, 4, 100] {
            h.add(v);
        }
        assert_eq!(h.quantile(0.5).map(f64::round), Some(3.0));
        assert_eq!(h.quantile(0.8).map(f64::round), Some(4.0));
        let p99 = h.quantile(0.99).unwrap();
        assert!((p99 - 100.0).abs() / 100.0 <= RELATIVE_ERROR);
        assert_eq!(Histogram::default().quantile(0.5), None);
        assert_eq!(rank(0.5, 1), 1);
        assert_eq!(rank(0.99, 200), 198);
    }
}
