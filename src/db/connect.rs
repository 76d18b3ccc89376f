//! Opening a [`Db`]: parsing `DATABASE_URL`, building the pool with each backend's session
//! settings, and failing at start-up with one clear line when the database cannot be reached.
//!
//! Environment (through the CLI): `DATABASE_URL` (unset: SQLite file `job-history.db` in the
//! working directory), `DATABASE_POOL_SIZE`, `DATABASE_POOL_TIMEOUT_MS`,
//! `DATABASE_STATEMENT_TIMEOUT_MS`, `DATABASE_PLAN_CACHE_MODE` (PostgreSQL),
//! `DATABASE_SQLITE_MMAP_MIB` (SQLite).

use std::sync::Arc;
use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::FutureExt;

use super::{Db, DbStats, Pools, SqliteConn};

/// The SQLite file used when `DATABASE_URL` is unset.
pub const DEFAULT_SQLITE_PATH: &str = "job-history.db";

/// A parsed `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `postgres://…` or `postgresql://…`, kept verbatim for the driver.
    Postgres(String),
    /// `sqlite://PATH` or `sqlite:PATH`: a file path (created when missing).
    Sqlite(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DatabaseUrl {
    /// Parses a URL; `None` means the embedded default.
    pub fn parse(url: Option<&str>) -> Result<Self, String> {
        let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(Self::Sqlite(DEFAULT_SQLITE_PATH.into()));
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url::Url::parse(url).map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
            return Ok(Self::Postgres(url.into()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("a sqlite URL needs a file path, e.g. sqlite://job-history.db".into());
            }
            return Ok(Self::Sqlite(path.into()));
        }
        Err(format!(
            "unsupported DATABASE_URL {:?}: use postgres://USER@HOST/DB or sqlite://PATH",
            redact(url)
        ))
    }

    /// The URL with any password replaced by `***`, safe to log and print.
    pub fn redacted(&self) -> String {
        match self {
            Self::Postgres(url) => redact(url),
            Self::Sqlite(path) => format!("sqlite://{path}"),
        }
    }
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable URL>".into(),
    }
}

/// Pool and session settings.
#[derive(Clone, Debug)]
pub struct DbConfig {
    /// Where the data lives.
    pub url: DatabaseUrl,
    /// Maximum connections in the pool.
    pub pool_size: u32,
    /// How long a request waits for a pooled connection before failing.
    pub pool_timeout: Duration,
    /// PostgreSQL `statement_timeout` for every pooled connection.
    pub statement_timeout: Duration,
    /// PostgreSQL `plan_cache_mode` for every pooled connection.
    pub plan_cache_mode: PlanCacheMode,
    /// SQLite `mmap_size` of every pooled connection, in bytes: how much of the file reads
    /// map instead of copying page by page (0: none).
    ///
    /// Each pooled SQLite connection has its own page cache (2 MiB by default), and a history
    /// page walks an index and fetches rows scattered over the table, more pages than that:
    /// with 16 connections taking turns, nearly every page a read touched was copied again
    /// from the operating system's cache by a `pread`. Mapped, every connection reads the one
    /// shared copy the kernel already holds. At 1M jobs, one request at a time (40 each,
    /// p50), a page by queue time over a week's creation range went from 10.1 to 5.4 ms, a
    /// page of `explain` jobs with its count from 8.7 to 4.8, a 3-month model page by elapsed
    /// time from 6.8 to 2.8; a 32 MiB page cache per connection instead got 5.4, 5.3 and
    /// 4.1 ms, at up to 16 × 32 MiB of private memory (`bench/matrix.py`'s run:
    /// `bench/results/2026-12-01-0811-matrix-count-mmap.md`).
    /// SQLite caps the map at just under 2 GiB (its `SQLITE_MAX_MMAP_SIZE`); beyond that
    /// the file is read as before. The mapped pages count in the process's RSS while they
    /// are the kernel's cache, shared and reclaimable. The price of mapping: an I/O error
    /// reading the file (a failing disk, a file truncated behind SQLite's back) is a `SIGBUS`
    /// that stops the process, where `pread` would have failed the one statement; set 0 on
    /// storage that can fail that way (network file systems, which SQLite advises against
    /// anyway).
    pub sqlite_mmap_size: u64,
}

/// How PostgreSQL plans the server's prepared statements (its `plan_cache_mode`).
///
/// Every statement the server runs is prepared once per connection and executed with
/// parameters, and the history's best plan depends on their values: where a cursor sits, how
/// wide a range is, how many jobs a user or model has. PostgreSQL's own default, `auto`, plans
/// the first five executions for their values and may then switch to one generic plan for
/// all, and it did for the history: a user key's page 10 000 rows deep by status took 30–40 ms
/// (a bitmap of the account's creation range, sorted) instead of 0.3 ms (the status index from
/// the cursor), by queue time 100 ms instead of 1, once the walk to the cursor had taught it
/// the generic plan was no worse on average (1M jobs, `bench/matrix.py`). So the server plans
/// every execution (`force_custom_plan`, the default): ~0.3–1 ms of planning per statement,
/// which `auto` already paid for most pages (it kept re-planning the benchmark's page). Write
/// transactions plan as `auto` whatever this says (`db::conn`'s `PG_WRITE`). A
/// generic plan cannot know how selective a value is (`bench/shapes.py`: a user filter
/// matching nobody took 262 ms instead of 7 under `force_generic_plan`); that mode is for
/// deployments whose traffic is the plan-stable kind only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanCacheMode {
    /// PostgreSQL's own choice: custom plans first, a generic one once it looks no worse.
    Auto,
    /// Plan each statement once per connection and reuse the plan.
    ForceGenericPlan,
    /// Plan every execution for its parameter values (the default).
    #[default]
    ForceCustomPlan,
}

impl PlanCacheMode {
    /// The setting's value in SQL.
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::ForceGenericPlan => "force_generic_plan",
            Self::Auto => "auto",
            Self::ForceCustomPlan => "force_custom_plan",
        }
    }
}

impl DbConfig {
    /// Default most pooled connections (`DATABASE_POOL_SIZE`).
    pub const DEFAULT_POOL_SIZE: u32 = 16;
    /// Default longest wait for a pooled connection (`DATABASE_POOL_TIMEOUT_MS`).
    pub const DEFAULT_POOL_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default PostgreSQL `statement_timeout` (`DATABASE_STATEMENT_TIMEOUT_MS`).
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default SQLite `mmap_size` (`DATABASE_SQLITE_MMAP_MIB`): 2 GiB, which SQLite cuts to
    /// its own cap, just under.
    pub const DEFAULT_SQLITE_MMAP_SIZE: u64 = 2 << 30;

    /// The defaults for `url` (the CLI's flags take theirs from the same constants):
    /// 16 connections, 5 s pool wait, 30 s statement timeout, plans for each execution's
    /// values, SQLite files mapped up to 2 GiB.
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            url,
            pool_size: Self::DEFAULT_POOL_SIZE,
            pool_timeout: Self::DEFAULT_POOL_TIMEOUT,
            statement_timeout: Self::DEFAULT_STATEMENT_TIMEOUT,
            plan_cache_mode: PlanCacheMode::default(),
            sqlite_mmap_size: Self::DEFAULT_SQLITE_MMAP_SIZE,
        }
    }
}

/// Why the database could not be opened; its `Display` is the one line the CLI prints.
#[derive(Debug, thiserror::Error)]
#[error("cannot open database {url}: {reason}")]
pub struct ConnectError {
    url: String,
    reason: String,
}

/// Opens the pool, checks the database answers, and returns the handle. Does not migrate.
pub async fn connect(config: &DbConfig) -> Result<Db, ConnectError> {
    let stats = Arc::new(DbStats::default());
    let health = Arc::new(super::health::Health::default());
    let fail = |reason: String| ConnectError {
        url: config.url.redacted(),
        reason,
    };
    macro_rules! builder {
        () => {
            // No test query on checkout: it would cost a round trip per request (and show up in
            // statement counts); broken connections are detected and dropped on return.
            // Failed connection attempts mark the database down, so checkouts fail fast
            // (`health::checkout`) until a connection opens again.
            bb8::Pool::builder()
                .max_size(config.pool_size.max(1))
                .connection_timeout(config.pool_timeout)
                .test_on_check_out(false)
                .error_sink(Box::new(super::health::DownOnError(Arc::clone(&health))))
        };
    }
    let pools = match &config.url {
        DatabaseUrl::Postgres(url) => {
            let timeout_ms = config.statement_timeout.as_millis();
            let plan_cache_mode = config.plan_cache_mode.as_sql();
            let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
            manager_config.recycling_method = RecyclingMethod::Fast;
            let setup_health = Arc::clone(&health);
            manager_config.custom_setup = Box::new(move |url| {
                let health = Arc::clone(&setup_health);
                let url = url.to_owned();
                async move {
                    let mut conn = AsyncPgConnection::establish(&url).await?;
                    health.set_down(false);
                    conn.batch_execute(&format!(
                        "SET statement_timeout = {timeout_ms}; \
                         SET plan_cache_mode = {plan_cache_mode}; \
                         SET application_name = 'job-history'"
                    ))
                    .await
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                    Ok(conn)
                }
                .boxed()
            });
            let manager = AsyncDieselConnectionManager::new_with_config(url, manager_config);
            let manager = super::pool::Manager::new(manager, Arc::clone(&stats));
            Pools::Postgres(builder!().build_unchecked(manager))
        }
        DatabaseUrl::Sqlite(path) => {
            if let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
                && !parent.is_dir()
            {
                return Err(fail(format!(
                    "directory {} does not exist",
                    parent.display()
                )));
            }
            let mut manager_config = ManagerConfig::<SqliteConn>::default();
            manager_config.recycling_method = RecyclingMethod::Fast;
            let pragmas = format!(
                "{SQLITE_PRAGMAS} PRAGMA mmap_size = {};",
                config.sqlite_mmap_size
            );
            manager_config.custom_setup = Box::new(move |path| {
                let path = path.to_owned();
                let pragmas = pragmas.clone();
                async move {
                    let mut conn = SqliteConn::establish(&path).await?;
                    conn.batch_execute(&pragmas)
                        .await
                        .map_err(ConnectionError::CouldntSetupConfiguration)?;
                    Ok(conn)
                }
                .boxed()
            });
            let manager = AsyncDieselConnectionManager::new_with_config(path, manager_config);
            let manager = super::pool::Manager::new(manager, Arc::clone(&stats));
            Pools::Sqlite(builder!().build_unchecked(manager))
        }
    };
    // A dedicated connection surfaces the driver's own error (refused, auth, unknown database),
    // where the pool would only report a timeout.
    let established = match &pools {
        Pools::Postgres(pool) => pool.dedicated_connection().await.map(drop),
        Pools::Sqlite(pool) => pool.dedicated_connection().await.map(drop),
    };
    established.map_err(|e| {
        let mut reason = one_line(&e.to_string());
        if matches!(config.url, DatabaseUrl::Postgres(_)) && reason.contains("error connecting") {
            reason.push_str(" (is PostgreSQL running and reachable at that host and port?)");
        }
        fail(reason)
    })?;
    let db = Db {
        pools,
        stats,
        url: config.url.clone(),
        catalogue: Arc::default(),
        health,
    };
    db.ping()
        .await
        .map_err(|e| fail(one_line(&e.to_string())))?;
    Ok(db)
}

/// Session settings of every SQLite connection: WAL so readers never block the writer, a busy
/// timeout so concurrent writers queue instead of failing, and foreign keys enforced (and the
/// configured `mmap_size`, [`DbConfig::sqlite_mmap_size`]).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/// Driver errors can span lines; the CLI prints one.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_url_is_the_embedded_default() {
        assert_eq!(
            DatabaseUrl::parse(None).unwrap(),
            DatabaseUrl::Sqlite("job-history.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse(Some("  ")).unwrap(),
            DatabaseUrl::Sqlite("job-history.db".into())
        );
    }

    #[test]
    fn sqlite_and_postgres_urls_parse() {
        assert_eq!(
            DatabaseUrl::parse(Some("sqlite://a/b.db")).unwrap(),
            DatabaseUrl::Sqlite("a/b.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse(Some("sqlite:x.db")).unwrap(),
            DatabaseUrl::Sqlite("x.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse(Some("postgresql://u@h/d")),
            Ok(DatabaseUrl::Postgres(_))
        ));
    }

    #[test]
    fn bad_urls_are_refused_without_their_password() {
        let err = DatabaseUrl::parse(Some("mysql://root:hunter2@localhost/db")).unwrap_err();
        assert!(err.contains("unsupported"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(DatabaseUrl::parse(Some("sqlite://")).is_err());
    }

    #[test]
    fn redaction_hides_the_password_only() {
        let url = DatabaseUrl::parse(Some("postgres://app:s3cret@db:5432/jobs")).unwrap();
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/jobs");
    }
}
