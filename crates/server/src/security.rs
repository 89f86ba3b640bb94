//! Browser safety: what keeps a web page the user happens to visit from
//! reading or changing the store through a server on their machine.
//!
//! MLflow 3.5+'s rules, with its option names, stricter where a check can
//! be exact:
//! - **Host** (DNS rebinding): the `Host` header must name the server as
//!   the user reaches it: a loopback name or address, a private address
//!   (RFC 1918, IPv6 ULA), the name the server was started with, the
//!   address the connection came in on, or a pattern of `--allowed-hosts`.
//!   A page served by `attacker.example` that rebinds its name to
//!   127.0.0.1 sends `Host: attacker.example` and is refused (403).
//! - **Origin** (cross-site requests): an API request that carries an
//!   `Origin` is served only from a localhost origin, the server's own
//!   origin, or one of `--cors-allowed-origins`; those get CORS headers
//!   (and preflights a 204), every other origin a 403.
//! - **Content-Type**: a POST or PATCH to the JSON API must say
//!   `application/json` (MLflow refuses the rest with 400), so a plain HTML
//!   form, which can only send `text/plain` or form encodings, never
//!   reaches a handler.
//! - **Headers**: `X-Content-Type-Options: nosniff` on every answer,
//!   `X-Frame-Options` (`SAMEORIGIN` unless `--x-frame-options` says
//!   otherwise) and a strict `Content-Security-Policy` on the dashboard.
//!
//! `--disable-security-middleware` turns all of it off, as in MLflow.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State as AxumState};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::extract::ErrorResponse;
use runlog::api::error::ApiError;

/// The browser-safety settings (`mlflow server`'s flags and variables).
#[derive(Debug, Clone)]
pub struct BrowserSecurity {
    /// Host patterns a request may name besides the defaults
    /// (`--allowed-hosts`, `MLFLOW_SERVER_ALLOWED_HOSTS`): exact names, or
    /// patterns with `*`; `*` alone allows any host.
    pub allowed_hosts: Vec<String>,
    /// Origins allowed to call the API from a browser besides localhost
    /// ones (`--cors-allowed-origins`, `MLFLOW_SERVER_CORS_ALLOWED_ORIGINS`):
    /// exact origins (`https://app.example:8443`) or patterns with `*`.
    pub cors_allowed_origins: Vec<String>,
    /// `X-Frame-Options` (`SAMEORIGIN`, `DENY`, or `NONE` for no header).
    pub x_frame_options: String,
    /// No checks and no added headers at all
    /// (`--disable-security-middleware`).
    pub disabled: bool,
}

impl Default for BrowserSecurity {
    fn default() -> BrowserSecurity {
        BrowserSecurity {
            allowed_hosts: Vec::new(),
            cors_allowed_origins: Vec::new(),
            x_frame_options: "SAMEORIGIN".into(),
            disabled: false,
        }
    }
}

/// What the checks need at run time.
#[derive(Debug)]
pub(crate) struct Guard {
    settings: BrowserSecurity,
    /// The `--host` the server was started with, when it is a name or a
    /// specific address (not a wildcard).
    bound_name: Option<String>,
    /// Whether connections are TLS (the scheme of the server's own origin).
    tls: bool,
    /// The dashboard's Content-Security-Policy.
    csp: HeaderValue,
    /// `X-Frame-Options`, unless `NONE`.
    frame_options: Option<HeaderValue>,
}

/// The address a connection came in on, put in each request's extensions
/// by the connection loop: a `Host` that is this address literally is a
/// direct connection, never a rebinding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalAddr(pub SocketAddr);

impl Guard {
    /// The checks for a server started with `--host host`.
    pub(crate) fn new(settings: BrowserSecurity, host: &str, tls: bool) -> Guard {
        let bound_name = match host.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() => None,
            _ => Some(host.trim_matches(['[', ']']).to_ascii_lowercase()),
        };
        let frame_ancestors = match settings.x_frame_options.to_ascii_uppercase().as_str() {
            "DENY" => " frame-ancestors 'none';",
            "NONE" => "",
            _ => " frame-ancestors 'self';",
        };
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
             base-uri 'none'; form-action 'self';{frame_ancestors}"
        );
        let frame = settings.x_frame_options.to_ascii_uppercase();
        Guard {
            csp: HeaderValue::from_str(csp.trim_end_matches(';'))
                .unwrap_or(HeaderValue::from_static("default-src 'self'")),
            frame_options: match frame.as_str() {
                "NONE" => None,
                _ => HeaderValue::from_str(&frame).ok(),
            },
            settings,
            bound_name,
            tls,
        }
    }

    /// Whether a `Host` header names this server (see the module's
    /// documentation).
    pub(crate) fn host_allowed(&self, host: &str, local: Option<SocketAddr>) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if host.is_empty() {
            return false;
        }
        if self.settings.allowed_hosts.iter().any(|p| p == "*") {
            return true;
        }
        let Some((name, _port)) = split_host_port(&host) else {
            return false;
        };
        let name_matches = |p: &str| {
            let p = p.to_ascii_lowercase();
            wildcard_match(&p, &host) || wildcard_match(&p, name)
        };
        if self.settings.allowed_hosts.iter().any(|p| name_matches(p)) {
            return true;
        }
        if name == "localhost" || self.bound_name.as_deref() == Some(name) {
            return true;
        }
        match name.parse::<IpAddr>() {
            Ok(ip) => local_or_private(ip) || local.is_some_and(|l| l.ip() == ip),
            Err(_) => false,
        }
    }

    /// Whether an `Origin` may call the API: localhost, the server's own
    /// origin (`host` is the request's `Host`), or a configured one.
    pub(crate) fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let origins = &self.settings.cors_allowed_origins;
        if origins.iter().any(|o| o == "*") {
            return true;
        }
        if origins.iter().any(|o| wildcard_match(o, origin)) {
            return true;
        }
        let Some(rest) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false; // "null", file:, extensions...
        };
        if let Some(host) = host {
            let scheme = if self.tls { "https://" } else { "http://" };
            if origin.eq_ignore_ascii_case(&format!("{scheme}{host}")) {
                return true;
            }
        }
        match split_host_port(&rest.to_ascii_lowercase()) {
            Some((name, _)) => {
                name == "localhost"
                    || name
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback() || ip.to_canonical().is_loopback())
            }
            None => false,
        }
    }
}

/// `host` as (name, port): `[v6]:port`, `name:port`, `name`, `v6`.
fn split_host_port(host: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = host.strip_prefix('[') {
        let (name, after) = rest.split_once(']')?;
        return match after {
            "" => Some((name, None)),
            _ => Some((name, Some(after.strip_prefix(':')?))),
        };
    }
    if host.parse::<IpAddr>().is_ok() {
        return Some((host, None)); // a bare IPv6 address
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some((name, Some(port)))
        }
        Some(_) => None,
        None => Some((host, None)),
    }
}

/// Loopback, unspecified, RFC 1918 private or IPv6 unique-local.
fn local_or_private(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00
        }
    }
}

/// `*` matches any run of characters; everything else itself
/// (ASCII case-insensitively).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether a path is the API (CORS and Content-Type apply) rather than
/// the dashboard's pages.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/ajax-api/") || path == "/graphql"
}

/// Whether a POST or PATCH to `path` must carry JSON: the API except
/// artifact uploads (raw bytes: by PUT, or the UI's `upload-artifact`
/// POST, which MLflow takes with any content type; another site's page is
/// still refused by its Origin).
fn takes_json(method: &Method, path: &str) -> bool {
    (method == Method::POST || method == Method::PATCH)
        && is_api(path)
        && !path.contains("/mlflow-artifacts/")
        && !path.ends_with("/mlflow/upload-artifact")
}

/// A 403 in MLflow's error shape.
fn forbidden(message: &str) -> Response {
    ApiError {
        status: StatusCode::FORBIDDEN.as_u16(),
        code: "PERMISSION_DENIED",
        message: message.to_owned(),
    }
    .into_response()
}

/// The checks and headers, as a middleware in front of every route.
pub(crate) async fn guard(
    AxumState(guard): AxumState<Arc<Guard>>,
    request: Request,
    next: Next,
) -> Response {
    if guard.settings.disabled {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let local = request.extensions().get::<LocalAddr>().map(|l| l.0);
    let health = matches!(path.as_str(), "/health" | "/version");
    if !health && !guard.host_allowed(host.as_deref().unwrap_or(""), local) {
        crate::drain(request.into_body()).await;
        return guard.headers(
            forbidden(
                "Invalid Host header - possible DNS rebinding attack detected: this server \
                 answers only to the names it is reached by (--allowed-hosts adds more)",
            ),
            &path,
        );
    }
    let origin = headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("").to_owned());
    let mut cors_origin = None;
    if let (true, Some(origin)) = (is_api(&path), origin) {
        if !guard.origin_allowed(&origin, host.as_deref()) {
            crate::drain(request.into_body()).await;
            return guard.headers(
                forbidden(
                    "Cross-origin request blocked: this origin may not call the API \
                     (--cors-allowed-origins adds origins)",
                ),
                &path,
            );
        }
        if method == Method::OPTIONS {
            return guard.headers(preflight(&origin, headers), &path);
        }
        cors_origin = Some(origin);
    }
    if takes_json(&method, &path) {
        let kind = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or(""));
        let refusal = match kind {
            None => Some("Bad Request. Content-Type header is missing.".to_owned()),
            Some(kind) => {
                let essence = kind.split(';').next().unwrap_or("").trim();
                (!essence.eq_ignore_ascii_case("application/json")).then(|| {
                    format!(
                        "Bad Request. Content-Type must be one of ['application/json'], \
                         not {kind:?}."
                    )
                })
            }
        };
        if let Some(message) = refusal {
            crate::drain(request.into_body()).await;
            return guard.headers(ApiError::invalid(message).into_response(), &path);
        }
    }
    let mut response = next.run(request).await;
    if let Some(origin) = cors_origin {
        allow_origin(response.headers_mut(), &origin);
    }
    guard.headers(response, &path)
}

impl Guard {
    /// Adds the headers every answer carries.
    fn headers(&self, mut response: Response, path: &str) -> Response {
        let h = response.headers_mut();
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Some(v) = &self.frame_options {
            h.insert(header::X_FRAME_OPTIONS, v.clone());
        }
        if !is_api(path) && !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            h.insert(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        }
        response
    }
}

/// The CORS headers of an allowed origin.
fn allow_origin(h: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The answer to an allowed origin's preflight: 204 and what it may send.
fn preflight(origin: &str, request: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    allow_origin(h, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, DELETE, PATCH, OPTIONS"),
    );
    let asked = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static("content-type, authorization"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(hosts: &[&str], origins: &[&str], bound: &str) -> Guard {
        let settings = BrowserSecurity {
            allowed_hosts: hosts.iter().map(|s| s.to_string()).collect(),
            cors_allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            ..BrowserSecurity::default()
        };
        Guard::new(settings, bound, false)
    }

    #[test]
    fn hosts_by_default() {
        let g = guard(&[], &[], "127.0.0.1");
        for ok in [
            "127.0.0.1:5000",
            "localhost",
            "LOCALHOST:80",
            "[::1]:5000",
            "10.1.2.3:5000",
            "192.168.0.7",
            "172.20.0.1:1",
            "[fd12::1]:5000",
            "0.0.0.0:5000",
        ] {
            assert!(g.host_allowed(ok, None), "{ok}");
        }
        for refused in [
            "attacker.example",
            "attacker.example:5000",
            "10.attacker.example",
            "8.8.8.8:5000",
            "172.32.0.1",
            "",
            "localhost:x",
            "[::1",
        ] {
            assert!(!g.host_allowed(refused, None), "{refused}");
        }
        let local: SocketAddr = "203.0.113.5:5000".parse().unwrap();
        assert!(g.host_allowed("203.0.113.5:5000", Some(local)));
    }

    #[test]
    fn hosts_configured_and_bound() {
        let g = guard(&["*.corp.example", "ml.team"], &[], "box.lan");
        assert!(g.host_allowed("a.corp.example:5000", None));
        assert!(g.host_allowed("ml.team:443", None));
        assert!(g.host_allowed("box.lan:5000", None));
        assert!(!g.host_allowed("corp.example.evil", None));
        assert!(guard(&["*"], &[], "0.0.0.0").host_allowed("anything", None));
    }

    #[test]
    fn origins() {
        let g = guard(
            &[],
            &["https://app.example", "https://*.team.example"],
            "127.0.0.1",
        );
        for ok in [
            "http://localhost:3000",
            "http://127.0.0.1:5000",
            "http://[::1]:8080",
            "https://app.example",
            "https://x.team.example",
        ] {
            assert!(g.origin_allowed(ok, None), "{ok}");
        }
        for refused in [
            "http://evil",
            "null",
            "https://app.example.evil",
            "http://localhost.evil",
        ] {
            assert!(!g.origin_allowed(refused, None), "{refused}");
        }
        assert!(g.origin_allowed("http://10.0.0.5:5000", Some("10.0.0.5:5000")));
        assert!(!g.origin_allowed("http://10.0.0.6:5000", Some("10.0.0.5:5000")));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("a*c", "abd"));
        assert!(wildcard_match("192.168.*", "192.168.1.1"));
    }
}
