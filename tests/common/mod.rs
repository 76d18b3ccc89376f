//! Test harness: every test gets its own database — a temporary SQLite file, or a fresh
//! PostgreSQL database created on the server named by `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped when the test ends.
//!
//! [`backend_tests!`] expands one test body into a `sqlite` and a `postgres` test. PostgreSQL
//! tests never skip: an unreachable server ends the test binary with one message saying how to
//! run the tests (`./scripts/test`, or `TEST_DATABASE_URL`).
#![allow(dead_code, missing_docs)]

pub mod fixtures;
pub mod gql;
pub mod http;
pub mod invariants;
pub mod process;
pub mod workload;
pub mod ws;

use std::sync::atomic::{AtomicU32, Ordering};

use job_history::db::{self, DatabaseUrl, Db, DbConfig};

/// A migrated database that disappears with this value.
pub struct TestDb {
    pub db: Db,
    guard: Guard,
}

/// Removes a test database when dropped.
pub enum Guard {
    Sqlite(#[allow(unused)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// The PostgreSQL server tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh, migrated SQLite file.
    pub async fn sqlite() -> Self {
        let (url, guard) = Self::sqlite_url();
        Self::open(url, guard).await
    }

    /// A fresh, migrated PostgreSQL database.
    pub async fn postgres() -> Self {
        let (url, guard) = Self::postgres_url().await;
        Self::open(url, guard).await
    }

    /// A fresh SQLite URL and its guard, not opened or migrated.
    pub fn sqlite_url() -> (DatabaseUrl, Guard) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("test.db");
        (
            DatabaseUrl::Sqlite(path.to_string_lossy().into()),
            Guard::Sqlite(dir),
        )
    }

    /// A freshly created, empty PostgreSQL database and its guard.
    pub async fn postgres_url() -> (DatabaseUrl, Guard) {
        let admin_url = admin_url();
        let name = format!(
            "jh_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4().simple().to_string().get(..8).unwrap()
        );
        if let Err(e) = admin_execute(&admin_url, &format!("CREATE DATABASE {name}")).await {
            no_postgres(&admin_url, &e);
        }
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        (
            DatabaseUrl::Postgres(url.to_string()),
            Guard::Postgres { admin_url, name },
        )
    }

    async fn open(url: DatabaseUrl, guard: Guard) -> Self {
        let db = db::connect::connect(&DbConfig::new(url))
            .await
            .expect("connect");
        db::migrate::run(&db).await.expect("migrate");
        Self { db, guard }
    }

    /// Opens the URL of a guard without migrating (for tests of migration itself).
    pub async fn unmigrated(url: DatabaseUrl, guard: Guard) -> Self {
        let db = db::connect::connect(&DbConfig::new(url))
            .await
            .expect("connect");
        Self { db, guard }
    }
}

/// Ends the test process with one message saying how to run the tests: without a PostgreSQL
/// server every PostgreSQL test would fail with the same connection error. Written to stderr
/// directly (the test harness captures `eprintln!`), once however many tests get here.
fn no_postgres(admin_url: &str, error: &str) -> ! {
    use std::io::Write;
    static ONCE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _once = ONCE.lock();
    let _ = writeln!(
        std::io::stderr(),
        "\nPostgreSQL tests need a server, and none answers at {admin_url} ({error}).\n\
         Run ./scripts/test (it uses 127.0.0.1:5432 or starts a throwaway cluster), or set \
         TEST_DATABASE_URL to a server where tests may create databases.\n"
    );
    std::process::exit(2)
}

async fn admin_execute(admin_url: &str, sql: &str) -> Result<(), String> {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let mut conn = AsyncPgConnection::establish(admin_url)
        .await
        .map_err(|e| e.to_string())?;
    conn.batch_execute(sql).await.map_err(|e| e.to_string())
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, name } = self {
            let (admin_url, sql) = (
                admin_url.clone(),
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
            // Drop runs inside the test's runtime: do the async work on a thread of its own.
            let dropped = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(admin_execute(&admin_url, &sql))
            })
            .join();
            if let Ok(Err(e)) = dropped {
                eprintln!("warning: could not drop test database {name}: {e}");
            }
        }
    }
}

/// Expands each `async fn name(db: TestDb) { … }` into `name::sqlite` and `name::postgres`;
/// attributes written before `async fn` (e.g. `#[ignore = "…"]`) apply to both.
#[macro_export]
macro_rules! backend_tests {
    ($($(#[$meta:meta])* async fn $name:ident($db:ident: TestDb) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[$meta])*
                async fn sqlite() {
                    let $db = $crate::common::TestDb::sqlite().await;
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[$meta])*
                async fn postgres() {
                    let $db = $crate::common::TestDb::postgres().await;
                    $body
                }
            }
        )*
    };
}

/// A user in account `account` (created when missing) holding a new key with `role`; returns
/// the full key (`PREFIX.SECRET`).
pub async fn issue_key(
    db: &Db,
    account: &str,
    email: &str,
    role: job_history::domain::Role,
) -> String {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use job_history::db::models::{NewAccount, NewUser};
    use job_history::db::schema::{accounts, users};
    let now = job_history::db::now();
    let run = async {
        job_history::with_conn!(db, conn => {
            let account_id = match accounts::table.filter(accounts::name.eq(account)).select(accounts::id).first::<job_history::domain::AccountId>(conn).await.optional()? {
                Some(id) => id,
                None => diesel::insert_into(accounts::table)
                    .values(&NewAccount { identifier: uuid::Uuid::new_v4().to_string(), name: account.into(), created_at: now })
                    .returning(accounts::id)
                    .get_result(conn)
                    .await?,
            };
            let user = NewUser {
                identifier: uuid::Uuid::new_v4().to_string(),
                external_identifier: email.into(),
                account_id,
                first_name: "Test".into(),
                last_name: account.into(),
                email: email.into(),
                status: "ACTIVE".into(),
                title: "Tester".into(),
                created_at: now,
            };
            let user_id: job_history::domain::UserId = diesel::insert_into(users::table).values(&user).returning(users::id).get_result(conn).await?;
            Ok((user_id, account_id))
        })
    };
    let (user_id, account_id) = run.await.expect("create key owner");
    job_history::keys::create(db, user_id, account_id, role, None)
        .await
        .expect("create key")
        .full()
}

/// The (synthetic) administrator used by tests that read every account without HTTP.
pub fn admin() -> job_history::auth::Caller {
    job_history::auth::Caller {
        key_id: job_history::domain::KeyId(0),
        prefix: "test-admin".into(),
        user_id: job_history::domain::UserId(0),
        account_id: job_history::domain::AccountId(0),
        role: job_history::domain::Role::Admin,
    }
}

/// The caller a full key authenticates as.
pub async fn caller_for(db: &Db, key: &str) -> job_history::auth::Caller {
    job_history::auth::Authenticator::new(db.clone(), std::time::Duration::ZERO)
        .authenticate(Some(&format!("ApiKey {key}")), job_history::db::now())
        .await
        .expect("key authenticates")
}

/// Runs a GraphQL document over real HTTP against `url` (`http://…/graphql`) as `key`.
pub async fn post_graphql(
    url: &str,
    key: &str,
    query: &str,
    variables: serde_json::Value,
) -> serde_json::Value {
    post_operation(url, key, query, None, variables).await
}

/// Runs the operation `operation` (or the only one) of a GraphQL document over real HTTP
/// against `url` (`http://…/graphql`) as `key`.
pub async fn post_operation(
    url: &str,
    key: &str,
    query: &str,
    operation: Option<&str>,
    variables: serde_json::Value,
) -> serde_json::Value {
    let mut body = serde_json::json!({ "query": query, "variables": variables });
    if let Some(name) = operation {
        body["operationName"] = name.into();
    }
    reqwest::Client::new()
        .post(url)
        .header("authorization", format!("ApiKey {key}"))
        .json(&body)
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("the answer is JSON")
}

/// Marks the key `key` (a full key) revoked now.
pub async fn revoke_key(db: &Db, key: &str) {
    date_key(db, key, true).await;
}

/// Marks the key `key` (a full key) expired an hour ago.
pub async fn expire_key(db: &Db, key: &str) {
    date_key(db, key, false).await;
}

/// Revokes (`revoke`) or expires the key `key`.
async fn date_key(db: &Db, key: &str, revoke: bool) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use job_history::db::DbError;
    use job_history::db::schema::api_keys;
    let prefix = key.split_once('.').expect("a full key").0.to_string();
    let now = job_history::db::now();
    let run = job_history::with_conn!(db, conn => {
        let key = api_keys::table.filter(api_keys::prefix.eq(&prefix));
        let changed = if revoke {
            diesel::update(key).set(api_keys::revoked_at.eq(Some(now))).execute(conn).await?
        } else {
            let past = now - chrono::Duration::hours(1);
            diesel::update(key).set(api_keys::expires_at.eq(Some(past))).execute(conn).await?
        };
        Ok::<_, DbError>(changed)
    });
    assert_eq!(run.expect("date the key"), 1, "the key exists");
}
