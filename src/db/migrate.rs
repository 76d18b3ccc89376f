//! Embedded migrations, one set per backend (`migrations/postgres`, `migrations/sqlite`, same
//! names), applied at start-up and by `job-history migrate`.
//!
//! Diesel's migration harness is synchronous, so it runs on a blocking thread: PostgreSQL
//! through [`AsyncConnectionWrapper`], SQLite through a plain `SqliteConnection`.

use diesel::Connection;
use diesel::migration::MigrationSource;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Conn, DatabaseUrl, Db, DbError};

/// PostgreSQL migrations.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// SQLite migrations.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Applies every pending migration; returns the versions applied (empty when up to date).
pub async fn run(db: &Db) -> Result<Vec<String>, DbError> {
    let url = db.url().clone();
    let task = tokio::task::spawn_blocking(move || -> Result<Vec<String>, BoxError> {
        let names = |v: Vec<diesel::migration::MigrationVersion<'_>>| {
            v.iter().map(ToString::to_string).collect()
        };
        Ok(match &url {
            DatabaseUrl::Postgres(url) => {
                let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url)?;
                names(conn.run_pending_migrations(POSTGRES)?)
            }
            DatabaseUrl::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(path)?;
                names(conn.run_pending_migrations(SQLITE)?)
            }
        })
    });
    task.await
        .map_err(|e| DbError::Unavailable(format!("migration task failed: {e}")))?
        .map_err(|e| DbError::Unavailable(format!("migrations failed: {e}")))
}

/// True when every embedded migration has been applied (used by `/readyz`).
pub async fn is_up_to_date(conn: &mut Conn<'_>) -> Result<bool, DbError> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    diesel::table! {
        __diesel_schema_migrations (version) {
            version -> Text,
        }
    }
    let source = match conn {
        Conn::Postgres(_) => POSTGRES,
        Conn::Sqlite(_) => SQLITE,
    };
    let expected: Vec<String> = MigrationSource::<diesel::pg::Pg>::migrations(&source)
        .map_err(|e| DbError::Unavailable(e.to_string()))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let applied: Vec<String> = crate::on_backend!(conn, c => {
        __diesel_schema_migrations::table
            .select(__diesel_schema_migrations::version)
            .load(c)
            .await?
    });
    Ok(expected.iter().all(|v| applied.contains(v)))
}
