//! `GET /dashboard` and its assets through the real router: status codes, media types, the
//! page's own Content-Security-Policy (this origin only, no inline script or style), the
//! security headers every response carries, caching, and that nothing the page loads comes
//! from elsewhere. What the page shows is tested in headless Chromium against a real server
//! (`tests/browser/dashboard.spec.mjs`, run by `scripts/e2e`). The page reads no table, so
//! these tests run on SQLite only.

mod common;

use axum::http::StatusCode;
use common::TestDb;
use common::http::{Reply, app, get};
use job_history::http::{self, AppState, HttpConfig, dashboard};

/// The header `name` of `r`, which must be there.
fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// Fails when `text` names another origin: every `://` in it must be the SVG namespace or
/// the script's `${location.host}` (its own origin's websocket).
fn assert_same_origin_only(what: &str, text: &str) {
    let text = text.replace("http://www.w3.org/2000/svg", "");
    for (i, _) in text.match_indices("://") {
        let line_start = text[..i].rfind('\n').map_or(0, |n| n + 1);
        let line_end = text[i..].find('\n').map_or(text.len(), |n| i + n);
        assert!(
            text[i + 3..].starts_with("${location.host}"),
            "{what} names another origin: {}",
            &text[line_start..line_end]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_served_from_the_binary_with_a_strict_policy() {
    let t = TestDb::sqlite().await;
    let r = get(app(&t.db, HttpConfig::default()), "/dashboard").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "text/html; charset=utf-8");

    // The page's own policy: every source is this origin or nothing, nothing inline.
    let csp = header(&r, "content-security-policy");
    assert_eq!(csp, dashboard::PAGE_CSP);
    for directive in csp.split(';') {
        let mut words = directive.split_whitespace();
        let name = words.next().unwrap();
        for source in words {
            assert!(
                ["'self'", "'none'"].contains(&source),
                "{name} allows {source}"
            );
        }
    }
    for name in [
        "default-src",
        "script-src",
        "style-src",
        "connect-src",
        "form-action",
    ] {
        assert!(csp.contains(&format!("{name} ")), "{name} is set");
    }
    // The headers every response carries are still there.
    assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    assert_eq!(header(&r, "x-frame-options"), "DENY");
    assert_eq!(header(&r, "referrer-policy"), "no-referrer");

    let page = r.text();
    assert_eq!(
        page.matches("<script").count(),
        page.matches("<script src=\"/assets/dashboard/").count(),
        "every script is a file of this origin"
    );
    assert!(
        !page.contains("<style") && !page.contains(" style="),
        "no inline style"
    );
    assert!(
        page.contains(r#"<meta name="job-history-demo-key" content="" />"#),
        "no demo key without --demo"
    );
    assert_same_origin_only("the page", &page);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_assets_answer_with_their_types() {
    let t = TestDb::sqlite().await;
    let page = get(app(&t.db, HttpConfig::default()), "/dashboard")
        .await
        .text();
    for (name, content_type) in [
        ("dashboard.js", "text/javascript; charset=utf-8"),
        ("dashboard.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let path = format!("/assets/dashboard/{name}");
        assert!(page.contains(&path), "the page loads {path}");
        let r = get(app(&t.db, HttpConfig::default()), &path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.content_type(), content_type, "{path}");
        // A new binary's page must never run an old script: browsers ask again each time.
        assert_eq!(header(&r, "cache-control"), "no-cache", "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert!(!r.bytes.is_empty(), "{path}");
        assert_same_origin_only(&path, &r.text());
    }
    for missing in [
        "/assets/dashboard/nope.js",
        "/assets/dashboard/..%2Findex.html",
        "/assets/dashboard/graphiql.min.js",
        "/dashboard/",
    ] {
        let r = get(app(&t.db, HttpConfig::default()), missing).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{missing}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_key_is_given_to_the_dashboard_escaped() {
    let t = TestDb::sqlite().await;
    let mut state = AppState::new(t.db.clone(), HttpConfig::default());
    state.playground_key = Some(r#"ABC.d"e<f"#.into());
    let page = get(http::router(state), "/dashboard").await.text();
    assert!(
        page.contains(r#"<meta name="job-history-demo-key" content="ABC.d&quot;e&lt;f" />"#),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_links_to_the_dashboard() {
    let t = TestDb::sqlite().await;
    let page = get(app(&t.db, HttpConfig::default()), "/").await.text();
    assert!(
        page.contains("'/dashboard'"),
        "the playground links to /dashboard"
    );
}
