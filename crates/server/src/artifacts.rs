//! The `mlflow-artifacts` API: list (`GET artifacts?path=`), download
//! (`GET artifacts/<path>`), upload (`PUT artifacts/<path>`, the raw body
//! streamed to disk) and delete (`DELETE artifacts/<path>`) under the served
//! artifact root. No path leaves
//! the root: `..`, `.`, empty and absolute components, backslashes and NUL
//! are refused after percent-decoding, and a symbolic link on the way out
//! of the root is refused on read and on write.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State as AxumState;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::extract::Msg;
use crate::extract::{ErrorReply, ErrorResponse};
use crate::State;
use runlog::api::error::ApiError;
use runlog::api::message::required_str;
use runlog::api::request::percent_decode;
use runlog::api::{relative_path, UPLOADS_DIR};

/// The file or directory `rel` under `root`, refused when a symbolic link
/// takes it out of the root.
fn inside(root: &Path, rel: &Path) -> Result<PathBuf, ApiError> {
    let full = root.join(rel);
    match std::fs::canonicalize(&full) {
        Ok(real) if real.starts_with(root) => Ok(real),
        Ok(_) => Err(out_of_root(rel)),
        Err(e) if e.raw_os_error() == Some(libc::ENAMETOOLONG) => {
            Err(client_or_server("read", rel, e))
        }
        Err(_) => Err(ApiError::not_found(format!(
            "no artifact at {:?}",
            rel.display()
        ))),
    }
}

/// `mlflow-artifacts`' listing message: the directory, from the root.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListMsg {
    path: Option<String>,
}

/// The served artifact root, or 503 when artifacts are not served.
fn served_root(state: &State) -> Result<PathBuf, ApiError> {
    state
        .api
        .artifact_root()
        .map(Path::to_path_buf)
        .ok_or_else(|| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
            code: "FEATURE_DISABLED",
            message: "this server does not serve artifacts (started with --no-serve-artifacts)"
                .into(),
        })
}

/// `GET mlflow-artifacts/artifacts?path=`: a directory's listing.
pub async fn list_route(
    AxumState(state): AxumState<Arc<State>>,
    Msg(m): Msg<ListMsg>,
) -> Result<Response, ErrorReply> {
    let root = served_root(&state)?;
    let rel = relative_path(m.path.as_deref().unwrap_or(""))?;
    Ok(crate::blocking(move || list(&root, &rel))
        .await
        .map(|v| axum::Json(v).into_response())?)
}

/// `GET`, `PUT` or `DELETE mlflow-artifacts/artifacts/<path>`: download,
/// upload (the body streamed to disk), delete. The path is read from the
/// request's own (percent-encoded) path, then decoded and checked here.
pub async fn file_route(
    AxumState(state): AxumState<Arc<State>>,
    method: Method,
    uri: Uri,
    body: Body,
) -> Response {
    let target = served_root(&state).and_then(|root| {
        let path = uri
            .path()
            .split_once("/artifacts/")
            .map_or("", |(_, rest)| rest);
        if path.is_empty() {
            return Ok((root, None)); // `artifacts/`: the root's listing
        }
        let rel = relative_path(&percent_decode(path)?)?;
        Ok((root, Some(rel)))
    });
    let (root, rel) = match target {
        Ok(target) => target,
        Err(e) => {
            crate::drain(body).await;
            return e.into_response();
        }
    };
    let answer = match (method, rel) {
        (Method::PUT, Some(rel)) => upload(&root, &rel, body).await,
        (method, rel) => {
            crate::drain(body).await;
            match (method, rel) {
                (Method::GET | Method::HEAD, None) => {
                    crate::blocking(move || list(&root, Path::new("")))
                        .await
                        .map(|v| axum::Json(v).into_response())
                }
                (method, None) => Err(ApiError::wrong_method(method.as_str(), "artifacts", "GET")),
                (Method::DELETE, Some(rel)) => delete(&root, &rel).await,
                (_, Some(rel)) => {
                    let name = rel
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    download(&root, &rel)
                        .await
                        .map(|r| crate::downloads::as_attachment(r, &name))
                }
            }
        }
    };
    answer.unwrap_or_else(ErrorResponse::into_response)
}

/// `{"files": [{"path", "is_dir", "file_size"}]}` of a directory (names,
/// as MLflow lists them); a missing directory lists nothing.
fn list(root: &Path, rel: &Path) -> Result<Value, ApiError> {
    let dir = match inside(root, rel) {
        Ok(dir) => dir,
        Err(e) if e.status == StatusCode::NOT_FOUND.as_u16() => return Ok(json!({})),
        Err(e) => return Err(e),
    };
    if !dir.is_dir() {
        return Ok(json!({}));
    }
    let entries = std::fs::read_dir(&dir).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == UPLOADS_DIR {
            continue;
        }
        // A link is listed only when it stays inside the root: a name or
        // size of a file elsewhere is not the client's to see.
        match std::fs::canonicalize(entry.path()) {
            Ok(real) if real.starts_with(root) => {}
            _ => continue,
        }
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue; // a dangling link
        };
        let mut f = json!({"path": name, "is_dir": meta.is_dir()});
        if meta.is_file() {
            f["file_size"] = Value::from(meta.len());
        }
        files.push(f);
    }
    files.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    if files.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({"files": files}))
}

/// The dashboard's artifact requests' message: a run and a path in its
/// artifacts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunArtifact {
    run_id: Option<String>,
    path: Option<String>,
}

/// `GET runlog/artifacts?run_id=&path=` (see [`run_artifacts`]).
pub async fn run_artifacts_list(
    AxumState(state): AxumState<Arc<State>>,
    Msg(m): Msg<RunArtifact>,
) -> Response {
    run_artifacts(state, m, false).await
}

/// `GET runlog/artifact?run_id=&path=` (see [`run_artifacts`]).
pub async fn run_artifact_file(
    AxumState(state): AxumState<Arc<State>>,
    Msg(m): Msg<RunArtifact>,
) -> Response {
    run_artifacts(state, m, true).await
}

/// The dashboard's view of one run's artifacts (the run's own artifact
/// root, wherever its experiment keeps it): `GET runlog/artifacts?run_id=
/// &path=` lists a directory as `mlflow-artifacts` does, `GET
/// runlog/artifact?run_id=&path=` sends a file, typed by its extension so
/// that a browser shows text and images inline; a sandboxing policy keeps
/// an artifact (an SVG, an HTML file sent as text) from running scripts.
pub async fn run_artifacts(state: Arc<State>, m: RunArtifact, file: bool) -> Response {
    let answer = async {
        let run_id = required_str("run_id", &m.run_id)?.to_owned();
        let rel = relative_path(m.path.as_deref().unwrap_or(""))?;
        let client_state = Arc::clone(&state);
        let root = crate::blocking(move || {
            let root = client_state.api.client().artifact_root(&run_id)?;
            Ok(std::fs::canonicalize(&root).ok())
        })
        .await?;
        let Some(root) = root else {
            // Nothing logged yet: an empty root.
            return match file {
                true => Err(ApiError::not_found(format!(
                    "no artifact at {:?}",
                    rel.display()
                ))),
                false => Ok(axum::Json(json!({})).into_response()),
            };
        };
        if !file {
            return list(&root, &rel).map(|v| axum::Json(v).into_response());
        }
        let kind = content_type(&rel);
        let mut response = download(&root, &rel).await?;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(
                "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
            ),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            header::HeaderValue::from_static("nosniff"),
        );
        Ok(response)
    };
    match answer.await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// `upload-artifact`'s query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UploadArtifact {
    run_uuid: Option<String>,
    path: Option<String>,
}

/// The largest file `upload-artifact` takes (MLflow's limit).
const MAX_UI_UPLOAD: usize = 10 << 20;

/// `POST upload-artifact?run_uuid=&path=`, the body the file: what MLflow's
/// UI uploads into a run's artifacts (up to 10 MB), written as the
/// `mlflow-artifacts` API writes (whole or not at all, never out of the
/// run's root). Answers 200 with an empty body, as MLflow's server does.
pub async fn upload_artifact(
    AxumState(state): AxumState<Arc<State>>,
    uri: Uri,
    body: Body,
) -> Response {
    let checked = (|| {
        let m: UploadArtifact = runlog::api::message::from_query(uri.query().unwrap_or(""))?;
        let run_id = m
            .run_uuid
            .filter(|r| !r.is_empty())
            .ok_or_else(|| ApiError::invalid("Request must specify run_uuid."))?;
        let path = m
            .path
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ApiError::invalid("Request must specify path."))?;
        Ok::<_, ApiError>((run_id, relative_path(&path)?))
    })();
    let (run_id, rel) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            crate::drain(body).await;
            return e.into_response();
        }
    };
    let answer = async {
        let bytes = match crate::read_body(body, MAX_UI_UPLOAD).await {
            Ok(bytes) => bytes,
            Err(crate::BodyError::TooLarge) => {
                return Err(ApiError::invalid(
                    "Artifact size is too large. Max size is 10MB.",
                ))
            }
            Err(crate::BodyError::CutShort) => {
                return Err(ApiError::bad_request("the upload was cut short"))
            }
        };
        if bytes.is_empty() {
            return Err(ApiError::invalid("Request must specify data."));
        }
        let client_state = Arc::clone(&state);
        let root = crate::blocking(move || {
            let root = client_state.api.client().artifact_root(&run_id)?;
            std::fs::create_dir_all(&root)
                .map_err(|e| ApiError::internal(format!("create {}: {e}", root.display())))?;
            std::fs::canonicalize(&root)
                .map_err(|e| ApiError::internal(format!("resolve {}: {e}", root.display())))
        })
        .await?;
        upload(&root, &rel, Body::from(bytes)).await?;
        Ok(([(header::CONTENT_TYPE, "application/json")], "").into_response())
    };
    match answer.await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// How a browser should show an artifact: text, an image, or bytes to save.
fn content_type(rel: &Path) -> &'static str {
    let ext = rel
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "txt" | "log" | "md" | "csv" | "tsv" | "yaml" | "yml" | "toml" | "py" | "sh" | "cfg"
        | "ini" | "html" | "htm" | "xml" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A file under the root, streamed (its type and disposition are the
/// caller's: MLflow's attachment headers, or the dashboard's inline view).
pub(crate) async fn download(root: &Path, rel: &Path) -> Result<Response, ApiError> {
    let file_path = inside(root, rel)?;
    if !file_path.is_file() {
        return Err(ApiError::not_found(format!(
            "no artifact file at {:?}",
            rel.display()
        )));
    }
    let file = tokio::fs::File::open(&file_path)
        .await
        .map_err(|e| ApiError::internal(format!("open {}: {e}", file_path.display())))?;
    let len = file.metadata().await.map(|m| m.len()).ok();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut response = ([(header::CONTENT_TYPE, "application/octet-stream")], body).into_response();
    if let Some(len) = len {
        if let Ok(v) = header::HeaderValue::from_str(&len.to_string()) {
            response.headers_mut().insert(header::CONTENT_LENGTH, v);
        }
    }
    Ok(response)
}

/// Deletes a file or a directory (with what it holds) under the root.
async fn delete(root: &Path, rel: &Path) -> Result<Response, ApiError> {
    let target = root.join(rel);
    let meta = tokio::fs::symlink_metadata(&target)
        .await
        .map_err(|_| ApiError::not_found(format!("no artifact at {:?}", rel.display())))?;
    // The directory holding it must be inside the root once links are
    // resolved; a link itself is removed, never followed.
    if let Some(parent) = rel.parent() {
        inside(root, parent)?;
    }
    let removed = if meta.is_dir() {
        tokio::fs::remove_dir_all(&target).await
    } else {
        tokio::fs::remove_file(&target).await
    };
    removed.map_err(|e| ApiError::internal(format!("delete {}: {e}", target.display())))?;
    Ok(axum::Json(json!({})).into_response())
}

/// Streams the body into a file under [`UPLOADS_DIR`], then renames it
/// over the target: a reader never sees half an upload. The path is
/// checked before anything is created: every directory on the way that
/// exists must be a directory inside the root (links resolved), so a link
/// out of the root never gets a directory made through it.
async fn upload(root: &Path, rel: &Path, body: Body) -> Result<Response, ApiError> {
    let target = root.join(rel);
    let parent_rel = rel
        .parent()
        .ok_or_else(|| ApiError::invalid("an artifact path is needed"))?
        .to_owned();
    let (check_root, check_rel) = (root.to_owned(), parent_rel.clone());
    tokio::task::spawn_blocking(move || contained(&check_root, &check_rel))
        .await
        .unwrap_or_else(|e| Err(ApiError::internal(e.to_string())))?;
    let parent = root.join(&parent_rel);
    tokio::fs::create_dir_all(&parent)
        .await
        .map_err(|e| client_or_server("create", &parent_rel, e))?;
    // The directory must still be inside the root once links are resolved
    // (a link swapped in meanwhile).
    let real_parent = tokio::fs::canonicalize(&parent)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if !real_parent.starts_with(root) {
        return Err(out_of_root(rel));
    }
    if let Ok(meta) = tokio::fs::symlink_metadata(&target).await {
        if meta.file_type().is_symlink() || meta.is_dir() {
            return Err(ApiError::invalid(format!(
                "Invalid artifact path {:?}: a directory or a link is there",
                rel.display()
            )));
        }
    }
    let name = target
        .file_name()
        .map(|n| n.to_owned())
        .ok_or_else(|| ApiError::invalid("an artifact path is needed"))?;
    let uploads = root.join(UPLOADS_DIR);
    tokio::fs::create_dir_all(&uploads)
        .await
        .map_err(|e| ApiError::internal(format!("create {}: {e}", uploads.display())))?;
    // Unique per upload: two uploads of one path never share a file.
    static UPLOADS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = UPLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = uploads.join(format!("{}.{n}", std::process::id()));
    let result = async {
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| ApiError::internal(format!("create {}: {e}", tmp.display())))?;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| ApiError::bad_request(format!("the upload was cut short: {e}")))?;
            file.write_all(&chunk)
                .await
                .map_err(|e| ApiError::internal(format!("write {}: {e}", tmp.display())))?;
        }
        file.sync_all()
            .await
            .map_err(|e| ApiError::internal(format!("fsync {}: {e}", tmp.display())))?;
        tokio::fs::rename(&tmp, real_parent.join(&name))
            .await
            .map_err(|e| client_or_server("write", rel, e))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result?;
    Ok(axum::Json(json!({})).into_response())
}

/// Checks, creating nothing, that each existing directory of `rel` under
/// `root` is a directory inside the root.
fn contained(root: &Path, rel: &Path) -> Result<(), ApiError> {
    let mut at = root.to_owned();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(client_or_server("check", rel, e)),
            Ok(meta) if meta.file_type().is_symlink() => match std::fs::canonicalize(&at) {
                Ok(real) if real.starts_with(root) && real.is_dir() => {}
                Ok(real) if real.starts_with(root) => return Err(not_a_directory(rel)),
                _ => return Err(out_of_root(rel)),
            },
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(not_a_directory(rel)),
        }
    }
    Ok(())
}

fn out_of_root(rel: &Path) -> ApiError {
    ApiError::invalid(format!(
        "Invalid artifact path {:?}: it leads out of the artifact root",
        rel.display()
    ))
}

fn not_a_directory(rel: &Path) -> ApiError {
    ApiError::invalid(format!(
        "Invalid artifact path {:?}: a file is where a directory would be",
        rel.display()
    ))
}

/// An I/O error of a client's path: its own mistake (a name too long, a
/// file used as a directory) is a 400, anything else the server's 500.
fn client_or_server(op: &str, rel: &Path, e: std::io::Error) -> ApiError {
    match e.raw_os_error() {
        Some(libc::ENAMETOOLONG) => ApiError::invalid(format!(
            "Invalid artifact path {:?}: a name or the whole path is too long",
            rel.display()
        )),
        Some(libc::ENOTDIR) | Some(libc::EEXIST) => not_a_directory(rel),
        Some(libc::EISDIR) => ApiError::invalid(format!(
            "Invalid artifact path {:?}: a directory is there",
            rel.display()
        )),
        _ => ApiError::internal(format!("{op} {}: {e}", rel.display())),
    }
}
