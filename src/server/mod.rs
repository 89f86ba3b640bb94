//! `runlog server`: MLflow's tracking REST API over a runlog store, so that
//! MLflow's own clients (Python, R, Java, the UI's calls) log into and read
//! from runlog unchanged.
//!
//! Every endpoint lives under `/api/2.0/mlflow/` and identically under
//! `/ajax-api/2.0/mlflow/`; bodies are the JSON form of MLflow's
//! `service.proto` messages, errors MLflow's `{"error_code", "message"}`.
//! Store work runs on tokio's blocking threads; a write answers 200 only
//! after the store has flushed it (concurrent requests share one fsync), so
//! a killed server loses no acknowledged write.
//!
//! The dashboard is served beside it: its page at `/` (`dashboard.rs`) and
//! its own endpoints under `/ajax-api/2.0/runlog/` (`ui.rs`; `follow.rs`,
//! new points as server-sent events; run artifacts in `artifacts.rs`).
//!
//! ```no_run
//! # fn main() -> runlog::Result<()> {
//! let server = runlog::server::Server::bind(runlog::server::ServerOptions::new("mlruns"))?;
//! println!("listening on http://{}", server.local_addr());
//! server.run_until_signal()?; // SIGINT or SIGTERM: finish requests in flight, flush, return
//! # Ok(()) }
//! ```

mod artifacts;
mod auth;
mod connections;
mod dashboard;
mod error;
mod experiments;
mod follow;
mod metrics;
mod request;
mod runs;
mod security;
mod ui;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

pub use auth::AuthOptions;
pub use auth::Permission;
pub use connections::{default_max_connections, raise_fd_limit, Limits, TlsFiles};
pub use dashboard::has_charts;
pub use error::ApiError;
pub use request::Fields;
pub use security::BrowserSecurity;

use crate::error::{Error, Result};
use crate::tracking::{mlflow_json, Client, Experiment, Run, ViewType};

/// How a server runs: `mlflow server`'s options where they apply.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The store (a directory or `file:` URI).
    pub tracking_uri: String,
    /// Address to listen on (default `127.0.0.1`: loopback only).
    pub host: String,
    /// Port (default 5000; 0 picks a free one).
    pub port: u16,
    /// Serve the `mlflow-artifacts` API (default true).
    pub serve_artifacts: bool,
    /// Where served artifacts live (default `<store>/artifacts`).
    pub artifacts_destination: Option<PathBuf>,
    /// Worker threads (default: one per core).
    pub workers: Option<usize>,
    /// Largest JSON request body (default 16 MiB; artifact uploads are
    /// streamed and not bounded by it).
    pub max_request_bytes: usize,
    /// How the server's own writer keeps the store: by default 8 MiB
    /// segments, each compacted as soon as it is sealed, so that the
    /// uncompacted tail a history read scans stays short.
    pub store_options: crate::Options,
    /// What keeps web pages from driving the server (on by default).
    pub security: BrowserSecurity,
    /// Connection caps and timeouts.
    pub limits: Limits,
    /// Sign-in (`--app-name basic-auth`); `None`: no sign-in.
    pub auth: Option<AuthOptions>,
    /// A certificate chain and its key (PEM files): serve HTTPS.
    pub tls: Option<TlsFiles>,
}

impl ServerOptions {
    /// Defaults for a store: `127.0.0.1:5000`, artifacts served.
    pub fn new(tracking_uri: impl Into<String>) -> ServerOptions {
        ServerOptions {
            tracking_uri: tracking_uri.into(),
            host: "127.0.0.1".into(),
            port: 5000,
            serve_artifacts: true,
            artifacts_destination: None,
            workers: None,
            max_request_bytes: 16 << 20,
            store_options: crate::Options::default()
                .segment_size(8 << 20)
                .auto_compact(Some(1)),
            security: BrowserSecurity::default(),
            limits: Limits::default(),
            auth: None,
            tls: None,
        }
    }
}

/// What every request shares.
pub struct State {
    client: Client,
    /// Where `mlflow-artifacts:/` points, when artifacts are served.
    artifact_root: Option<PathBuf>,
    max_request_bytes: usize,
    /// Set when the server shuts down: open event streams end, so that
    /// their connections close and the shutdown does not wait on them.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The open event streams, woken when their runs change.
    followers: Arc<follow::Followers>,
}

impl State {
    /// An experiment as JSON, its location as the client should use it.
    fn experiment_json(&self, e: &Experiment) -> Value {
        let mut v = mlflow_json::experiment(e);
        v["artifact_location"] = Value::from(self.presented(&e.artifact_location));
        v
    }

    /// A run as JSON, its artifact URI as the client should use it.
    fn run_json(&self, r: &Run) -> Value {
        let mut v = mlflow_json::run(r);
        v["info"]["artifact_uri"] = Value::from(self.presented(&r.info.artifact_uri));
        v
    }

    /// A stored location under the served artifact root as
    /// `mlflow-artifacts:/<rest>` (the client then uploads through the
    /// server); any other as stored.
    fn presented(&self, location: &str) -> String {
        if let Some(root) = &self.artifact_root {
            let path = location.strip_prefix("file://").unwrap_or(location);
            if let Ok(rest) = Path::new(path).strip_prefix(root) {
                let rest = rest.to_string_lossy();
                return format!("mlflow-artifacts:/{}", rest.trim_start_matches('/'));
            }
        }
        location.to_owned()
    }

    /// A location a client gave, as stored: `mlflow-artifacts:/<rest>`
    /// becomes the file under the served root.
    fn stored_location(&self, location: &str) -> std::result::Result<String, ApiError> {
        let Some(rest) = location.strip_prefix("mlflow-artifacts:") else {
            return Ok(location.to_owned());
        };
        let root = self.artifact_root.as_ref().ok_or_else(|| {
            ApiError::invalid(format!(
                "artifact_location {location:?} needs a server that serves artifacts \
                 (--serve-artifacts)"
            ))
        })?;
        let rel = artifacts::relative_path(rest.trim_start_matches('/'))?;
        Ok(format!("file://{}", root.join(rel).display()))
    }
}

/// `view_type` / `run_view_type` by MLflow's names.
fn view_type(f: &Fields, name: &str) -> std::result::Result<ViewType, ApiError> {
    Ok(match f.opt_string(name)? {
        None | Some("ACTIVE_ONLY") => ViewType::ActiveOnly,
        Some("DELETED_ONLY") => ViewType::DeletedOnly,
        Some("ALL") => ViewType::All,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid value \"{other}\" for parameter '{name}' supplied: expected \
                 ACTIVE_ONLY, DELETED_ONLY or ALL"
            )))
        }
    })
}

/// A search query with a request's `max_results`, `page_token` and
/// `order_by` applied (runs and experiments take them alike).
macro_rules! paged {
    ($query:expr, $fields:expr) => {{
        let mut query = $query;
        if let Some(n) = $fields.opt_i64("max_results")? {
            query = query.max_results($crate::server::experiments::max_results(n)?);
        }
        if let Some(token) = $fields.opt_string("page_token")?.filter(|t| !t.is_empty()) {
            query = query.page_token(token);
        }
        for item in $fields.strings("order_by")? {
            query = query.order_by(item);
        }
        query
    }};
}
pub(crate) use paged;

/// A handler: fields in, a JSON tree or JSON text (for large answers) out.
#[derive(Clone, Copy)]
enum Handler {
    Tree(fn(&State, &Fields) -> std::result::Result<Value, ApiError>),
    Text(fn(&State, &Fields) -> std::result::Result<String, ApiError>),
}

/// What a handler answered.
enum Answer {
    Tree(Value),
    Text(String),
}

/// Which API a path is under.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    /// MLflow's, under `2.0/mlflow/`.
    Mlflow,
    /// The dashboard's own, under `2.0/runlog/` (`ui.rs`).
    Runlog,
}

/// The endpoint of a path under `2.0/mlflow/` or `2.0/runlog/`: its method,
/// whether it writes (and so flushes before it answers), and its handler.
fn endpoint(api: Api, path: &str) -> Option<(Method, bool, Handler)> {
    use Handler::Tree as T;
    use Method as M;
    type Tree = fn(&State, &Fields) -> std::result::Result<Value, ApiError>;
    if api == Api::Runlog {
        let (method, handler): (Method, Tree) = match path {
            "experiments" => (M::GET, ui::experiments),
            "series" => (M::POST, ui::series),
            _ => return None,
        };
        return Some((method, false, T(handler)));
    }
    let (method, writes, handler): (Method, bool, Tree) = match path {
        "experiments/get" => (M::GET, false, experiments::get),
        "experiments/get-by-name" => (M::GET, false, experiments::get_by_name),
        "experiments/create" => (M::POST, true, experiments::create),
        "experiments/search" => (M::POST, false, experiments::search),
        "experiments/update" => (M::POST, true, experiments::update),
        "experiments/delete" => (M::POST, true, experiments::delete),
        "experiments/restore" => (M::POST, true, experiments::restore),
        "experiments/set-experiment-tag" => (M::POST, true, experiments::set_tag),
        "experiments/delete-experiment-tag" => (M::POST, true, experiments::delete_tag),
        "runs/create" => (M::POST, true, runs::create),
        "runs/get" => (M::GET, false, runs::get),
        "runs/update" => (M::POST, true, runs::update),
        "runs/delete" => (M::POST, true, runs::delete),
        "runs/restore" => (M::POST, true, runs::restore),
        "runs/search" => (M::POST, false, runs::search),
        "runs/log-metric" => (M::POST, true, runs::log_metric),
        "runs/log-parameter" => (M::POST, true, runs::log_param),
        "runs/log-batch" => (M::POST, true, runs::log_batch),
        "runs/log-inputs" => (M::POST, true, runs::log_inputs),
        "runs/set-tag" => (M::POST, true, runs::set_tag),
        "runs/delete-tag" => (M::POST, true, runs::delete_tag),
        "artifacts/list" => (M::GET, false, runs::list_artifacts),
        "metrics/get-history" => return Some((M::GET, false, Handler::Text(metrics::history))),
        "metrics/get-history-bulk-interval" => (M::GET, false, metrics::history_bulk_interval),
        "logged-models/search" => (M::POST, false, |_, _| Ok(json!({"models": []}))),
        _ => return None,
    };
    Some((method, writes, T(handler)))
}

/// Parts of MLflow's API that runlog does not have, answered 501 rather
/// than 404 so that a client says what is missing.
fn unsupported(path: &str) -> Option<&'static str> {
    const PARTS: &[(&str, &str)] = &[
        ("registered-models/", "the model registry"),
        ("model-versions/", "the model registry"),
        ("logged-models", "logged models"),
        ("traces", "tracing"),
        ("prompts", "prompts"),
        ("gateway", "the AI gateway"),
        ("scorers", "scorers"),
        ("datasets", "evaluation datasets"),
        ("webhooks", "webhooks"),
    ];
    PARTS
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, what)| *what)
}

/// Runs `f` on a blocking thread (store work may wait on an fsync).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, ApiError> + Send + 'static,
) -> std::result::Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(ApiError::internal(format!(
            "the request's task failed: {e}"
        )))
    })
}

/// Why a request body was not read.
pub(crate) enum BodyError {
    /// Longer than `--max-request-bytes`.
    TooLarge,
    /// The connection failed or closed before the body ended.
    CutShort,
}

/// How much of an oversized body is read and dropped before answering
/// 413, so that a client still sending reads the answer instead of a
/// reset connection. Past it the connection is closed.
const DRAIN_OVERSIZE_BYTES: usize = 64 << 20;

/// Reads and drops a body no handler read, up to [`DRAIN_OVERSIZE_BYTES`].
pub(crate) async fn drain(body: Body) {
    let _ = read_body(body, 0).await;
}

/// Reads a request body of at most `limit` bytes.
///
/// An oversized body is drained (up to [`DRAIN_OVERSIZE_BYTES`] more) before
/// the 413 goes out: a server that answers while the client is still
/// writing and then closes makes the client see a broken pipe, not the
/// answer.
pub(crate) async fn read_body(
    body: Body,
    limit: usize,
) -> std::result::Result<axum::body::Bytes, BodyError> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    let mut over = 0usize;
    while let Some(frame) = stream.next().await {
        let frame = frame.map_err(|_| BodyError::CutShort)?;
        if over == 0 && bytes.len() + frame.len() <= limit {
            bytes.extend_from_slice(&frame);
            continue;
        }
        bytes = Vec::new();
        over = over.saturating_add(frame.len());
        if over > DRAIN_OVERSIZE_BYTES {
            break;
        }
    }
    if over > 0 {
        Err(BodyError::TooLarge)
    } else {
        Ok(bytes.into())
    }
}

/// One `2.0/mlflow/...` or `2.0/runlog/...` request.
async fn tracking(
    state: Arc<State>,
    api: Api,
    method: Method,
    rest: String,
    parts: &Parts,
    body: &mut Option<Body>,
) -> Response {
    let Some((want, writes, handler)) = endpoint(api, &rest) else {
        return match unsupported(&rest).filter(|_| api == Api::Mlflow) {
            Some(what) => ApiError::not_implemented(what).into_response(),
            None => ApiError::no_endpoint(method.as_str(), &rest).into_response(),
        };
    };
    // HEAD is GET without the body (hyper leaves the body out).
    let method = if method == Method::HEAD && want == Method::GET {
        Method::GET
    } else {
        method
    };
    if method != want && !(method == Method::GET && rest == "experiments/search") {
        return ApiError::wrong_method(method.as_str(), &rest, want.as_str()).into_response();
    }
    let fields = if method == Method::GET {
        Fields::from_query(parts.uri.query().unwrap_or(""))
    } else {
        match read_body(body.take().unwrap_or_default(), state.max_request_bytes).await {
            Ok(body) if rest == "runs/log-batch" => {
                // The hot write: typed parsing first, the general path for
                // the precise error when it does not read.
                let fast = Arc::clone(&state);
                let body2 = body.clone();
                let answer = blocking(move || match runs::fast::log_batch(&fast, &body2) {
                    Some(Ok(value)) => {
                        fast.client.flush()?;
                        fast.followers.nudge();
                        Ok(Some(value))
                    }
                    Some(Err(e)) => Err(e),
                    None => Ok(None),
                })
                .await;
                match answer {
                    Ok(Some(value)) => return axum::Json(value).into_response(),
                    Err(e) => return e.into_response(),
                    Ok(None) => Fields::from_body(&body),
                }
            }
            Ok(body) => Fields::from_body(&body),
            Err(BodyError::TooLarge) => Err(ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "BAD_REQUEST",
                message: format!(
                    "the request body is larger than {} bytes (--max-request-bytes)",
                    state.max_request_bytes
                ),
            }),
            Err(BodyError::CutShort) => Err(ApiError::bad_request(
                "the request body was cut short (the client stopped sending)",
            )),
        }
    };
    let fields = match fields {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let answer = blocking(move || {
        let answer = match handler {
            Handler::Tree(h) => Answer::Tree(h(&state, &fields)?),
            Handler::Text(h) => Answer::Text(h(&state, &fields)?),
        };
        if writes {
            // Acknowledged only once on disk: a 200 survives a kill.
            state.client.flush()?;
            state.followers.nudge();
        }
        Ok(answer)
    })
    .await;
    match answer {
        Ok(Answer::Tree(value)) => axum::Json(value).into_response(),
        Ok(Answer::Text(text)) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Every request: `/health`, the tracking API, the dashboard's API and
/// pages, the artifacts API. A body
/// no handler read (an error answered before it, an unknown endpoint) is
/// drained before the answer goes out: a client still sending it would
/// otherwise see its connection reset instead of the answer.
async fn route(AxumState(state): AxumState<Arc<State>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut body = Some(body);
    let response = dispatch(state, &parts, &mut body).await;
    if let Some(unread) = body {
        drain(unread).await;
    }
    response
}

/// The answer to one request; handlers take the body when they read it.
async fn dispatch(state: Arc<State>, parts: &Parts, body: &mut Option<Body>) -> Response {
    let method = parts.method.clone();
    let path = parts.uri.path().to_owned();
    let readable = method == Method::GET || method == Method::HEAD;
    if path == "/health" || path == "/api/2.0/mlflow/health" || path == "/version" {
        if !readable {
            return ApiError::wrong_method(method.as_str(), &path, "GET or HEAD").into_response();
        }
        let body = if path == "/version" {
            env!("CARGO_PKG_VERSION")
        } else {
            "OK"
        };
        return (StatusCode::OK, body).into_response();
    }
    for prefix in ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return tracking(state, Api::Mlflow, method, rest.to_owned(), parts, body).await;
        }
    }
    if path == "/ajax-api/2.0/runlog/artifacts" || path == "/ajax-api/2.0/runlog/artifact" {
        if !readable {
            return ApiError::wrong_method(method.as_str(), &path, "GET").into_response();
        }
        let file = path.ends_with("/artifact");
        return artifacts::run_artifacts(state, parts.uri.query().unwrap_or(""), file).await;
    }
    if path == "/ajax-api/2.0/runlog/follow" {
        if !readable {
            return ApiError::wrong_method(method.as_str(), "runlog/follow", "GET").into_response();
        }
        return follow::follow(state, parts.uri.query().unwrap_or("")).await;
    }
    if let Some(rest) = path.strip_prefix("/ajax-api/2.0/runlog/") {
        return tracking(state, Api::Runlog, method, rest.to_owned(), parts, body).await;
    }
    if readable {
        if let Some(page) = dashboard::asset(&path) {
            return page;
        }
    }
    if path == "/api/3.0/mlflow/server-info" || path == "/ajax-api/3.0/mlflow/server-info" {
        return axum::Json(json!({
            "store_type": null,
            "workspaces_enabled": false,
            "trace_archival_enabled": false,
            "multipart_uploads_enabled": false,
            "multipart_downloads_enabled": false,
        }))
        .into_response();
    }
    for prefix in [
        "/api/2.0/mlflow-artifacts/artifacts",
        "/ajax-api/2.0/mlflow-artifacts/artifacts",
    ] {
        if let Some(rest) = path.strip_prefix(prefix) {
            return artifacts::handle(state, method, rest.to_owned(), parts, body).await;
        }
    }
    if path.starts_with("/api/") || path.starts_with("/ajax-api/") {
        if let Some(what) = path.split("/mlflow/").nth(1).and_then(unsupported) {
            return ApiError::not_implemented(what).into_response();
        }
    }
    ApiError::no_endpoint(method.as_str(), &path).into_response()
}

/// A bound server, ready to run.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    state: Arc<State>,
    addr: SocketAddr,
    guard: Arc<security::Guard>,
    auth: Option<Arc<auth::Auth>>,
    tls: connections::Tls,
    limits: Limits,
}

impl Server {
    /// Opens the store and binds the address (the port is taken when this
    /// returns, so clients may connect as soon as it does).
    pub fn bind(options: ServerOptions) -> Result<Server> {
        let client = Client::open_with(
            crate::store_path(&options.tracking_uri)?,
            options.store_options.clone(),
        )?;
        let artifact_root = if options.serve_artifacts {
            let root = match &options.artifacts_destination {
                Some(dir) => dir.clone(),
                None => client.store_dir().join(crate::layout::ARTIFACTS_DIR),
            };
            std::fs::create_dir_all(&root).map_err(|e| Error::io("create", &root, e))?;
            Some(std::fs::canonicalize(&root).map_err(|e| Error::io("resolve path", &root, e))?)
        } else {
            None
        };
        let tls = match &options.tls {
            Some(files) => Some(connections::tls_acceptor(files)?),
            None => None,
        };
        let auth = match &options.auth {
            Some(a) => Some(Arc::new(auth::Auth::open(a, client.store_dir())?)),
            None => None,
        };
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.enable_all().thread_name("runlog-server");
        if let Some(n) = options.workers {
            builder.worker_threads(n.max(1));
        }
        let runtime = builder
            .build()
            .map_err(|e| Error::io("start", "the server's runtime", e))?;
        let address = format!("{}:{}", options.host, options.port);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(&address))
            .map_err(|e| Error::io("listen on", &address, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("listen on", &address, e))?;
        let state = Arc::new(State {
            client,
            artifact_root,
            max_request_bytes: options.max_request_bytes,
            stopping: tokio::sync::watch::Sender::new(false),
            followers: Arc::new(follow::Followers::new(options.limits.max_streams)),
        });
        let guard = Arc::new(security::Guard::new(
            options.security.clone(),
            &options.host,
            tls.is_some(),
        ));
        Ok(Server {
            runtime,
            listener,
            state,
            addr,
            guard,
            auth,
            tls,
            limits: options.limits,
        })
    }

    /// The address it listens on (with the port the system picked for 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The store's client (for tests and embedding).
    pub fn client(&self) -> &Client {
        &self.state.client
    }

    /// Serves until SIGINT or SIGTERM, then stops accepting, finishes the
    /// requests in flight (cutting what is left after
    /// [`Limits::shutdown_timeout`]), flushes the store and returns.
    pub fn run_until_signal(self) -> Result<()> {
        self.run_until(async {
            let term = async {
                #[cfg(unix)]
                if let Ok(mut s) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                {
                    s.recv().await;
                    return;
                }
                std::future::pending::<()>().await
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
            }
        })
    }

    /// Serves until `stop` completes, then shuts down as
    /// [`run_until_signal`](Server::run_until_signal) does.
    pub fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let Server {
            runtime,
            listener,
            state,
            guard,
            auth,
            tls,
            limits,
            ..
        } = self;
        let mut app = Router::new().fallback(route).with_state(Arc::clone(&state));
        if let Some(auth) = auth {
            auth.attach(Arc::clone(&state));
            app = app.layer(axum::middleware::from_fn_with_state(auth, auth::check));
        }
        let app = app.layer(axum::middleware::from_fn_with_state(guard, security::guard));
        let streams = Arc::clone(&state);
        let stop = async move {
            stop.await;
            // Event streams end now; requests in flight finish.
            streams.stopping.send_replace(true);
        };
        let registry = Arc::new(connections::Registry::default());
        runtime.spawn(follow::watch(Arc::clone(&state)));
        runtime.block_on(connections::serve(
            listener, app, tls, limits, registry, stop,
        ));
        // Requests cut at the deadline may still run on blocking threads:
        // the store's flush below waits for what they appended.
        runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        state.client.flush()
    }
}
