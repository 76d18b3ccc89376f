//! Files compiled into the binary and served as they are (the playground's vendored GraphiQL,
//! the dashboard's script, styles and icon): one lookup by name and one response shape for
//! every page's assets, so no page needs a CDN or a file on disk.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How long browsers may keep a file without asking again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// A day: vendored releases, which change only with their version.
    Day,
    /// Asked again every time: the project's own files, which change with the binary.
    Revalidate,
}

impl Caching {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Day => "public, max-age=86400",
            Self::Revalidate => "no-cache",
        })
    }
}

/// One file served from the binary.
#[derive(Debug)]
pub struct Asset {
    /// Its name in the URL (the last path segment).
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

/// `file` among `assets` with `caching`, or 404.
pub fn serve(assets: &[Asset], file: &str, caching: Caching) -> Response {
    match assets.iter().find(|a| a.name == file) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (header::CACHE_CONTROL, caching.header()),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

/// `Content-Type` of JavaScript.
pub const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
/// `Content-Type` of CSS.
pub const CSS: &str = "text/css; charset=utf-8";
