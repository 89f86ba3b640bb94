//! Registry webhooks: what `runlog server` delivers, compared with what
//! `mlflow server` 3.17.2 delivers for the same MLflow client program;
//! signatures checked with an HMAC of the test's own; retries; private
//! addresses refused; admins only under sign-in; webhooks kept across a
//! SIGKILL.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use common::{http_agent, mlflow_server_python, MlflowServerProcess, ServerProcess};

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Delivery {
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// A webhook receiver on loopback: records every POST; `/flaky` answers
/// 503 to a delivery id's first try, every other path 200 `ok`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Delivery>>>,
    connections: Arc<Mutex<usize>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::<Delivery>::new()));
        let connections = Arc::new(Mutex::new(0));
        let (g, c) = (Arc::clone(&got), Arc::clone(&connections));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                *c.lock().unwrap() += 1;
                let g = Arc::clone(&g);
                std::thread::spawn(move || {
                    let _ = serve_one(stream, &g);
                });
            }
        });
        Receiver {
            url,
            got,
            connections,
        }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }

    /// The deliveries once none has come for a while (they are sent in
    /// the background).
    fn settled(&self, at_least: usize) -> Vec<Delivery> {
        let start = Instant::now();
        let mut seen = (0, Instant::now());
        loop {
            let n = self.got.lock().unwrap().len();
            if n != seen.0 {
                seen = (n, Instant::now());
            }
            let quiet = seen.1.elapsed() > Duration::from_millis(1500);
            if (n >= at_least && quiet) || start.elapsed() > Duration::from_secs(60) {
                return self.deliveries();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve_one(stream: std::net::TcpStream, got: &Mutex<Vec<Delivery>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let d = Delivery {
        path: path.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let id = d.headers.get("x-mlflow-delivery-id").cloned();
    let first_try = {
        let mut all = got.lock().unwrap();
        let first = !all
            .iter()
            .any(|o| o.headers.get("x-mlflow-delivery-id") == id.as_ref());
        all.push(d);
        first
    };
    let (status, text) = if path == "/flaky" && first_try {
        ("503 Service Unavailable", "busy")
    } else {
        ("200 OK", "ok")
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    out.flush()
}

/// `v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`, computed
/// here, apart from the server's code.
fn expected_signature(secret: &str, d: &Delivery) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    let id = &d.headers["x-mlflow-delivery-id"];
    let ts = &d.headers["x-mlflow-timestamp"];
    mac.update(format!("{id}.{ts}.{}", d.body).as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("v1,{sig}")
}

/// Checks a delivery's headers and envelope; returns `(path, entity,
/// action, data)` with the run id named `<run>`.
fn checked(d: &Delivery, run_id: &str) -> (String, String, String, Value) {
    let id = &d.headers["x-mlflow-delivery-id"];
    assert_eq!(id.len(), 36, "{id}");
    let ts: u64 = d.headers["x-mlflow-timestamp"].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ts.abs_diff(now) < 600, "{ts} vs {now}");
    assert_eq!(d.headers["content-type"], "application/json");
    match d.path.as_str() {
        "/signed" => assert_eq!(
            d.headers.get("x-mlflow-signature"),
            Some(&expected_signature("s3cret-key", d)),
            "{d:?}"
        ),
        _ => assert!(!d.headers.contains_key("x-mlflow-signature"), "{d:?}"),
    }
    let body: Value = serde_json::from_str(&d.body).unwrap();
    let stamp = body["timestamp"].as_str().unwrap();
    assert!(
        stamp.len() == 32 && stamp.ends_with("+00:00") && &stamp[10..11] == "T",
        "{stamp}"
    );
    let data = serde_json::from_str(&body["data"].to_string().replace(run_id, "<run>")).unwrap();
    (
        d.path.clone(),
        body["entity"].as_str().unwrap().to_owned(),
        body["action"].as_str().unwrap().to_owned(),
        data,
    )
}

/// Runs the client program against `server`; its answers and the
/// deliveries, checked and sorted.
fn drive(server: &str, receiver: &Receiver) -> (Value, Vec<(String, String, String, Value)>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mlflow/webhooks_client.py");
    let out = std::process::Command::new(mlflow_server_python())
        .arg(script)
        .args([server, receiver.url.as_str()])
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // MLflow prints its own lines ("View run at ..."); the answers are
    // the last.
    let stdout = String::from_utf8_lossy(&out.stdout).replace(&receiver.url, "<receiver>");
    let answers: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    let run_id = answers["run_id"].as_str().unwrap().to_owned();
    let mut got: Vec<_> = receiver
        // Twelve deliveries at least (the test below names them).
        .settled(12)
        .iter()
        .map(|d| checked(d, &run_id))
        .collect();
    got.sort_by_key(|d| format!("{d:?}"));
    (answers, got)
}

#[test]
fn runlog_server_delivers_what_mlflow_server_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let mlflow = MlflowServerProcess::start_with_env(
        dir.path(),
        &[
            ("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true"),
            ("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https"),
        ],
    );
    let store = dir.path().join("runlog");
    let runlog = ServerProcess::start(
        &store,
        &[
            "--webhook-allow-private-ips",
            "--webhook-allowed-schemes",
            "http,https",
        ],
    );
    let (to_mlflow, to_runlog) = (Receiver::start(), Receiver::start());
    let (mlflow_answers, mlflow_got) = drive(&mlflow.url, &to_mlflow);
    let (mut runlog_answers, runlog_got) = drive(&runlog.url, &to_runlog);

    // The same answers, but for the run id.
    runlog_answers["run_id"] = mlflow_answers["run_id"].clone();
    assert_eq!(runlog_answers, mlflow_answers);
    assert_eq!(
        mlflow_answers["tests"],
        json!([[true, 200, "ok"], [true, 200, "ok"]])
    );
    assert_eq!(mlflow_answers["left"], json!(["models.signed"]));

    // The same deliveries: every model event once (signed), the prompt's,
    // the two tests' examples, and nothing once disabled.
    let events: Vec<String> = runlog_got
        .iter()
        .map(|(path, e, a, _)| format!("{path} {e}.{a}"))
        .collect();
    for want in [
        "/signed registered_model.created",
        "/signed model_version.created",
        "/signed model_version_tag.set",
        "/signed model_version_tag.deleted",
        "/signed model_version_alias.created",
        "/signed model_version_alias.deleted",
        "/plain prompt.created",
        "/plain prompt_version.created",
        "/plain prompt_alias.created",
    ] {
        assert!(events.iter().any(|e| e == want), "{want} in {events:?}");
    }
    assert!(
        !runlog_got
            .iter()
            .any(|(_, _, _, data)| data["alias"] == "after-disable"),
        "a disabled webhook got a delivery"
    );
    assert_eq!(runlog_got.len(), 12, "{events:?}");
    // mlflow server still delivers to the webhook just disabled: it keeps
    // its list of webhooks for 60 s (MLFLOW_WEBHOOK_CACHE_TTL) even after
    // its own changes. runlog forgets its copy at every change made
    // through it, so a disabled webhook hears nothing more.
    let mlflow_got: Vec<_> = mlflow_got
        .into_iter()
        .filter(|(_, _, _, data)| data["alias"] != "after-disable")
        .collect();
    assert_eq!(runlog_got, mlflow_got);
}

/// `runlog server` on `store` with webhooks allowed on loopback over
/// http, as a test receiver needs.
fn loopback_server(store: &Path, extra: &[&str]) -> ServerProcess {
    let mut args = vec![
        "--webhook-allow-private-ips",
        "--webhook-allowed-schemes",
        "http",
    ];
    args.extend_from_slice(extra);
    ServerProcess::start(store, &args)
}

fn call(url: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    let agent = http_agent();
    let url = format!("{url}/api/2.0/mlflow/{path}");
    let answer = match method {
        "GET" => agent.get(&url).call(),
        "DELETE" => agent.delete(&url).force_send_body().send_json(&body),
        "PATCH" => agent.patch(&url).send_json(&body),
        _ => agent.post(&url).send_json(&body),
    };
    let mut answer = answer.unwrap();
    let status = answer.status().as_u16();
    let text = answer.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn new_webhook(url: &str, target: &str, events: Value) -> (u16, Value) {
    call(
        url,
        "POST",
        "webhooks",
        json!({"name": "hook", "url": target, "events": events}),
    )
}

#[test]
fn a_busy_receiver_is_tried_again_with_the_same_delivery_even_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = loopback_server(dir.path(), &[]);
    let receiver = Receiver::start();
    let (status, made) = new_webhook(
        &server.url,
        &format!("{}/flaky", receiver.url),
        json!([{"entity": "REGISTERED_MODEL", "action": "CREATED"}]),
    );
    assert_eq!(status, 200, "{made}");
    let start = Instant::now();
    let (status, _) = call(
        &server.url,
        "POST",
        "registered-models/create",
        json!({"name": "m"}),
    );
    assert_eq!(status, 200);
    // The request does not wait for the receiver.
    assert!(start.elapsed() < Duration::from_millis(900));
    // Stopped at once: the server waits for the retry (1 s later) before
    // it exits.
    assert!(server.stop().success());
    let got = receiver.deliveries();
    assert_eq!(got.len(), 2, "a 503, then the retry: {got:?}");
    assert_eq!(
        got[0].headers["x-mlflow-delivery-id"],
        got[1].headers["x-mlflow-delivery-id"]
    );
    assert_eq!(got[0].body, got[1].body);
}

#[test]
fn private_addresses_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("a"), &[]);
    let events = json!([{"entity": "REGISTERED_MODEL", "action": "CREATED"}]);
    // https only, by default.
    let (status, e) = new_webhook(&server.url, "http://example.com/hook", events.clone());
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap().contains("scheme"), "{e}");
    for target in [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://127.1/hook",
    ] {
        let (status, e) = new_webhook(&server.url, target, events.clone());
        assert_eq!(status, 400, "{target}: {e}");
        assert_eq!(e["error_code"], "INVALID_PARAMETER_VALUE", "{target}");
    }
    let (_, list) = call(&server.url, "GET", "webhooks", json!({}));
    assert_eq!(list, json!({}), "nothing was made");
    // With http allowed but not private addresses, loopback still is not.
    let server = ServerProcess::start(
        &dir.path().join("b"),
        &["--webhook-allowed-schemes", "http,https"],
    );
    let (status, e) = new_webhook(&server.url, "http://127.0.0.1:9/hook", events);
    assert_eq!(status, 400);
    assert!(
        e["message"].as_str().unwrap().contains("not a public IP"),
        "{e}"
    );
}

#[test]
fn bad_requests_get_mlflow_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = loopback_server(dir.path(), &[]);
    let target = "http://127.0.0.1:9/hook";
    let cases = [
        json!({"name": "h", "url": target, "events": "not a list"}),
        json!({"name": "h", "url": target, "events": [{"entity": 99, "action": 1}]}),
        json!({"name": "h", "url": target, "events": [{"entity": "MODEL_VERSION"}]}),
        json!({"name": "h".repeat(64), "url": target,
               "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}),
        json!({"name": "h", "url": target, "status": "SOMETIMES",
               "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}),
        json!({"name": "h", "url": "not a url",
               "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}),
        json!({"name": "h", "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}]}),
    ];
    for body in cases {
        let (status, e) = call(&server.url, "POST", "webhooks", body.clone());
        assert_eq!(status, 400, "{body}: {e}");
        assert!(e["error_code"].is_string(), "{body}: {e}");
    }
    let (status, _) = call(&server.url, "PATCH", "webhooks/nope", json!({"name": "x"}));
    assert_eq!(status, 404);
    let (status, _) = call(&server.url, "DELETE", "webhooks/nope", json!({}));
    assert_eq!(status, 404);
    let (status, _) = call(&server.url, "POST", "webhooks/nope/test", json!({}));
    assert_eq!(status, 404);
    // A receiver that is not there: the test says so, it does not fail.
    let (_, made) = new_webhook(
        &server.url,
        target,
        json!([{"entity": "MODEL_VERSION", "action": "CREATED"}]),
    );
    let id = made["webhook"]["webhook_id"].as_str().unwrap();
    let (status, result) = call(
        &server.url,
        "POST",
        &format!("webhooks/{id}/test"),
        json!({}),
    );
    assert_eq!(status, 200);
    assert!(result["result"].get("success").is_none(), "{result}");
    assert!(
        result["result"]["error_message"]
            .as_str()
            .unwrap()
            .starts_with("Failed to test webhook"),
        "{result}"
    );
    // Updates: a new secret, events replaced, cleared description.
    let (status, w) = call(
        &server.url,
        "PATCH",
        &format!("webhooks/{id}"),
        json!({"events": [{"entity": "MODEL_VERSION_ALIAS", "action": "DELETED"}],
               "description": "", "secret": "k"}),
    );
    assert_eq!(status, 200, "{w}");
    assert_eq!(
        w["webhook"]["events"],
        json!([{"entity": "MODEL_VERSION_ALIAS", "action": "DELETED"}])
    );
    assert!(w["webhook"].get("secret").is_none(), "never answered");
}

/// `runlog server --app-name basic-auth` on `store`, with `extra` flags.
fn signed_in_server(store: &Path, extra: &[&str]) -> ServerProcess {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_runlog"));
    command
        .arg("--tracking-uri")
        .arg(store)
        .args(["server", "--port", "0", "--app-name", "basic-auth"])
        .args(extra)
        .env("MLFLOW_AUTH_ADMIN_PASSWORD", common::TEST_ADMIN_PASSWORD);
    ServerProcess::spawn(command)
}

fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A signed-in call: its status and JSON answer.
fn send(auth: &str, method: &str, url: &str, body: Value) -> (u16, Value) {
    let agent = http_agent();
    let answer = match method {
        "GET" => agent.get(url).header("Authorization", auth).call(),
        _ => agent
            .post(url)
            .header("Authorization", auth)
            .send_json(&body),
    };
    let mut answer = answer.unwrap();
    let status = answer.status().as_u16();
    let text = answer.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn webhooks_are_for_admins_outlive_a_kill_and_reach_no_private_address_once_disallowed() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start();
    let loopback = [
        "--webhook-allow-private-ips",
        "--webhook-allowed-schemes",
        "http",
    ];
    let mut server = signed_in_server(dir.path(), &loopback);
    let admin = basic("admin", common::TEST_ADMIN_PASSWORD);
    let api = |server: &ServerProcess, path: &str| format!("{}/api/2.0/mlflow/{path}", server.url);
    let user = json!({"username": "alice", "password": "alice-password-1"});
    assert_eq!(
        send(&admin, "POST", &api(&server, "users/create"), user).0,
        200
    );
    let alice = basic("alice", "alice-password-1");
    let body = json!({"name": "hook", "url": format!("{}/h", receiver.url),
                      "events": [{"entity": "REGISTERED_MODEL", "action": "CREATED"}]});
    let webhooks = api(&server, "webhooks");
    assert_eq!(
        send(&alice, "POST", &webhooks, body.clone()).0,
        403,
        "a user may not make one"
    );
    assert_eq!(
        send(&alice, "GET", &webhooks, json!({})).0,
        403,
        "nor list them"
    );
    let (status, made) = send(&admin, "POST", &webhooks, body);
    assert_eq!(status, 200, "{made}");
    let create_model = |server: &ServerProcess, name: &str| {
        let path = api(server, "registered-models/create");
        assert_eq!(send(&admin, "POST", &path, json!({"name": name})).0, 200);
    };
    create_model(&server, "first");
    assert_eq!(
        receiver.settled(1).len(),
        1,
        "delivered while loopback is allowed"
    );

    // Killed at once after the answers: the webhook is there on restart,
    // now on a server that allows public addresses only.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let server = signed_in_server(dir.path(), &["--webhook-allowed-schemes", "http"]);
    let (_, list) = send(&admin, "GET", &api(&server, "webhooks"), json!({}));
    assert_eq!(list["webhooks"], json!([made["webhook"]]));
    let connections = *receiver.connections.lock().unwrap();
    create_model(&server, "second");
    let id = made["webhook"]["webhook_id"].as_str().unwrap();
    let (status, tested) = send(
        &admin,
        "POST",
        &api(&server, &format!("webhooks/{id}/test")),
        json!({}),
    );
    assert_eq!(status, 200);
    let why = tested["result"]["error_message"]
        .as_str()
        .unwrap_or_default();
    assert!(why.contains("not a public IP"), "{tested}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        *receiver.connections.lock().unwrap(),
        connections,
        "no connection reached the loopback receiver"
    );
    // Its secrets are the owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("webhooks.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
