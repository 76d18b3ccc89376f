//! Both migration sets must produce the same tables, columns (name, nullability, type family)
//! and index names: the one body of query code relies on it.

mod common;

use std::collections::BTreeMap;

use common::TestDb;
use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_async::RunQueryDsl;

#[derive(QueryableByName, Debug)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName, Debug)]
struct Index {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Maps each backend's type name onto the Diesel type both use.
fn family(t: &str) -> &'static str {
    match t.to_lowercase().as_str() {
        "bigint" | "integer" => "integer", // INTEGER PRIMARY KEY is 64-bit on SQLite
        "text" => "text",
        "boolean" => "bool",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "bytea" | "blob" => "binary",
        other => panic!("unexpected column type {other}"),
    }
}

type Shape = BTreeMap<(String, String), (&'static str, bool)>;

fn shape(cols: Vec<Column>) -> Shape {
    cols.into_iter()
        .filter(|c| !c.table_name.starts_with("__diesel"))
        .map(|c| {
            (
                (c.table_name, c.column_name),
                (family(&c.data_type), c.nullable),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_have_the_same_tables_columns_and_indexes() {
    let sqlite = TestDb::sqlite().await;
    let pg = TestDb::postgres().await;
    let (sqlite_cols, sqlite_ix, pg_cols, pg_ix) = {
        let mut s = match sqlite.db.pools() {
            job_history::db::Pools::Sqlite(p) => p.get().await.unwrap(),
            _ => unreachable!(),
        };
        let mut p = match pg.db.pools() {
            job_history::db::Pools::Postgres(p) => p.get().await.unwrap(),
            _ => unreachable!(),
        };
        let sc: Vec<Column> = diesel::sql_query(
            "SELECT m.name AS table_name, c.name AS column_name, c.type AS data_type, \
             (c.\"notnull\" = 0 AND c.pk = 0) AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) c WHERE m.type = 'table' \
             AND m.name NOT LIKE 'sqlite_%'",
        )
        .load(&mut *s)
        .await
        .unwrap();
        let si: Vec<Index> = diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
        )
        .load(&mut *s)
        .await
        .unwrap();
        let pc: Vec<Column> = diesel::sql_query(
            "SELECT table_name::text, column_name::text, data_type::text, (is_nullable = 'YES') AS nullable \
             FROM information_schema.columns WHERE table_schema = 'public'",
        )
        .load(&mut *p)
        .await
        .unwrap();
        let pi: Vec<Index> = diesel::sql_query(
            "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = 'public' \
             AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key' ORDER BY 1",
        )
        .load(&mut *p)
        .await
        .unwrap();
        (sc, si, pc, pi)
    };
    let (s, p) = (shape(sqlite_cols), shape(pg_cols));
    assert!(
        s.len() > 40,
        "expected the full data model, got {} columns",
        s.len()
    );
    assert_eq!(s, p, "SQLite and PostgreSQL migrations diverge");
    let names = |v: Vec<Index>| v.into_iter().map(|i| i.name).collect::<Vec<_>>();
    assert_eq!(names(sqlite_ix), names(pg_ix), "index names diverge");
}
