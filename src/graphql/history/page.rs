//! Validation of the Relay paging arguments (`first`/`after`, `last`/`before`), in one place.

use super::cursor;
use super::order::JobOrder;
use crate::db::jobs::Seek;
use crate::graphql::error::ApiError;

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// Largest `first`/`last` accepted.
pub const MAX_PAGE_SIZE: i32 = 100;

/// The paging arguments as received.
#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    /// Rows from the start.
    pub first: Option<i32>,
    /// Start after this cursor.
    pub after: Option<String>,
    /// Rows from the end.
    pub last: Option<i32>,
    /// End before this cursor.
    pub before: Option<String>,
}

/// A validated page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Rows wanted.
    pub size: i32,
    /// Counting from the end (`last`).
    pub from_end: bool,
    /// Lower bound.
    pub after: Option<Seek>,
    /// Upper bound.
    pub before: Option<Seek>,
}

impl Page {
    /// Validates `args` for `order`. `last` (or a lone `before`) pages from the end.
    pub fn new(args: &PageArgs, order: JobOrder) -> Result<Self, ApiError> {
        if args.first.is_some() && args.last.is_some() {
            return Err(ApiError::bad_input(
                "pass either `first` (with `after`) or `last` (with `before`), not both",
            ));
        }
        for (name, value) in [("first", args.first), ("last", args.last)] {
            if let Some(n) = value
                && !(0..=MAX_PAGE_SIZE).contains(&n)
            {
                return Err(ApiError::bad_input(format!(
                    "`{name}` must be between 0 and {MAX_PAGE_SIZE}, got {n}: \
                     page through larger results with cursors"
                )));
            }
        }
        let from_end = args.last.is_some() || (args.first.is_none() && args.before.is_some());
        let size = args.first.or(args.last).unwrap_or(DEFAULT_PAGE_SIZE);
        let seek = |name, c: &Option<String>| {
            c.as_deref()
                .map(|c| cursor::decode(name, c, order))
                .transpose()
        };
        Ok(Self {
            size,
            from_end,
            after: seek("after", &args.after)?,
            before: seek("before", &args.before)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(first: Option<i32>, last: Option<i32>) -> Result<Page, ApiError> {
        Page::new(
            &PageArgs {
                first,
                last,
                ..Default::default()
            },
            JobOrder::default(),
        )
    }

    #[test]
    fn sizes_are_bounded_with_clear_errors() {
        assert_eq!(page(None, None).unwrap().size, 20);
        assert_eq!(page(Some(0), None).unwrap().size, 0);
        assert_eq!(page(Some(100), None).unwrap().size, 100);
        let e = page(Some(101), None).unwrap_err();
        assert_eq!(
            (e.code(), e.message().contains("between 0 and 100, got 101")),
            ("BAD_USER_INPUT", true)
        );
        assert!(
            page(None, Some(-1))
                .unwrap_err()
                .message()
                .contains("`last` must be")
        );
        assert!(
            page(Some(1), Some(1))
                .unwrap_err()
                .message()
                .contains("not both")
        );
    }

    #[test]
    fn last_pages_from_the_end() {
        assert!(page(None, Some(5)).unwrap().from_end);
        assert!(!page(Some(5), None).unwrap().from_end);
    }
}
