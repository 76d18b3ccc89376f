//! Details and identity (`job`, `node`, `nodes`, `models`), nested loads through DataLoaders
//! with a fixed statement budget, and every user-error case of the history API.

mod common;

use common::fixtures;
use common::gql;
use serde_json::json;

const NESTED: &str = r#"query($n: Int) {
  jobs(first: $n) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id jobIdentifier submittedBy accountIdentifier status createdAt updatedAt submittedAt
      total pending completed failed elapsedTime queueTime timeout explain inputByteAmount
      imageClassificationModel model { identifier version name }
      user { identifier externalIdentifier firstName lastName email status title }
      jobInputs { identifier position status byteAmount startedAt finishedAt elapsedTime errorMessage }
    } }
  }
}"#;

backend_tests! {
    async fn a_page_with_users_and_inputs_costs_a_fixed_number_of_statements(t: TestDb) {
        // Plain seeded data (the fixture's ties would break the byte sums checked below).
        job_history::seed::seed(&t.db, job_history::seed::SeedOptions::new(150)).await.unwrap();
        // The first page also reads its accounts and models, once: then they are kept.
        let before = t.db.stats().statements();
        gql::data(&t.db, NESTED, json!({ "n": 100 })).await;
        assert_eq!(t.db.stats().statements() - before, 4 + 2, "cold: + accounts + models");
        let mut costs = Vec::new();
        for n in [1, 10, 100] {
            let before = t.db.stats().statements();
            let data = gql::data(&t.db, NESTED, json!({ "n": n })).await;
            costs.push(t.db.stats().statements() - before);
            let edges = data["jobs"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), n as usize);
            for e in edges {
                let node = &e["node"];
                let inputs = node["jobInputs"].as_array().unwrap();
                assert_eq!(inputs.len() as i64, node["total"].as_i64().unwrap());
                let positions: Vec<_> = inputs.iter().map(|i| i["position"].as_i64().unwrap()).collect();
                assert_eq!(positions, (0..inputs.len() as i64).collect::<Vec<_>>(), "inputs in submitted order");
                assert_eq!(node["total"], json!(node["pending"].as_i64().unwrap() + node["completed"].as_i64().unwrap() + node["failed"].as_i64().unwrap()));
                assert!(node["user"]["email"].as_str().unwrap().contains('@'));
                let bytes: i64 = inputs.iter().map(|i| i["byteAmount"].as_i64().unwrap()).sum();
                assert_eq!(node["inputByteAmount"].as_i64().unwrap(), bytes);
            }
        }
        // page + users + inputs + count, whatever the page size.
        assert_eq!(costs, vec![4, 4, 4], "statements per request for 1, 10, 100 jobs");
        let before = t.db.stats().statements();
        gql::data(&t.db, "{ jobs(first: 100) { edges { node { jobIdentifier } } } }", json!({})).await;
        assert_eq!(t.db.stats().statements() - before, 1, "no count, no loaders when not selected");
        // The count runs beside the page, once, however often (aliases, fragments) it is asked.
        let twice = "{ jobs(first: 10) { a: totalCount ...Counted edges { node { user { email } jobInputs { identifier } } } } }
                     fragment Counted on JobConnection { b: totalCount ... on JobConnection { totalCount } }";
        let before = t.db.stats().statements();
        let data = gql::data(&t.db, twice, json!({})).await;
        assert_eq!(t.db.stats().statements() - before, 4, "page + users + inputs + one count");
        let jobs = &data["jobs"];
        assert_eq!((jobs["a"].as_i64(), jobs["b"].as_i64(), jobs["totalCount"].as_i64()), (Some(150), Some(150), Some(150)), "{data}");
    }

    async fn accounts_and_models_created_later_are_read_when_first_met(t: TestDb) {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use job_history::db::models::NewModel;
        use job_history::domain::Role;
        use job_history::db::schema::{accounts, models};
        const PAGE: &str = "{ jobs(first: 3) { edges { node { accountIdentifier model { identifier version name } } } } }";
        fixtures::history(&t.db, 10).await;
        gql::data(&t.db, PAGE, json!({})).await;
        let kept = t.db.catalogue().len();
        assert!(kept.0 >= 1 && kept.1 >= 1, "the page's accounts and models are kept: {kept:?}");

        // Another writer (a replica, the CLI) adds an account and a model; a job uses them.
        let key = common::issue_key(&t.db, "Latecomer", "late@example.com", Role::User).await;
        let add = async {
            job_history::with_conn!(&t.db, conn => {
                diesel::insert_into(models::table)
                    .values(&NewModel { identifier: "late0model".into(), version: "9.9.9".into(), name: "Late Model".into() })
                    .execute(conn).await?;
                Ok(accounts::table.filter(accounts::name.eq("Latecomer")).select(accounts::identifier).first::<String>(conn).await?)
            })
        };
        let account_identifier = add.await.expect("add a model");
        let model = json!({ "identifier": "late0model", "version": "9.9.9", "name": "Late Model" });
        let caller = common::caller_for(&t.db, &key).await;
        let submit = r#"mutation { submitJob(input: { model: { identifier: "late0model", version: "9.9.9" }, inputs: [{ name: "a", byteAmount: 1 }] }) { jobIdentifier } }"#;
        let submitted = gql::run_as(&t.db, Some(caller), submit, json!({})).await;
        assert!(submitted["errors"].is_null(), "{submitted}");

        // Answering the mutation read the new account and model; pages find them kept.
        assert_eq!(t.db.catalogue().len(), (kept.0 + 1, kept.1 + 1));
        for _ in 0..2 {
            let before = t.db.stats().statements();
            let data = gql::data(&t.db, PAGE, json!({})).await;
            assert_eq!(t.db.stats().statements() - before, 1, "the page query alone");
            // Newest first: the new job leads the page.
            let node = &data["jobs"]["edges"][0]["node"];
            assert_eq!(node["accountIdentifier"], json!(account_identifier));
            assert_eq!(node["model"], model);
        }
    }

    async fn scalars_have_their_documented_shape(t: TestDb) {
        fixtures::history(&t.db, 30).await;
        let data = gql::data(&t.db, NESTED, json!({ "n": 30 })).await;
        let ts = regex_like_iso;
        for e in data["jobs"]["edges"].as_array().unwrap() {
            let node = &e["node"];
            for field in ["createdAt", "updatedAt", "submittedAt"] {
                assert!(ts(node[field].as_str().unwrap()), "{field}: {}", node[field]);
            }
            assert!(node["inputByteAmount"].is_i64());
            assert_eq!(node["accountIdentifier"].as_str().unwrap().len(), 36);
            assert_eq!(node["submittedBy"].as_str().unwrap().len(), 20, "a key prefix, never the secret");
        }
    }

    async fn job_node_and_nodes_find_jobs_and_refuse_bad_ids(t: TestDb) {
        fixtures::history(&t.db, 20).await;
        let page = gql::data(&t.db, "{ jobs(first: 3) { nodes { id jobIdentifier } } }", json!({})).await;
        let nodes = page["jobs"]["nodes"].as_array().unwrap().clone();
        let (id, identifier) = (nodes[0]["id"].clone(), nodes[0]["jobIdentifier"].clone());

        let job = gql::data(&t.db, "query($j: String!) { job(jobIdentifier: $j) { id jobIdentifier } }", json!({ "j": identifier })).await;
        assert_eq!(job["job"]["id"], id);
        let node = gql::data(&t.db, "query($id: ID!) { node(id: $id) { id ... on Job { jobIdentifier } } }", json!({ "id": id })).await;
        assert_eq!(node["node"]["jobIdentifier"], identifier);
        let ids = json!([nodes[2]["id"], nodes[0]["id"], "Sm9iOjAwMDAwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMA"]);
        let many = gql::data(&t.db, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": ids })).await;
        assert_eq!(many["nodes"], json!([{ "id": nodes[2]["id"] }, { "id": nodes[0]["id"] }, null]), "order kept, missing is null");

        let missing = "00000000-0000-4000-8000-000000000000";
        let (code, message) = gql::error(&t.db, "query($j: String!) { job(jobIdentifier: $j) { id } }", json!({ "j": missing })).await;
        assert_eq!((code.as_str(), message.contains(missing)), ("NOT_FOUND", true));
        let (code, _) = gql::error(&t.db, "{ job(jobIdentifier: \"nope\") { id } }", json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT");
        let (code, message) = gql::error(&t.db, "{ node(id: \"garbage!\") { id } }", json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains("not a valid node id"), "{message}");
        let too_many: Vec<_> = (0..101).map(|_| id.clone()).collect();
        let (code, _) = gql::error(&t.db, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": too_many })).await;
        assert_eq!(code, "BAD_USER_INPUT");
    }

    async fn models_lists_the_catalogue(t: TestDb) {
        fixtures::history(&t.db, 5).await;
        let data = gql::data(&t.db, "{ models { identifier version name } }", json!({})).await;
        let models = data["models"].as_array().unwrap();
        assert!(models.len() >= 20);
        let names: Vec<_> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "ordered by name");
    }

    async fn every_bad_argument_is_a_clear_user_error(t: TestDb) {
        fixtures::history(&t.db, 30).await;
        let page = gql::data(&t.db, "{ jobs(first: 2) { pageInfo { endCursor } } }", json!({})).await;
        let cursor = page["jobs"]["pageInfo"]["endCursor"].clone();
        let cases = [
            (json!({ "first": 101 }), "`first` must be between 0 and 100, got 101"),
            (json!({ "first": -1 }), "`first` must be between 0 and 100, got -1"),
            (json!({ "last": 1000 }), "`last` must be between 0 and 100"),
            (json!({ "first": 1, "last": 1 }), "not both"),
            (json!({ "after": "not-a-cursor" }), "`after` is not a valid cursor"),
            (json!({ "before": "eyJ4IjoxfQ" }), "`before` is not a valid cursor"),
            (json!({ "after": cursor, "orderBy": { "field": "TOTAL" } }), "cursor for the order CREATED_AT DESC but this request orders by TOTAL DESC"),
            (json!({ "filter": { "createdAt": { "to": "2026-01-01T00:00:00Z" } } }), "filter.createdAt: `to` needs a `from`"),
            (json!({ "filter": { "updatedAt": { "from": "2099-01-01T00:00:00Z" } } }), "filter.updatedAt: `from` (2099-01-01T00:00:00+00:00) is in the future"),
            (json!({ "filter": { "submittedAt": { "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z" } } }), "is before `from`"),
            (json!({ "filter": { "user": "" } }), "filter.user must not be empty"),
        ];
        let query = "query($first: Int, $last: Int, $after: String, $before: String, $filter: JobFilter, $orderBy: JobOrder) {
            jobs(first: $first, last: $last, after: $after, before: $before, filter: $filter, orderBy: $orderBy) { totalCount }
        }";
        for (vars, expected) in cases {
            let (code, message) = gql::error(&t.db, query, vars.clone()).await;
            assert_eq!(code, "BAD_USER_INPUT", "{vars}: {message}");
            assert!(message.contains(expected), "{vars}: got {message:?}, want {expected:?}");
        }
        // Type errors are caught by validation, with a message naming the argument.
        let response = gql::run(&t.db, "{ jobs(first: \"ten\") { totalCount } }", json!({})).await;
        assert!(response["errors"][0]["message"].as_str().unwrap().contains("first"), "{response}");
        // A DateTime in the wrong format names its argument path and what is expected.
        let (code, message) = gql::error(&t.db, "{ jobs(filter: { createdAt: { from: \"yesterday\" } }) { totalCount } }", json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
        assert!(message.contains("\"filter.createdAt.from\"") && message.contains("ISO 8601 date-time with an offset"), "{message}");
    }
}

/// `2026-05-01T12:30:00.250+00:00`: milliseconds and an explicit offset.
fn regex_like_iso(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 29
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && s.ends_with("+00:00")
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

/// Every statement of the history is prepared once per connection and, when configured, its
/// generic plan reused: with one pooled connection, every statement the pages run shows up as an execution
/// of a statement still prepared in that session (`pg_prepared_statements`), planned
/// generically. A statement that is not cacheable (e.g. one built with `diesel::dsl::sql`) is
/// prepared, run and closed each time, and is missing from the view: the counts differ.
#[tokio::test]
async fn postgres_prepares_each_history_statement_once() {
    let (url, _guard) = common::TestDb::postgres_url().await;
    let mut config = job_history::db::DbConfig::new(url);
    config.pool_size = 1;
    // Not the default (see `PlanCacheMode`), and makes the second assertion below exact.
    config.plan_cache_mode = job_history::db::PlanCacheMode::ForceGenericPlan;
    let db = job_history::db::connect::connect(&config).await.unwrap();
    job_history::db::migrate::run(&db).await.unwrap();
    job_history::seed::seed(&db, job_history::seed::SeedOptions::new(60))
        .await
        .unwrap();
    const PAGE: &str = r#"query($filter: JobFilter, $orderBy: JobOrder, $after: String) {
      jobs(first: 5, after: $after, filter: $filter, orderBy: $orderBy) {
        totalCount pageInfo { endCursor }
        edges { node { jobIdentifier user { email } jobInputs { identifier } } }
      }
    }"#;
    let pages = [
        json!({ "filter": { "status": "TERMINATED", "createdAt": { "from": "2000-01-01T00:00:00Z" } } }),
        json!({ "filter": { "status": "PENDING" } }),
        json!({ "filter": { "status": "TIMEDOUT" }, "orderBy": { "field": "ELAPSED_TIME", "direction": "ASC" } }),
        json!({ "orderBy": { "field": "ELAPSED_TIME" } }),
    ];
    for round in 0..2 {
        let before = prepared_executions(&db).await;
        let statements = db.stats().statements();
        for vars in &pages {
            // A first page, then the page after it (the keyset condition).
            let first = gql::data(&db, PAGE, vars.clone()).await;
            let mut next = vars.clone();
            next["after"] = first["jobs"]["pageInfo"]["endCursor"].clone();
            gql::data(&db, PAGE, next).await;
        }
        let ran = db.stats().statements() - statements;
        let after = prepared_executions(&db).await;
        assert!(ran >= 8 * 3, "the pages ran ({ran} statements)");
        assert_eq!(
            after.0 - before.0,
            ran as i64,
            "round {round}: statements run as prepared ones"
        );
        assert_eq!(
            after.1 - before.1,
            ran as i64,
            "round {round}: every execution used a generic plan"
        );
    }
}

/// By default reads are planned for their values (`force_custom_plan`, see `PlanCacheMode`)
/// and write transactions as PostgreSQL's `auto` (`SET LOCAL`, so the connection's setting is
/// back once the transaction ends): asked of the one pooled connection in each.
#[tokio::test]
async fn postgres_plans_reads_for_their_values_and_writes_as_auto() {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    use job_history::db::DbError;
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        plan_cache_mode: String,
    }
    async fn mode(conn: &mut job_history::db::Conn<'_>) -> Result<String, DbError> {
        let m: Mode = job_history::on_backend!(conn, c => {
            diesel::sql_query("SHOW plan_cache_mode").get_result(c).await?
        });
        Ok(m.plan_cache_mode)
    }
    let (url, _guard) = common::TestDb::postgres_url().await;
    let mut config = job_history::db::DbConfig::new(url);
    config.pool_size = 1;
    let db = job_history::db::connect::connect(&config).await.unwrap();
    let read = async || db.read(async |c| mode(c).await).await.unwrap();
    assert_eq!(read().await, "force_custom_plan");
    let written = db.write(async |tx| mode(tx).await).await.unwrap();
    assert_eq!(written, "auto");
    assert_eq!(
        read().await,
        "force_custom_plan",
        "the write's setting ended with it"
    );
}

/// (executions, generic-plan executions) of the statements prepared in the pool's session.
async fn prepared_executions(db: &job_history::db::Db) -> (i64, i64) {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Plans {
        #[diesel(sql_type = BigInt)]
        total: i64,
        #[diesel(sql_type = BigInt)]
        generic: i64,
    }
    let job_history::db::Pools::Postgres(pool) = db.pools() else {
        unreachable!("PostgreSQL")
    };
    let mut conn = pool.get().await.unwrap();
    let plans: Plans = diesel::sql_query(
        "SELECT COALESCE(sum(generic_plans + custom_plans), 0)::bigint AS total, \
         COALESCE(sum(generic_plans), 0)::bigint AS generic FROM pg_prepared_statements",
    )
    .get_result(&mut *conn)
    .await
    .unwrap();
    (plans.total, plans.generic)
}

/// Every pooled SQLite connection maps the file (`DbConfig::sqlite_mmap_size`, capped by
/// SQLite just under 2 GiB), and 0 maps nothing: asked of a pool of two, twice at once.
#[tokio::test]
async fn sqlite_connections_map_the_file_as_configured() {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;
    use job_history::db::DbError;
    #[derive(diesel::QueryableByName)]
    struct Mapped {
        #[diesel(sql_type = BigInt)]
        mmap_size: i64,
    }
    async fn mapped(db: &job_history::db::Db) -> Vec<i64> {
        // Two reads at once, so both connections of the pool are likely asked.
        let one = || {
            db.read(async |c| {
                let m: Mapped = job_history::on_backend!(c, c => {
                    diesel::sql_query("PRAGMA mmap_size").get_result(c).await?
                });
                Ok::<_, DbError>(m.mmap_size)
            })
        };
        let (a, b) = tokio::join!(one(), one());
        vec![a.unwrap(), b.unwrap()]
    }
    for (asked, expected) in [
        (
            job_history::db::DbConfig::DEFAULT_SQLITE_MMAP_SIZE,
            0x7fff_0000,
        ),
        (64 << 20, 64 << 20),
        (0, 0),
    ] {
        let (url, _guard) = common::TestDb::sqlite_url();
        let mut config = job_history::db::DbConfig::new(url);
        config.pool_size = 2;
        config.sqlite_mmap_size = asked;
        let db = job_history::db::connect::connect(&config).await.unwrap();
        assert_eq!(mapped(&db).await, vec![expected; 2], "asked {asked}");
    }
}
