//! MLflow's own web UI on `runlog server --mlflow-ui`, for teams who keep
//! the UI they know: its React build, taken from an installed `mlflow`
//! package (`mlflow/server/js/build`) or a directory given, is served at
//! `/` and `/static-files/...` as `mlflow server` serves it; runlog's
//! dashboard moves to `/runlog/`. Nothing of MLflow's is shipped with
//! runlog: the files are read from the user's own installation.

use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State as AxumState};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::extract::ErrorResponse;
use crate::{downloads, State};
use runlog::api::error::ApiError;
use runlog::{Error, Result};

/// Where the UI build sits inside the `mlflow` package.
const BUILD_IN_PACKAGE: &str = "server/js/build";

/// The UI build directory: `given` (the build itself, or an `mlflow`
/// package directory holding one), else the build of the `mlflow` package
/// that `python` (default `python3`) imports.
pub fn locate_mlflow_ui(given: Option<&Path>, python: Option<&str>) -> Result<PathBuf> {
    let candidate = match given {
        Some(dir) if dir.join("index.html").is_file() => dir.to_path_buf(),
        Some(dir) => dir.join(BUILD_IN_PACKAGE),
        None => mlflow_package(python.unwrap_or("python3"))?.join(BUILD_IN_PACKAGE),
    };
    if !candidate.join("index.html").is_file() {
        return Err(Error::InvalidArgument(format!(
            "no MLflow UI build at {} (its index.html is missing): install mlflow with pip, \
             or give the build directory: --mlflow-ui DIR",
            candidate.display()
        )));
    }
    std::fs::canonicalize(&candidate).map_err(|e| Error::io("resolve path", &candidate, e))
}

/// The directory of the `mlflow` package `python` would import (found
/// without importing it, so in well under a second).
fn mlflow_package(python: &str) -> Result<PathBuf> {
    let script = "import importlib.util as u\n\
                  s = u.find_spec('mlflow')\n\
                  print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')";
    let output = Command::new(python)
        .args(["-c", script])
        .output()
        .map_err(|e| {
            Error::InvalidArgument(format!(
                "--mlflow-ui looks for the mlflow package with {python}, which did not start \
             ({e}): give the UI build directory instead (--mlflow-ui DIR)"
            ))
        })?;
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || dir.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{python} has no mlflow package: install it (pip install mlflow) or give the UI \
             build directory (--mlflow-ui DIR)"
        )));
    }
    Ok(PathBuf::from(dir))
}

/// `GET /`: MLflow's page (revalidated on every load, as it names the
/// build's current files).
pub(crate) async fn index(AxumState(s): AxumState<Arc<State>>, headers: HeaderMap) -> Response {
    match &s.mlflow_ui {
        Some(dir) => file(dir.clone(), "index.html".into(), false, &headers).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /static-files/<path>`: a file of the build. Their names carry a
/// hash of their contents, so they may be cached for four weeks, as
/// MLflow's server lets them.
pub(crate) async fn static_file(
    AxumState(s): AxumState<Arc<State>>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    match &s.mlflow_ui {
        Some(dir) => file(dir.clone(), path, true, &headers).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The file at `path` under the build `dir`, never outside it, with an
/// entity tag (its size and modification time): a browser that has it
/// gets 304, without the body.
async fn file(dir: PathBuf, path: String, cached: bool, headers: &HeaderMap) -> Response {
    let asked = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let kind = web_type(&path);
    let read = tokio::task::spawn_blocking(move || {
        let full = inside(&dir, &path)
            .ok_or_else(|| ApiError::not_found(format!("no file {path:?} in MLflow's UI")))?;
        let meta = std::fs::metadata(&full).map_err(|e| ApiError::internal(e.to_string()))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis());
        let tag = format!("\"{:x}-{:x}\"", meta.len(), modified);
        if asked.as_deref() == Some(tag.as_str()) {
            return Ok((tag, None));
        }
        let bytes = std::fs::read(&full).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok((tag, Some(bytes)))
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(e.to_string())));
    let cache = if cached {
        "public, max-age=2419200"
    } else {
        "no-cache"
    };
    match read {
        Ok((tag, None)) => (
            StatusCode::NOT_MODIFIED,
            [(ETAG, tag), (CACHE_CONTROL, cache.to_owned())],
        )
            .into_response(),
        Ok((tag, Some(bytes))) => (
            [
                (CONTENT_TYPE, kind.to_owned()),
                (CACHE_CONTROL, cache.to_owned()),
                (ETAG, tag),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The content type a browser needs to use a file of a web build (scripts
/// must be JavaScript to run). Artifacts are typed otherwise
/// ([`downloads::content_type`]: scripts as text, never run).
fn web_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, ext)| ext);
    match ext.to_ascii_lowercase().as_str() {
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "eot" => "application/vnd.ms-fontobject",
        "wasm" => "application/wasm",
        _ => downloads::content_type(name),
    }
}

/// `dir/path` when `path` is plain names (no `..`, no root) and what it
/// names, links resolved, is a file under `dir`.
fn inside(dir: &Path, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path);
    if path.is_empty()
        || path.contains('\0')
        || path.contains('\\')
        || !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let full = std::fs::canonicalize(dir.join(relative)).ok()?;
    (full.starts_with(dir) && full.is_file()).then_some(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_outside_the_build_are_never_served() {
        let d = tempfile::tempdir().unwrap();
        let build = d.path().join("build");
        std::fs::create_dir_all(build.join("static")).unwrap();
        std::fs::write(build.join("static/a.js"), "x").unwrap();
        std::fs::write(d.path().join("secret"), "s").unwrap();
        let build = std::fs::canonicalize(&build).unwrap();
        assert!(inside(&build, "static/a.js").is_some());
        for bad in [
            "../secret",
            "static/../../secret",
            "/etc/passwd",
            "",
            "static",
            "a\\b",
            "./static/a.js",
        ] {
            assert!(inside(&build, bad).is_none(), "{bad}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(d.path().join("secret"), build.join("link")).unwrap();
            assert!(inside(&build, "link").is_none(), "a link out of the build");
        }
    }

    #[test]
    fn a_build_is_found_or_refused_clearly() {
        let d = tempfile::tempdir().unwrap();
        let err = locate_mlflow_ui(Some(d.path()), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("index.html is missing"), "{err}");
        let build = d.path().join(BUILD_IN_PACKAGE);
        std::fs::create_dir_all(&build).unwrap();
        std::fs::write(build.join("index.html"), "<html>").unwrap();
        // The package directory, or the build itself.
        let found = locate_mlflow_ui(Some(d.path()), None).unwrap();
        assert_eq!(found, std::fs::canonicalize(&build).unwrap());
        assert_eq!(locate_mlflow_ui(Some(&build), None).unwrap(), found);
        let err = locate_mlflow_ui(None, Some("/nonexistent/python")).unwrap_err();
        assert!(err.to_string().contains("did not start"), "{err}");
    }
}
