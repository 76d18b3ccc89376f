//! Whether the database can be reached, and which failures are the database's state rather
//! than a bug: the part of the data layer that lets requests fail fast and clearly while the
//! database is away, and recover on their own when it is back.
//!
//! - [`checkout`] hands out a pooled connection. It drops connections whose server side is
//!   gone (PostgreSQL restarted: the socket is closed, known without a round trip), and while
//!   the last attempt to connect failed it waits only [`FAST_FAIL`] instead of the pool's full
//!   timeout, so requests during an outage answer `SERVICE_UNAVAILABLE` at once. The pool keeps
//!   trying to connect in the background (bb8 retries with backoff), so the first request after
//!   the database is back finds a fresh connection. A checkout already waiting when an attempt
//!   fails stops waiting too.
//! - [`Refusal`] names the database errors a client can act on by retrying: the write lock
//!   not granted in time (SQLite `database is locked`), a read-only, full or failing database
//!   file, a connection lost or refused (PostgreSQL restarting). [`classify`] also tells the
//!   statement timeout and PostgreSQL's refusal of U+0000 apart: the one function that reads
//!   a driver's message text.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error};
use diesel_async::pooled_connection::{PoolError, PoolableConnection};

use super::pool::{Counted, Manager};

use super::DbError;

/// How long a checkout waits while the database is known to be unreachable.
pub const FAST_FAIL: Duration = Duration::from_millis(250);

/// Whether the last attempt to open a connection failed (shared by a [`super::Db`]'s pool).
#[derive(Debug)]
pub struct Health {
    down: AtomicBool,
    changed: tokio::sync::watch::Sender<bool>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            down: AtomicBool::new(false),
            changed: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl Health {
    /// Whether the last connection attempt failed.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Resolves when a connection attempt fails (at once if the last one did).
    async fn goes_down(&self) {
        let mut rx = self.changed.subscribe();
        let _ = rx.wait_for(|down| *down).await;
    }

    /// Records the outcome of a connection attempt.
    pub fn set_down(&self, down: bool) {
        self.changed
            .send_if_modified(|d| std::mem::replace(d, down) != down);
        if self.down.swap(down, Ordering::Relaxed) != down {
            if down {
                tracing::warn!("database unreachable; requests fail fast until it is back");
            } else {
                tracing::info!("database reachable again");
            }
        }
    }
}

/// bb8's error sink: a failed connection attempt marks the database down.
#[derive(Debug, Clone)]
pub struct DownOnError(pub Arc<Health>);

impl<E: std::fmt::Display> bb8::ErrorSink<E> for DownOnError {
    fn sink(&self, error: E) {
        tracing::debug!(error = %error, "cannot open a database connection");
        self.0.set_down(true);
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<E>> {
        Box::new(self.clone())
    }
}

/// A pooled connection, or [`DbError::Unavailable`]: quickly while the database is down, after
/// the pool's own timeout otherwise. Connections found broken are discarded, not handed out.
pub async fn checkout<'p, C>(
    health: &Health,
    pool: &'p bb8::Pool<Manager<C>>,
) -> Result<bb8::PooledConnection<'p, Manager<C>>, DbError>
where
    C: PoolableConnection + 'static,
    Manager<C>: bb8::ManageConnection<Connection = Counted<C>, Error = PoolError>,
{
    // At most one pass over the pool's connections: each broken one is dropped on the way.
    for _ in 0..=pool.state().connections {
        let got = if health.is_down() {
            tokio::time::timeout(FAST_FAIL, pool.get())
                .await
                .unwrap_or(Err(bb8::RunError::TimedOut))
        } else {
            // A checkout already waiting when the database goes away stops waiting too.
            tokio::select! {
                got = pool.get() => got,
                () = health.goes_down() => tokio::time::timeout(FAST_FAIL, pool.get())
                    .await
                    .unwrap_or(Err(bb8::RunError::TimedOut)),
            }
        };
        let mut conn = got.map_err(|e| match e {
            bb8::RunError::TimedOut if health.is_down() => {
                DbError::Unavailable("the database cannot be reached".into())
            }
            e => DbError::from(e),
        })?;
        if !super::pool::is_broken(&mut conn) {
            return Ok(conn);
        }
        // Returned to the pool, which sees it broken and closes it.
        drop(conn);
    }
    Err(DbError::Unavailable(
        "every pooled connection was broken".into(),
    ))
}

/// A database failure a client can act on (retry later, or tell an operator), as opposed to a
/// bug. Its `Display` is the message clients see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Another writer held the lock longer than the write could wait.
    #[error(
        "the database is busy with other writes and this one could not start in time; retry \
         shortly"
    )]
    Busy,
    /// The database file (or its directory) is read-only.
    #[error(
        "the database is read-only, so changes are refused (reads still work); an operator \
         must make the database file and its directory writable"
    )]
    ReadOnly,
    /// The disk is full, or failed a write (SQLite `SQLITE_FULL`, `SQLITE_IOERR`).
    #[error(
        "the database's disk is full or failing, so changes are refused (reads still work); \
         an operator must free space or check the disk"
    )]
    Full,
    /// The connection was lost or refused (the database restarting or unreachable).
    #[error("the database is unreachable or restarting; retry shortly")]
    Unreachable,
}

/// What a failed statement says about its cause, when it is not a bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database's state: retrying later (or an operator) can help.
    State(Refusal),
    /// PostgreSQL canceled the statement at its `statement_timeout`.
    StatementTimeout,
    /// PostgreSQL refused U+0000 in a text value (SQLite stores it): the caller's text.
    NulInText,
}

/// Classifies a statement's failure; `None` for errors that are a bug or unknown.
///
/// The only place that reads a database error's *text*, and why it must: Diesel's
/// [`DatabaseErrorKind`] names constraint violations, serialization failures and lost
/// connections, but everything else is `Unknown`, and neither it nor
/// `DatabaseErrorInformation` carries the SQLSTATE (diesel-async maps tokio-postgres'
/// code to a kind and drops it) or SQLite's result code. So the kinds are used where they
/// exist; the rest is told by the drivers' messages, stable for decades: SQLite's
/// `sqlite3_errstr` texts and PostgreSQL's for 57014 (statement timeout), 22021 (U+0000),
/// 57P01-57P03 and 53100.
pub fn classify(e: &Error) -> Option<Failure> {
    let Error::DatabaseError(kind, info) = e else {
        return None;
    };
    if matches!(
        kind,
        DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection
    ) {
        return Some(Failure::State(Refusal::Unreachable));
    }
    let m = info.message();
    let state = if m.contains("statement timeout") {
        return Some(Failure::StatementTimeout);
    } else if m.contains("invalid byte sequence") && m.contains("0x00") {
        return Some(Failure::NulInText);
    } else if m.contains("database is locked") || m.contains("database table is locked") {
        Refusal::Busy
    } else if m.contains("readonly database") || m.contains("read-only") {
        Refusal::ReadOnly
    } else if m.contains("disk is full")
        || m.contains("No space left on device")
        || m.contains("disk I/O error")
    {
        Refusal::Full
    } else if m.contains("terminating connection")
        || m.contains("the database system is")
        || m.contains("connection closed")
    {
        Refusal::Unreachable
    } else {
        return None;
    };
    Some(Failure::State(state))
}

impl Refusal {
    /// The database's state behind a statement's failure; `None` for errors that are not
    /// the database's state ([`classify`]).
    pub fn of(e: &Error) -> Option<Self> {
        match classify(e)? {
            Failure::State(refusal) => Some(refusal),
            Failure::StatementTimeout | Failure::NulInText => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn database_states_are_told_apart_from_bugs() {
        let unknown = DatabaseErrorKind::Unknown;
        assert_eq!(
            Refusal::of(&db_error(unknown, "database is locked")),
            Some(Refusal::Busy)
        );
        assert_eq!(
            Refusal::of(&db_error(unknown, "attempt to write a readonly database")),
            Some(Refusal::ReadOnly)
        );
        assert_eq!(
            Refusal::of(&db_error(unknown, "database or disk is full")),
            Some(Refusal::Full)
        );
        assert_eq!(
            Refusal::of(&db_error(unknown, "disk I/O error")),
            Some(Refusal::Full)
        );
        assert_eq!(
            Refusal::of(&db_error(
                unknown,
                "terminating connection due to administrator command"
            )),
            Some(Refusal::Unreachable)
        );
        assert_eq!(
            Refusal::of(&db_error(
                DatabaseErrorKind::UnableToSendCommand,
                "anything"
            )),
            Some(Refusal::Unreachable)
        );
        assert_eq!(
            Refusal::of(&db_error(
                DatabaseErrorKind::CheckViolation,
                "violates check constraint"
            )),
            None
        );
        assert_eq!(Refusal::of(&Error::NotFound), None);
    }

    #[test]
    fn timeouts_and_nul_in_text_are_told_apart() {
        let unknown = DatabaseErrorKind::Unknown;
        let timeout = db_error(unknown, "canceling statement due to statement timeout");
        assert_eq!(classify(&timeout), Some(Failure::StatementTimeout));
        assert_eq!(Refusal::of(&timeout), None);
        let nul = db_error(
            unknown,
            r#"invalid byte sequence for encoding "UTF8": 0x00"#,
        );
        assert_eq!(classify(&nul), Some(Failure::NulInText));
        let other_encoding = db_error(
            unknown,
            r#"invalid byte sequence for encoding "UTF8": 0xc3"#,
        );
        assert_eq!(classify(&other_encoding), None);
        assert_eq!(
            classify(&db_error(unknown, "database is locked")),
            Some(Failure::State(Refusal::Busy))
        );
        assert_eq!(
            classify(&db_error(unknown, "syntax error at or near")),
            None
        );
    }
}
