//! The dashboard's pages, embedded in the binary: a small hand-written page
//! (`web/src/`) and the charting library the build fetched (uPlot, pinned
//! by `web/package-lock.json`; see `build.rs`). Served at `/` (or `/runlog/`
//! beside MLflow's UI) and `/ui/...`;
//! nothing is fetched from anywhere else, so it works offline.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

/// The page: every view of the dashboard, routed by the URL's fragment.
const INDEX_HTML: &str = include_str!("../web/src/index.html");
/// uPlot, as `npm ci` installed it (or a line saying it is missing).
const UPLOT_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/web/uplot.js"));
const UPLOT_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/web/uplot.css"));
/// The page's modules bundled into one by esbuild at build time (empty when
/// the build had no npm: the page then loads the modules one by one).
const APP_BUNDLE: &str = include_str!(concat!(env!("OUT_DIR"), "/web/app.bundle.js"));

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every file under `/ui/`: the page's ES modules (`app.js` imports the
/// rest), its style, its icon and uPlot.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", include_str!("../web/src/app.js"), JS),
    ("api.js", include_str!("../web/src/api.js"), JS),
    (
        "chart-data.js",
        include_str!("../web/src/chart-data.js"),
        JS,
    ),
    (
        "chart-export.js",
        include_str!("../web/src/chart-export.js"),
        JS,
    ),
    (
        "chart-view.js",
        include_str!("../web/src/chart-view.js"),
        JS,
    ),
    ("charts.js", include_str!("../web/src/charts.js"), JS),
    ("compare.js", include_str!("../web/src/compare.js"), JS),
    ("dom.js", include_str!("../web/src/dom.js"), JS),
    ("edit.js", include_str!("../web/src/edit.js"), JS),
    ("entities.js", include_str!("../web/src/entities.js"), JS),
    (
        "experiments.js",
        include_str!("../web/src/experiments.js"),
        JS,
    ),
    ("models.js", include_str!("../web/src/models.js"), JS),
    ("numbers.js", include_str!("../web/src/numbers.js"), JS),
    ("parallel.js", include_str!("../web/src/parallel.js"), JS),
    ("router.js", include_str!("../web/src/router.js"), JS),
    ("run.js", include_str!("../web/src/run.js"), JS),
    ("runs.js", include_str!("../web/src/runs.js"), JS),
    (
        "runs-table.js",
        include_str!("../web/src/runs-table.js"),
        JS,
    ),
    ("scatter.js", include_str!("../web/src/scatter.js"), JS),
    ("sweep.js", include_str!("../web/src/sweep.js"), JS),
    (
        "sweep-scales.js",
        include_str!("../web/src/sweep-scales.js"),
        JS,
    ),
    ("app.css", include_str!("../web/src/app.css"), CSS),
    (
        "favicon.svg",
        include_str!("../web/src/favicon.svg"),
        "image/svg+xml",
    ),
    ("app.bundle.js", APP_BUNDLE, JS),
    ("uplot.js", UPLOT_JS, JS),
    ("uplot.css", UPLOT_CSS, CSS),
];

/// The embedded file at `path`, if there is one. Under `/ui/<version>/`
/// (the addresses the page uses, `<version>` a hash of every embedded
/// file) a file is cached for good: a new build has new addresses. Under
/// `/ui/` alone, or an old build's version, it is revalidated each time.
pub(crate) fn asset(path: &str) -> Option<Response> {
    const FOR_GOOD: &str = "public, max-age=31536000, immutable";
    let (body, kind, cache): (&str, &str, &str) = match path {
        "/" | "/index.html" => (versioned_index(), "text/html; charset=utf-8", "no-cache"),
        "/favicon.ico" => {
            let (body, kind) = embedded("favicon.svg")?;
            (body, kind, "no-cache")
        }
        _ => {
            let rest = path.strip_prefix("/ui/")?;
            match rest.split_once('/') {
                Some((version, name)) => {
                    let (body, kind) = embedded(name)?;
                    let cache = if version == build_version() {
                        FOR_GOOD
                    } else {
                        "no-cache"
                    };
                    (body, kind, cache)
                }
                None => {
                    let (body, kind) = embedded(rest)?;
                    (body, kind, "no-cache")
                }
            }
        }
    };
    Some(([(CONTENT_TYPE, kind), (CACHE_CONTROL, cache)], body).into_response())
}

/// The body and media type of the file `name` under `/ui/`.
fn embedded(name: &str) -> Option<(&'static str, &'static str)> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, body, kind)| (body, kind))
}

/// A hash of every embedded file (FNV-1a, 64 bits, in hex): the version
/// in the page's addresses of its files.
fn build_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in std::iter::once(INDEX_HTML)
            .chain(ASSETS.iter().map(|(_, body, _)| *body))
            .flat_map(str::bytes)
        {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    })
}

/// The page with its files' addresses under `/ui/<version>/`: the
/// browser keeps them between visits, and the modules they import (by
/// relative address) are under the same version.
fn versioned_index() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| {
        let page = if APP_BUNDLE.is_empty() {
            INDEX_HTML.to_owned()
        } else {
            // One file instead of the modules (the same code): a request
            // and a parse instead of twenty.
            INDEX_HTML
                .lines()
                .filter(|line| !line.contains("modulepreload") && !line.contains("Every module"))
                .map(|line| line.replace("/ui/app.js", "/ui/app.bundle.js") + "\n")
                .collect()
        };
        page.replace("\"/ui/", &format!("\"/ui/{}/", build_version()))
    })
}

/// Whether the page loads the build's bundle of its modules.
pub fn is_bundled() -> bool {
    !APP_BUNDLE.is_empty()
}

/// The dashboard's page (at `/`, or `/runlog/` beside MLflow's UI).
pub(crate) fn index() -> Response {
    asset("/").unwrap_or_else(|| axum::http::StatusCode::NOT_FOUND.into_response())
}

/// Whether the charting library was built in (npm was there at build time).
pub fn has_charts() -> bool {
    !UPLOT_JS.starts_with("window.RUNLOG_CHARTS_MISSING")
}
