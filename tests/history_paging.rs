//! Exhaustive keyset paging: for every sort field and direction, paging forward with
//! `first`/`after` and backward with `last`/`before` visits every job exactly once, in the
//! order computed independently here (ties broken by id, NULL smallest), with and without
//! filters that change how the page is read. Also: pages stay correct while jobs are inserted
//! between requests.

mod common;

use common::fixtures::{self, Row};
use common::gql;
use job_history::db::Db;
use serde_json::{Value, json};

/// The expected order, computed without the API.
fn expected(rows: &[Row], field: &str, descending: bool) -> Vec<String> {
    let key = |r: &Row| -> Option<i64> {
        let micros = |t: chrono::NaiveDateTime| t.and_utc().timestamp_micros();
        match field {
            "CREATED_AT" => Some(micros(r.created_at)),
            "SUBMITTED_AT" => Some(micros(r.submitted_at)),
            "UPDATED_AT" => Some(micros(r.updated_at)),
            "STATUS" => Some(r.stored_status.into()),
            "ELAPSED_TIME" => r.elapsed_ms,
            "QUEUE_TIME" => r.queue_ms,
            "INPUT_BYTE_AMOUNT" => Some(r.input_byte_amount),
            "TOTAL" => Some(r.total.into()),
            _ => unreachable!(),
        }
    };
    let mut sorted: Vec<&Row> = rows.iter().collect();
    // Option's order puts None first: NULL is the smallest value.
    sorted.sort_by(|a, b| key(a).cmp(&key(b)).then(a.id.cmp(&b.id)));
    if descending {
        sorted.reverse();
    }
    sorted.into_iter().map(|r| r.identifier.clone()).collect()
}

const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $order: JobOrder, $filter: JobFilter) {
  jobs(first: $first, after: $after, last: $last, before: $before, orderBy: $order, filter: $filter) {
    edges { cursor node { jobIdentifier } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"#;

fn identifiers(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["jobIdentifier"].as_str().unwrap().to_string())
        .collect()
}

async fn walk(db: &Db, order: Value, size: i64, forward: bool) -> Vec<String> {
    walk_filtered(db, order, Value::Null, size, forward).await
}

/// [`walk`] through the jobs `filter` matches.
async fn walk_filtered(
    db: &Db,
    order: Value,
    filter: Value,
    size: i64,
    forward: bool,
) -> Vec<String> {
    let mut seen: Vec<Vec<String>> = Vec::new();
    let mut cursor: Option<String> = None;
    for step in 0.. {
        assert!(step < 1000, "paging does not terminate");
        let vars = if forward {
            json!({ "first": size, "after": cursor, "order": order, "filter": filter })
        } else {
            json!({ "last": size, "before": cursor, "order": order, "filter": filter })
        };
        let data = gql::data(db, PAGE, vars).await;
        let page = &data["jobs"];
        let ids = identifiers(page);
        let info = &page["pageInfo"];
        assert!(ids.len() as i64 <= size);
        let edges = page["edges"].as_array().unwrap();
        if let (Some(first), Some(last)) = (edges.first(), edges.last()) {
            assert_eq!(info["startCursor"], first["cursor"]);
            assert_eq!(info["endCursor"], last["cursor"]);
        }
        // The flag pointing away from where we came from says whether to go on.
        let more = if forward {
            &info["hasNextPage"]
        } else {
            &info["hasPreviousPage"]
        };
        let back = if forward {
            &info["hasPreviousPage"]
        } else {
            &info["hasNextPage"]
        };
        assert_eq!(back.as_bool(), Some(cursor.is_some()), "{info}");
        seen.push(ids);
        if !more.as_bool().unwrap() {
            break;
        }
        assert_eq!(
            seen.last().unwrap().len() as i64,
            size,
            "a page short of its size claims more follow"
        );
        cursor = Some(
            if forward {
                &info["endCursor"]
            } else {
                &info["startCursor"]
            }
            .as_str()
            .unwrap()
            .to_string(),
        );
    }
    if !forward {
        seen.reverse();
    }
    seen.concat()
}

/// Walks the jobs `filter` matches by each of `fields`, both directions, forward and backward
/// in pages of 17, and asserts each walk visits `matching` (the truth) in order.
async fn walks_exactly(db: &Db, matching: &[Row], filter: &Value, fields: &[&str]) {
    for field in fields {
        for (direction, descending) in [("ASC", false), ("DESC", true)] {
            let order = json!({ "field": field, "direction": direction });
            let want = expected(matching, field, descending);
            for forward in [true, false] {
                let got = walk_filtered(db, order.clone(), filter.clone(), 17, forward).await;
                assert_eq!(
                    got, want,
                    "{filter} by {field} {direction}, forward {forward}"
                );
            }
        }
    }
}

backend_tests! {
    async fn every_order_pages_forward_and_backward_exactly(t: TestDb) {
        fixtures::history(&t.db, 230).await;
        let rows = fixtures::truth(&t.db).await;
        assert_eq!(rows.len(), 230);
        for field in fixtures::ORDER_FIELDS {
            for (direction, descending) in [("ASC", false), ("DESC", true)] {
                let order = json!({ "field": field, "direction": direction });
                let want = expected(&rows, field, descending);
                for size in [1, 37, 100] {
                    if size == 1 && field != "ELAPSED_TIME" && field != "CREATED_AT" {
                        continue; // page size 1 over every order would be slow and adds nothing
                    }
                    assert_eq!(walk(&t.db, order.clone(), size, true).await, want, "{field} {direction} forward by {size}");
                    assert_eq!(walk(&t.db, order.clone(), size, false).await, want, "{field} {direction} backward by {size}");
                }
            }
        }
    }

    async fn duration_orders_of_jobs_that_ran_skip_only_jobs_without_durations(t: TestDb) {
        // COMPLETED + ERROR by a duration starts past the jobs without one (`durations_known`);
        // CANCELED + COMPLETED cannot (a job canceled before it started has none) and must
        // still list them first going up. Both walked whole, both ways, against the truth.
        fixtures::history(&t.db, 230).await;
        let rows = fixtures::truth(&t.db).await;
        let (completed, canceled, error) = (2, 3, 5);
        let without = |r: &&Row| r.elapsed_ms.is_none() || r.queue_ms.is_none();
        let canceled_without = rows.iter().filter(|r| r.stored_status == canceled).filter(without).count();
        assert!(canceled_without > 0, "the fixture has canceled jobs that never started");
        for (statuses, codes) in [(json!(["COMPLETED", "ERROR"]), [completed, error]), (json!(["CANCELED", "COMPLETED"]), [canceled, completed])] {
            let matching: Vec<Row> = rows.iter().filter(|r| codes.contains(&r.stored_status)).cloned().collect();
            assert!(matching.len() > 40, "{statuses}: {}", matching.len());
            let filter = json!({ "statuses": statuses });
            walks_exactly(&t.db, &matching, &filter, &["ELAPSED_TIME", "QUEUE_TIME"]).await;
        }
    }

    async fn creation_ranges_page_exactly_whichever_index_reads_them(t: TestDb) {
        // On SQLite a page by another key checks a wide creation range in each row of the
        // order's index and ranges over a narrow one (`db::range_scan`), and a page by the
        // submission time scans its index from the implied range's edge (`db::implied`)
        // whenever the range holds more than the page; both must page exactly, both ways, in a
        // key that follows the creation time and one that does not.
        use chrono::Duration;
        use job_history::db::jobs::{JobConditions, PageRequest, Range, Sort, SortKey};
        use job_history::db::range_scan::check_range;
        use job_history::domain::Scope;
        fixtures::history(&t.db, 230).await;
        let rows = fixtures::truth(&t.db).await;
        let now = job_history::db::now();
        let oldest = rows.iter().map(|r| r.created_at).min().unwrap();
        let middle = oldest + (now - oldest) / 2;
        let rfc = |t: chrono::NaiveDateTime| t.and_utc().to_rfc3339();
        for (from, to) in [(oldest, now), (middle, middle + Duration::days(20))] {
            let range = Range { from, to };
            let chosen = t.db.read(async |c| {
                let mut got = Vec::new();
                for key in [SortKey::Status, SortKey::SubmittedAt] {
                    let req = PageRequest {
                        conditions: JobConditions { created: Some(range), now: Some(now), ..JobConditions::default() },
                        sort: Sort { key, descending: true },
                        after: None,
                        before: None,
                        limit: 8,
                        from_end: false,
                    };
                    got.push(check_range(c, Scope::All, &req).await?);
                }
                Ok::<_, job_history::db::DbError>(got)
            }).await.unwrap();
            let wide = from == oldest;
            let sqlite = t.db.backend() == job_history::db::Backend::Sqlite;
            let inside: Vec<Row> = rows.iter().filter(|r| r.created_at >= from && r.created_at <= to).cloned().collect();
            assert!(inside.len() > 16, "{} jobs in {from} – {to}", inside.len());
            assert_eq!(chosen, vec![wide && sqlite, sqlite], "range {from} – {to}");
            let filter = json!({ "createdAt": { "from": rfc(from), "to": rfc(to) } });
            walks_exactly(&t.db, &inside, &filter, &["STATUS", "SUBMITTED_AT"]).await;
        }
    }

    async fn creation_and_submission_ranges_page_exactly_in_each_others_order(t: TestDb) {
        // A page by the submission time with a creation range gets the submission range it
        // implies, and the reverse (`db::implied`); a range on the order's own time ends at
        // each page's cursor. The ranges end on a job submitted after its creation, so an
        // implied range without the lag would lose it at either edge.
        fixtures::history(&t.db, 230).await;
        let rows = fixtures::truth(&t.db).await;
        let rfc = |t: chrono::NaiveDateTime| t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut lagging: Vec<&Row> = rows.iter().filter(|r| r.submitted_at > r.created_at).collect();
        lagging.sort_by_key(|r| r.created_at);
        assert!(lagging.len() > 100, "{} jobs submitted after their creation", lagging.len());
        let (early, late) = (lagging[lagging.len() / 4], lagging[3 * lagging.len() / 4]);
        // Created from `early` to `late`: `late` is submitted after the range's end.
        let created: Vec<Row> = rows.iter().filter(|r| r.created_at >= early.created_at && r.created_at <= late.created_at).cloned().collect();
        assert!(created.iter().any(|r| r.submitted_at > late.created_at));
        let filter = json!({ "createdAt": { "from": rfc(early.created_at), "to": rfc(late.created_at) } });
        walks_exactly(&t.db, &created, &filter, &["SUBMITTED_AT", "CREATED_AT"]).await;
        // Submitted from `early` to `late`: `early` was created before the range's start.
        let submitted: Vec<Row> = rows.iter().filter(|r| r.submitted_at >= early.submitted_at && r.submitted_at <= late.submitted_at).cloned().collect();
        assert!(submitted.iter().any(|r| r.created_at < early.submitted_at));
        let filter = json!({ "submittedAt": { "from": rfc(early.submitted_at), "to": rfc(late.submitted_at) } });
        walks_exactly(&t.db, &submitted, &filter, &["CREATED_AT", "SUBMITTED_AT"]).await;
        // The update time: no implied range, but its own range ends at each cursor too.
        let (from, to) = (early.updated_at.min(late.updated_at), early.updated_at.max(late.updated_at));
        let updated: Vec<Row> = rows.iter().filter(|r| r.updated_at >= from && r.updated_at <= to).cloned().collect();
        assert!(updated.len() > 20, "{} jobs updated in {from} – {to}", updated.len());
        let filter = json!({ "updatedAt": { "from": rfc(from), "to": rfc(to) } });
        walks_exactly(&t.db, &updated, &filter, &["UPDATED_AT"]).await;
        // Both, disjoint once the lag is counted: nothing, whatever the order.
        let apart = json!({
            "createdAt": { "from": rfc(early.created_at), "to": rfc(early.created_at) },
            "submittedAt": { "from": rfc(early.created_at + chrono::Duration::minutes(2)), "to": rfc(late.submitted_at) },
        });
        walks_exactly(&t.db, &[], &apart, &["SUBMITTED_AT", "CREATED_AT"]).await;
    }

    async fn creation_ranges_page_exactly_by_the_update_time_however_late(t: TestDb) {
        // A page by the update time with a creation range is bounded by the update span the
        // range holds (`db::update_span`): the rollup's spans of final jobs and the live span
        // of pending ones. A final job of one month and a pending job of the next, updated long
        // after them (now, an hour ago), must stay on their pages, in their place, both ways.
        use chrono::Duration;
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use job_history::db::schema::jobs;
        fixtures::history(&t.db, 230).await;
        let before = fixtures::truth(&t.db).await;
        let now = job_history::db::now();
        let oldest = before.iter().map(|r| r.created_at).min().unwrap();
        let middle = oldest + (now - oldest) / 2;
        let month = |start: i64| (middle + Duration::days(start), middle + Duration::days(start + 30));
        let (finished, pending, quiet) = (month(-47), month(-15), month(17));
        let pick = |(from, to): (chrono::NaiveDateTime, chrono::NaiveDateTime), pending: bool| {
            before.iter().find(|r| r.created_at > from + Duration::days(1) && r.created_at < to && (r.stored_status <= 1) == pending).map(|r| r.id).unwrap()
        };
        let (late_final, late_pending) = (pick(finished, false), pick(pending, true));
        let hour_ago = now - Duration::hours(1);
        job_history::with_conn!(t.db, c => {
            diesel::update(jobs::table.find(late_final)).set(jobs::updated_at.eq(now)).execute(c).await?;
            diesel::update(jobs::table.find(late_pending)).set(jobs::updated_at.eq(hour_ago)).execute(c).await?;
            Ok::<_, job_history::db::DbError>(())
        }).unwrap();
        t.db.read(async |c| common::invariants::rebuild_rollup(c).await).await.unwrap();
        common::invariants::check(&t.db).await;
        let rows = fixtures::truth(&t.db).await;
        let rfc = |t: chrono::NaiveDateTime| t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let created_in = |from, to| rows.iter().filter(|r| r.created_at >= from && r.created_at <= to).cloned().collect::<Vec<Row>>();
        // The months with the late jobs, a month without (its span ends within its last day's
        // updates), the whole history and a range before it (no job).
        let ranges = [finished, pending, quiet, (oldest, now), (oldest - Duration::days(30), oldest - Duration::days(1))];
        for (from, to) in ranges {
            let inside = created_in(from, to);
            let filter = json!({ "createdAt": { "from": rfc(from), "to": rfc(to) } });
            walks_exactly(&t.db, &inside, &filter, &["UPDATED_AT"]).await;
            // With an update range asked for too: the two intersect.
            if let (Some(lo), Some(hi)) = (inside.iter().map(|r| r.updated_at).min(), inside.iter().map(|r| r.updated_at).max()) {
                let mid = lo + (hi - lo) / 2;
                let both: Vec<Row> = inside.iter().filter(|r| r.updated_at >= mid).cloned().collect();
                let filter = json!({ "createdAt": { "from": rfc(from), "to": rfc(to) }, "updatedAt": { "from": rfc(mid), "to": rfc(now) } });
                walks_exactly(&t.db, &both, &filter, &["UPDATED_AT"]).await;
            }
        }
        // The span the page is bounded by: the late jobs' updates for their months (the
        // rollup's for the final one, the live one for the pending one), the month's own last
        // day for the quiet one (the rollup keeps whole days).
        let spans = t.db.read(async |c| {
            let mut got = Vec::new();
            for (from, to) in [finished, pending, quiet] {
                let range = job_history::db::jobs::Range { from, to };
                got.push(job_history::db::update_span::of_creation_range(c, job_history::domain::Scope::All, range).await?.unwrap());
            }
            Ok::<_, job_history::db::DbError>(got)
        }).await.unwrap();
        assert_eq!((spans[0].last, spans[1].last), (now, hour_ago));
        let spans = &spans[1..];
        let quiet_days = rows.iter().filter(|r| r.created_at.date() >= quiet.0.date() && r.created_at.date() <= quiet.1.date());
        let (days_last, inside_last) = (quiet_days.map(|r| r.updated_at).max().unwrap(), created_in(quiet.0, quiet.1).iter().map(|r| r.updated_at).max().unwrap());
        assert!(spans[1].last >= inside_last && spans[1].last <= days_last, "{:?}: {inside_last} – {days_last}", spans[1]);
        assert!(spans[1].last < now - Duration::days(1), "{:?}", spans[1]);
    }

    async fn default_order_is_newest_first_and_twenty_per_page(t: TestDb) {
        fixtures::history(&t.db, 50).await;
        let rows = fixtures::truth(&t.db).await;
        let data = gql::data(&t.db, "{ jobs { edges { node { jobIdentifier } } pageInfo { hasNextPage } } }", json!({})).await;
        let want = expected(&rows, "CREATED_AT", true);
        assert_eq!(identifiers(&data["jobs"]), want[..20].to_vec());
        assert_eq!(data["jobs"]["pageInfo"]["hasNextPage"], true);
    }

    async fn first_zero_and_before_with_first_follow_relay(t: TestDb) {
        fixtures::history(&t.db, 40).await;
        let rows = fixtures::truth(&t.db).await;
        let want = expected(&rows, "CREATED_AT", true);
        let data = gql::data(&t.db, PAGE, json!({ "first": 0 })).await;
        assert_eq!(identifiers(&data["jobs"]), Vec::<String>::new());
        assert_eq!(data["jobs"]["pageInfo"]["hasNextPage"], true);
        // A window between two cursors: after the 5th, before the 20th, first 100.
        let all = gql::data(&t.db, PAGE, json!({ "first": 40 })).await;
        let edges = all["jobs"]["edges"].as_array().unwrap().clone();
        let (after, before) = (edges[4]["cursor"].clone(), edges[19]["cursor"].clone());
        let window = gql::data(&t.db, PAGE, json!({ "first": 100, "after": after, "before": before })).await;
        assert_eq!(identifiers(&window["jobs"]), want[5..19].to_vec());
        let tail = gql::data(&t.db, PAGE, json!({ "last": 3, "after": after, "before": before })).await;
        assert_eq!(identifiers(&tail["jobs"]), want[16..19].to_vec());
    }

    async fn pages_stay_correct_while_jobs_are_inserted(t: TestDb) {
        fixtures::history(&t.db, 60).await;
        let before_insert = expected(&fixtures::truth(&t.db).await, "CREATED_AT", true);
        let first = gql::data(&t.db, PAGE, json!({ "first": 25 })).await;
        let cursor = first["jobs"]["pageInfo"]["endCursor"].clone();
        // New jobs arrive (newest first: they land before the cursor) between two requests.
        let mut more = job_history::seed::SeedOptions::new(30);
        more.accounts = 1;
        more.users = 2;
        job_history::seed::seed(&t.db, more).await.unwrap();
        let mut rest = identifiers(&first["jobs"]);
        let mut after = cursor;
        loop {
            let page = gql::data(&t.db, PAGE, json!({ "first": 25, "after": after })).await;
            rest.extend(identifiers(&page["jobs"]));
            if !page["jobs"]["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = page["jobs"]["pageInfo"]["endCursor"].clone();
        }
        // Seeded jobs spread over 180 days, so some land after the cursor too: the walk is the
        // old order with the new jobs merged in at their place, none lost, none repeated.
        let now_expected = expected(&fixtures::truth(&t.db).await, "CREATED_AT", true);
        let first_ids = identifiers(&first["jobs"]);
        let boundary = now_expected.iter().position(|id| id == first_ids.last().unwrap()).unwrap();
        let mut want = first_ids.clone();
        want.extend(now_expected[boundary + 1..].iter().cloned());
        assert_eq!(rest, want);
        let unique: std::collections::HashSet<_> = rest.iter().collect();
        assert_eq!(unique.len(), rest.len(), "no duplicates");
        assert!(before_insert.iter().all(|id| rest.contains(id)), "no job lost");
    }
}
