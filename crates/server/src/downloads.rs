//! Artifact downloads as MLflow's server sends them: always as an
//! attachment (`Content-Disposition: attachment; filename=...`, so that a
//! browser never shows an artifact on the server's own origin), a
//! `Content-Type` guessed from the file name whatever the request's
//! `Accept` says, and `X-Content-Type-Options: nosniff`. Also the two
//! download routes MLflow's UI uses: `/get-artifact` (a run's file) and
//! `/model-versions/get-artifact` (a registered version's).

use std::sync::Arc;

use axum::extract::State as AxumState;
use axum::http::header::{self, HeaderValue};
use axum::response::Response;
use serde::Deserialize;

use crate::artifacts::download;
use crate::extract::ErrorResponse;
use crate::extract::Msg;
use crate::State;
use runlog::api::error::ApiError;
use runlog::api::message::{required, required_str, Int};
use runlog::api::relative_path;

/// Extensions (or whole names, for files without one) MLflow sends as
/// `text/plain`.
const TEXT: &[&str] = &[
    "txt",
    "log",
    "err",
    "cfg",
    "conf",
    "cnf",
    "cf",
    "ini",
    "properties",
    "prop",
    "hocon",
    "toml",
    "yaml",
    "yml",
    "xml",
    "json",
    "js",
    "py",
    "py3",
    "csv",
    "tsv",
    "md",
    "rst",
    "ipynb",
    "MLmodel",
    "MLproject",
];

/// The content type MLflow's server gives a file of this name.
pub fn content_type(name: &str) -> &'static str {
    let ext = match name.rsplit_once('.') {
        Some((_, ext)) => ext,
        None => name,
    };
    if TEXT.contains(&ext) {
        return "text/plain";
    }
    match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "tif" | "tiff" => "image/tiff",
        "ico" => "image/vnd.microsoft.icon",
        "pdf" => "application/pdf",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "gz" => "application/gzip",
        "zip" => "application/zip",
        "tar" => "application/x-tar",
        "mp4" => "video/mp4",
        "wav" => "audio/x-wav",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// `attachment; filename=<name>`, quoted when the name is not a token;
/// a name that is not ASCII also gets RFC 5987's `filename*=UTF-8''...`.
pub fn content_disposition(name: &str) -> String {
    if name.is_ascii() {
        return format!("attachment; filename={}", header_value(name));
    }
    // MLflow's fallback: the name decomposed (NFKD) with what is not
    // ASCII dropped, so that `é` becomes `e`; the Latin letters with
    // diacritics fold to their base letter here.
    let fallback: String = name.chars().filter_map(ascii_fold).collect();
    let fallback = if fallback.is_empty() {
        "download".to_owned()
    } else {
        fallback
    };
    let mut quoted = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            quoted.push(b as char);
        } else {
            quoted.push_str(&format!("%{b:02X}"));
        }
    }
    format!(
        "attachment; filename={}; filename*=UTF-8''{quoted}",
        header_value(&fallback)
    )
}

/// A character's ASCII base letter (Latin-1's letters with diacritics),
/// itself when ASCII, else nothing.
fn ascii_fold(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    const FOLDS: &[(&str, char)] = &[
        ("ÀÁÂÃÄÅ", 'A'),
        ("àáâãäå", 'a'),
        ("Ç", 'C'),
        ("ç", 'c'),
        ("ÈÉÊË", 'E'),
        ("èéêë", 'e'),
        ("ÌÍÎÏ", 'I'),
        ("ìíîï", 'i'),
        ("Ñ", 'N'),
        ("ñ", 'n'),
        ("ÒÓÔÕÖ", 'O'),
        ("òóôõö", 'o'),
        ("ÙÚÛÜ", 'U'),
        ("ùúûü", 'u'),
        ("Ý", 'Y'),
        ("ýÿ", 'y'),
    ];
    FOLDS
        .iter()
        .find(|(from, _)| from.contains(c))
        .map(|(_, to)| *to)
}

/// A header parameter value: as is when it is a token, else quoted.
fn header_value(value: &str) -> String {
    let token = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if token {
        value.to_owned()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Sets MLflow's download headers on a file's answer.
pub fn as_attachment(mut response: Response, name: &str) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `/get-artifact`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GetArtifact {
    run_id: Option<String>,
    run_uuid: Option<String>,
    path: Option<String>,
}

/// `GET /get-artifact?run_id=&path=`: one file of a run's artifacts.
pub async fn run_file(
    AxumState(state): AxumState<Arc<State>>,
    Msg(m): Msg<GetArtifact>,
) -> Response {
    let answer = async {
        let run_id = runlog::api::runs::run_id(&m.run_id, &m.run_uuid)?.to_owned();
        let path = required_str("path", &m.path)?.to_owned();
        let s = Arc::clone(&state);
        let root = crate::blocking(move || Ok(s.api.client().artifact_root(&run_id)?)).await?;
        send(&root, &path).await
    };
    answer.await.unwrap_or_else(ErrorResponse::into_response)
}

/// `/model-versions/get-artifact`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GetVersionArtifact {
    name: Option<String>,
    version: Option<Int>,
    path: Option<String>,
}

/// `GET /model-versions/get-artifact?name=&version=&path=`: one file of a
/// registered version.
pub async fn version_file(
    AxumState(state): AxumState<Arc<State>>,
    Msg(m): Msg<GetVersionArtifact>,
) -> Response {
    let answer = async {
        let name = required_str("name", &m.name)?.to_owned();
        let version = required("version", &m.version)?.0;
        let path = required_str("path", &m.path)?.to_owned();
        let s = Arc::clone(&state);
        let location = crate::blocking(move || {
            Ok(s.api
                .client()
                .get_model_version(&name, version)?
                .storage_location)
        })
        .await?;
        let root = runlog::uri::store_path(&location).map_err(|_| {
            ApiError::invalid(format!(
                "the version's files are not on this server's file system ({location})"
            ))
        })?;
        send(&root, &path).await
    };
    answer.await.unwrap_or_else(ErrorResponse::into_response)
}

/// A file under `root` as an attachment; MLflow's "Invalid path" for a
/// path that would leave it.
async fn send(root: &std::path::Path, path: &str) -> Result<Response, ApiError> {
    let rel = relative_path(path).map_err(|_| ApiError::invalid("Invalid path"))?;
    let root = std::fs::canonicalize(root)
        .map_err(|_| ApiError::not_found(format!("no artifact at {path:?}")))?;
    let response = download(&root, &rel).await?;
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(as_attachment(response, &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_as_mlflows_server_sends_them() {
        assert_eq!(content_type("MLmodel"), "text/plain");
        assert_eq!(content_type("conda.yaml"), "text/plain");
        assert_eq!(content_type("plot.png"), "image/png");
        assert_eq!(content_type("report.pdf"), "application/pdf");
        assert_eq!(content_type("model.pkl"), "application/octet-stream");
        assert_eq!(
            content_disposition("model.pkl"),
            "attachment; filename=model.pkl"
        );
        assert_eq!(
            content_disposition("my model.pkl"),
            "attachment; filename=\"my model.pkl\""
        );
        assert_eq!(
            content_disposition("données.csv"),
            "attachment; filename=donnees.csv; filename*=UTF-8''donn%C3%A9es.csv"
        );
    }
}
