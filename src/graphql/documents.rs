//! Parsed GraphQL documents, kept by their text. Clients send the same few query texts over
//! and over with different variables; parsing one (async-graphql's pest parser) was ~10 % of
//! the server's instructions for a history page, copying a parsed one costs a fraction of
//! that. Bounded: texts of at most [`MAX_TEXT`] bytes, [`BUDGET`] bytes in all, and a full
//! cache starts over, so a client sending ever-new texts costs a parse each, as with no cache,
//! and never grows memory. Documents that do not parse are not kept: the executor reports
//! their syntax errors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::parser::parse_query;
use async_graphql::parser::types::ExecutableDocument;

/// Longest query text kept (bytes); longer ones are parsed every time. GraphiQL's
/// introspection query is 2 KB, the benchmark's history page 1 KB.
pub const MAX_TEXT: usize = 8 * 1024;
/// What the kept texts may add up to, each counted with [`ENTRY_COST`] more. A parsed
/// document of field-dense text takes ~46 times the text's bytes (measured: the server's RSS
/// grew 176 MB for 256 distinct 16 KB documents), so this bounds the cache to ~12 MB.
pub const BUDGET: usize = 256 * 1024;
/// Bytes counted per kept document besides its text, so tiny texts are bounded too.
pub const ENTRY_COST: usize = 256;

/// Parsed documents by query text, shared by every request of a schema.
#[derive(Default)]
pub struct DocumentCache {
    parsed: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    docs: HashMap<Box<str>, Arc<ExecutableDocument>>,
    /// Sum over `docs` of text length + [`ENTRY_COST`].
    bytes: usize,
}

impl DocumentCache {
    /// The document `text` parses to: the kept one, or one parsed now (and kept). `None` when
    /// it does not parse.
    pub fn get(&self, text: &str) -> Option<Arc<ExecutableDocument>> {
        if let Some(doc) = self.lock().docs.get(text) {
            return Some(Arc::clone(doc));
        }
        let doc = Arc::new(parse_query(text).ok()?);
        if text.len() <= MAX_TEXT {
            let mut kept = self.lock();
            let cost = text.len() + ENTRY_COST;
            if kept.bytes + cost > BUDGET {
                *kept = Kept::default();
            }
            if kept.docs.insert(text.into(), Arc::clone(&doc)).is_none() {
                kept.bytes += cost;
            }
        }
        Some(doc)
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.lock().docs.len()
    }

    /// The bytes counted against [`BUDGET`].
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Whether no document is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while holding the lock cannot leave the map inconsistent (each operation is
        // one call on it), so a poisoned lock is still good to use.
        self.parsed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "query Q($n: Int) { jobs(first: $n) { totalCount } }";

    fn debug(cache: &DocumentCache, text: &str) -> String {
        format!("{:?}", cache.get(text).expect("parses"))
    }

    #[test]
    fn a_document_is_parsed_once_then_served_from_the_cache() {
        let cache = DocumentCache::default();
        let expected = format!("{:?}", parse_query(QUERY).unwrap());
        assert_eq!(debug(&cache, QUERY), expected);
        assert_eq!(cache.len(), 1);
        assert_eq!(debug(&cache, QUERY), expected);
        assert_eq!(cache.len(), 1);

        // What is served is the kept document, not a new parse of the text.
        let other = parse_query("{ viewer { id } }").unwrap();
        let other_debug = format!("{other:?}");
        cache.lock().docs.insert(QUERY.into(), Arc::new(other));
        assert_eq!(debug(&cache, QUERY), other_debug);
    }

    #[test]
    fn syntax_errors_are_left_to_the_executor_and_not_kept() {
        // The executor reports them (tests/http_graphql.rs: 400 for a syntax error).
        let cache = DocumentCache::default();
        assert!(cache.get("{ jobs(first: ").is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = DocumentCache::default();
        let mut texts = 0;
        for i in 0..2_000 {
            let text = format!("{{ a{i}: viewer {{ id }} }}");
            texts += text.len() + ENTRY_COST;
            cache.get(&text).expect("parses");
            assert!(cache.bytes() <= BUDGET);
        }
        assert!(texts > BUDGET, "the test went past the budget");
        assert!(!cache.is_empty());
        let one = cache.bytes();
        cache.get(&format!("{{ a{}: viewer {{ id }} }}", 1_999));
        assert_eq!(cache.bytes(), one, "a kept text is not counted twice");
        let before = cache.len();
        let long = format!("{{ viewer {{ id }} }}{}", " ".repeat(MAX_TEXT));
        assert!(cache.get(&long).is_some(), "over-long texts are parsed");
        assert_eq!(cache.len(), before, "but not kept");
    }
}
