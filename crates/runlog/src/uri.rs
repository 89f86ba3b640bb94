//! Tracking URIs: which store a program talks to (MLflow's
//! `MLFLOW_TRACKING_URI`, default `mlruns`).

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The environment variable that names the tracking URI.
pub const TRACKING_URI_ENV: &str = "MLFLOW_TRACKING_URI";
/// The store used when no tracking URI is given.
pub const DEFAULT_TRACKING_URI: &str = "mlruns";

/// The tracking URI from `MLFLOW_TRACKING_URI`, or `mlruns`.
pub fn tracking_uri_from_env() -> String {
    std::env::var(TRACKING_URI_ENV)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_TRACKING_URI.to_owned())
}

/// Whether a tracking URI names a tracking server (`http://`, `https://`)
/// rather than a store directory.
///
/// ```
/// assert!(runlog::uri::is_server_uri("https://mlflow.example.com"));
/// assert!(!runlog::uri::is_server_uri("mlruns"));
/// ```
pub fn is_server_uri(uri: &str) -> bool {
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The store directory a tracking URI names: a plain path, or a `file:` URI
/// (`file:///abs/path`, `file:relative`). Other schemes are refused with an
/// error that says what is supported.
///
/// ```
/// use std::path::PathBuf;
/// assert_eq!(runlog::uri::store_path("mlruns")?, PathBuf::from("mlruns"));
/// assert_eq!(runlog::uri::store_path("file:///tmp/x")?, PathBuf::from("/tmp/x"));
/// assert!(runlog::uri::store_path("http://localhost:5000").is_err());
/// # Ok::<(), runlog::Error>(())
/// ```
pub fn store_path(uri: &str) -> Result<PathBuf> {
    if uri.is_empty() {
        return Err(Error::InvalidArgument("the tracking URI is empty".into()));
    }
    if let Some(rest) = uri.strip_prefix("file:") {
        let path = match rest.strip_prefix("//") {
            // file://host/path: only an empty host or localhost is local.
            Some(after) => match after.find('/') {
                Some(0) => after,
                Some(i) if &after[..i] == "localhost" => &after[i..],
                _ => {
                    return Err(Error::InvalidArgument(format!(
                    "tracking URI {uri:?} names a remote host; only local file: URIs are supported"
                )))
                }
            },
            None => rest,
        };
        if path.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "tracking URI {uri:?} has no path"
            )));
        }
        return Ok(PathBuf::from(path));
    }
    if let Some(rest) = uri.strip_prefix("runlog:") {
        // The scheme of runlog's MLflow store plugin (`import mlflow` on a
        // runlog store): the same store directory.
        let path = match rest.strip_prefix("//") {
            Some(after) if after.starts_with('/') => after,
            Some(_) => {
                return Err(Error::InvalidArgument(format!(
                    "tracking URI {uri:?} names a host: a runlog: URI names a store directory \
                     on this machine (runlog:mlruns or runlog:///abs/path)"
                )))
            }
            None => rest,
        };
        return Ok(PathBuf::from(if path.is_empty() { "mlruns" } else { path }));
    }
    if is_server_uri(uri) {
        return Err(Error::InvalidArgument(format!(
            "tracking URI {uri:?} names a tracking server, and this needs a store directory \
             (a path or a file: URI); a server is logged to with Client::new or the fluent API"
        )));
    }
    if let Some((scheme, _)) = uri.split_once("://") {
        return Err(Error::InvalidArgument(format!(
            "tracking URI scheme {scheme:?} is not supported; runlog is an embedded store: \
             use a directory path or a file: URI"
        )));
    }
    if let Some((scheme, _)) = uri.split_once(':') {
        let looks_like_scheme = scheme.len() > 1
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.');
        if looks_like_scheme {
            return Err(Error::InvalidArgument(format!(
                "tracking URI scheme {scheme:?} is not supported; runlog is an embedded store: \
                 use a directory path or a file: URI"
            )));
        }
    }
    Ok(PathBuf::from(uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runlog_uris_name_store_directories() {
        let path = |uri: &str| store_path(uri).map(|p| p.display().to_string());
        assert_eq!(path("runlog:mlruns").ok().as_deref(), Some("mlruns"));
        assert_eq!(path("runlog:").ok().as_deref(), Some("mlruns"));
        assert_eq!(path("runlog:/abs/s").ok().as_deref(), Some("/abs/s"));
        assert_eq!(path("runlog:///abs/s").ok().as_deref(), Some("/abs/s"));
        assert!(path("runlog://host/s").is_err());
        assert_eq!(path("file:///abs/s").ok().as_deref(), Some("/abs/s"));
    }
}
