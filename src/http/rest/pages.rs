//! Page numbers over keyset pagination. Modzy's history is paged with `page` and `per-page`;
//! the data layer only pages by position (keyset: the rows after a sort key and id), never by
//! `OFFSET`. [`PageEnds`] remembers, per caller and query, where pages ended (the position of
//! their last row), so page N+1 is read as "the rows after the end of page N": the same
//! statement and cost as page 1, however deep. A page whose predecessor's end is not known
//! is found from the nearest end that is, by stepping over the rows in between with
//! [`crate::db::jobs::position_after`], at most [`STRIDE_ROWS`] rows per statement, each
//! step's end remembered (so later jumps start from there).
//!
//! Cost of page 10 000 at 10 per page: after page 9 999, one page read (as page 1). Cold (the
//! first request of that query on this replica), 99 990 rows stepped over in 10 statements that
//! read only ids and sort keys (`jobs_*` indexes; an index-only scan when the filter needs no
//! other column), then the page; later jumps anywhere below it start from the nearest end.
//! A jump of more than [`MAX_WALK_ROWS`] rows past the nearest known end is refused
//! (`BAD_USER_INPUT`), so no request can make the database step over more than that.
//!
//! Positions stay valid while jobs are added (a position is a place in the sort, not a row
//! count), so a remembered page N+1 continues exactly after the rows the client saw as page
//! N, where `OFFSET` would repeat or skip rows; a page number reached by a cold jump counts
//! rows as they are at that moment. Bounded: [`MAX_QUERIES`] queries (the least recently used
//! is forgotten), [`MAX_ENDS`] ends each (every second one is forgotten when full). Per
//! replica: a replica that has not seen a query finds its pages the cold way.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::db::Db;
use crate::db::jobs::{self, JobConditions, PageRequest, Seek};
use crate::domain::Scope;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::history::order::JobOrder;

/// Queries whose page ends are remembered.
pub const MAX_QUERIES: usize = 1_000;
/// Page ends remembered per query.
pub const MAX_ENDS: usize = 256;
/// Most rows one statement steps over.
pub const STRIDE_ROWS: u64 = 10_000;
/// Most rows one request may step over past the nearest remembered end.
pub const MAX_WALK_ROWS: u64 = 1_000_000;

/// The ends of one query's pages.
#[derive(Default)]
struct Ends {
    /// Page number → position of its last row.
    ends: BTreeMap<u64, Seek>,
    /// When last used (a tick of [`Inner::clock`]).
    used: u64,
}

#[derive(Default)]
struct Inner {
    queries: HashMap<String, Ends>,
    clock: u64,
}

/// Where pages ended, per caller and query (see the module's documentation).
#[derive(Default)]
pub struct PageEnds {
    inner: Mutex<Inner>,
}

/// One query's pages: what identifies it and how to read it.
pub struct Query<'a> {
    /// The caller's key prefix and the query's parameters but `page`.
    pub key: String,
    /// Whose jobs.
    pub scope: Scope,
    /// Which jobs.
    pub conditions: &'a JobConditions,
    /// In which order.
    pub order: JobOrder,
    /// Rows per page.
    pub per_page: u64,
}

impl PageEnds {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every change is a few map operations that cannot leave it half-done.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The nearest known end at or before page `page` of `key`: `(0, None)` is the start.
    fn nearest(&self, key: &str, page: u64) -> (u64, Option<Seek>) {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        match inner.queries.get_mut(key) {
            Some(q) => {
                q.used = now;
                q.ends
                    .range(..=page)
                    .next_back()
                    .map_or((0, None), |(p, s)| (*p, Some(*s)))
            }
            None => (0, None),
        }
    }

    /// Remembers that page `page` of `key` ends at `end`.
    pub fn remember(&self, key: &str, page: u64, end: Seek) {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        if !inner.queries.contains_key(key) && inner.queries.len() >= MAX_QUERIES {
            let oldest = inner
                .queries
                .iter()
                .min_by_key(|(_, q)| q.used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                inner.queries.remove(&oldest);
            }
        }
        let q = inner.queries.entry(key.to_string()).or_default();
        q.used = now;
        q.ends.insert(page, end);
        if q.ends.len() > MAX_ENDS {
            let drop: Vec<u64> = q.ends.keys().copied().skip(1).step_by(2).collect();
            for page in drop {
                q.ends.remove(&page);
            }
        }
    }

    /// Where page `page` (from 1) of `query` starts: `Some(None)` at the start, `Some(Some(end))`
    /// after the end of the page before it, `None` when the history ends before that page.
    pub async fn start_of(
        &self,
        db: &Db,
        query: &Query<'_>,
        page: u64,
    ) -> ApiResult<Option<Option<Seek>>> {
        let target = page - 1;
        let (mut at_page, mut at) = self.nearest(&query.key, target);
        let distance = (target - at_page).saturating_mul(query.per_page);
        if distance > MAX_WALK_ROWS {
            return Err(ApiError::bad_input(format!(
                "page {page} is {distance} jobs past the nearest page this server has served for \
                 this query; at most {MAX_WALK_ROWS} can be skipped at once: ask for a page \
                 closer to one already read (follow the Link header's rel=\"next\"), or narrow \
                 the filter"
            )));
        }
        let pages_per_stride = (STRIDE_ROWS / query.per_page).max(1);
        while at_page < target {
            let step = (target - at_page).min(pages_per_stride);
            let request = PageRequest {
                conditions: query.conditions.clone(),
                sort: query.order.sort(),
                after: at,
                before: None,
                limit: 1,
                from_end: false,
            };
            let skip = i64::try_from(step * query.per_page - 1).unwrap_or(i64::MAX);
            let end = db
                .read(async |c| jobs::position_after(c, query.scope, &request, skip).await)
                .await?;
            let Some(end) = end else {
                return Ok(None);
            };
            at_page += step;
            at = Some(end);
            self.remember(&query.key, at_page, end);
        }
        Ok(Some(at))
    }

    /// How many queries are remembered (tests).
    pub fn len(&self) -> usize {
        self.lock().queries.len()
    }

    /// Whether no query is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::JobId;

    fn seek(i: i64) -> Seek {
        Seek {
            key: Some(i),
            id: JobId(i),
        }
    }

    #[test]
    fn the_nearest_end_at_or_before_a_page_is_found() {
        let ends = PageEnds::default();
        assert_eq!(ends.nearest("q", 5), (0, None));
        ends.remember("q", 2, seek(2));
        ends.remember("q", 7, seek(7));
        assert_eq!(ends.nearest("q", 5), (2, Some(seek(2))));
        assert_eq!(ends.nearest("q", 7), (7, Some(seek(7))));
        assert_eq!(ends.nearest("q", 1), (0, None));
        assert_eq!(ends.nearest("other", 9), (0, None));
    }

    #[test]
    fn memory_is_bounded() {
        let ends = PageEnds::default();
        for page in 1..=(MAX_ENDS as u64 + 1) {
            ends.remember("q", page, seek(page as i64));
        }
        let kept = ends.lock().queries["q"].ends.len();
        assert!(kept <= MAX_ENDS / 2 + 1, "{kept}");
        // The first end is kept: the walk from the start stays short.
        assert_eq!(ends.nearest("q", 1), (1, Some(seek(1))));
        for q in 0..=MAX_QUERIES {
            ends.remember(&format!("k{q}"), 1, seek(1));
        }
        assert_eq!(ends.len(), MAX_QUERIES);
    }
}
