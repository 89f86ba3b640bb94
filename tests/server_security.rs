#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! `runlog server` against hostile requests and greedy clients: cross-site
//! and rebinding requests, preflights, the HTTP layer's own errors in
//! MLflow's JSON, HEAD and `/health`, slow and idle connections past the
//! descriptor limit, SIGTERM with a stalled client, the event-stream cap,
//! sign-in with permissions, and TLS. Each server is the `runlog` binary
//! on a free loopback port.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{http_agent, ServerProcess, TEST_ADMIN_PASSWORD};
use serde_json::{json, Value};

/// An answer read off a raw connection.
struct Raw {
    status: u16,
    head: String,
    body: String,
}

/// Sends `request` as it is on a new connection and reads the answer to
/// the end (the request should say `Connection: close`).
fn raw(url: &str, request: &[u8]) -> Raw {
    let addr = url.trim_start_matches("http://");
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(request).unwrap();
    let mut bytes = Vec::new();
    let _ = tcp.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Raw {
        status,
        head: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

/// A request with these headers and body, `Connection: close`.
fn request(method: &str, url: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Raw {
    let host = url.trim_start_matches("http://");
    let mut text = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        text.push_str(&format!("Host: {host}\r\n"));
    }
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    raw(url, text.as_bytes())
}

/// A JSON POST with MLflow's client headers.
fn post(url: &str, path: &str, body: Value) -> Raw {
    request(
        "POST",
        url,
        &format!("/api/2.0/mlflow/{path}"),
        &[("Content-Type", "application/json")],
        &body.to_string(),
    )
}

fn json_of(r: &Raw) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

/// A store with one experiment "target"; its id.
fn store_with_target(dir: &Path) -> String {
    let client = runlog::Client::new(&dir.display().to_string()).unwrap();
    let id = client.create_experiment("target").unwrap();
    client.flush().unwrap();
    id
}

fn lifecycle(url: &str, id: &str) -> String {
    let r = request(
        "GET",
        url,
        &format!("/api/2.0/mlflow/experiments/get?experiment_id={id}"),
        &[],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    json_of(&r)["experiment"]["lifecycle_stage"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn cross_site_and_rebinding_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let id = store_with_target(dir.path());
    let server = ServerProcess::start(dir.path(), &[]);
    let url = &server.url;
    let delete = "/api/2.0/mlflow/experiments/delete";
    let body = json!({"experiment_id": id}).to_string();
    // A plain HTML form from another site: text/plain, with its Origin.
    let r = request(
        "POST",
        url,
        delete,
        &[
            ("Origin", "http://evil.example"),
            ("Content-Type", "text/plain"),
        ],
        &body,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(json_of(&r)["error_code"], "PERMISSION_DENIED");
    // Without an Origin (an old browser, a form in a sandboxed frame): the
    // content type alone refuses it, as MLflow does.
    for kind in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = request("POST", url, delete, &[("Content-Type", kind)], &body);
        assert_eq!(r.status, 400, "{kind}: {}", r.body);
        assert!(r.body.contains("Content-Type"), "{}", r.body);
    }
    // GraphQL is API too: another site's page may not query it, and a
    // form's content type is refused.
    let query = json!({"query": "{ mlflowGetExperiment(input: {experimentId: \"0\"}) { experiment { name } } }"})
        .to_string();
    let r = request(
        "POST",
        url,
        "/graphql",
        &[
            ("Origin", "http://evil.example"),
            ("Content-Type", "application/json"),
        ],
        &query,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = request(
        "POST",
        url,
        "/graphql",
        &[("Content-Type", "text/plain")],
        &query,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let r = request("POST", url, delete, &[], &body);
    assert_eq!(r.status, 400, "{}", r.body);
    // DNS rebinding: a page of attacker.example whose name now points
    // here sends its own Host, for reads and writes alike.
    for (method, path, kind) in [
        (
            "POST",
            "/api/2.0/mlflow/experiments/search",
            "application/json",
        ),
        (
            "GET",
            "/api/2.0/mlflow/experiments/get-by-name?experiment_name=target",
            "",
        ),
        ("GET", "/", ""),
        ("POST", delete, "application/json"),
    ] {
        let mut headers = vec![("Host", "attacker.example:5000")];
        if !kind.is_empty() {
            headers.push(("Content-Type", kind));
        }
        let r = request(method, url, path, &headers, &body);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(r.body.contains("DNS rebinding"), "{}", r.body);
    }
    assert_eq!(lifecycle(url, &id), "active", "nothing was deleted");
    // The health check answers whatever the Host (load balancers).
    let r = request("GET", url, "/health", &[("Host", "lb.internal")], "");
    assert_eq!(r.status, 200);
    // Loopback names, private addresses and the server's own address pass.
    for host in [
        "localhost:5000",
        "127.0.0.1",
        "[::1]:5000",
        "192.168.1.20:5000",
    ] {
        let r = request(
            "GET",
            url,
            "/api/2.0/mlflow/experiments/get-by-name?experiment_name=target",
            &[("Host", host)],
            "",
        );
        assert_eq!(r.status, 200, "{host}: {}", r.body);
    }
    // The same request from the server's own page (same origin) works.
    let r = request(
        "POST",
        url,
        delete,
        &[("Origin", url), ("Content-Type", "application/json")],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(lifecycle(url, &id), "deleted");
}

#[test]
fn preflights_and_cors_headers_follow_the_allowed_origins() {
    let dir = tempfile::tempdir().unwrap();
    store_with_target(dir.path());
    let server = ServerProcess::start(
        dir.path(),
        &[
            "--cors-allowed-origins",
            "https://app.example,https://*.team.example",
        ],
    );
    let url = &server.url;
    let path = "/api/2.0/mlflow/experiments/search";
    let preflight = |origin: &str| {
        request(
            "OPTIONS",
            url,
            path,
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            "",
        )
    };
    for allowed in [
        "http://localhost:3000",
        "https://app.example",
        "https://ml.team.example",
    ] {
        let r = preflight(allowed);
        assert_eq!(r.status, 204, "{allowed}: {}", r.head);
        assert!(
            r.head
                .contains(&format!("access-control-allow-origin: {allowed}")),
            "{}",
            r.head
        );
        assert!(
            r.head.contains("access-control-allow-methods:"),
            "{}",
            r.head
        );
        let r = request(
            "POST",
            url,
            path,
            &[("Origin", allowed), ("Content-Type", "application/json")],
            "{}",
        );
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.head.contains("access-control-allow-origin:"),
            "{}",
            r.head
        );
    }
    for refused in ["http://evil.example", "null", "https://app.example.evil"] {
        let r = preflight(refused);
        assert_eq!(r.status, 403, "{refused}: {}", r.head);
        assert!(
            !r.head.contains("access-control-allow-origin"),
            "{}",
            r.head
        );
        // A cross-origin read is refused too, not only left unreadable.
        let r = request(
            "GET",
            url,
            "/api/2.0/mlflow/experiments/get?experiment_id=0",
            &[("Origin", refused)],
            "",
        );
        assert_eq!(r.status, 403, "{}", r.body);
    }
}

#[test]
fn the_options_widen_or_disable_the_checks() {
    let dir = tempfile::tempdir().unwrap();
    store_with_target(dir.path());
    let path = "/api/2.0/mlflow/experiments/get?experiment_id=0";
    let server = ServerProcess::start(
        dir.path(),
        &[
            "--allowed-hosts",
            "mlflow.corp.example,*.lab.example",
            "--x-frame-options",
            "DENY",
        ],
    );
    for (host, status) in [
        ("mlflow.corp.example", 200),
        ("gpu1.lab.example:5000", 200),
        ("lab.example.evil", 403),
    ] {
        let r = request("GET", &server.url, path, &[("Host", host)], "");
        assert_eq!(r.status, status, "{host}");
        assert!(r.head.contains("x-frame-options: deny"), "{}", r.head);
    }
    drop(server);
    let server = ServerProcess::start(dir.path(), &["--disable-security-middleware"]);
    let r = request(
        "GET",
        &server.url,
        path,
        &[("Host", "attacker.example")],
        "",
    );
    assert_eq!(r.status, 200);
    assert!(!r.head.contains("x-frame-options"), "{}", r.head);
    drop(server);
    // MLflow's variables do the same as the flags.
    let mut command = Command::new(env!("CARGO_BIN_EXE_runlog"));
    command
        .arg("--tracking-uri")
        .arg(dir.path())
        .args(["server", "--port", "0"])
        .env("MLFLOW_SERVER_ALLOWED_HOSTS", "*");
    let server = ServerProcess::spawn(command);
    let r = request(
        "GET",
        &server.url,
        path,
        &[("Host", "anything.example")],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn security_headers_head_and_health() {
    let dir = tempfile::tempdir().unwrap();
    store_with_target(dir.path());
    let server = ServerProcess::start(dir.path(), &[]);
    let url = &server.url;
    let page = request("GET", url, "/", &[], "");
    assert_eq!(page.status, 200);
    for header in [
        "x-content-type-options: nosniff",
        "x-frame-options: sameorigin",
        "content-security-policy: default-src 'self'; script-src 'self'",
        "frame-ancestors 'self'",
    ] {
        assert!(page.head.contains(header), "{header} in {}", page.head);
    }
    let api = request(
        "GET",
        url,
        "/api/2.0/mlflow/experiments/get?experiment_id=0",
        &[],
        "",
    );
    assert!(
        api.head.contains("x-content-type-options: nosniff"),
        "{}",
        api.head
    );
    // HEAD where GET is: the same status and headers, no body.
    for path in [
        "/api/2.0/mlflow/experiments/get?experiment_id=0",
        "/",
        "/health",
        "/ui/app.js",
    ] {
        let r = request("HEAD", url, path, &[], "");
        assert_eq!(r.status, 200, "{path}");
        assert!(r.body.is_empty(), "{path}: {}", r.body);
    }
    // /health takes GET and HEAD only.
    let r = request(
        "POST",
        url,
        "/health",
        &[("Content-Type", "application/json")],
        "{}",
    );
    assert_eq!(r.status, 405, "{}", r.body);
    assert!(json_of(&r)["error_code"].is_string());
}

#[test]
fn the_http_layers_own_errors_are_mlflow_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(dir.path(), &[]);
    let url = &server.url;
    let host = url.trim_start_matches("http://");
    let long_header = "x".repeat(600 << 10);
    let long_uri = format!(
        "/api/2.0/mlflow/experiments/get?experiment_id={}",
        "9".repeat(70_000)
    );
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"GARBAGE\r\n\r\n".to_vec(), 400),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(), 400),
        (
            format!("GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: {long_header}\r\n\r\n").into_bytes(),
            431,
        ),
        (
            format!("GET {long_uri} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
                .into_bytes(),
            414,
        ),
    ];
    for (bytes, status) in cases {
        let r = raw(url, &bytes);
        assert_eq!(r.status, status, "{}", r.head);
        let v = json_of(&r);
        assert!(
            v["error_code"].is_string() && v["message"].is_string(),
            "{v}"
        );
        assert!(
            r.head.contains("content-type: application/json"),
            "{}",
            r.head
        );
    }
}

/// Opens `n` connections to `url`, every fourth one having sent half a
/// request's headers, the rest nothing.
fn hold_connections(url: &str, n: usize) -> Vec<TcpStream> {
    let addr = url.trim_start_matches("http://");
    (0..n)
        .filter_map(|i| {
            let mut tcp = TcpStream::connect(addr).ok()?;
            if i % 4 == 0 {
                let _ =
                    tcp.write_all(b"GET /api/2.0/mlflow/experiments/search HTTP/1.1\r\nHost: x");
            }
            Some(tcp)
        })
        .collect()
}

/// How long a fresh client waits for an answer to a search.
fn answer_time(url: &str) -> (Duration, u16) {
    let started = Instant::now();
    let r = request(
        "GET",
        url,
        "/api/2.0/mlflow/experiments/get?experiment_id=0",
        &[],
        "",
    );
    (started.elapsed(), r.status)
}

#[test]
fn slow_and_idle_connections_past_the_descriptor_limit_starve_no_one() {
    let dir = tempfile::tempdir().unwrap();
    store_with_target(dir.path());
    // The server at 1,024 descriptors (a common default), soft and hard,
    // so it cannot raise it: 2,000 connections are more than it can hold.
    let mut command = Command::new("prlimit");
    command
        .arg("--nofile=1024:1024")
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_runlog"))
        .arg("--tracking-uri")
        .arg(dir.path())
        .args(["server", "--port", "0"]);
    let mut server = ServerProcess::spawn(command);
    let held = hold_connections(&server.url, 2_000);
    assert!(
        held.len() >= 1_900,
        "only {} connections opened",
        held.len()
    );
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        let (took, status) = answer_time(&server.url);
        assert_eq!(status, 200);
        assert!(
            took < Duration::from_secs(1),
            "a new client waited {took:?}"
        );
        worst = worst.max(took);
    }
    eprintln!(
        "{} connections held against 1,024 descriptors: a new client answered within {worst:?}",
        held.len()
    );
    // Writes still reach the store (no "cannot open" error).
    let r = post(
        &server.url,
        "experiments/create",
        json!({"name": "after-the-flood"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    drop(held);
    assert!(server.stop().success());
}

#[test]
fn idle_and_stalled_connections_are_closed_by_the_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        dir.path(),
        &["--header-timeout", "1", "--idle-timeout", "1"],
    );
    let addr = server.url.trim_start_matches("http://");
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x").unwrap();
    let mut idle = TcpStream::connect(addr).unwrap();
    let mut body = TcpStream::connect(addr).unwrap();
    body.write_all(
        format!(
            "POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nHost: {addr}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"na"
        )
        .as_bytes(),
    )
    .unwrap();
    let started = Instant::now();
    for tcp in [&mut half, &mut idle, &mut body] {
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut rest = Vec::new();
        let _ = tcp.read_to_end(&mut rest); // ends when the server closes
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "closed after {took:?}");
}

#[test]
fn sigterm_with_a_stalled_client_exits_within_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let id = store_with_target(dir.path());
    let mut server = ServerProcess::start(dir.path(), &["--shutdown-timeout", "2"]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    // An acknowledged write, then a client stalled halfway through a body.
    let r = post(
        &server.url,
        "experiments/set-experiment-tag",
        json!({"experiment_id": id, "key": "k", "value": "v"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled
        .write_all(
            format!(
                "POST /api/2.0/mlflow/runs/create HTTP/1.1\r\nHost: {addr}\r\n\
                 Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .unwrap();
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"GET /he").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let status = server.stop();
    let took = started.elapsed();
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(6), "SIGTERM took {took:?}");
    let client = runlog::Client::builder()
        .store(dir.path())
        .read_only()
        .open()
        .unwrap();
    let e = client.get_experiment(&id).unwrap();
    assert_eq!(e.tags.get("k").map(String::as_str), Some("v"));
    drop((stalled, half));
}

#[test]
fn event_streams_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let client = runlog::Client::new(&dir.path().display().to_string()).unwrap();
    let run = client
        .create_run(runlog::NewRun::new("0"))
        .unwrap()
        .info
        .run_id;
    client.log_metric(&run, "loss", 1.0, 0).unwrap();
    client.flush().unwrap();
    drop(client);
    let server = ServerProcess::start(dir.path(), &["--max-streams", "2"]);
    let addr = server.url.trim_start_matches("http://").to_owned();
    let open = |n: usize| -> Vec<TcpStream> {
        (0..n)
            .map(|_| {
                let mut tcp = TcpStream::connect(&addr).unwrap();
                tcp.write_all(
                    format!(
                        "GET /ajax-api/2.0/runlog/follow?run_ids={run}&keys=loss HTTP/1.1\r\nHost: {addr}\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .unwrap();
                let mut first = [0u8; 12];
                tcp.read_exact(&mut first).unwrap();
                assert_eq!(&first, b"HTTP/1.1 200", "a stream under the cap opens");
                tcp
            })
            .collect()
    };
    let streams = open(2);
    let r = request(
        "GET",
        &server.url,
        &format!("/ajax-api/2.0/runlog/follow?run_ids={run}&keys=loss"),
        &[],
        "",
    );
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("--max-streams"), "{}", r.body);
    drop(streams);
    std::thread::sleep(Duration::from_millis(300));
    let again = open(1);
    drop(again);
}

/// Basic credentials as an `Authorization` value.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A JSON call as `auth`; (status, answer).
fn call(url: &str, auth: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let agent = http_agent();
    let uri = format!("{url}{path}");
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(&uri)
        .header("Authorization", auth);
    let payload = if method == "GET" {
        Vec::new()
    } else {
        builder = builder.header("Content-Type", "application/json");
        body.to_string().into_bytes()
    };
    let mut r = agent.run(builder.body(payload).unwrap()).unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A call as `auth` that must answer `status`; the answer.
fn expect(url: &str, auth: &str, method: &str, path: &str, body: Value, status: u16) -> Value {
    let (got, answer) = call(url, auth, method, path, body);
    assert_eq!(got, status, "{method} {path}: {answer}");
    answer
}

#[test]
fn sign_in_and_permissions_guard_every_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let secret = store_with_target(dir.path());
    // No admin password, or the old default one: the server refuses to
    // start (there is no default password, as in MLflow 3.17).
    for password in [None, Some("password1234"), Some("short")] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_runlog"));
        command
            .arg("--tracking-uri")
            .arg(dir.path())
            .args(["server", "--port", "0", "--app-name", "basic-auth"])
            .env_remove("MLFLOW_AUTH_ADMIN_PASSWORD")
            .env_remove("MLFLOW_AUTH_CONFIG_PATH");
        if let Some(p) = password {
            command.env("MLFLOW_AUTH_ADMIN_PASSWORD", p);
        }
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{password:?}: {stderr}");
        assert!(stderr.contains("admin"), "{stderr}");
    }
    let server = ServerProcess::start_signed_in(dir.path());
    let url = &server.url;
    let admin = basic("admin", TEST_ADMIN_PASSWORD);
    let mlflow = |p: &str| format!("/api/2.0/mlflow/{p}");
    // Nobody signed in: 401 with the browser's prompt, pages included.
    for path in ["/", "/api/2.0/mlflow/experiments/get?experiment_id=0"] {
        let r = request("GET", url, path, &[], "");
        assert_eq!(r.status, 401, "{path}");
        assert!(r.head.contains("www-authenticate: basic"), "{}", r.head);
    }
    expect(
        url,
        &basic("admin", "wrong"),
        "GET",
        &mlflow("experiments/get?experiment_id=0"),
        json!({}),
        401,
    );
    assert_eq!(request("GET", url, "/health", &[], "").status, 200);
    // The admin makes a user; passwords are kept hashed.
    let user = expect(
        url,
        &admin,
        "POST",
        &mlflow("users/create"),
        json!({"username": "alice", "password": "alice-password-1"}),
        200,
    );
    assert_eq!(user["user"]["username"], "alice");
    assert_eq!(user["user"]["is_admin"], false);
    let db = std::fs::read(dir.path().join("basic_auth.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&db).contains("alice-password-1"),
        "no clear password on disk"
    );
    let alice = basic("alice", "alice-password-1");
    // A user is not an admin.
    expect(
        url,
        &alice,
        "POST",
        &mlflow("users/create"),
        json!({"username": "eve", "password": "eve-password-1"}),
        403,
    );
    // READ by default: alice reads, but cannot log or delete.
    expect(
        url,
        &alice,
        "GET",
        &mlflow(&format!("experiments/get?experiment_id={secret}")),
        json!({}),
        200,
    );
    let run = expect(
        url,
        &admin,
        "POST",
        &mlflow("runs/create"),
        json!({"experiment_id": secret}),
        200,
    );
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
    for (path, body) in [
        ("runs/create", json!({"experiment_id": secret})),
        (
            "runs/log-metric",
            json!({"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}),
        ),
        (
            "runs/log-batch",
            json!({"run_id": run_id, "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}]}),
        ),
        ("runs/delete", json!({"run_id": run_id})),
        ("experiments/delete", json!({"experiment_id": secret})),
        (
            "experiments/set-experiment-tag",
            json!({"experiment_id": secret, "key": "k", "value": "v"}),
        ),
    ] {
        let answer = expect(url, &alice, "POST", &mlflow(path), body, 403);
        assert_eq!(answer["error_code"], "PERMISSION_DENIED");
    }
    // NO_PERMISSIONS on the experiment: it disappears from her lists and
    // every endpoint naming it or its runs refuses.
    let p = expect(
        url,
        &admin,
        "POST",
        &mlflow("experiments/permissions/create"),
        json!({"experiment_id": secret, "username": "alice", "permission": "NO_PERMISSIONS"}),
        200,
    );
    assert_eq!(p["experiment_permission"]["permission"], "NO_PERMISSIONS");
    let (_, list) = call(
        url,
        &alice,
        "POST",
        &mlflow("experiments/search"),
        json!({}),
    );
    let names: Vec<&str> = list["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"target") && names.contains(&"Default"),
        "{names:?}"
    );
    let (_, dash) = call(
        url,
        &alice,
        "GET",
        "/ajax-api/2.0/runlog/experiments",
        json!({}),
    );
    assert!(!dash.to_string().contains("\"target\""), "{dash}");
    for path in [
        format!("/api/2.0/mlflow/experiments/get?experiment_id={secret}"),
        "/api/2.0/mlflow/experiments/get-by-name?experiment_name=target".to_owned(),
        format!("/api/2.0/mlflow/runs/get?run_id={run_id}"),
        format!("/api/2.0/mlflow/metrics/get-history?run_id={run_id}&metric_key=m"),
        format!("/api/2.0/mlflow/artifacts/list?run_id={run_id}"),
        format!("/ajax-api/2.0/runlog/follow?run_ids={run_id}&keys=m"),
        format!("/ajax-api/2.0/runlog/artifacts?run_id={run_id}"),
        format!("/api/2.0/mlflow-artifacts/artifacts/{secret}/{run_id}/artifacts/x.txt"),
    ] {
        expect(url, &alice, "GET", &path, json!({}), 403);
    }
    expect(
        url,
        &alice,
        "POST",
        &mlflow("runs/search"),
        json!({"experiment_ids": [secret]}),
        403,
    );
    expect(
        url,
        &alice,
        "POST",
        "/ajax-api/2.0/runlog/series",
        json!({"run_ids": [run_id], "keys": ["m"]}),
        403,
    );
    // GraphQL (MLflow's UI): each root field needs what its REST endpoint
    // needs; what she may read still answers in the same query.
    let query = format!(
        "{{ run: mlflowGetRun(input: {{runId: \"{run_id}\"}}) {{ run {{ info {{ runName }} }} }}
           exp: mlflowGetExperiment(input: {{experimentId: \"{secret}\"}}) {{ experiment {{ name }} }}
           runs: mlflowSearchRuns(input: {{experimentIds: [\"{secret}\"]}}) {{ runs {{ info {{ runName }} }} }}
           open: mlflowGetExperiment(input: {{experimentId: \"0\"}}) {{ experiment {{ name }} }} }}"
    );
    let (status, got) = call(url, &alice, "POST", "/graphql", json!({ "query": query }));
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["data"]["run"], Value::Null, "{got}");
    assert_eq!(got["data"]["exp"], Value::Null, "{got}");
    assert_eq!(got["data"]["runs"], Value::Null, "{got}");
    assert_eq!(
        got["data"]["open"]["experiment"]["name"], "Default",
        "{got}"
    );
    assert_eq!(got["errors"].as_array().unwrap().len(), 3, "{got}");
    assert!(!got.to_string().contains("target"), "{got}");
    let (status, _) = call(url, "", "POST", "/graphql", json!({ "query": query }));
    assert_eq!(status, 401, "not signed in");
    // The UI's upload into a run: the run's experiment decides.
    let upload = format!("/ajax-api/2.0/mlflow/upload-artifact?run_uuid={run_id}&path=x.txt");
    expect(url, &alice, "POST", &upload, json!({"a": 1}), 403);
    // EDIT: she logs, but cannot delete.
    expect(
        url,
        &admin,
        "PATCH",
        &mlflow("experiments/permissions/update"),
        json!({"experiment_id": secret, "username": "alice", "permission": "EDIT"}),
        200,
    );
    let (status, body) = call(url, &alice, "POST", &upload, json!({"a": 1}));
    assert_eq!(status, 200, "{body}");
    expect(
        url,
        &alice,
        "POST",
        &mlflow("runs/log-batch"),
        json!({"run_id": run_id, "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}]}),
        200,
    );
    expect(
        url,
        &alice,
        "POST",
        &mlflow("runs/delete"),
        json!({"run_id": run_id}),
        403,
    );
    // She may not manage others' permissions there.
    expect(
        url,
        &alice,
        "POST",
        &mlflow("experiments/permissions/create"),
        json!({"experiment_id": secret, "username": "admin", "permission": "READ"}),
        403,
    );
    // Her own experiment she manages.
    let mine = expect(
        url,
        &alice,
        "POST",
        &mlflow("experiments/create"),
        json!({"name": "alices"}),
        200,
    );
    let mine = mine["experiment_id"].as_str().unwrap().to_owned();
    expect(
        url,
        &alice,
        "POST",
        &mlflow("experiments/delete"),
        json!({"experiment_id": mine}),
        200,
    );
    let (_, me) = call(
        url,
        &alice,
        "GET",
        &mlflow("users/get?username=alice"),
        json!({}),
    );
    assert!(me.to_string().contains("MANAGE"), "{me}");
    expect(
        url,
        &alice,
        "GET",
        &mlflow("users/get?username=admin"),
        json!({}),
        403,
    );
    // A token signs in as Bearer (MLFLOW_TRACKING_TOKEN), and is revoked.
    let token = expect(
        url,
        &alice,
        "POST",
        "/api/2.0/runlog/tokens/create",
        json!({"description": "ci"}),
        200,
    );
    let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
    expect(
        url,
        &bearer,
        "GET",
        &mlflow("experiments/get?experiment_id=0"),
        json!({}),
        200,
    );
    expect(
        url,
        &bearer,
        "POST",
        "/api/2.0/runlog/tokens/delete",
        json!({"token": token["token"]}),
        200,
    );
    expect(
        url,
        &bearer,
        "GET",
        &mlflow("experiments/get?experiment_id=0"),
        json!({}),
        401,
    );
    // A new password replaces the old at once; a deleted user is gone.
    expect(
        url,
        &alice,
        "PATCH",
        &mlflow("users/update-password"),
        json!({"username": "alice", "password": "alice-password-2"}),
        400,
    );
    expect(
        url,
        &alice,
        "PATCH",
        &mlflow("users/update-password"),
        json!({"username": "alice", "password": "alice-password-2", "current_password": "alice-password-1"}),
        200,
    );
    expect(
        url,
        &alice,
        "GET",
        &mlflow("experiments/get?experiment_id=0"),
        json!({}),
        401,
    );
    expect(
        url,
        &admin,
        "DELETE",
        &mlflow("users/delete"),
        json!({"username": "alice"}),
        200,
    );
    expect(
        url,
        &basic("alice", "alice-password-2"),
        "GET",
        &mlflow("experiments/get?experiment_id=0"),
        json!({}),
        401,
    );
}

#[test]
fn tls_serves_https_with_the_given_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed to make a test certificate");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_runlog"));
    command
        .arg("--tracking-uri")
        .arg(dir.path().join("store"))
        .args(["server", "--port", "0", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key);
    let server = ServerProcess::spawn(command);
    let url = server.url.clone();
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&cert)
        .arg(format!(
            "{url}/api/2.0/mlflow/experiments/get?experiment_id=0"
        ))
        .output()
        .expect("curl is needed for the TLS test");
    let plain = request(
        "GET",
        &url.replace("https://", "http://"),
        "/health",
        &[],
        "",
    );
    drop(server);
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && body.contains("Default"),
        "{body} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(plain.status, 200, "plain HTTP is not served on a TLS port");
}

/// runlog's own client signs in as MLflow's does: `runlog sync` to a
/// server with sign-in takes MLflow's credential variables, and without
/// them fails with a clear error instead of sending anything.
#[test]
fn runlog_sync_signs_in_with_mlflows_variables() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    let client = runlog::Client::new(&local.display().to_string()).unwrap();
    let run = client
        .create_run(runlog::NewRun::new("0"))
        .unwrap()
        .info
        .run_id;
    for step in 0..1_000 {
        client
            .log_metric(&run, "loss", 1.0 / (step + 1) as f64, step)
            .unwrap();
    }
    client.flush().unwrap();
    drop(client);
    let server = ServerProcess::start_signed_in(&dir.path().join("remote"));
    let sync = |user: Option<(&str, &str)>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_runlog"));
        c.arg("--tracking-uri")
            .arg(&local)
            .args(["sync", "--to", &server.url])
            .env_remove("MLFLOW_TRACKING_USERNAME")
            .env_remove("MLFLOW_TRACKING_PASSWORD")
            .env_remove("MLFLOW_TRACKING_TOKEN");
        if let Some((name, password)) = user {
            c.env("MLFLOW_TRACKING_USERNAME", name)
                .env("MLFLOW_TRACKING_PASSWORD", password);
        }
        c.output().unwrap()
    };
    let refused = sync(None);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("401") || stderr.contains("signed in"),
        "{stderr}"
    );
    let done = sync(Some(("admin", TEST_ADMIN_PASSWORD)));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let runs = expect(
        &server.url,
        &basic("admin", TEST_ADMIN_PASSWORD),
        "POST",
        "/api/2.0/mlflow/runs/search",
        json!({"experiment_ids": ["0"]}),
        200,
    );
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "{runs}");
}

/// An artifact request as raw bytes (`PUT` with a body, `GET`, ...).
fn artifact(url: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let agent = http_agent();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{url}/api/2.0/mlflow-artifacts/artifacts{path}"))
        .header("Content-Type", "application/octet-stream")
        .body(body.to_vec())
        .unwrap();
    let mut r = agent.run(request).unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn artifact_paths_stay_in_the_root_and_client_mistakes_are_400() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "not yours").unwrap();
    let client = runlog::Client::new(&store.display().to_string()).unwrap();
    let run = client.create_run(runlog::NewRun::new("0")).unwrap();
    let run_id = run.info.run_id.clone();
    client.flush().unwrap();
    drop(client);
    let server = ServerProcess::start(&store, &[]);
    let url = &server.url;
    let root = store.join("artifacts");
    let run_root = root.join("0").join(&run_id).join("artifacts");
    std::fs::create_dir_all(&run_root).unwrap();
    std::os::unix::fs::symlink(&outside, run_root.join("link")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("0").join("escape")).unwrap();

    // A PUT through a link out of the root: refused, and nothing made there.
    let (status, body) = artifact(url, "PUT", "/0/escape/new-dir/f.txt", b"x");
    assert_eq!(status, 400, "{body}");
    assert!(
        !outside.join("new-dir").exists(),
        "a directory was made outside the root"
    );
    let (status, _) = artifact(
        url,
        "PUT",
        &format!("/0/{run_id}/artifacts/link/f.txt"),
        b"x",
    );
    assert_eq!(status, 400);
    assert!(!outside.join("f.txt").exists());

    // Listings leave links out of the root out: mlflow-artifacts, MLflow's
    // artifacts/list, and the dashboard's.
    let (status, list) = artifact(url, "GET", &format!("?path=0/{run_id}/artifacts"), b"");
    assert_eq!(status, 200);
    assert!(!list.contains("link"), "{list}");
    let (status, list) = artifact(url, "GET", "?path=0", b"");
    assert_eq!(status, 200);
    assert!(!list.contains("escape") && list.contains(&run_id), "{list}");
    for path in [
        format!("/api/2.0/mlflow/artifacts/list?run_id={run_id}"),
        format!("/ajax-api/2.0/runlog/artifacts?run_id={run_id}"),
    ] {
        let r = request("GET", url, &path, &[], "");
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(!r.body.contains("link"), "{path}: {}", r.body);
    }
    let r = request(
        "GET",
        url,
        &format!("/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=link"),
        &[],
        "",
    );
    assert!(!r.body.contains("secret"), "{}", r.body);
    let (status, _) = artifact(
        url,
        "GET",
        &format!("/0/{run_id}/artifacts/link/secret.txt"),
        b"",
    );
    assert_eq!(status, 400);

    // A legal 255-byte name works; longer names and paths, and a file used
    // as a directory, are the client's mistakes: 400, not 500.
    let long = "n".repeat(251) + ".txt";
    let (status, body) = artifact(
        url,
        "PUT",
        &format!("/0/{run_id}/artifacts/{long}"),
        b"long",
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = artifact(url, "GET", &format!("/0/{run_id}/artifacts/{long}"), b"");
    assert_eq!((status, body.as_str()), (200, "long"));
    let too_long = "n".repeat(300);
    let (status, body) = artifact(
        url,
        "PUT",
        &format!("/0/{run_id}/artifacts/{too_long}"),
        b"x",
    );
    assert_eq!(status, 400, "{body}");
    let deep: String = (0..20).map(|_| format!("/{}", "d".repeat(250))).collect();
    let (status, body) = artifact(url, "PUT", &format!("/0/{run_id}/artifacts{deep}/f"), b"x");
    assert_eq!(status, 400, "{body}");
    let (status, _) = artifact(url, "PUT", &format!("/0/{run_id}/artifacts/file.txt"), b"f");
    assert_eq!(status, 200);
    let (status, body) = artifact(
        url,
        "PUT",
        &format!("/0/{run_id}/artifacts/file.txt/inner.txt"),
        b"x",
    );
    assert_eq!(status, 400, "{body}");

    // An upload in progress is not listed and cannot be fetched.
    let addr = url.trim_start_matches("http://");
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(
        format!(
            "PUT /api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/big.bin HTTP/1.1\r\n\
             Host: {addr}\r\nContent-Length: 1000000\r\n\r\n{}",
            "b".repeat(1000)
        )
        .as_bytes(),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for query in [
        format!("?path=0/{run_id}/artifacts"),
        String::new(),
        "?path=".into(),
    ] {
        let (status, list) = artifact(url, "GET", &query, b"");
        assert_eq!(status, 200);
        assert!(
            !list.contains("big.bin") && !list.contains("upload"),
            "{query}: {list}"
        );
    }
    let (status, _) = artifact(url, "GET", "/.runlog-uploads", b"");
    assert_eq!(status, 400, "the staging directory is not an artifact path");
    drop(slow);
}

/// A refusal of sign-in reaches a client still sending a large body (the
/// body is read and dropped first), never a reset connection.
#[test]
fn large_bodies_refused_by_sign_in_get_their_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_signed_in(dir.path());
    let url = &server.url;
    let admin = basic("admin", TEST_ADMIN_PASSWORD);
    expect(
        url,
        &admin,
        "POST",
        "/api/2.0/mlflow/users/create",
        json!({"username": "reader", "password": "reader-password"}),
        200,
    );
    let big = vec![b'x'; 4 << 20];
    let send = |auth: Option<String>, method: &str, path: &str, kind: &str| {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{url}{path}"))
            .header("Content-Type", kind);
        if let Some(a) = auth {
            builder = builder.header("Authorization", a);
        }
        let mut r = http_agent()
            .run(builder.body(big.clone()).unwrap())
            .unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let (status, body) = send(
        None,
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        "application/json",
    );
    assert_eq!(status, 401, "{body}");
    let reader = Some(basic("reader", "reader-password"));
    let (status, body) = send(
        reader,
        "PUT",
        "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/big.bin",
        "application/octet-stream",
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("PERMISSION_DENIED"), "{body}");
}
