//! API keys and account isolation, through the real router: every auth failure is a 401 with
//! a message saying which; no route, filter, order, cursor or node id reveals another
//! account's jobs or their count; administrators see every account.

mod common;

use axum::http::StatusCode;
use common::http::api_key;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use job_history::db::Db;
use job_history::db::schema::{api_keys, jobs};
use job_history::domain::Role;
use job_history::http::HttpConfig;
use serde_json::{Value, json};

async fn call(db: &Db, key: Option<&str>, query: &str, variables: Value) -> (StatusCode, Value) {
    // See revocations at once.
    let config = HttpConfig {
        auth_cache_ttl: std::time::Duration::ZERO,
        ..Default::default()
    };
    let reply = common::http::post_with(db, config, key, query, variables).await;
    (reply.status, reply.json())
}

/// Two accounts with interleaved jobs; a user key in each, and an admin key.
struct World {
    a: String,
    b: String,
    admin: String,
    a_account: i64,
    b_account: i64,
}

async fn world(db: &Db) -> World {
    let mut opts = job_history::seed::SeedOptions::new(160);
    opts.accounts = 2;
    opts.users = 4;
    job_history::seed::seed(db, opts).await.unwrap();
    // Keys for a user of each seeded account (accounts 1 and 2 by insertion order).
    let run = async {
        job_history::with_conn!(db, conn => {
            let owners: Vec<(job_history::domain::UserId, job_history::domain::AccountId)> = api_keys::table
                .order(api_keys::id)
                .select((api_keys::user_id, api_keys::account_id))
                .load(conn)
                .await?;
            Ok(owners)
        })
    };
    let owners = run.await.unwrap();
    let (ua, aa) = owners[0];
    let (ub, ab) = *owners.iter().find(|(_, acc)| *acc != aa).unwrap();
    assert_ne!(aa, ab);
    let a = job_history::keys::create(db, ua, aa, Role::User, None)
        .await
        .unwrap()
        .full();
    let b = job_history::keys::create(db, ub, ab, Role::User, None)
        .await
        .unwrap()
        .full();
    let admin = job_history::keys::create(db, ua, aa, Role::Admin, None)
        .await
        .unwrap()
        .full();
    World {
        a,
        b,
        admin,
        a_account: aa.0,
        b_account: ab.0,
    }
}

async fn account_of_jobs(db: &Db, identifiers: &[String]) -> Vec<i64> {
    let ids = identifiers.to_vec();
    let run = async {
        job_history::with_conn!(db, conn => {
            Ok(jobs::table.filter(jobs::job_identifier.eq_any(ids)).select(jobs::account_id).load::<i64>(conn).await?)
        })
    };
    run.await.unwrap()
}

const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $filter: JobFilter, $order: JobOrder) {
  jobs(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $order) {
    totalCount
    edges { cursor node { id jobIdentifier accountIdentifier user { email } jobInputs { identifier } } }
    pageInfo { hasNextPage endCursor startCursor }
  }
}"#;

fn idents(data: &Value) -> Vec<String> {
    data["data"]["jobs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["jobIdentifier"].as_str().unwrap().to_string())
        .collect()
}

backend_tests! {
    async fn every_auth_failure_is_a_401_that_says_which(t: TestDb) {
        let w = world(&t.db).await;
        let q = "{ jobs(first: 1) { totalCount } }";
        let (prefix, secret) = w.a.split_once('.').unwrap();
        let cases: Vec<(Option<String>, &str)> = vec![
            (None, "missing credentials"),
            (Some("Bearer abc".into()), "malformed Authorization header"),
            (Some(format!("ApiKey {prefix}")), "malformed Authorization header"),
            (Some("ApiKey AAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB".into()), "unknown API key"),
            (Some(format!("ApiKey {prefix}.wrong{secret}")), "unknown API key"),
        ];
        for (key, expected) in cases {
            let (status, body) = call(&t.db, key.as_deref(), q, json!({})).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{key:?}");
            let e = &body["errors"][0];
            assert_eq!(e["extensions"]["code"], "UNAUTHENTICATED");
            let message = e["message"].as_str().unwrap();
            assert!(message.contains(expected), "{key:?}: {message}");
            assert!(!message.contains(secret), "the secret is never echoed");
            assert!(body.get("data").is_none());
        }
        // Revoked and expired keys.
        common::revoke_key(&t.db, &w.a).await;
        common::expire_key(&t.db, &w.b).await;
        let (status, body) = call(&t.db, Some(&api_key(&w.a)), q, json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("was revoked at"), "{body}");
        let (status, body) = call(&t.db, Some(&api_key(&w.b)), q, json!({})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("expired at"), "{body}");
        // Introspection alone needs no key (GraphiQL loads its docs before headers are set).
        let (status, body) = call(&t.db, None, "{ __schema { queryType { name } } }", json!({})).await;
        assert_eq!((status, &body["data"]["__schema"]["queryType"]["name"]), (StatusCode::OK, &json!("Query")));
    }

    async fn no_route_reveals_another_accounts_jobs(t: TestDb) {
        let w = world(&t.db).await;
        let (a, b) = (api_key(&w.a), api_key(&w.b));
        // Every order, both directions, paged to the end: only own-account jobs, and the
        // count is the own account's.
        let mut seen_a = Vec::new();
        for field in ["CREATED_AT", "STATUS", "ELAPSED_TIME", "INPUT_BYTE_AMOUNT"] {
            for direction in ["ASC", "DESC"] {
                let mut after = Value::Null;
                let mut all = Vec::new();
                loop {
                    let vars = json!({ "first": 100, "after": after, "order": { "field": field, "direction": direction } });
                    let (status, body) = call(&t.db, Some(&a), PAGE, vars).await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                    all.extend(idents(&body));
                    let jobs = &body["data"]["jobs"];
                    if !jobs["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                        assert_eq!(jobs["totalCount"].as_i64().unwrap() as usize, all.len());
                        break;
                    }
                    after = jobs["pageInfo"]["endCursor"].clone();
                }
                assert!(account_of_jobs(&t.db, &all).await.iter().all(|acc| *acc == w.a_account), "{field} {direction}");
                seen_a = all;
            }
        }
        assert!(!seen_a.is_empty());
        // B's view of the same: disjoint.
        let (_, body_b) = call(&t.db, Some(&b), PAGE, json!({ "first": 100 })).await;
        let seen_b = idents(&body_b);
        assert!(!seen_b.is_empty());
        assert!(seen_b.iter().all(|id| !seen_a.contains(id)));

        // A's identifiers, filters, cursors and node ids used by B find nothing.
        let a_ids: Vec<_> = seen_a.iter().take(20).cloned().collect();
        let (_, body) = call(&t.db, Some(&b), PAGE, json!({ "first": 100, "filter": { "jobIdentifiers": a_ids } })).await;
        assert_eq!(body["data"]["jobs"]["totalCount"], 0);
        assert_eq!(idents(&body), Vec::<String>::new());
        let (_, page_a) = call(&t.db, Some(&a), PAGE, json!({ "first": 5 })).await;
        let cursor = page_a["data"]["jobs"]["pageInfo"]["endCursor"].clone();
        let (_, body) = call(&t.db, Some(&b), PAGE, json!({ "first": 100, "after": cursor })).await;
        assert!(account_of_jobs(&t.db, &idents(&body)).await.iter().all(|acc| *acc == w.b_account), "a foreign cursor is only a position");
        let node_id = page_a["data"]["jobs"]["edges"][0]["node"]["id"].clone();
        let job_identifier = page_a["data"]["jobs"]["edges"][0]["node"]["jobIdentifier"].clone();
        let (_, body) = call(&t.db, Some(&b), "query($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }", json!({ "id": node_id })).await;
        assert_eq!(body["data"], json!({ "node": null, "nodes": [null] }));
        let (_, body) = call(&t.db, Some(&b), "query($j: String!) { job(jobIdentifier: $j) { id } }", json!({ "j": job_identifier })).await;
        let missing = "00000000-0000-4000-8000-000000000000";
        let (_, body_missing) = call(&t.db, Some(&b), "query($j: String!) { job(jobIdentifier: $j) { id } }", json!({ "j": missing })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
        let generic = |v: &Value| v["errors"][0]["message"].as_str().unwrap().replace(job_identifier.as_str().unwrap(), "X").replace(missing, "X");
        assert_eq!(generic(&body), generic(&body_missing), "another account's job reads exactly like a missing one");
        // Users cannot widen their scope.
        let (_, body) = call(&t.db, Some(&b), PAGE, json!({ "filter": { "accountIdentifier": "anything" } })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    }

    async fn admins_read_every_account_and_can_narrow_to_one(t: TestDb) {
        let w = world(&t.db).await;
        let admin = api_key(&w.admin);
        let (_, all) = call(&t.db, Some(&admin), "{ jobs(first: 1) { totalCount } }", json!({})).await;
        assert_eq!(all["data"]["jobs"]["totalCount"], 160);
        let (_, viewer) = call(&t.db, Some(&api_key(&w.b)), "{ viewer { keyPrefix role account { identifier name } user { email } } }", json!({})).await;
        let b_account = viewer["data"]["viewer"]["account"]["identifier"].clone();
        assert_eq!(viewer["data"]["viewer"]["role"], "USER");
        assert_eq!(viewer["data"]["viewer"]["keyPrefix"], w.b.split_once('.').unwrap().0);
        let (_, b_total) = call(&t.db, Some(&api_key(&w.b)), "{ jobs(first: 1) { totalCount } }", json!({})).await;
        let (_, narrowed) = call(&t.db, Some(&admin), "query($acc: String) { jobs(first: 100, filter: { accountIdentifier: $acc }) { totalCount nodes { accountIdentifier } } }", json!({ "acc": b_account })).await;
        assert_eq!(narrowed["data"]["jobs"]["totalCount"], b_total["data"]["jobs"]["totalCount"]);
        assert!(narrowed["data"]["jobs"]["nodes"].as_array().unwrap().iter().all(|n| n["accountIdentifier"] == b_account));
        let (_, unknown) = call(&t.db, Some(&admin), "{ jobs(filter: { accountIdentifier: \"nope\" }) { totalCount } }", json!({})).await;
        assert_eq!(unknown["data"]["jobs"]["totalCount"], 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_one_key_lookup() {
    let t = common::TestDb::postgres().await;
    let key = common::issue_key(&t.db, "Acme", "herd@example.com", Role::User).await;
    let auth = std::sync::Arc::new(job_history::auth::Authenticator::new(
        t.db.clone(),
        std::time::Duration::from_secs(60),
    ));
    let before = t.db.stats().statements();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (auth, header) = (auth.clone(), api_key(&key));
        tasks.spawn(async move {
            auth.authenticate(Some(&header), job_history::db::now())
                .await
        });
    }
    assert!(tasks.join_all().await.iter().all(Result::is_ok));
    assert_eq!(
        t.db.stats().statements() - before,
        1,
        "one lookup for 32 concurrent requests with a cold cache"
    );
}
