//! The dashboard's pages, embedded in the binary: a small hand-written page
//! (`web/src/`) and the charting library the build fetched (uPlot, pinned
//! by `web/package-lock.json`; see `build.rs`). Served at `/` (or `/runlog/`
//! beside MLflow's UI) and `/ui/...`;
//! nothing is fetched from anywhere else, so it works offline.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

/// The page: every view of the dashboard, routed by the URL's fragment.
const INDEX_HTML: &str = include_str!("../../web/src/index.html");
const APP_JS: &str = include_str!("../../web/src/app.js");
const NUMBERS_JS: &str = include_str!("../../web/src/numbers.js");
const FAVICON_SVG: &str = include_str!("../../web/src/favicon.svg");
const MODELS_JS: &str = include_str!("../../web/src/models.js");
const APP_CSS: &str = include_str!("../../web/src/app.css");
/// uPlot, as `npm ci` installed it (or a line saying it is missing).
const UPLOT_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/web/uplot.js"));
const UPLOT_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/web/uplot.css"));

/// The embedded file at `path`, if there is one.
pub(crate) fn asset(path: &str) -> Option<Response> {
    let (body, kind) = match path {
        "/" | "/index.html" => (INDEX_HTML, "text/html; charset=utf-8"),
        "/ui/app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "/ui/numbers.js" => (NUMBERS_JS, "text/javascript; charset=utf-8"),
        "/ui/favicon.svg" | "/favicon.ico" => (FAVICON_SVG, "image/svg+xml"),
        "/ui/models.js" => (MODELS_JS, "text/javascript; charset=utf-8"),
        "/ui/app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "/ui/uplot.js" => (UPLOT_JS, "text/javascript; charset=utf-8"),
        "/ui/uplot.css" => (UPLOT_CSS, "text/css; charset=utf-8"),
        _ => return None,
    };
    // The files change with the binary: revalidate rather than cache.
    Some(([(CONTENT_TYPE, kind), (CACHE_CONTROL, "no-cache")], body).into_response())
}

/// The dashboard's page (at `/`, or `/runlog/` beside MLflow's UI).
pub(crate) fn index() -> Response {
    asset("/").unwrap_or_else(|| axum::http::StatusCode::NOT_FOUND.into_response())
}

/// Whether the charting library was built in (npm was there at build time).
pub fn has_charts() -> bool {
    !UPLOT_JS.starts_with("window.RUNLOG_CHARTS_MISSING")
}
