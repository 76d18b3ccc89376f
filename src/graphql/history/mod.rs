//! The job history: the `jobs` connection's arguments (filter, order, page, cursor) and its
//! result types. The SQL lives in [`crate::db::jobs`].

pub mod connection;
pub mod cursor;
pub mod filter;
pub mod order;
pub mod page;
