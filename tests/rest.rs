//! Modzy's REST routes under `/api`, through the real router on both backends: every answer is
//! compared with what the GraphQL API answers for the same key (the REST layer is an adapter
//! and must not differ), every 400 says which parameter, no route reveals another account's
//! jobs, and page numbers walk exactly the rows cursors walk — sequentially or by a cold jump.

mod common;

use axum::Router;
use axum::http::{StatusCode, header};
use common::fixtures;
use common::http::{Reply, rest};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use job_history::db::Db;
use job_history::db::schema::api_keys;
use job_history::domain::{AccountId, Role, UserId};
use job_history::http::HttpConfig;
use job_history::http::rate_limit::Rate;
use serde_json::{Value, json};

/// Two seeded accounts with a user key each, a worker key in A and an administrator key.
struct World {
    a: String,
    b: String,
    worker: String,
    admin: String,
}

async fn world(db: &Db) -> World {
    fixtures::history(db, 230).await;
    let run = async {
        job_history::with_conn!(db, conn => {
            let owners: Vec<(UserId, AccountId)> = api_keys::table
                .order(api_keys::id)
                .select((api_keys::user_id, api_keys::account_id))
                .load(conn)
                .await?;
            Ok::<_, job_history::db::DbError>(owners)
        })
    };
    let owners = run.await.unwrap();
    let (ua, aa) = owners[0];
    let (ub, ab) = *owners.iter().find(|(_, acc)| *acc != aa).unwrap();
    let key = |user, account, role| async move {
        job_history::keys::create(db, user, account, role, None)
            .await
            .unwrap()
            .full()
    };
    World {
        a: key(ua, aa, Role::User).await,
        b: key(ub, ab, Role::User).await,
        worker: key(ua, aa, Role::Worker).await,
        admin: key(ua, aa, Role::Admin).await,
    }
}

fn fresh_app(db: &Db) -> Router {
    common::http::app(db, HttpConfig::default())
}

/// Every field of the GraphQL `Job`, as the REST job object has them.
const JOB_FIELDS: &str = "jobIdentifier submittedBy accountIdentifier model { identifier version name }
    status createdAt updatedAt submittedAt total pending completed failed elapsedTime queueTime
    timeout explain imageClassificationModel inputByteAmount
    user { identifier externalIdentifier firstName lastName email status title }
    jobInputs { identifier position status byteAmount startedAt finishedAt elapsedTime errorMessage }";

async fn graphql(db: &Db, key: &str, query: &str, variables: Value) -> Value {
    let reply = common::http::post(db, key, query, variables).await;
    let body = reply.json();
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

/// Every job GraphQL lists for `key` with `filter` and `order`, in order.
async fn graphql_all(db: &Db, key: &str, filter: Value, order: Value) -> Vec<Value> {
    let query = format!(
        "query($after: String, $filter: JobFilter, $order: JobOrder) {{
           jobs(first: 100, after: $after, filter: $filter, orderBy: $order) {{
             nodes {{ {JOB_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let (mut all, mut after) = (Vec::new(), Value::Null);
    loop {
        let vars = json!({ "after": after, "filter": filter, "order": order });
        let data = graphql(db, key, &query, vars).await;
        all.extend(data["jobs"]["nodes"].as_array().unwrap().iter().cloned());
        if !data["jobs"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return all;
        }
        after = data["jobs"]["pageInfo"]["endCursor"].clone();
    }
}

fn identifiers(jobs: &[Value]) -> Vec<String> {
    jobs.iter()
        .map(|j| j["jobIdentifier"].as_str().unwrap().to_string())
        .collect()
}

/// The `rel` targets of a `Link` header, as (rel, path).
fn links(reply: &Reply) -> Vec<(String, String)> {
    let Some(link) = reply.headers.get(header::LINK) else {
        return Vec::new();
    };
    link.to_str()
        .unwrap()
        .split(", ")
        .map(|part| {
            let (target, rel) = part.split_once("; rel=").unwrap();
            (
                rel.trim_matches('"').to_string(),
                target.trim_matches(['<', '>']).to_string(),
            )
        })
        .collect()
}

fn next_link(reply: &Reply) -> Option<String> {
    links(reply)
        .into_iter()
        .find(|(rel, _)| rel == "next")
        .map(|(_, path)| path)
}

async fn ok(app: &Router, key: &str, path: &str) -> Reply {
    let reply = rest(app, "GET", path, Some(key), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
    assert!(reply.content_type().starts_with("application/json"));
    reply
}

/// Asserts a Modzy error body with `status` whose message contains `says`.
fn refused(reply: &Reply, status: u16, says: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["statusCode"], status, "{body}");
    let name = reply
        .status
        .canonical_reason()
        .unwrap()
        .to_uppercase()
        .replace(' ', "_");
    assert_eq!(body["status"], name.as_str(), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains(says), "{message:?} should say {says:?}");
}

const SORTS: [(&str, &str); 8] = [
    ("createdAt", "CREATED_AT"),
    ("submittedAt", "SUBMITTED_AT"),
    ("updatedAt", "UPDATED_AT"),
    ("status", "STATUS"),
    ("elapsedTime", "ELAPSED_TIME"),
    ("queueTime", "QUEUE_TIME"),
    ("inputByteAmount", "INPUT_BYTE_AMOUNT"),
    ("total", "TOTAL"),
];

backend_tests! {
    async fn page_numbers_walk_the_rows_cursors_walk_in_every_order(t: TestDb) {
        let w = world(&t.db).await;
        for (rest_field, field) in SORTS {
            for direction in ["asc", "desc"] {
                let order = json!({ "field": field, "direction": direction.to_uppercase() });
                let expected = identifiers(&graphql_all(&t.db, &w.a, Value::Null, order).await);
                assert!(expected.len() > 50, "account A has a history");
                // Page by page, following the Link header.
                let app = fresh_app(&t.db);
                let mut path = Some(format!(
                    "/api/jobs/history?sort-by={rest_field}&direction={direction}&per-page=7"
                ));
                let mut walked = Vec::new();
                let mut pages = 0;
                while let Some(p) = path {
                    let reply = ok(&app, &w.a, &p).await;
                    let jobs = reply.json().as_array().unwrap().clone();
                    assert!(jobs.len() <= 7);
                    walked.extend(identifiers(&jobs));
                    pages += 1;
                    let rels: Vec<_> = links(&reply).into_iter().map(|(r, _)| r).collect();
                    assert_eq!(rels.contains(&"prev".to_string()), pages > 1, "{rels:?}");
                    path = next_link(&reply);
                }
                assert_eq!(walked, expected, "{rest_field} {direction}: page by page");
                // A cold jump (a fresh server: no page ends remembered) lands on the same rows.
                let reply = ok(
                    &fresh_app(&t.db),
                    &w.a,
                    &format!("/api/jobs/history?sort-by={rest_field}&direction={direction}&per-page=7&page=5"),
                )
                .await;
                assert_eq!(
                    identifiers(reply.json().as_array().unwrap()),
                    expected[28..35],
                    "{rest_field} {direction}: page 5 cold"
                );
            }
        }
        // Past the end: an empty page with a prev link and no next.
        let reply = ok(&fresh_app(&t.db), &w.a, "/api/jobs/history?per-page=100&page=9").await;
        assert_eq!(reply.json(), json!([]));
        assert!(next_link(&reply).is_none());
        assert!(links(&reply).iter().any(|(rel, _)| rel == "prev"));
    }

    async fn page_numbers_jump_within_creation_ranges_and_statuses(t: TestDb) {
        // A cold jump steps over rows under the page's own conditions (`position_after`): a
        // wide creation range (checked in each row of the order's index on SQLite), a narrow
        // closed one (ranged over), and statuses that all ran (by a duration, past the jobs
        // without one), each in orders that follow the creation time and orders that do not.
        let w = world(&t.db).await;
        let rows = fixtures::truth(&t.db).await;
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let oldest = rows.iter().map(|r| r.created_at).min().unwrap().and_utc();
        let wide = (oldest - chrono::Duration::days(1)).to_rfc3339();
        let now = chrono::Utc::now();
        let (from, to) = ((now - chrono::Duration::days(90)).to_rfc3339(), (now - chrono::Duration::days(30)).to_rfc3339());
        let cases = [
            (format!("startDate={}", enc(&wide)), json!({ "createdAt": { "from": wide } }), ["status", "submittedAt", "elapsedTime"]),
            (
                format!("startDate={}&endDate={}", enc(&from), enc(&to)),
                json!({ "createdAt": { "from": from, "to": to } }),
                ["total", "updatedAt", "queueTime"],
            ),
            ("status=completed,error".into(), json!({ "statuses": ["COMPLETED", "ERROR"] }), ["elapsedTime", "queueTime", "status"]),
        ];
        let mut jumped = 0;
        for (query, filter, sorts) in cases {
            for rest_field in sorts {
                let field = SORTS.iter().find(|(r, _)| *r == rest_field).unwrap().1;
                for direction in ["asc", "desc"] {
                    let order = json!({ "field": field, "direction": direction.to_uppercase() });
                    let expected = identifiers(&graphql_all(&t.db, &w.admin, filter.clone(), order).await);
                    let path = format!("/api/jobs/history?{query}&sort-by={rest_field}&direction={direction}&per-page=7&page=4");
                    let reply = ok(&fresh_app(&t.db), &w.admin, &path).await;
                    let want = &expected[expected.len().min(21)..expected.len().min(28)];
                    assert_eq!(identifiers(reply.json().as_array().unwrap()), want, "{path}");
                    jumped += usize::from(!want.is_empty());
                }
            }
        }
        assert_eq!(jumped, 18, "every case should reach page 4: the test would prove little");
    }

    async fn deep_pages_cost_what_page_one_costs(t: TestDb) {
        let w = world(&t.db).await;
        let app = fresh_app(&t.db);
        let path = |page: u32| format!("/api/jobs/history?per-page=5&page={page}");
        let mine = graphql_all(&t.db, &w.a, Value::Null, Value::Null).await;
        assert!(mine.len() >= 80, "account A has {} jobs", mine.len());
        ok(&app, &w.a, &path(1)).await; // warms the key cache and the catalogue
        let before = t.db.stats().statements();
        ok(&app, &w.a, &path(1)).await;
        let first = t.db.stats().statements() - before;
        assert_eq!(first, 3, "page + users + inputs");
        for page in 2..=15 {
            let before = t.db.stats().statements();
            ok(&app, &w.a, &path(page)).await;
            assert_eq!(t.db.stats().statements() - before, first, "page {page} after page {}", page - 1);
        }
        // A cold jump steps over the rows in between with one statement (strides of 10 000).
        let before = t.db.stats().statements();
        let jumped = ok(&app, &w.a, "/api/jobs/history?per-page=6&page=12").await;
        assert_eq!(t.db.stats().statements() - before, first + 1);
        assert_eq!(identifiers(jumped.json().as_array().unwrap()), identifiers(&mine[66..72]));
        // The jump remembered where page 11 ended: page 12 again, and 13, cost one page.
        for page in [12, 13] {
            let before = t.db.stats().statements();
            ok(&app, &w.a, &format!("/api/jobs/history?per-page=6&page={page}")).await;
            assert_eq!(t.db.stats().statements() - before, first);
        }
    }

    async fn history_filters_are_the_graphql_filters(t: TestDb) {
        let w = world(&t.db).await;
        let rows = fixtures::truth(&t.db).await;
        let app = fresh_app(&t.db);
        let now = chrono::Utc::now();
        let from = (now - chrono::Duration::days(60)).to_rfc3339();
        let to = (now - chrono::Duration::days(5)).to_rfc3339();
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let user = rows[0].last_name[1..4].to_lowercase();
        let model = rows[0].model_name[..4].to_uppercase();
        let cases = [
            (format!("user={user}"), json!({ "user": user })),
            (format!("accessKey={}", rows[0].submitted_by), json!({ "accessKey": rows[0].submitted_by })),
            (format!("model={model}"), json!({ "model": model })),
            ("status=terminated".into(), json!({ "status": "TERMINATED" })),
            ("status=PENDING".into(), json!({ "status": "PENDING" })),
            ("status=TimedOut".into(), json!({ "status": "TIMEDOUT" })),
            ("status=all".into(), json!({})),
            ("status=pending,timedout".into(), json!({ "statuses": ["SUBMITTED", "IN_PROGRESS", "TIMEDOUT"] })),
            ("status=terminated;canceled,error,submitted".into(), json!({ "statuses": ["CANCELED", "ERROR"] })),
            (
                format!("startDate={}&endDate={}", enc(&from), enc(&to)),
                json!({ "createdAt": { "from": from, "to": to } }),
            ),
            (format!("startDate={}", enc(&from)), json!({ "createdAt": { "from": from } })),
            (
                format!("user={user}&model={model}&status=all"),
                json!({ "user": user, "model": model }),
            ),
        ];
        let mut matched = 0;
        for (query, filter) in cases {
            let expected = graphql_all(&t.db, &w.admin, filter, Value::Null).await;
            let reply = ok(&app, &w.admin, &format!("/api/jobs/history?per-page=100&{query}")).await;
            let got = reply.json().as_array().unwrap().clone();
            let n = expected.len().min(100);
            matched += usize::from(n > 0);
            assert_eq!(identifiers(&got), identifiers(&expected[..n]), "{query}");
            assert_eq!(next_link(&reply).is_some(), expected.len() > 100, "{query}");
        }
        assert!(matched >= 10, "only {matched} filters matched jobs: the test would prove little");
    }

    async fn search_parameters_take_several_values(t: TestDb) {
        let w = world(&t.db).await;
        let rows = fixtures::truth(&t.db).await;
        let app = fresh_app(&t.db);
        // Newest first, as the route's default order; computed from the rows themselves.
        let expect = |keep: &dyn Fn(&fixtures::Row) -> bool| {
            let mut kept: Vec<_> = rows.iter().filter(|r| keep(r)).collect();
            kept.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
            kept.iter().take(100).map(|r| r.identifier.clone()).collect::<Vec<_>>()
        };
        let has = |r: &fixtures::Row, t: &str| {
            [&r.first_name, &r.last_name, &r.email]
                .iter()
                .any(|f| f.to_lowercase().contains(&t.to_lowercase()))
        };
        let (u1, u2) = (rows[0].last_name.clone(), rows.iter().find(|r| r.last_name != rows[0].last_name).unwrap().last_name.clone());
        let (m1, m2) = (rows[0].model_name.clone(), rows.iter().find(|r| r.model_name != rows[0].model_name).unwrap().model_name.clone());
        let (k1, k2) = (rows[0].submitted_by.clone(), rows.iter().find(|r| r.submitted_by != rows[0].submitted_by).unwrap().submitted_by.clone());
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let first = rows[0].first_name.clone();
        let cases: Vec<(String, Vec<String>)> = vec![
            (format!("user={},{}", enc(&u1), enc(&u2)), expect(&|r| has(r, &u1) || has(r, &u2))),
            (format!("user={};{}", enc(&u1), enc(&first)), expect(&|r| has(r, &u1) && has(r, &first))),
            (format!("user={};{}", enc(&u1), enc(&u2)), expect(&|r| has(r, &u1) && has(r, &u2))),
            (format!("model={},{}", enc(&m1), enc(&m2)), expect(&|r| {
                let name = r.model_name.to_lowercase();
                name.contains(&m1.to_lowercase()) || name.contains(&m2.to_lowercase())
            })),
            (format!("accessKey={k1},{k2}"), expect(&|r| r.submitted_by == k1 || r.submitted_by == k2)),
            (format!("accessKey={k1};{k2}"), Vec::new()),
            (
                format!("user={},{}&accessKey={k1},{k2}", enc(&u1), enc(&u2)),
                expect(&|r| (has(r, &u1) || has(r, &u2)) && (r.submitted_by == k1 || r.submitted_by == k2)),
            ),
        ];
        for (query, expected) in cases {
            let reply = ok(&app, &w.admin, &format!("/api/jobs/history?per-page=100&{query}")).await;
            assert_eq!(identifiers(reply.json().as_array().unwrap()), expected, "{query}");
        }
        let many = vec!["a"; 21].join(",");
        refused(&rest(&app, "GET", &format!("/api/jobs/history?user={many}"), Some(&w.a), None).await, 400, "user lists 21 values; at most 20");
        refused(&rest(&app, "GET", "/api/jobs/history?model=a,,b", Some(&w.a), None).await, 400, "model must not be empty");
    }

    async fn job_objects_are_the_graphql_job(t: TestDb) {
        let w = world(&t.db).await;
        let rows = fixtures::truth(&t.db).await;
        let now = job_history::db::now();
        let admin_app = fresh_app(&t.db);
        // A job that timed out unnoticed (stored pending, deadline passed), and a few others.
        let expired = rows
            .iter()
            .find(|r| r.stored_status <= 1 && r.deadline_at.is_some_and(|d| d <= now))
            .expect("the fixture has expired pending jobs");
        let mut picked = vec![expired.identifier.clone()];
        picked.extend(rows.iter().step_by(37).map(|r| r.identifier.clone()));
        let query = format!("query($j: String!) {{ job(jobIdentifier: $j) {{ {JOB_FIELDS} }} }}");
        for id in &picked {
            let expected = graphql(&t.db, &w.admin, &query, json!({ "j": id })).await["job"].clone();
            let got = ok(&admin_app, &w.admin, &format!("/api/jobs/{id}")).await.json();
            assert_eq!(got, expected, "job {id}");
        }
        let expired = ok(&admin_app, &w.admin, &format!("/api/jobs/{}", picked[0])).await.json();
        assert_eq!(expired["status"], "TIMEDOUT");
        // The history's job objects are the same objects.
        let page = ok(&admin_app, &w.admin, "/api/jobs/history?per-page=3").await.json();
        let expected = graphql_all(&t.db, &w.admin, Value::Null, Value::Null).await;
        assert_eq!(page.as_array().unwrap()[..], expected[..3]);
    }

    async fn every_bad_parameter_is_a_400_that_names_it(t: TestDb) {
        let w = world(&t.db).await;
        let app = fresh_app(&t.db);
        let future = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let cases = [
            ("endDate=2026-01-01".to_string(), "`endDate` needs a `startDate`"),
            (format!("startDate={}", enc(&future)), "`startDate` ("),
            ("startDate=2026-02-01&endDate=2026-01-01".into(), "`endDate` (2026-01-01T23:59:59.999999+00:00) is before `startDate`"),
            ("startDate=last-week".into(), "startDate \"last-week\" is not an ISO 8601 date-time"),
            ("sort-by=submittedBy".into(), "sort-by \"submittedBy\" is not a sortable job field"),
            ("direction=sideways".into(), "direction must be asc or desc"),
            ("status=finished".into(), "status \"finished\" is not a status"),
            ("per-page=101".into(), "per-page must be at most 100"),
            ("per-page=0".into(), "per-page must be a whole number from 1"),
            ("page=0".into(), "page must be a whole number from 1"),
            ("page=two".into(), "page must be a whole number from 1"),
            ("user=".into(), "user must not be empty"),
            (format!("model={}", "x".repeat(201)), "model is longer than 200 characters"),
            ("accessKey=%20".into(), "accessKey must not be empty"),
            ("user=a&user=b".into(), "user is given twice"),
            ("limit=5".into(), "unknown parameter \"limit\""),
            ("per-page=1&page=2000000".into(), "at most 1000000 can be skipped at once"),
        ];
        for (query, says) in cases {
            let reply = rest(&app, "GET", &format!("/api/jobs/history?{query}"), Some(&w.a), None).await;
            refused(&reply, 400, says);
            assert_eq!(reply.json()["code"], "BAD_USER_INPUT", "{query}");
        }
        let reply = rest(&app, "GET", "/api/jobs/not-a-uuid", Some(&w.a), None).await;
        refused(&reply, 400, "is not a job identifier (a UUID)");
    }

    async fn no_route_reveals_another_accounts_jobs(t: TestDb) {
        let w = world(&t.db).await;
        let app = fresh_app(&t.db);
        let theirs = identifiers(&graphql_all(&t.db, &w.b, Value::Null, Value::Null).await);
        let mine = identifiers(&graphql_all(&t.db, &w.a, Value::Null, Value::Null).await);
        assert!(!theirs.is_empty() && !mine.is_empty());
        let missing = uuid::Uuid::new_v4().to_string();
        let absent = rest(&app, "GET", &format!("/api/jobs/{missing}"), Some(&w.a), None).await;
        refused(&absent, 404, &format!("no job with identifier {missing}"));
        let other = rest(&app, "GET", &format!("/api/jobs/{}", theirs[0]), Some(&w.a), None).await;
        refused(&other, 404, &format!("no job with identifier {}", theirs[0]));
        let cancel = rest(&app, "DELETE", &format!("/api/jobs/{}", theirs[0]), Some(&w.a), None).await;
        refused(&cancel, 404, &format!("no job with identifier {}", theirs[0]));
        // The history: A's jobs only, whatever the filter names.
        let mut walked = Vec::new();
        let mut path = Some("/api/jobs/history?per-page=100".to_string());
        while let Some(p) = path {
            let reply = ok(&app, &w.a, &p).await;
            walked.extend(identifiers(reply.json().as_array().unwrap()));
            path = next_link(&reply);
        }
        assert_eq!(walked, mine);
        let b_prefix = w.b.split_once('.').unwrap().0;
        let reply = ok(&app, &w.a, &format!("/api/jobs/history?accessKey={b_prefix}")).await;
        assert_eq!(reply.json(), json!([]));
        // The same query string from two keys never shares remembered page ends.
        let a5 = ok(&app, &w.a, "/api/jobs/history?per-page=3&page=5").await.json();
        let b5 = ok(&app, &w.b, "/api/jobs/history?per-page=3&page=5").await.json();
        assert_eq!(identifiers(a5.as_array().unwrap()), mine[12..15]);
        assert_eq!(identifiers(b5.as_array().unwrap()), theirs[12..15]);
        // An administrator sees both.
        let all = identifiers(&graphql_all(&t.db, &w.admin, Value::Null, Value::Null).await);
        assert_eq!(all.len(), mine.len() + theirs.len());
        ok(&app, &w.admin, &format!("/api/jobs/{}", theirs[0])).await;
    }

    async fn keys_and_rate_limits_are_checked_as_for_graphql(t: TestDb) {
        let w = world(&t.db).await;
        let app = fresh_app(&t.db);
        for path in ["/api/jobs/history", "/api/models", "/api/jobs/x"] {
            let reply = rest(&app, "GET", path, None, None).await;
            refused(&reply, 401, "missing credentials");
            assert!(reply.headers.contains_key(header::WWW_AUTHENTICATE));
            assert_eq!(reply.json()["code"], "UNAUTHENTICATED");
        }
        let (prefix, _) = w.a.split_once('.').unwrap();
        let wrong = format!("{prefix}.wrongsecret");
        let reply = rest(&app, "GET", "/api/jobs/history", Some(&wrong), None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert!(!reply.text().contains("wrongsecret"));
        // The key's rate.
        let limited = common::http::app(
            &t.db,
            HttpConfig {
                rate_limit: Some(Rate::new(1, 2)),
                ..Default::default()
            },
        );
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(rest(&limited, "GET", "/api/models", Some(&w.a), None).await);
        }
        assert_eq!(statuses[1].status, StatusCode::OK);
        refused(&statuses[2], 429, "rate limit exceeded for this API key");
        assert!(statuses[2].headers.contains_key(header::RETRY_AFTER));
        // Requests without a valid key, per client address.
        let anonymous = common::http::app(
            &t.db,
            HttpConfig {
                anonymous_rate_limit: Some(Rate::new(1, 1)),
                ..Default::default()
            },
        );
        let peer: std::net::SocketAddr = "192.0.2.7:4000".parse().unwrap();
        let mut last = None;
        for _ in 0..2 {
            let request = common::http::rest_request("GET", "/api/jobs/history", None)
                .body(axum::body::Body::empty())
                .unwrap();
            let request = common::http::from_peer(request, peer);
            last = Some(common::http::send(anonymous.clone(), request).await);
        }
        let last = last.unwrap();
        refused(&last, 429, "too many requests without a valid API key");
        assert!(last.headers.contains_key(header::RETRY_AFTER));
    }

    async fn submit_and_cancel_are_the_graphql_mutations(t: TestDb) {
        let w = world(&t.db).await;
        let state = job_history::http::AppState::new(t.db.clone(), HttpConfig::default());
        let mut events = state.events.subscribe().await.unwrap();
        let app = job_history::http::router(state);
        let models = graphql(&t.db, &w.a, "{ models { identifier version name } }", json!({})).await;
        let model = models["models"][0].clone();
        let body = json!({
            "model": { "identifier": model["identifier"], "version": model["version"] },
            "explain": true,
            "timeout": 60000,
            "input": { "type": "text", "sources": {
                "first": { "input.txt": "héllo", "config.json": "{}" },
                "second": { "input.txt": "" } } }
        });
        let reply = rest(&app, "POST", "/api/jobs", Some(&w.a), Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let job = reply.json();
        assert_eq!(job["status"], "SUBMITTED");
        assert_eq!(job["explain"], true);
        assert_eq!(job["timeout"], 60000);
        assert_eq!(job["total"], 2);
        assert_eq!(job["inputByteAmount"], 8);
        let inputs: Vec<_> = job["jobInputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["identifier"].as_str().unwrap(), i["byteAmount"].as_i64().unwrap()))
            .collect();
        assert_eq!(inputs, [("first", 8), ("second", 0)]);
        assert_eq!(job["submittedBy"], w.a.split_once('.').unwrap().0);
        let id = job["jobIdentifier"].as_str().unwrap().to_string();
        // Subscribers hear of it, as of a job submitted over GraphQL.
        let heard = tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
            .await
            .expect("an event");
        assert!(matches!(heard, Some(job_history::events::Received::Event(_))));
        // GraphQL sees the same job.
        let query = format!("query($j: String!) {{ job(jobIdentifier: $j) {{ {JOB_FIELDS} }} }}");
        let seen = graphql(&t.db, &w.a, &query, json!({ "j": id })).await;
        assert_eq!(seen["job"], ok(&app, &w.a, &format!("/api/jobs/{id}")).await.json());
        // Cancel; again is a conflict.
        let reply = rest(&app, "DELETE", &format!("/api/jobs/{id}"), Some(&w.a), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.json()["status"], "CANCELED");
        let again = rest(&app, "DELETE", &format!("/api/jobs/{id}"), Some(&w.a), None).await;
        refused(&again, 409, "cannot cancel a job that is CANCELED");
        // What cannot be submitted.
        let mut unknown = body.clone();
        unknown["model"]["version"] = json!("0.0.0-none");
        let reply = rest(&app, "POST", "/api/jobs", Some(&w.a), Some(unknown)).await;
        refused(&reply, 400, &format!("no model {} version 0.0.0-none", model["identifier"].as_str().unwrap()));
        let reply = rest(&app, "POST", "/api/jobs", Some(&w.worker), Some(body.clone())).await;
        refused(&reply, 403, "submitJob needs a key with role user or admin");
        let mut s3 = body.clone();
        s3["input"]["type"] = json!("aws-s3");
        refused(&rest(&app, "POST", "/api/jobs", Some(&w.a), Some(s3)).await, 400, "input.type \"aws-s3\" is not supported");
        let mut empty = body.clone();
        empty["input"]["sources"] = json!({});
        refused(&rest(&app, "POST", "/api/jobs", Some(&w.a), Some(empty)).await, 400, "input.sources is empty");
        let many: serde_json::Map<String, Value> =
            (0..101).map(|i| (format!("s{i}"), json!({ "i": "x" }))).collect();
        let mut too_many = body.clone();
        too_many["input"]["sources"] = Value::Object(many);
        refused(&rest(&app, "POST", "/api/jobs", Some(&w.a), Some(too_many)).await, 400, "input.sources has 101 inputs");
        let mut timeout = body.clone();
        timeout["timeout"] = json!(0);
        refused(&rest(&app, "POST", "/api/jobs", Some(&w.a), Some(timeout)).await, 400, "input.timeout must be between");
        let reply = rest(&app, "POST", "/api/jobs", Some(&w.a), None).await;
        refused(&reply, 400, "the body is not JSON");
        // Nothing refused was written: one job more than the fixture.
        assert_eq!(fixtures::truth(&t.db).await.len(), 231);
    }

    async fn the_catalogue_in_modzys_shapes_and_add_model(t: TestDb) {
        let w = world(&t.db).await;
        let app = fresh_app(&t.db);
        let models = graphql(&t.db, &w.a, "{ models { identifier version name } }", json!({})).await;
        let catalogue = models["models"].as_array().unwrap().clone();
        let list = ok(&app, &w.a, "/api/models?per-page=1000").await.json();
        let listed: usize = list
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["versions"].as_array().unwrap().len())
            .sum();
        assert_eq!(listed, catalogue.len());
        // Modzy's Python SDK reads the hardware requirements when it starts: none here.
        assert_eq!(ok(&app, &w.a, "/api/models/requirements/account").await.json(), json!([]));
        // Adding a model: administrators only, idempotent, never a rename.
        let add = "mutation($i: String!, $v: String!, $n: String!) {
            addModel(identifier: $i, version: $v, name: $n) { identifier version name } }";
        let vars = |v: &str, n: &str| json!({ "i": "zz-new-model", "v": v, "n": n });
        let reply = common::http::post(&t.db, &w.a, add, vars("1.9.0", "Brand New")).await;
        assert_eq!(common::http::code(&reply.json()), "FORBIDDEN");
        for _ in 0..2 {
            let added = graphql(&t.db, &w.admin, add, vars("1.9.0", "Brand New")).await;
            assert_eq!(added["addModel"]["name"], "Brand New");
        }
        graphql(&t.db, &w.admin, add, vars("1.10.0", "Brand New")).await;
        let reply = common::http::post(&t.db, &w.admin, add, vars("1.9.0", "Renamed")).await;
        assert_eq!(common::http::code(&reply.json()), "CONFLICT");
        let reply = common::http::post(&t.db, &w.admin, add, vars(" ", "x")).await;
        assert_eq!(common::http::code(&reply.json()), "BAD_USER_INPUT");
        let model = ok(&app, &w.a, "/api/models/zz-new-model").await.json();
        assert_eq!(
            model,
            json!({ "modelId": "zz-new-model", "identifier": "zz-new-model", "name": "Brand New",
                    "latestVersion": "1.10.0", "versions": ["1.9.0", "1.10.0"] })
        );
        let version = ok(&app, &w.a, "/api/models/zz-new-model/versions/1.9.0").await.json();
        assert_eq!(version["version"], "1.9.0");
        let versions = ok(&app, &w.a, "/api/models/zz-new-model/versions").await.json();
        assert_eq!(versions.as_array().unwrap().len(), 2);
        let found = ok(&app, &w.a, "/api/models?name=BRAND").await.json();
        assert_eq!(found.as_array().unwrap().len(), 1);
        refused(&rest(&app, "GET", "/api/models/none", Some(&w.a), None).await, 404, "no model with identifier none");
        refused(
            &rest(&app, "GET", "/api/models/zz-new-model/versions/9", Some(&w.a), None).await,
            404,
            "no model with identifier zz-new-model and version 9",
        );
        refused(&rest(&app, "GET", "/api/models?author=x", Some(&w.a), None).await, 400, "unknown parameter \"author\"");
        // A job can be submitted against the new model at once.
        let body = json!({ "model": { "identifier": "zz-new-model", "version": "1.10.0" },
                           "input": { "type": "embedded", "sources": { "s": { "i": "data:;base64,AAAA" } } } });
        let reply = rest(&app, "POST", "/api/jobs", Some(&w.a), Some(body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.json()["model"]["name"], "Brand New");
        assert_eq!(reply.json()["inputByteAmount"], 3);
    }

    async fn stray_requests_keep_modzys_form_and_routes_are_counted(t: TestDb) {
        let w = world(&t.db).await;
        let app = common::http::app(
            &t.db,
            HttpConfig {
                max_body_bytes: 1024,
                ..Default::default()
            },
        );
        let reply = rest(&app, "PUT", "/api/jobs/history", Some(&w.a), None).await;
        refused(&reply, 405, "Method Not Allowed");
        assert!(reply.headers.contains_key(header::ALLOW));
        refused(&rest(&app, "GET", "/api/jobz", Some(&w.a), None).await, 404, "no such route");
        let big = json!({ "model": { "identifier": "x".repeat(2000), "version": "1" } });
        refused(&rest(&app, "POST", "/api/jobs", Some(&w.a), Some(big)).await, 413, "larger than 1024 bytes");
        ok(&app, &w.a, "/api/jobs/history").await;
        rest(&app, "GET", "/api/jobs/history?page=0", Some(&w.a), None).await;
        let metrics = common::http::get(app.clone(), "/metrics").await.text();
        assert!(
            metrics.contains("jh_rest_requests_total{route=\"GET /api/jobs/history\"} 2"),
            "{metrics}"
        );
        assert!(metrics.contains("jh_rest_errors_total{route=\"GET /api/jobs/history\"} 1"));
        assert!(metrics.contains("jh_rest_request_duration_seconds_count{route=\"GET /api/jobs/history\"} 2"));
    }
}
