//! The server's connections: accepting them (TLS when configured), the
//! limits that keep one client from starving the others, and a shutdown
//! that ends within its deadline.
//!
//! - **Timeouts.** A request's headers must arrive within
//!   [`Limits::header_timeout`], and a connection waiting for its next
//!   request is closed after the same time (hyper's header-read timer runs
//!   from the moment the connection waits for a request). A request body
//!   or a response that makes no progress for [`Limits::idle_timeout`]
//!   ends the connection ([`TimedIo`]).
//! - **A cap on connections.** At [`Limits::max_connections`] (default:
//!   from the process's file-descriptor limit, which is raised to its hard
//!   limit at start), a new connection closes the oldest one that is not
//!   in a request (idle, or still sending its headers); when every one is
//!   in a request, the new one gets a 503 and is closed. The cap leaves
//!   descriptors for the store, so a full house never turns into a
//!   "cannot open" error; should descriptors still run out, accepting
//!   pauses and sheds an idle connection instead of spinning.
//! - **Shutdown.** On the stop signal: no new connection; idle ones are
//!   closed, requests in flight finish; at [`Limits::shutdown_timeout`]
//!   whatever is left (a client stalled halfway through a request) is cut.
//! - **The HTTP layer's own errors** (a malformed request line, headers or
//!   URI too large: 400, 431, 414) go out with MLflow's JSON error body
//!   instead of hyper's empty one ([`TimedIo`] rewrites them).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use crate::security::LocalAddr;

/// How much one client may hold, and how long a shutdown may take.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most connections open at once (`None`: from the file-descriptor
    /// limit, see [`default_max_connections`]).
    pub max_connections: Option<usize>,
    /// Most dashboard event streams open at once (past it: 503).
    pub max_streams: usize,
    /// Time for a request's headers to arrive, and for an idle connection
    /// to send its next request.
    pub header_timeout: Duration,
    /// Time a request body or a response may make no progress.
    pub idle_timeout: Duration,
    /// Time requests in flight get to finish after the stop signal.
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: None,
            max_streams: 256,
            header_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Raises the process's soft file-descriptor limit to its hard limit and
/// returns the soft limit then in force (`None` where it cannot be read).
#[allow(
    unsafe_code,
    reason = "getrlimit and setrlimit on a struct of this frame"
)]
pub fn raise_fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given, which lives here.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max.min(1 << 20),
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given, which lives here.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = raised.rlim_cur;
        }
    }
    Some(limit.rlim_cur)
}

/// The connection cap for a file-descriptor limit: what is left after a
/// reserve for the store, its compactions, artifact files and streams
/// (an eighth of the limit, at least 128), and at most 16,384.
pub fn default_max_connections(fd_limit: Option<u64>) -> usize {
    let limit = fd_limit.unwrap_or(1024).min(1 << 20) as usize;
    let reserve = (limit / 8).max(128);
    limit.saturating_sub(reserve).clamp(16, 16_384)
}

/// One open connection, as the cap sees it.
struct Entry {
    opened: Instant,
    /// Requests being handled (a handler running or its body streaming).
    busy: Arc<AtomicUsize>,
    task: tokio::task::AbortHandle,
}

/// The open connections.
#[derive(Default)]
pub(crate) struct Registry {
    open: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many are open.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Closes the oldest connection not in a request; false when every
    /// one is in a request.
    fn shed_one(&self) -> bool {
        let mut open = self.lock();
        let oldest = open
            .iter()
            .filter(|(_, e)| e.busy.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, e)| e.opened)
            .map(|(id, _)| *id);
        match oldest.and_then(|id| open.remove(&id)) {
            Some(entry) => {
                entry.task.abort();
                true
            }
            None => false,
        }
    }

    /// Cuts every connection still open.
    fn abort_all(&self) {
        for (_, entry) in self.lock().drain() {
            entry.task.abort();
        }
    }
}

/// The PEM files of `--tls-cert` and `--tls-key`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The TLS acceptor of a certificate chain and key in PEM files.
pub(crate) fn tls_acceptor(files: &TlsFiles) -> runlog::Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        runlog::Error::InvalidArgument(format!("{what} {}: {e}", path.display()))
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| bad("cannot read the TLS certificate", &files.cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("cannot read the TLS certificate", &files.cert, &e))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate in",
            &files.cert,
            &"(PEM CERTIFICATE blocks)",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| bad("cannot read the TLS key", &files.key, &e))?;
    // ring, the provider that builds with the C compiler alone (aws-lc-rs,
    // which has post-quantum key exchange, needs more); rustls 0.23.48 marks
    // it deprecated for lacking those algorithms, not for a flaw.
    #[allow(
        deprecated,
        reason = "ring lacks post-quantum key exchange; aws-lc-rs needs more to build"
    )]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| runlog::Error::InvalidArgument(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("the TLS key does not fit the certificate", &files.key, &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A TLS acceptor, when the server has a certificate.
pub(crate) type Tls = Option<tokio_rustls::TlsAcceptor>;

/// Accepts and serves connections until `stop`, then shuts down within
/// the deadline (see the module's documentation).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Tls,
    limits: Limits,
    registry: Arc<Registry>,
    requests: runlog::Foreground,
    stop: impl Future<Output = ()>,
) {
    let max = limits
        .max_connections
        .unwrap_or_else(|| default_max_connections(raise_fd_limit()))
        .max(1);
    let (closing, _) = tokio::sync::watch::channel(false);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, _peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors (or a transient error): make room and
                // wait a moment rather than spin.
                if matches!(e.raw_os_error(), Some(libc::EMFILE) | Some(libc::ENFILE)) {
                    registry.shed_one();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if registry.len() >= max && !registry.shed_one() {
            tokio::spawn(refuse(tcp));
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let id = registry.next.fetch_add(1, Ordering::Relaxed);
        let busy = Arc::new(AtomicUsize::new(0));
        let connection = Connection {
            app: app.clone(),
            tls: tls.clone(),
            limits: limits.clone(),
            busy: Arc::clone(&busy),
            requests: requests.clone(),
            closing: closing.subscribe(),
        };
        let done = Arc::clone(&registry);
        // The entry goes in before the task can end and take it out.
        let mut open = registry.lock();
        let task = tokio::spawn(async move {
            connection.run(tcp).await;
            done.lock().remove(&id);
        });
        open.insert(
            id,
            Entry {
                opened: Instant::now(),
                busy,
                task: task.abort_handle(),
            },
        );
    }
    drop(listener);
    closing.send_replace(true);
    let deadline = Instant::now() + limits.shutdown_timeout;
    while registry.len() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    registry.abort_all();
}

/// A connection past the cap when every open one is in a request: a 503
/// in MLflow's shape, then closed.
async fn refuse(mut tcp: TcpStream) {
    use tokio::io::AsyncWriteExt;
    let body = r#"{"error_code":"TEMPORARILY_UNAVAILABLE","message":"the server has as many connections as it takes (--max-connections); try again"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(answer.as_bytes())).await;
}

/// What one connection's task needs.
struct Connection {
    app: Router,
    tls: Tls,
    limits: Limits,
    busy: Arc<AtomicUsize>,
    /// The requests in progress, which the store's background compactor
    /// gives way to.
    requests: runlog::Foreground,
    closing: tokio::sync::watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, tcp: TcpStream) {
        let Ok(local) = tcp.local_addr() else { return };
        match self.tls.clone() {
            None => self.http(tcp, local).await,
            Some(acceptor) => {
                let handshake = acceptor.accept(tcp);
                if let Ok(Ok(stream)) =
                    tokio::time::timeout(self.limits.header_timeout, handshake).await
                {
                    self.http(stream, local).await;
                }
            }
        }
    }

    async fn http<S>(mut self, stream: S, local: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(TimedIo::new(
            stream,
            self.limits.idle_timeout,
            Arc::clone(&self.busy),
        ));
        let app = self.app.clone();
        let busy = Arc::clone(&self.busy);
        let requests = self.requests.clone();
        let service =
            hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(LocalAddr(local));
                let guard = BusyGuard::new(Arc::clone(&busy));
                let serving = requests.begin();
                let app = app.clone();
                async move {
                    let response = app.oneshot(request.map(Body::new)).await?;
                    // In progress until its answer's head is ready: an
                    // event stream's body does not hold compaction back.
                    drop(serving);
                    // Busy until the body is sent: a download or an event
                    // stream is not an idle connection.
                    Ok::<Response, std::convert::Infallible>(response.map(|body| {
                        Body::new(Guarded {
                            body,
                            _guard: guard,
                        })
                    }))
                }
            });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .keep_alive(true);
        let connection = builder.serve_connection(io, service);
        tokio::pin!(connection);
        loop {
            tokio::select! {
                _ = connection.as_mut() => return,
                changed = self.closing.changed() => {
                    if changed.is_err() || *self.closing.borrow() {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.as_mut().await;
                        return;
                    }
                }
            }
        }
    }
}

/// Counts a request as in flight until dropped.
struct BusyGuard(Arc<AtomicUsize>);

impl BusyGuard {
    fn new(busy: Arc<AtomicUsize>) -> BusyGuard {
        busy.fetch_add(1, Ordering::AcqRel);
        BusyGuard(busy)
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted until it is dropped.
struct Guarded {
    body: Body,
    _guard: BusyGuard,
}

impl axum::body::HttpBody for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A connection's byte stream with a no-progress deadline, and the
/// rewriting of hyper's own error answers into MLflow's JSON shape.
pub(crate) struct TimedIo<S> {
    inner: S,
    timeout: Duration,
    /// Fires no earlier than `timeout` after the last progress; moved on
    /// only when it fires (progress itself just notes the time: no timer
    /// work per read or write).
    deadline: Pin<Box<tokio::time::Sleep>>,
    last_progress: tokio::time::Instant,
    busy: Arc<AtomicUsize>,
    /// A rewritten answer being written, and the length hyper gave.
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

impl<S> TimedIo<S> {
    fn new(inner: S, timeout: Duration, busy: Arc<AtomicUsize>) -> TimedIo<S> {
        TimedIo {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            last_progress: tokio::time::Instant::now(),
            busy,
            rewrite: None,
        }
    }

    fn progressed(&mut self) {
        self.last_progress = tokio::time::Instant::now();
    }

    /// An error once `timeout` passed since the last progress.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        while self.deadline.as_mut().poll(cx).is_ready() {
            let due = self.last_progress + self.timeout;
            if due <= tokio::time::Instant::now() {
                return Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no progress on the connection within the idle timeout",
                ));
            }
            // Progress since it was set: wait for the rest of the time.
            self.deadline.as_mut().reset(due);
        }
        None
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.progressed();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => match self.expired(cx) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.rewrite.is_none() && self.busy.load(Ordering::Acquire) == 0 {
            if let Some(answer) = json_error_answer(buf) {
                self.rewrite = Some((answer, 0, buf.len()));
            }
        }
        if let Some((answer, written, reported)) = self.rewrite.take() {
            let mut written = written;
            while written < answer.len() {
                match Pin::new(&mut self.inner).poll_write(cx, &answer[written..]) {
                    Poll::Ready(Ok(0)) => return Poll::Ready(Ok(0)),
                    Poll::Ready(Ok(n)) => written += n,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        self.rewrite = Some((answer, written, reported));
                        return match self.expired(cx) {
                            Some(e) => Poll::Ready(Err(e)),
                            None => Poll::Pending,
                        };
                    }
                }
            }
            self.progressed();
            return Poll::Ready(Ok(reported));
        }
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.progressed();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => match self.expired(cx) {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// hyper's answer to a request it could not parse (written while no
/// request is being handled: a status line, `content-length: 0`, a date,
/// and nothing after the head) as the same status with MLflow's JSON body.
fn json_error_answer(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let status_line = text.strip_prefix("HTTP/1.1 ")?.split("\r\n").next()?;
    let (code, reason) = status_line.split_once(' ')?;
    let message = match code {
        "400" => "the request is not valid HTTP (its request line or a header could not be read)",
        "414" => "the request's URI is too long",
        "431" => "the request's headers are too large",
        _ => return None,
    };
    let lower = text.to_ascii_lowercase();
    if !lower.ends_with("\r\n\r\n") || !lower.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    if lower.contains("\r\ncontent-type:") {
        return None; // one of ours
    }
    let body = serde_json::json!({
        "error_code": if code == "400" { "BAD_REQUEST" } else { "INVALID_PARAMETER_VALUE" },
        "message": message,
    })
    .to_string();
    Some(
        format!(
            "HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nx-content-type-options: nosniff\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypers_error_heads_become_json() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 04:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(json_error_answer(head).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        let body = answer.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error_code"], "INVALID_PARAMETER_VALUE");
        // Ours, and anything that is not a bare error head, pass through.
        assert!(json_error_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(json_error_answer(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"
        )
        .is_none());
        assert!(
            json_error_answer(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nx").is_none()
        );
    }

    #[test]
    fn the_cap_leaves_room_for_the_store() {
        assert_eq!(default_max_connections(Some(1024)), 896);
        assert_eq!(default_max_connections(Some(20_000)), 16_384);
        assert_eq!(default_max_connections(Some(100)), 16);
        assert!(default_max_connections(Some(1 << 20)) <= 16_384);
    }
}
