//! The prepared-statement caches are bounded: a client walking through ever-new query shapes
//! cannot grow the server's memory without limit (`db::pool`).

mod common;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use job_history::db::pool::MAX_CACHED_STATEMENTS;
use job_history::db::schema::jobs;
use job_history::db::{self, DbConfig};

backend_tests! {
    async fn a_connection_that_cached_its_share_is_retired(t: TestDb) {
        // One connection, so every statement lands in the same cache.
        let config = DbConfig { pool_size: 1, ..DbConfig::new(t.db.url().clone()) };
        let db = db::connect::connect(&config).await.expect("connect");
        let shapes = 2 * MAX_CACHED_STATEMENTS + 50;
        for k in 1..=shapes {
            // k conditions: a statement text of its own, cacheable like the history's queries.
            let run = job_history::with_conn!(db, conn => {
                let mut query = jobs::table.select(jobs::id).into_boxed();
                for _ in 0..k {
                    query = query.filter(jobs::id.ge(0_i64));
                }
                Ok::<_, db::DbError>(query.load::<i64>(conn).await?)
            });
            assert!(run.expect("query").is_empty(), "no jobs in a fresh database");
        }
        let stats = db.stats();
        assert!(stats.cached() >= shapes as u64, "every shape was cached: {}", stats.cached());
        let live = stats.cached_live();
        assert!(
            live <= MAX_CACHED_STATEMENTS as u64,
            "{live} statements held by one connection (at most {MAX_CACHED_STATEMENTS})"
        );
        let (connections, ..) = db.pool_state();
        assert!(connections <= 1, "{connections} connections in a pool of one");
    }
}
