//! `GET /dashboard`: a small dashboard page (job counts per bucket by status, latency
//! percentiles, a per-model table, totals, live through `jobStatisticsUpdated`) served from the
//! binary with its script, styles and icon under `/assets/dashboard/` (`assets/dashboard/`).
//! It is a web frontend of the GraphQL API and nothing more: every figure comes from
//! `POST /graphql` and `/graphql/ws` with the key the user enters. No inline script or style,
//! so its Content-Security-Policy allows this origin only; under `--demo` the demo key is
//! put in a `<meta>` element for the script to use.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::assets::{self, Asset, Caching};

const PAGE: &str = include_str!("../../assets/dashboard/index.html");

/// Where the page holds the demo key (an attribute value).
const DEMO_KEY_SLOT: &str = "__DEMO_KEY__";

/// Scripts, styles, the icon and connections (`'self'` covers same-origin `ws:`/`wss:` in
/// current browsers; one that disagrees gets no socket and the page polls) from this origin
/// only; no forms submitted anywhere, no `<base>`, no framing.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The page's files, by name.
const ASSETS: &[Asset] = &[
    Asset {
        name: "dashboard.js",
        content_type: assets::JAVASCRIPT,
        bytes: include_bytes!("../../assets/dashboard/dashboard.js"),
    },
    Asset {
        name: "dashboard.css",
        content_type: assets::CSS,
        bytes: include_bytes!("../../assets/dashboard/dashboard.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../assets/dashboard/favicon.svg"),
    },
];

/// `s` escaped for a double-quoted HTML attribute.
fn attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The dashboard page.
pub async fn page(State(state): State<AppState>) -> impl IntoResponse {
    let key = state.playground_key.as_deref().unwrap_or_default();
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_CSP),
        )],
        Html(PAGE.replace(DEMO_KEY_SLOT, &attribute(key))),
    )
}

/// `GET /assets/dashboard/{file}`: the project's own files, asked again on every load so a new
/// binary's page never runs an old script.
pub async fn asset(Path(file): Path<String>) -> Response {
    assets::serve(ASSETS, &file, Caching::Revalidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_cannot_be_closed() {
        assert_eq!(attribute(r#""><x>&"#), "&quot;&gt;&lt;x&gt;&amp;");
    }

    #[test]
    fn the_page_references_every_asset_and_has_one_key_slot() {
        assert_eq!(PAGE.matches(DEMO_KEY_SLOT).count(), 1);
        for asset in ASSETS {
            assert!(
                PAGE.contains(&format!("/assets/dashboard/{}", asset.name)),
                "{} is referenced",
                asset.name
            );
        }
    }
}
