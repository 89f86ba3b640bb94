//! An MLflow tracking server over HTTP: the REST calls `runlog sync` makes
//! (MLflow's API 2.0, the JSON of `service.proto`), with MLflow's
//! authentication variables and TLS settings, retries with backoff for
//! what a server may answer differently a moment later, and typed errors
//! for the rest.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{Error, Refusal, Result};

/// `MLFLOW_TRACKING_TOKEN`: sent as `Authorization: Bearer <token>`.
pub const TOKEN_ENV: &str = "MLFLOW_TRACKING_TOKEN";
/// `MLFLOW_TRACKING_USERNAME`: with the password, HTTP basic authentication.
pub const USERNAME_ENV: &str = "MLFLOW_TRACKING_USERNAME";
/// `MLFLOW_TRACKING_PASSWORD`: with the user name, HTTP basic authentication.
pub const PASSWORD_ENV: &str = "MLFLOW_TRACKING_PASSWORD";
/// `MLFLOW_TRACKING_INSECURE_TLS=true`: the server's certificate is not checked.
pub const INSECURE_TLS_ENV: &str = "MLFLOW_TRACKING_INSECURE_TLS";
/// `MLFLOW_TRACKING_SERVER_CERT_PATH`: a PEM file of the certificates to trust.
pub const SERVER_CERT_PATH_ENV: &str = "MLFLOW_TRACKING_SERVER_CERT_PATH";

/// How a remote server is reached: its base URI and credentials.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// `http://host:port` or `https://...`, with an optional path prefix.
    pub uri: String,
    /// A bearer token ([`TOKEN_ENV`]).
    pub token: Option<String>,
    /// Basic authentication ([`USERNAME_ENV`], [`PASSWORD_ENV`]).
    pub basic: Option<(String, String)>,
    /// Do not check the server's TLS certificate ([`INSECURE_TLS_ENV`]).
    pub insecure_tls: bool,
    /// Trust the certificates of this PEM file ([`SERVER_CERT_PATH_ENV`]).
    pub server_cert_path: Option<std::path::PathBuf>,
    /// Attempts per call when the server is unreachable or answers 5xx or
    /// 429 (waits of 0.5 s, doubling up to 8 s, between them).
    pub attempts: u32,
}

impl Connection {
    /// A connection to `uri` with MLflow's environment variables for
    /// credentials and TLS, and 6 attempts per call.
    ///
    /// ```
    /// let c = runlog::remote::Connection::from_env("http://127.0.0.1:5000/");
    /// assert_eq!(c.uri, "http://127.0.0.1:5000");
    /// ```
    pub fn from_env(uri: &str) -> Connection {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let basic = match (var(USERNAME_ENV), var(PASSWORD_ENV)) {
            (Some(user), Some(password)) => Some((user, password)),
            _ => None,
        };
        Connection {
            uri: uri.trim_end_matches('/').to_owned(),
            token: var(TOKEN_ENV),
            basic,
            insecure_tls: var(INSECURE_TLS_ENV)
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1")),
            server_cert_path: var(SERVER_CERT_PATH_ENV).map(Into::into),
            attempts: 6,
        }
    }
}

/// An MLflow tracking server (MLflow's own, or `runlog server`).
pub struct MlflowServer {
    agent: ureq::Agent,
    connection: Connection,
    authorization: Option<String>,
}

/// A call's failure as the server or the network gave it.
enum Failure {
    /// Worth another attempt: no connection, a timeout, 5xx, 429.
    Transient(String),
    /// The server's answer (its URL filled in by the caller, which knows
    /// it).
    Refused(Box<Refusal>),
}

/// The server's refusal of a request to a URL known later.
fn refused(status: u16, error_code: String, message: String) -> Failure {
    Failure::Refused(Box::new(Refusal {
        url: String::new(),
        status,
        error_code,
        message,
    }))
}

impl MlflowServer {
    /// Prepares calls to the server `connection` names (nothing is sent
    /// yet). Fails on a URI that is not `http(s)://` and on a certificate
    /// file that cannot be read.
    pub fn new(connection: Connection) -> Result<MlflowServer> {
        if !crate::uri::is_server_uri(&connection.uri) {
            return Err(Error::InvalidArgument(format!(
                "{:?} is not an http:// or https:// URI",
                connection.uri
            )));
        }
        let mut tls = ureq::tls::TlsConfig::builder().disable_verification(connection.insecure_tls);
        if let Some(path) = &connection.server_cert_path {
            let pem = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Error::InvalidArgument(format!(
                            "{} ({SERVER_CERT_PATH_ENV}) is not a PEM file of certificates: {e}",
                            path.display()
                        )))
                    }
                }
            }
            if certs.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "{} ({SERVER_CERT_PATH_ENV}) holds no certificate",
                    path.display()
                )));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certs)));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .timeout_connect(Some(Duration::from_secs(10)))
            .tls_config(tls.build())
            .build()
            .into();
        let authorization = match (&connection.token, &connection.basic) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, Some((user, password))) => Some(format!(
                "Basic {}",
                base64(format!("{user}:{password}").as_bytes())
            )),
            (None, None) => None,
        };
        Ok(MlflowServer {
            agent,
            connection,
            authorization,
        })
    }

    /// The server's base URI.
    pub fn uri(&self) -> &str {
        &self.connection.uri
    }

    /// `GET /api/2.0/mlflow/<path>` with `query`.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.connection.uri);
        self.with_retries(&url, self.connection.attempts, || {
            let mut request = self.agent.get(&url);
            for (k, v) in query {
                request = request.query(*k, *v);
            }
            if let Some(a) = &self.authorization {
                request = request.header("Authorization", a);
            }
            answer(request.call())
        })
    }

    /// `POST /api/2.0/mlflow/<path>` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.post_json_text(path, body.to_string().as_bytes())
    }

    /// [`post`](MlflowServer::post) with a body already written as JSON
    /// text (for large batches, written without building a JSON tree).
    pub fn post_json_text(&self, path: &str, body: &[u8]) -> Result<Value> {
        self.post_attempts(path, body, self.connection.attempts)
    }

    /// [`post_json_text`](MlflowServer::post_json_text) tried once: for a
    /// request that must not be sent twice blindly (a batch of points the
    /// server may have stored before the connection broke). A failure
    /// without the server's answer is [`Error::Remote`].
    pub fn post_json_text_once(&self, path: &str, body: &[u8]) -> Result<Value> {
        self.post_attempts(path, body, 1)
    }

    fn post_attempts(&self, path: &str, body: &[u8], attempts: u32) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.connection.uri);
        self.with_retries(&url, attempts, || {
            let mut request = self
                .agent
                .post(&url)
                .header("Content-Type", "application/json");
            if let Some(a) = &self.authorization {
                request = request.header("Authorization", a);
            }
            answer(request.send(body))
        })
    }

    /// `PATCH /api/2.0/mlflow/<path>` with a JSON body (MLflow 3's
    /// logged-model and registry updates).
    pub fn patch(&self, path: &str, body: &Value) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.connection.uri);
        let body = body.to_string();
        self.with_retries(&url, self.connection.attempts, || {
            let mut request = self
                .agent
                .patch(&url)
                .header("Content-Type", "application/json");
            if let Some(a) = &self.authorization {
                request = request.header("Authorization", a);
            }
            answer(request.send(body.as_bytes()))
        })
    }

    /// `DELETE /api/2.0/mlflow/<path>` with a JSON body, as MLflow's
    /// client sends it.
    pub fn delete(&self, path: &str, body: &Value) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.connection.uri);
        let body = body.to_string();
        self.with_retries(&url, self.connection.attempts, || {
            let mut request = self
                .agent
                .delete(&url)
                .header("Content-Type", "application/json")
                .force_send_body();
            if let Some(a) = &self.authorization {
                request = request.header("Authorization", a);
            }
            answer(request.send(body.as_bytes()))
        })
    }

    /// Uploads `bytes` as the artifact at `path` of the server's proxied
    /// artifact store (`PUT /api/2.0/mlflow-artifacts/artifacts/<path>`,
    /// for artifact URIs `mlflow-artifacts:/<path>`).
    pub fn put_artifact(&self, path: &str, bytes: &[u8]) -> Result<()> {
        let encoded: Vec<String> = path.split('/').map(percent_encode).collect();
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}",
            self.connection.uri,
            encoded.join("/")
        );
        self.with_retries(&url, self.connection.attempts, || {
            let mut request = self
                .agent
                .put(&url)
                .header("Content-Type", "application/octet-stream");
            if let Some(a) = &self.authorization {
                request = request.header("Authorization", a);
            }
            answer(request.send(bytes))
        })
        .map(|_| ())
    }

    /// Downloads the artifact at `path` of the server's proxied artifact
    /// store (`GET /api/2.0/mlflow-artifacts/artifacts/<path>`).
    pub fn get_artifact(&self, path: &str) -> Result<Vec<u8>> {
        let encoded: Vec<String> = path.split('/').map(percent_encode).collect();
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}",
            self.connection.uri,
            encoded.join("/")
        );
        let mut bytes = Vec::new();
        self.with_retries(&url, self.connection.attempts, || {
            let mut request = self.agent.get(&url);
            if let Some(a) = &self.authorization {
                request = request.header("Authorization", a);
            }
            let mut response = request
                .call()
                .map_err(|e| Failure::Transient(e.to_string()))?;
            let status = response.status().as_u16();
            if status >= 400 {
                let mut text = String::new();
                let _ = response
                    .body_mut()
                    .as_reader()
                    .take(1 << 20)
                    .read_to_string(&mut text);
                if status == 429 || status >= 500 {
                    return Err(Failure::Transient(format!(
                        "{status}: {}",
                        first_line(&text)
                    )));
                }
                let code = if status == 404 {
                    "RESOURCE_DOES_NOT_EXIST"
                } else {
                    "BAD_REQUEST"
                };
                return Err(refused(status, code.into(), first_line(&text).to_owned()));
            }
            bytes.clear();
            response
                .body_mut()
                .as_reader()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::Transient(format!("reading the artifact: {e}")))?;
            Ok(Value::Null)
        })?;
        Ok(bytes)
    }

    /// The experiment named `name`, or `None` (MLflow answers 404).
    pub fn experiment_by_name(&self, name: &str) -> Result<Option<Value>> {
        match self.get("experiments/get-by-name", &[("experiment_name", name)]) {
            Ok(v) => Ok(v.get("experiment").cloned()),
            Err(err) if err.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every point of metric `key` of run `run_id`, following the pages.
    pub fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Value>> {
        crate::tracking::rest::history_pages(
            &mut |q| self.get("metrics/get-history", q),
            run_id,
            key,
        )
    }

    /// Runs `call` up to the connection's attempts while it fails
    /// transiently, waiting 0.5 s, then twice as long each time (at most
    /// 8 s); maps the server's refusal to the error its code names.
    fn with_retries(
        &self,
        url: &str,
        attempts: u32,
        mut call: impl FnMut() -> std::result::Result<Value, Failure>,
    ) -> Result<Value> {
        let mut wait = Duration::from_millis(500);
        let attempts = attempts.max(1);
        for attempt in 1..=attempts {
            match call() {
                Ok(v) => return Ok(v),
                Err(Failure::Refused(mut refusal)) => {
                    refusal.url = url.to_owned();
                    return Err(Error::Refused(refusal));
                }
                Err(Failure::Transient(why)) if attempt == attempts => {
                    return Err(Error::Remote(format!(
                        "{url}: {why} (gave up after {attempts} attempts)"
                    )))
                }
                Err(Failure::Transient(_)) => {
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(8));
                }
            }
        }
        Err(Error::Remote(format!("{url}: no attempt made")))
    }
}

/// A response as a JSON body, or the failure it is.
fn answer(
    response: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> std::result::Result<Value, Failure> {
    let mut response = response.map_err(|e| Failure::Transient(e.to_string()))?;
    let status = response.status().as_u16();
    let mut text = String::new();
    response
        .body_mut()
        .as_reader()
        .take(256 << 20)
        .read_to_string(&mut text)
        .map_err(|e| Failure::Transient(format!("reading the answer: {e}")))?;
    if status == 429 || status >= 500 {
        return Err(Failure::Transient(format!(
            "{status}: {}",
            first_line(&text)
        )));
    }
    let body: Value = if text.trim().is_empty() {
        json!({})
    } else {
        match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) if status >= 400 => Value::Null,
            Err(e) => {
                return Err(refused(
                    status,
                    "BAD_RESPONSE".into(),
                    format!("the answer is not JSON ({e}): {}", first_line(&text)),
                ))
            }
        }
    };
    if status >= 400 {
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        return Err(refused(
            status,
            field("error_code").unwrap_or_else(|| format!("HTTP_{status}")),
            field("message").unwrap_or_else(|| first_line(&text).to_owned()),
        ));
    }
    Ok(body)
}

/// The first line of a body, at most 200 characters (for messages).
fn first_line(text: &str) -> &str {
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(200) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

/// A path segment with everything but unreserved characters escaped.
pub(crate) fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Standard base64 with padding (for basic authentication).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn bad_connections_are_clear_errors_before_anything_is_sent() {
        let with = |uri: &str, cert: Option<&std::path::Path>| {
            MlflowServer::new(Connection {
                uri: uri.into(),
                server_cert_path: cert.map(Into::into),
                attempts: 1,
                ..Connection::default()
            })
        };
        assert!(matches!(
            with("ftp://x", None),
            Err(Error::InvalidArgument(_))
        ));
        let missing = std::path::Path::new("/nonexistent/ca.pem");
        assert!(matches!(
            with("https://x", Some(missing)),
            Err(Error::Io { .. })
        ));
        let dir = std::env::temp_dir().join(format!("runlog-cert-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate").ok();
        let err = with("https://x", Some(&dir)).err().map(|e| e.to_string());
        std::fs::remove_file(&dir).ok();
        assert!(err.is_some_and(|e| e.contains("holds no certificate")));
        assert!(with("https://x", None).is_ok());
    }

    #[test]
    fn the_environment_gives_credentials_and_tls_settings() {
        // Read with MLflow's names; a trailing slash of the URI is dropped.
        let c = Connection::from_env("http://h:1/prefix/");
        assert_eq!(c.uri, "http://h:1/prefix");
        assert_eq!(c.attempts, 6);
    }

    /// The request a server on loopback receives from `call`, answered
    /// with `answer` (status line and JSON body).
    fn request_seen(answer: &'static str, call: impl FnOnce(&str)) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let (status, body) = answer.split_once('|').unwrap_or((answer, ""));
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
            let mut stream = stream;
            stream.write_all(reply.as_bytes()).ok();
            head
        });
        call(&url);
        server.join().unwrap_or_default()
    }

    #[test]
    fn credentials_go_in_the_authorization_header_and_404_is_none() {
        let missing = r#"404 Not Found|{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"no"}"#;
        let head = request_seen(missing, |url| {
            let c = Connection {
                uri: url.into(),
                token: Some("tok".into()),
                attempts: 1,
                ..Connection::default()
            };
            let server = MlflowServer::new(c).expect("server");
            assert!(matches!(server.experiment_by_name("e"), Ok(None)));
        });
        assert!(
            head.to_ascii_lowercase()
                .contains("authorization: bearer tok"),
            "{head}"
        );
        assert!(head.contains("experiment_name=e"), "{head}");
        let refused = r#"400 Bad Request|{"error_code":"INVALID_PARAMETER_VALUE","message":"bad"}"#;
        let head = request_seen(refused, |url| {
            let c = Connection {
                uri: url.into(),
                basic: Some(("u".into(), "p".into())),
                attempts: 1,
                ..Connection::default()
            };
            let server = MlflowServer::new(c).expect("server");
            let err = server
                .post("runs/create", &json!({}))
                .err()
                .map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("INVALID_PARAMETER_VALUE: bad")));
        });
        assert!(
            head.to_ascii_lowercase()
                .contains("authorization: basic dtpw"),
            "{head}"
        );
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(percent_encode("a b#?.txt"), "a%20b%23%3F.txt");
    }
}
