//! What `jobStatistics` costs in the complexity limit: its answer has `B` buckets and `G`
//! groups (each bucket listing every group), so inside it `buckets` multiplies its selection
//! by `B`, `groups` by `G`, and `buckets { groups }` by `B × G`. Both are known from the
//! arguments before execution ([`shape`]): `B` from `filter.createdAt`, `bucket` and
//! `timeZone` (as the resolver computes it), `G` from `groupBy` and `groupLimit`.
//!
//! A fragment is measured once, wherever it is spread, so it cannot know which
//! `jobStatistics` it ends up in: its cost is kept as a polynomial [`Cost`] in `B` and `G`,
//! evaluated by the enclosing `jobStatistics` field with that field's own `B` and `G`. So
//! neither fragments nor aliases can hide a multiplication.

use async_graphql::{InputType, Value};
use chrono::NaiveDateTime;

use super::calendar::{self, Buckets, StatisticsBucket};
use super::resolve::{DEFAULT_GROUP_LIMIT, MAX_GROUP_LIMIT};
use crate::db::jobs::Range;
use crate::graphql::scalars::DateTime;

/// A complexity of the form `b·B + g·G + bg·B·G` (the constant part is kept apart), or
/// unbounded (a selection nesting `buckets` in `buckets`, which the schema has no place for).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    b: u64,
    g: u64,
    bg: u64,
    unbounded: bool,
}

impl Cost {
    /// Adds `other`.
    pub fn add(&mut self, other: &Self) {
        self.b = self.b.saturating_add(other.b);
        self.g = self.g.saturating_add(other.g);
        self.bg = self.bg.saturating_add(other.bg);
        self.unbounded |= other.unbounded;
    }

    /// Multiplied by a constant.
    pub fn scaled(self, n: u64) -> Self {
        Self {
            b: self.b.saturating_mul(n),
            g: self.g.saturating_mul(n),
            bg: self.bg.saturating_mul(n),
            unbounded: self.unbounded,
        }
    }

    /// `constant + self`, multiplied by `B` (a `buckets` list).
    pub fn per_bucket(self, constant: u64) -> Self {
        Self {
            b: constant,
            g: 0,
            bg: self.g,
            unbounded: self.unbounded || self.b > 0 || self.bg > 0,
        }
    }

    /// `constant + self`, multiplied by `G` (a `groups` list).
    pub fn per_group(self, constant: u64) -> Self {
        Self {
            b: 0,
            g: constant,
            bg: self.b,
            unbounded: self.unbounded || self.g > 0 || self.bg > 0,
        }
    }

    /// The value at `B = buckets`, `G = groups`.
    pub fn at(&self, buckets: u64, groups: u64) -> u64 {
        if self.unbounded {
            return u64::MAX;
        }
        self.b
            .saturating_mul(buckets)
            .saturating_add(self.g.saturating_mul(groups))
            .saturating_add(self.bg.saturating_mul(buckets.saturating_mul(groups)))
    }
}

/// `B` and `G` of a `jobStatistics` (or, with `live`, `jobStatisticsUpdated`: one bucket)
/// field, from its arguments (`argument` resolves variables). Values the resolver would refuse
/// count as one bucket: such a request fails before it reads anything.
pub fn shape(
    argument: impl Fn(&str) -> Option<Value>,
    live: bool,
    now: NaiveDateTime,
) -> (u64, u64) {
    let buckets = if live {
        1
    } else {
        buckets(&argument, now).unwrap_or(1)
    };
    (buckets, groups(&argument))
}

fn buckets(argument: &impl Fn(&str) -> Option<Value>, now: NaiveDateTime) -> Option<u64> {
    let bucket = match argument("bucket") {
        None => StatisticsBucket::default(),
        Some(v) => StatisticsBucket::parse(Some(v)).ok()?,
    };
    let zone = match argument("timeZone") {
        None => String::from("UTC"),
        Some(Value::String(s)) => s,
        Some(_) => return None,
    };
    let range = match argument("filter") {
        Some(Value::Object(filter)) => match filter.get("createdAt") {
            Some(Value::Object(r)) => {
                let at = |name: &str| match r.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => DateTime::parse(Some(v.clone())).map(|t| Some(t.naive())),
                };
                let (from, to) = (at("from").ok()??, at("to").ok()?);
                Some(Range {
                    from,
                    to: to.unwrap_or(now),
                })
            }
            _ => None,
        },
        _ => None,
    };
    let tz = calendar::zone(&zone).ok()?;
    let n = Buckets::new(bucket, tz, range, now).ok()?.len();
    u64::try_from(n).ok()
}

fn groups(argument: &impl Fn(&str) -> Option<Value>) -> u64 {
    let limit = match argument("groupLimit") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(1),
        _ => u64::try_from(DEFAULT_GROUP_LIMIT).unwrap_or(10),
    }
    .clamp(1, u64::try_from(MAX_GROUP_LIMIT).unwrap_or(100));
    let dimensions: Vec<String> = match argument("groupBy") {
        Some(Value::List(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::Enum(name) => Some(name.to_string()),
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        Some(Value::Enum(name)) => vec![name.to_string()],
        Some(Value::String(s)) => vec![s],
        _ => Vec::new(),
    };
    if dimensions.is_empty() {
        return 1;
    }
    if dimensions.iter().all(|d| d == "STATUS") {
        return limit.min(6) + u64::from(limit < 6);
    }
    limit + 1 // the kept groups and the one summing the rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_multiply_by_buckets_and_groups() {
        // buckets { groups { 5 fields } } and groups { 5 fields }
        let cell = Cost::default().per_group(6);
        let per_bucket = cell.per_bucket(2);
        let mut whole = per_bucket;
        whole.add(&Cost::default().per_group(6));
        assert_eq!(whole.at(180, 7), 2 * 180 + 6 * 180 * 7 + 6 * 7);
        let nested = per_bucket.per_bucket(1);
        assert_eq!(nested.at(1, 1), u64::MAX);
    }

    #[test]
    fn the_shape_comes_from_the_arguments() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-05-20T10:00:00Z")
            .unwrap()
            .naive_utc();
        let args = |json: serde_json::Value| {
            move |name: &str| json.get(name).map(|v| Value::from_json(v.clone()).unwrap())
        };
        assert_eq!(shape(args(serde_json::json!({})), false, now), (30, 1));
        let a = args(serde_json::json!({
            "filter": { "createdAt": { "from": "2025-11-22T00:00:00Z" } },
            "groupBy": ["STATUS", "MODEL"], "groupLimit": 20
        }));
        assert_eq!(shape(a, false, now), (180, 21));
        let a = args(serde_json::json!({ "groupBy": ["STATUS"] }));
        assert_eq!(shape(a, true, now), (1, 6));
        let a = args(serde_json::json!({ "groupBy": ["STATUS"], "groupLimit": 3 }));
        assert_eq!(shape(a, false, now).1, 4);
    }
}
