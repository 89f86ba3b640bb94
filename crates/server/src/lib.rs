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
//! let server = runlog_server::Server::bind(runlog_server::ServerOptions::new("mlruns"))?;
//! println!("listening on http://{}", server.local_addr());
//! server.run_until_signal()?; // SIGINT or SIGTERM: finish requests in flight, flush, return
//! # Ok(()) }
//! ```

mod absent;
mod artifacts;
mod auth;
mod connections;
mod dashboard;
mod downloads;
mod extract;
mod follow;
mod graphql;
mod mlflow_ui;
mod routes;
mod security;
mod ui;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;

pub use auth::AuthOptions;
pub use auth::Permission;
pub use connections::{default_max_connections, raise_fd_limit, Limits, TlsFiles};
pub use dashboard::{has_charts, is_bundled};
pub use mlflow_ui::locate_mlflow_ui;
pub use runlog::api::ApiError;
pub use security::BrowserSecurity;
pub use webhooks::WebhookOptions;

use runlog::api::Api;
use runlog::tracking::Client;
use runlog::{Error, Result};

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
    pub store_options: runlog::Options,
    /// What keeps web pages from driving the server (on by default).
    pub security: BrowserSecurity,
    /// Connection caps and timeouts.
    pub limits: Limits,
    /// Sign-in (`--app-name basic-auth`); `None`: no sign-in.
    pub auth: Option<AuthOptions>,
    /// A certificate chain and its key (PEM files): serve HTTPS.
    pub tls: Option<TlsFiles>,
    /// MLflow's own web UI build (see [`locate_mlflow_ui`]): served at
    /// `/`, runlog's dashboard then at `/runlog/`.
    pub mlflow_ui: Option<PathBuf>,
    /// Which URLs registry webhooks may reach, and how they are delivered.
    pub webhooks: WebhookOptions,
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
            store_options: runlog::Options::default()
                .segment_size(8 << 20)
                .auto_compact(Some(1)),
            security: BrowserSecurity::default(),
            limits: Limits::default(),
            auth: None,
            tls: None,
            mlflow_ui: None,
            webhooks: WebhookOptions::default(),
        }
    }
}

/// What every request shares.
pub struct State {
    /// MLflow's API over the store (its client, the served artifact root).
    api: Api,
    max_request_bytes: usize,
    /// Set when the server shuts down: open event streams end, so that
    /// their connections close and the shutdown does not wait on them.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The open event streams, woken when their runs change.
    followers: Arc<follow::Followers>,
    /// MLflow's UI build, when it is served.
    mlflow_ui: Option<PathBuf>,
    /// Registry webhooks and their deliveries.
    webhooks: Arc<webhooks::Webhooks>,
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

/// Most of a body's announced length reserved before it is read.
const PRESIZE_BOUND: usize = 1 << 20;

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
pub(crate) async fn read_body(body: Body, limit: usize) -> std::result::Result<Vec<u8>, BodyError> {
    use futures_util::StreamExt;
    // Room for what the request says it sends (its Content-Length), so
    // that a large body is not copied as it grows; a length it only
    // claims reserves [`PRESIZE_BOUND`] at most.
    let announced = http_body::Body::size_hint(&body).upper().unwrap_or(0);
    let room = usize::try_from(announced).unwrap_or(usize::MAX);
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::with_capacity(room.min(limit).min(PRESIZE_BOUND));
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
        Ok(bytes)
    }
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
    /// The requests in progress, which the store's background compactor
    /// gives way to.
    requests: runlog::Foreground,
}

impl Server {
    /// Opens the store and binds the address (the port is taken when this
    /// returns, so clients may connect as soon as it does).
    pub fn bind(options: ServerOptions) -> Result<Server> {
        let store = runlog::uri::store_path(&options.tracking_uri)?;
        // Served artifacts elsewhere than the store: the Default experiment,
        // when made now, keeps its artifacts there too, as every other
        // experiment does (clients then reach them as mlflow-artifacts:/0).
        let destination = match (&options.artifacts_destination, options.serve_artifacts) {
            (Some(dir), true) => {
                std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
                Some(std::fs::canonicalize(dir).map_err(|e| Error::io("resolve path", dir, e))?)
            }
            _ => None,
        };
        // Compaction runs in the gaps between requests (up to a bound on
        // what it leaves raw meanwhile).
        let requests = runlog::Foreground::new();
        let mut client = Client::builder()
            .store(&store)
            .options(options.store_options.clone().give_way_to(requests.clone()));
        if let Some(dir) = &destination {
            client = client.default_artifact_root(dir);
        }
        let client = client.open()?;
        let artifact_root = if options.serve_artifacts {
            let root = match &destination {
                Some(dir) => dir.clone(),
                None => client.store_dir().join(runlog::tracking::ARTIFACTS_DIR),
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
        let webhooks = Arc::new(webhooks::Webhooks::new(
            client.store_dir(),
            options.webhooks.clone(),
        ));
        let api = Api::new(client)
            .as_server()
            .serving_artifacts(artifact_root)
            .observed_by(Arc::clone(&webhooks) as Arc<dyn runlog::api::Observer>);
        let state = Arc::new(State {
            api,
            max_request_bytes: options.max_request_bytes,
            stopping: tokio::sync::watch::Sender::new(false),
            followers: Arc::new(follow::Followers::new(options.limits.max_streams)),
            mlflow_ui: options.mlflow_ui.clone(),
            webhooks,
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
            requests,
        })
    }

    /// The address it listens on (with the port the system picked for 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The store's client (for tests and embedding).
    pub fn client(&self) -> &Client {
        self.state.api.client()
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
            requests,
            ..
        } = self;
        let mut app = routes::router(Arc::clone(&state));
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
        let shutdown_timeout = limits.shutdown_timeout;
        runtime.spawn(follow::watch(Arc::clone(&state)));
        runtime.block_on(connections::serve(
            listener, app, tls, limits, registry, requests, stop,
        ));
        // Requests cut at the deadline may still run on blocking threads:
        // the store's flush below waits for what they appended.
        runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        let flushed = state.api.client().flush();
        // Deliveries of changes already answered get the shutdown's time
        // to go out (retries included), as MLflow's pool is joined at exit.
        let left = state
            .webhooks
            .finish(std::time::Instant::now() + shutdown_timeout);
        if left > 0 {
            eprintln!(
                "runlog server: {left} webhook deliveries not sent: the shutdown deadline passed"
            );
        }
        flushed
    }
}
