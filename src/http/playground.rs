//! `GET /`: the GraphiQL playground, served entirely from the binary (GraphiQL 4 and React 18
//! UMD bundles vendored under `assets/graphiql/`, see its `LICENSES.md`): browsers without
//! internet access get a working page. A history query is preloaded, and in `--demo` the demo
//! key's `Authorization` header is prefilled.

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
    fn the_page_has_both_placeholders() {
        assert_eq!(PAGE.matches("__DEFAULT_QUERY_JSON__").count(), 1);
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
