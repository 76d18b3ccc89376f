//! `GET /`: the GraphiQL playground, served entirely from the binary (GraphiQL 4 and React 18
//! UMD bundles vendored under `assets/graphiql/`, see its `LICENSES.md`): browsers without
//! internet access get a working page. Two queries are preloaded in two tabs (GraphiQL 4's
//! `defaultTabs`, used when the browser has no tabs of its own stored): a history page and a
//! dashboard ([`DASHBOARD_QUERY`]); in `--demo` the demo key's `Authorization` header is
//! prefilled in both.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::assets::{self, Asset, Caching};

/// The query shown when the playground opens.
pub const DEFAULT_QUERY: &str = r#"# job-history: press the ▶ button (or Ctrl-Enter) to run.
# Explore the schema with the Docs button; filters, orders and paging are documented there.
query RecentJobs {
  jobs(first: 10, filter: { status: ALL }, orderBy: { field: CREATED_AT, direction: DESC }) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        jobIdentifier
        status
        model { name version }
        user { firstName lastName email }
        submittedBy
        createdAt
        queueTime
        elapsedTime
        total
        completed
        failed
        jobInputs { identifier status byteAmount }
      }
    }
  }
}
"#;

/// The second tab: a whole dashboard in one request.
pub const DASHBOARD_QUERY: &str = r#"# A dashboard in one request: the last 30 days by status, latency percentiles
# (within 4.8 %) and the busiest models. Try bucket: HOUR, timeZone: "America/New_York",
# groupBy: [STATUS], or a filter (the history's JobFilter).
query Dashboard {
  jobStatistics(bucket: DAY, timeZone: "UTC", groupBy: [MODEL], groupLimit: 5) {
    from
    to
    buckets {
      start
      total {
        jobs
        statuses { submitted inProgress completed canceled timedout error }
        elapsedTime { p50 p95 }
      }
    }
    groups {
      key { model { name version } other }
      figures {
        jobs
        statuses { error timedout }
        queueTime { mean p95 }
        elapsedTime { p50 p99 max }
      }
    }
    total {
      jobs
      inputs { total failed byteAmount }
      queueTime { p50 p99 }
      elapsedTime { p50 p99 }
    }
  }
}
"#;

const PAGE: &str = include_str!("../../assets/graphiql/index.html");

/// JSON string literal of `s`, safe inside a `<script>` element.
fn script_literal(s: &str) -> String {
    serde_json::to_string(s)
        .expect("strings serialize")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The page's own script and GraphiQL's inline styles need `'unsafe-inline'`; everything else
/// comes from this origin (subscriptions over ws/wss to it).
const PAGE_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self' ws: wss:; frame-ancestors 'none'";

/// The playground page.
pub async fn page(State(state): State<AppState>) -> impl IntoResponse {
    let headers = match &state.playground_key {
        Some(key) => format!("{{\n  \"Authorization\": \"ApiKey {key}\"\n}}"),
        None => String::new(),
    };
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        )],
        Html(
            PAGE.replace("__DEFAULT_QUERY_JSON__", &script_literal(DEFAULT_QUERY))
                .replace("__DASHBOARD_QUERY_JSON__", &script_literal(DASHBOARD_QUERY))
                .replace("__DEFAULT_HEADERS_JSON__", &script_literal(&headers)),
        ),
    )
}

/// The vendored files, by name.
const ASSETS: &[Asset] = &[
    Asset {
        name: "graphiql.min.js",
        content_type: assets::JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: assets::CSS,
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "react.production.min.js",
        content_type: assets::JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: assets::JAVASCRIPT,
        bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "LICENSES.md",
        content_type: "text/markdown; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/LICENSES.md"),
    },
];

/// `GET /assets/graphiql/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    assets::serve(ASSETS, &file, Caching::Day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_cannot_close_the_script() {
        assert_eq!(
            script_literal("</script>&"),
            r#""\u003c/script\u003e\u0026""#
        );
    }

    #[test]
    fn the_page_has_every_placeholder() {
        assert_eq!(PAGE.matches("__DEFAULT_QUERY_JSON__").count(), 1);
        assert_eq!(PAGE.matches("__DASHBOARD_QUERY_JSON__").count(), 1);
        assert_eq!(PAGE.matches("__DEFAULT_HEADERS_JSON__").count(), 1);
        for Asset { name, .. } in ASSETS
            .iter()
            .filter(|a| a.name.ends_with(".js") || a.name.ends_with(".css"))
        {
            assert!(
                PAGE.contains(&format!("/assets/graphiql/{name}")),
                "{name} is referenced"
            );
        }
    }
}
