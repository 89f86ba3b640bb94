#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! `runlog server`'s REST API through a real HTTP client on loopback:
//! every endpoint, MLflow's answers and error shapes, bad input of every
//! kind, and artifact paths that try to leave the root.

mod common;

use std::thread::JoinHandle;

use runlog_server::{Server, ServerOptions};
use serde_json::{json, Value};

/// An in-process server on a free port, stopped when dropped.
struct Running {
    base: String,
    agent: ureq::Agent,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<runlog::Result<()>>>,
    _dir: tempfile::TempDir,
    store: std::path::PathBuf,
}

fn start_with(configure: impl FnOnce(&mut ServerOptions)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut options = ServerOptions::new(store.display().to_string());
    options.port = 0;
    configure(&mut options);
    let server = Server::bind(options).unwrap();
    let base = format!("http://{}", server.local_addr());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        server.run_until(async move {
            let _ = rx.await;
        })
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    Running {
        base,
        agent,
        stop: Some(tx),
        thread: Some(thread),
        _dir: dir,
        store,
    }
}

fn start() -> Running {
    start_with(|_| {})
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap().unwrap();
        }
    }
}

impl Running {
    fn api(&self, path: &str) -> String {
        format!("{}/api/2.0/mlflow/{path}", self.base)
    }

    fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let mut r = self.agent.post(&self.api(path)).send_json(&body).unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_json().unwrap_or(Value::Null))
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self.agent.get(&self.api(path));
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        let mut r = req.call().unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_json().unwrap_or(Value::Null))
    }

    /// A request with a raw body; status and body text.
    fn raw(&self, method: &str, url: &str, body: &[u8]) -> (u16, String) {
        // A JSON API request says so, as MLflow's clients do (the server
        // refuses a POST that does not: tests/server_security.rs).
        let kind = match method {
            "POST" | "PATCH" => "application/json",
            _ => "application/octet-stream",
        };
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Content-Type", kind)
            .body(body.to_vec())
            .unwrap();
        let mut r = self.agent.run(request).unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    }

    /// A POST that must answer 200.
    fn ok(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(path, body.clone());
        assert_eq!(status, 200, "{path} {body}: {answer}");
        answer
    }

    /// A POST that must fail with this status and code.
    fn fails(&self, path: &str, body: Value, status: u16, code: &str) -> String {
        let (got, answer) = self.post(path, body.clone());
        assert_eq!(
            (got, answer["error_code"].as_str()),
            (status, Some(code)),
            "{path} {body}: {answer}"
        );
        answer["message"].as_str().unwrap().to_owned()
    }
}

#[test]
fn experiments_endpoints() {
    let s = start();
    let id = s.ok(
        "experiments/create",
        json!({"name": "e", "tags": [{"key": "team", "value": "cv"}]}),
    )["experiment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, got) = s.get("experiments/get", &[("experiment_id", &id)]);
    assert_eq!(status, 200);
    assert_eq!(got["experiment"]["name"], "e");
    assert_eq!(
        got["experiment"]["tags"],
        json!([{"key": "team", "value": "cv"}])
    );
    assert_eq!(
        got["experiment"]["artifact_location"],
        format!("mlflow-artifacts:/{id}")
    );
    let (status, got) = s.get("experiments/get-by-name", &[("experiment_name", "e")]);
    assert_eq!(
        (status, got["experiment"]["experiment_id"].as_str()),
        (200, Some(id.as_str()))
    );
    let (status, got) = s.get("experiments/get-by-name", &[("experiment_name", "nope")]);
    assert_eq!(
        (status, got["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    s.fails(
        "experiments/create",
        json!({"name": "e"}),
        400,
        "RESOURCE_ALREADY_EXISTS",
    );
    let message = s.fails(
        "experiments/create",
        json!({}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(message.contains("'name'"), "{message}");
    s.fails(
        "experiments/create",
        json!({"name": 5}),
        400,
        "INVALID_PARAMETER_VALUE",
    );

    s.ok(
        "experiments/update",
        json!({"experiment_id": id, "new_name": "f"}),
    );
    s.ok(
        "experiments/set-experiment-tag",
        json!({"experiment_id": id, "key": "k", "value": "v"}),
    );
    s.ok(
        "experiments/delete-experiment-tag",
        json!({"experiment_id": id, "key": "k"}),
    );
    s.fails(
        "experiments/delete-experiment-tag",
        json!({"experiment_id": id, "key": "k"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    s.ok("experiments/create", json!({"name": "g"}));
    let found = s.ok("experiments/search", json!({"filter": "name LIKE 'f%'"}));
    assert_eq!(found["experiments"].as_array().unwrap().len(), 1);
    let page = s.ok(
        "experiments/search",
        json!({"max_results": 2, "order_by": ["name ASC"]}),
    );
    assert_eq!(page["experiments"][0]["name"], "Default");
    let token = page["next_page_token"].as_str().unwrap();
    let rest = s.ok(
        "experiments/search",
        json!({"max_results": "2", "order_by": ["name ASC"], "page_token": token}),
    );
    assert_eq!(rest["experiments"][0]["name"], "g");
    assert!(rest.get("next_page_token").is_none());
    s.fails(
        "experiments/search",
        json!({"filter": "name ~ 'x'"}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    s.fails(
        "experiments/search",
        json!({"view_type": "SOME"}),
        400,
        "INVALID_PARAMETER_VALUE",
    );

    s.ok("experiments/delete", json!({"experiment_id": id}));
    s.fails(
        "experiments/delete",
        json!({"experiment_id": id}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    let (_, got) = s.get("experiments/get-by-name", &[("experiment_name", "f")]);
    assert_eq!(
        got["experiment"]["lifecycle_stage"], "deleted",
        "deleted ones too, as MLflow"
    );
    let deleted = s.ok("experiments/search", json!({"view_type": "DELETED_ONLY"}));
    assert_eq!(deleted["experiments"][0]["name"], "f");
    s.ok("experiments/restore", json!({"experiment_id": id}));
    s.fails(
        "experiments/get-missing",
        json!({}),
        404,
        "ENDPOINT_NOT_FOUND",
    );
}

#[test]
fn runs_endpoints() {
    let s = start();
    let created = s.ok(
        "runs/create",
        json!({"experiment_id": "0", "run_name": "r", "start_time": "1700000000000", "user_id": "ann",
               "tags": [{"key": "mlflow.user", "value": "ann"}, {"key": "mlflow.source.name", "value": "t.py"}]}),
    );
    let info = &created["run"]["info"];
    let id = info["run_id"].as_str().unwrap().to_owned();
    assert_eq!(
        (info["run_name"].as_str(), info["user_id"].as_str()),
        (Some("r"), Some("ann"))
    );
    assert_eq!(info["start_time"], 1_700_000_000_000_i64);
    assert_eq!(
        info["artifact_uri"],
        format!("mlflow-artifacts:/0/{id}/artifacts")
    );
    // The old name of the id, as MLflow's client sends both.
    let (status, got) = s.get("runs/get", &[("run_uuid", &id)]);
    assert_eq!(
        (status, got["run"]["info"]["run_id"].as_str()),
        (200, Some(id.as_str()))
    );
    // A server-made name when none is given.
    let other = s.ok("runs/create", json!({"experiment_id": "0"}));
    assert!(!other["run"]["info"]["run_name"]
        .as_str()
        .unwrap()
        .is_empty());

    s.ok(
        "runs/log-metric",
        json!({"run_id": id, "key": "loss", "value": 0.5, "timestamp": 1, "step": "3"}),
    );
    s.ok(
        "runs/log-metric",
        json!({"run_uuid": id, "key": "loss", "value": "NaN", "timestamp": "2", "step": 3}),
    );
    s.ok(
        "runs/log-metric",
        json!({"run_id": id, "key": "big", "value": "Infinity", "timestamp": 2, "step": -5}),
    );
    s.ok(
        "runs/log-parameter",
        json!({"run_id": id, "key": "lr", "value": "0.1"}),
    );
    s.ok(
        "runs/log-parameter",
        json!({"run_id": id, "key": "lr", "value": "0.1"}),
    );
    s.fails(
        "runs/log-parameter",
        json!({"run_id": id, "key": "lr", "value": "0.2"}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    s.ok(
        "runs/log-batch",
        json!({"run_id": id,
        "metrics": [{"key": "acc", "value": 0.9, "timestamp": 5, "step": 1}],
        "params": [{"key": "seed", "value": "7"}],
        "tags": [{"key": "t", "value": "x"}]}),
    );
    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({"key": "m", "value": i, "timestamp": 1, "step": i}))
        .collect();
    s.fails(
        "runs/log-batch",
        json!({"run_id": id, "metrics": too_many}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    s.fails(
        "runs/log-batch",
        json!({"run_id": id, "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "1"}]}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let message = s.fails("runs/log-batch", json!({"run_id": id,
        "metrics": [{"key": "a", "value": 1, "timestamp": 1}, {"key": "a", "value": [1], "timestamp": 1}]}),
        400, "INVALID_PARAMETER_VALUE");
    assert!(
        message.contains("metrics[1]") && message.contains("'value'"),
        "{message}"
    );
    s.ok("runs/log-inputs", json!({"run_id": id, "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "train"}],
        "dataset": {"name": "wine", "digest": "d1", "source_type": "local", "source": "{}"}}]}));
    s.ok(
        "runs/set-tag",
        json!({"run_id": id, "key": "mlflow.runName", "value": "renamed"}),
    );
    s.ok(
        "runs/set-tag",
        json!({"run_id": id, "key": "gone", "value": "soon"}),
    );
    s.ok("runs/delete-tag", json!({"run_id": id, "key": "gone"}));
    s.fails(
        "runs/delete-tag",
        json!({"run_id": id, "key": "gone"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );

    let (_, got) = s.get("runs/get", &[("run_id", &id)]);
    let run = &got["run"];
    assert_eq!(run["info"]["run_name"], "renamed");
    let metrics = run["data"]["metrics"].as_array().unwrap();
    let loss = metrics.iter().find(|m| m["key"] == "loss").unwrap();
    // At one step the later timestamp wins, NaN or not.
    assert_eq!(
        (loss["value"].as_str(), loss["timestamp"].as_i64()),
        (Some("NaN"), Some(2))
    );
    let big = metrics.iter().find(|m| m["key"] == "big").unwrap();
    assert_eq!(big["value"], "Infinity");
    let (_, history) = s.get(
        "metrics/get-history",
        &[("run_id", &id), ("metric_key", "loss")],
    );
    assert_eq!(
        history,
        json!({"metrics": [
            {"key": "loss", "value": 0.5, "timestamp": 1, "step": 3},
            {"key": "loss", "value": "NaN", "timestamp": 2, "step": 3},
        ]})
    );
    assert_eq!(
        run["inputs"]["dataset_inputs"][0]["dataset"]["name"],
        "wine"
    );

    let updated = s.ok("runs/update", json!({"run_id": id, "status": "FINISHED", "end_time": 1_700_000_500_000_i64, "run_name": "final"}));
    assert_eq!(updated["run_info"]["status"], "FINISHED");
    assert_eq!(updated["run_info"]["end_time"], 1_700_000_500_000_i64);
    let (_, got) = s.get("runs/get", &[("run_id", &id)]);
    assert_eq!(
        got["run"]["data"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["key"] == "mlflow.runName")
            .unwrap()["value"],
        "final"
    );
    s.ok("runs/update", json!({"run_id": id, "status": "RUNNING"}));
    s.fails(
        "runs/update",
        json!({"run_id": id, "status": "DONE"}),
        400,
        "INVALID_PARAMETER_VALUE",
    );

    let found = s.ok("runs/search", json!({"experiment_ids": ["0"], "filter": "params.lr = '0.1'", "order_by": ["attributes.start_time DESC"]}));
    assert_eq!(found["runs"].as_array().unwrap().len(), 1);
    let page = s.ok(
        "runs/search",
        json!({"experiment_ids": ["0"], "max_results": 1}),
    );
    assert!(page["next_page_token"].is_string());
    s.fails(
        "runs/search",
        json!({"experiment_ids": ["0"], "filter": "metrics.a <> 1"}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    s.fails(
        "runs/search",
        json!({"experiment_ids": ["0"], "max_results": 50_001}),
        400,
        "INVALID_PARAMETER_VALUE",
    );

    s.ok("runs/delete", json!({"run_id": id}));
    s.fails(
        "runs/log-metric",
        json!({"run_id": id, "key": "m", "value": 1, "timestamp": 1}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let deleted = s.ok(
        "runs/search",
        json!({"experiment_ids": ["0"], "run_view_type": "DELETED_ONLY"}),
    );
    assert_eq!(deleted["runs"][0]["info"]["run_id"], id.as_str());
    s.ok("runs/restore", json!({"run_id": id}));
    s.fails("runs/get-nothing", json!({}), 404, "ENDPOINT_NOT_FOUND");
    let (status, got) = s.get(
        "runs/get",
        &[("run_id", "0123456789abcdef0123456789abcdef")],
    );
    assert_eq!(
        (status, got["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (status, got) = s.get("runs/get", &[("run_id", "not a run!")]);
    assert_eq!(
        (status, got["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );
    s.fails(
        "runs/create",
        json!({"experiment_id": "12345"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
}

impl Running {
    /// Every point of a metric history, read in get-history pages of 300.
    fn history_pages(&self, run_id: &str, key: &str) -> Vec<Value> {
        let mut points = Vec::new();
        let mut token = String::new();
        loop {
            let mut query = vec![
                ("run_id", run_id),
                ("metric_key", key),
                ("max_results", "300"),
            ];
            if !token.is_empty() {
                query.push(("page_token", &token));
            }
            let (status, page) = self.get("metrics/get-history", &query);
            assert_eq!(status, 200, "{page}");
            points.extend(page["metrics"].as_array().cloned().unwrap_or_default());
            match page["next_page_token"].as_str() {
                Some(t) => token = t.to_owned(),
                None => return points,
            }
        }
    }
}

#[test]
fn metric_values_round_trip_bit_for_bit() {
    // Values whose shortest decimal form a fast float parser reads one
    // unit in the last place off (serde_json without float_roundtrip).
    let s = start();
    let id = s.ok("runs/create", json!({"experiment_id": "0"}))["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let values: Vec<f64> = (1..200)
        .map(|i| 1.0 / f64::from(i))
        .chain([5e-324, f64::MAX, f64::MIN_POSITIVE, 0.1 + 0.2])
        .collect();
    let metrics: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"key": "v", "value": v, "timestamp": 1, "step": i}))
        .collect();
    s.ok("runs/log-batch", json!({"run_id": id, "metrics": metrics}));
    let back: Vec<f64> = s
        .history_pages(&id, "v")
        .iter()
        .map(|m| m["value"].as_f64().unwrap())
        .collect();
    assert_eq!(back.len(), values.len());
    for (got, want) in back.iter().zip(&values) {
        assert_eq!(
            got.to_bits(),
            want.to_bits(),
            "{want:e} came back as {got:e}"
        );
    }
}

#[test]
fn metric_history_pages_and_bulk_intervals() {
    let s = start();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = s.ok("runs/create", json!({"experiment_id": "0"}))["run"]["info"]["run_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let metrics: Vec<Value> = (0..1000)
            .map(|i| json!({"key": "loss", "value": i, "timestamp": 7, "step": i}))
            .collect();
        s.ok("runs/log-batch", json!({"run_id": id, "metrics": metrics}));
        ids.push(id);
    }
    let steps: Vec<i64> = s
        .history_pages(&ids[0], "loss")
        .iter()
        .map(|m| m["step"].as_i64().unwrap())
        .collect();
    assert_eq!(steps, (0..1000).collect::<Vec<_>>());
    // Pages that end and start inside a run of equal steps.
    let metrics: Vec<Value> = (0..800)
        .map(|i| json!({"key": "same", "value": i, "timestamp": i, "step": 3 + i / 700}))
        .collect();
    s.ok(
        "runs/log-batch",
        json!({"run_id": ids[1], "metrics": metrics}),
    );
    let seen: Vec<(i64, i64)> = s
        .history_pages(&ids[1], "same")
        .iter()
        .map(|m| {
            (
                m["step"].as_i64().unwrap(),
                m["timestamp"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(i64, i64)> = (0..800).map(|i| (3 + i / 700, i)).collect();
    assert_eq!(seen, expected);
    // Sparse steps, negative and positive, up to i64::MAX: a page reads a
    // step window that must grow to hold it.
    let sparse: Vec<i64> = (0..999)
        .map(|i| i * 1_000_003 - 500_000_000)
        .chain([i64::MAX])
        .collect();
    let metrics: Vec<Value> = sparse
        .iter()
        .map(|&step| json!({"key": "sparse", "value": 1, "timestamp": 5, "step": step}))
        .collect();
    s.ok(
        "runs/log-batch",
        json!({"run_id": ids[1], "metrics": metrics}),
    );
    let got: Vec<i64> = s
        .history_pages(&ids[1], "sparse")
        .iter()
        .map(|m| m["step"].as_i64().unwrap())
        .collect();
    assert_eq!(got, sparse);
    let (_, all) = s.get(
        "metrics/get-history",
        &[("run_id", &ids[0]), ("metric_key", "loss")],
    );
    assert_eq!(all["metrics"].as_array().unwrap().len(), 1000);
    let (_, none) = s.get(
        "metrics/get-history",
        &[("run_id", &ids[0]), ("metric_key", "other")],
    );
    assert_eq!(none, json!({}));
    let (status, _) = s.get(
        "metrics/get-history",
        &[
            ("run_id", &ids[0]),
            ("metric_key", "loss"),
            ("page_token", "x"),
        ],
    );
    assert_eq!(status, 400);
    let (status, got) = s.get("metrics/get-history", &[("metric_key", "loss")]);
    assert_eq!(
        (status, got["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE"))
    );

    let (status, bulk) = s.get(
        "metrics/get-history-bulk-interval",
        &[
            ("run_ids", &ids[0]),
            ("run_ids", &ids[1]),
            ("metric_key", "loss"),
            ("start_step", "100"),
            ("end_step", "199"),
            ("max_results", "20"),
        ],
    );
    assert_eq!(status, 200, "{bulk}");
    let points = bulk["metrics"].as_array().unwrap();
    for id in &ids {
        let mine: Vec<i64> = points
            .iter()
            .filter(|p| p["run_id"] == id.as_str())
            .map(|p| p["step"].as_i64().unwrap())
            .collect();
        assert!(!mine.is_empty() && mine.len() <= 20, "{}", mine.len());
        assert_eq!((mine[0], *mine.last().unwrap()), (100, 199), "ends kept");
    }
    let (status, _) = s.get(
        "metrics/get-history-bulk-interval",
        &[
            ("run_ids", &ids[0]),
            ("metric_key", "loss"),
            ("start_step", "5"),
        ],
    );
    assert_eq!(status, 400);
    let (status, _) = s.get(
        "metrics/get-history-bulk-interval",
        &[
            ("run_ids", &ids[0]),
            ("metric_key", "loss"),
            ("max_results", "2501"),
        ],
    );
    assert_eq!(status, 400);
}

#[test]
fn bad_requests_get_clear_4xx_answers() {
    let s = start_with(|o| o.max_request_bytes = 1 << 16);
    let url = s.api("runs/create");
    let (status, body) = s.raw("POST", &url, b"{not json");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("BAD_REQUEST") && body.contains("not valid JSON"),
        "{body}"
    );
    let (status, body) = s.raw("POST", &url, b"[1, 2]");
    assert!(status == 400 && body.contains("JSON object"), "{body}");
    // Oversized bodies, a little and a lot: the client reads the 413
    // (the server drains what it will not use), never a reset connection.
    for size in [1 << 17, 8 << 20] {
        let (status, body) = s.raw("POST", &url, &vec![b' '; size]);
        assert_eq!(status, 413, "{body}");
        assert!(body.contains("--max-request-bytes"), "{body}");
    }
    // Bodies answered before they are read (an unknown endpoint, a method
    // the endpoint does not take, an artifact path out of the root): read
    // and dropped, so the client reads the answer.
    let big = vec![b'x'; 4 << 20];
    let (status, body) = s.raw("POST", &s.api("runs/nothing"), &big);
    assert_eq!(status, 404, "{body}");
    let (status, body) = s.raw("PUT", &url, &big);
    assert_eq!(status, 405, "{body}");
    let art = format!("{}/api/2.0/mlflow-artifacts/artifacts", s.base);
    let (status, body) = s.raw("PUT", &format!("{art}/0/..%2F..%2Fescape"), &big);
    assert_eq!(status, 400, "{body}");
    let (status, body) = s.raw("POST", &url, b"\xff\xfe");
    assert_eq!(status, 400, "{body}");
    let (status, body) = s.raw("GET", &url, b"");
    assert_eq!(status, 405, "{body}");
    assert!(body.contains("POST"), "{body}");
    let (status, body) = s.raw("DELETE", &s.api("runs/get"), b"");
    assert_eq!(status, 405, "{body}");
    let (status, body) = s.raw("GET", &format!("{}/nothing/here", s.base), b"");
    assert!(
        status == 404 && body.contains("ENDPOINT_NOT_FOUND"),
        "{body}"
    );
    for path in [
        "traces/search",
        "datasets/search",
        "scorers/list",
        "unified-traces",
        "issues/search",
        "label-schemas/list",
    ] {
        let (status, body) = s.raw("GET", &s.api(path), b"");
        assert!(
            status == 501 && body.contains("NOT_IMPLEMENTED"),
            "{path}: {body}"
        );
    }
    let (status, body) = s.raw("GET", &format!("{}/health", s.base), b"");
    assert_eq!((status, body.as_str()), (200, "OK"));
    let (status, body) = s.raw(
        "GET",
        &format!("{}/api/3.0/mlflow/server-info", s.base),
        b"",
    );
    assert!(status == 200 && body.contains("store_type"), "{body}");
    let (status, body) = s.raw(
        "POST",
        &format!("{}/ajax-api/2.0/mlflow/experiments/search", s.base),
        b"{}",
    );
    assert!(
        status == 200 && body.contains("Default"),
        "the UI's prefix: {body}"
    );
    // Logged models (MLflow 3): a search names its experiments, as in
    // MLflow; none yet is an empty answer.
    let (status, body) = s.raw("POST", &s.api("logged-models/search"), b"{}");
    assert!(
        status == 400 && body.contains("experiment_ids"),
        "{status} {body}"
    );
    let (status, body) = s.raw(
        "POST",
        &s.api("logged-models/search"),
        br#"{"experiment_ids": ["0"]}"#,
    );
    assert_eq!((status, body.as_str()), (200, "{}"));
    let (status, got) = s.get("experiments/get", &[("experiment_id", "%zz")]);
    assert_eq!(status, 404, "{got}");
    let (status, body) = s.raw(
        "GET",
        &format!("{}?experiment_id=%zz", s.api("experiments/get")),
        b"",
    );
    assert!(status == 400 && body.contains("percent"), "{body}");
    // Wrong types, each naming the field.
    for (body, field) in [
        (
            json!({"run_id": 5, "key": "k", "value": 1, "timestamp": 1}),
            "'run_id'",
        ),
        (
            json!({"run_id": "a", "key": "k", "value": "x", "timestamp": 1}),
            "'value'",
        ),
        (
            json!({"run_id": "a", "key": "k", "value": 1, "timestamp": 1.5}),
            "'timestamp'",
        ),
        (
            json!({"run_id": "a", "key": "k", "value": 1, "timestamp": 1, "step": true}),
            "'step'",
        ),
        (json!({"run_id": "a", "value": 1, "timestamp": 1}), "'key'"),
    ] {
        let message = s.fails("runs/log-metric", body, 400, "INVALID_PARAMETER_VALUE");
        assert!(message.contains(field), "{field}: {message}");
    }
    // The server still serves after all of that.
    s.ok("experiments/search", json!({}));
}

#[test]
fn artifacts_up_down_and_never_out_of_the_root() {
    let s = start();
    let art = format!("{}/api/2.0/mlflow-artifacts/artifacts", s.base);
    let (status, body) = s.raw(
        "PUT",
        &format!("{art}/0/r1/artifacts/model/w.bin"),
        &[7u8; 100_000],
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.raw("PUT", &format!("{art}/0/r1/artifacts/a%20b.txt"), b"spaced");
    assert_eq!(status, 200, "{body}");
    let r = s
        .agent
        .get(&format!("{art}/0/r1/artifacts/model/w.bin"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.into_body().read_to_vec().unwrap(), vec![7u8; 100_000]);
    let (status, body) = s.raw("GET", &format!("{art}/0/r1/artifacts/a%20b.txt"), b"");
    assert_eq!((status, body.as_str()), (200, "spaced"));
    // In a path, + is a plus sign.
    let (status, _) = s.raw("PUT", &format!("{art}/0/r1/artifacts/c++.txt"), b"plus");
    assert_eq!(status, 200);
    assert!(s.store.join("artifacts/0/r1/artifacts/c++.txt").is_file());
    let (status, _) = s.raw("DELETE", &format!("{art}/0/r1/artifacts/c++.txt"), b"");
    assert_eq!(status, 200);
    assert!(!s.store.join("artifacts/0/r1/artifacts/c++.txt").exists());
    let (status, _) = s.raw("DELETE", &format!("{art}/0/r1/artifacts/c++.txt"), b"");
    assert_eq!(status, 404, "deleted already");
    let (status, listing) = s.raw("GET", &format!("{art}?path=0/r1/artifacts"), b"");
    let listing: Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        listing["files"],
        json!([{"path": "a b.txt", "is_dir": false, "file_size": 6}, {"path": "model", "is_dir": true}])
    );
    let (_, empty) = s.raw("GET", &format!("{art}?path=0/none"), b"");
    assert_eq!(empty, "{}");
    assert!(s
        .store
        .join("artifacts/0/r1/artifacts/model/w.bin")
        .is_file());

    // Outside the root: refused, whatever the spelling, and nothing written.
    let outside = s.store.parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), "s").unwrap();
    std::os::unix::fs::symlink(&outside, s.store.join("artifacts/0/link")).unwrap();
    for path in [
        "0/../../outside/secret",
        "0/%2e%2e/%2e%2e/outside/secret",
        "0/%2E%2E/%2E%2E/outside/secret",
        "..%2f..%2foutside%2fsecret",
        "0/..%5c..%5coutside",
        "%2fetc%2fpasswd",
        "0/link/secret",
        "0/x%00y",
    ] {
        for method in ["GET", "PUT", "DELETE"] {
            let (status, body) = s.raw(method, &format!("{art}/{path}"), b"evil");
            assert!(
                status == 400 || status == 404,
                "{method} {path}: {status} {body}"
            );
        }
        let (status, body) = s.raw("GET", &format!("{art}?path={path}"), b"");
        assert!(
            status == 400 || body == "{}",
            "list {path}: {status} {body}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(outside.join("secret")).unwrap(),
        "s"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        1,
        "nothing written outside"
    );
    let (status, _) = s.raw("PUT", &format!("{art}//tmp/abs.txt"), b"x");
    assert_eq!(status, 400, "an absolute path");
    // '.' and empty names are dropped, as MLflow's server takes them: the
    // one artifact-path rule of the client and the server.
    let (status, body) = s.raw("PUT", &format!("{art}/0/./dot//x.txt"), b"dot");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        std::fs::read_to_string(s.store.join("artifacts/0/dot/x.txt")).unwrap(),
        "dot"
    );

    // Elsewhere with --artifacts-destination: new experiments point there.
    let dest = tempfile::tempdir().unwrap();
    let dest_path = std::fs::canonicalize(dest.path()).unwrap();
    let other = start_with(|o| o.artifacts_destination = Some(dest_path.clone()));
    let id = other.ok("experiments/create", json!({"name": "x"}))["experiment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, got) = other.get("experiments/get", &[("experiment_id", &id)]);
    assert_eq!(
        got["experiment"]["artifact_location"],
        format!("mlflow-artifacts:/{id}")
    );
    let (status, _) = other.raw(
        "PUT",
        &format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{id}/r/artifacts/f",
            other.base
        ),
        b"1",
    );
    assert_eq!(status, 200);
    assert!(dest_path.join(&id).join("r/artifacts/f").is_file());

    let off = start_with(|o| o.serve_artifacts = false);
    let (status, body) = off.raw(
        "GET",
        &format!("{}/api/2.0/mlflow-artifacts/artifacts?path=0", off.base),
        b"",
    );
    assert!(
        status == 503 && body.contains("--no-serve-artifacts"),
        "{body}"
    );
    let created = off.ok("runs/create", json!({"experiment_id": "0"}));
    assert!(created["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap()
        .starts_with("file://"));
}

/// MLflow 3's logged-model endpoints, as MLflow's clients call them: paths
/// with the model's id, PATCH and DELETE, MLflow's error codes; the model's
/// artifacts served through `mlflow-artifacts`.
#[test]
fn logged_model_endpoints() {
    let s = start();
    let run = s.ok("runs/create", json!({"experiment_id": "0"}))["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = s.ok(
        "logged-models",
        json!({"experiment_id": "0", "name": "rf", "source_run_id": run,
               "params": [{"key": "n", "value": "10"}], "tags": [{"key": "t", "value": "1"}]}),
    );
    let model = &created["model"];
    let id = model["info"]["model_id"].as_str().unwrap().to_owned();
    assert_eq!(model["info"]["status"], "LOGGED_MODEL_PENDING");
    assert_eq!(
        model["info"]["artifact_uri"],
        format!("mlflow-artifacts:/0/models/{id}/artifacts")
    );
    assert_eq!(
        model["data"]["params"],
        json!([{"key": "n", "value": "10"}])
    );
    let at = |rest: &str| match rest {
        "" => s.api(&format!("logged-models/{id}")),
        rest => s.api(&format!("logged-models/{id}/{rest}")),
    };
    let (status, body) = s.raw("PATCH", &at(""), br#"{"status": "LOGGED_MODEL_READY"}"#);
    assert!(
        status == 200 && body.contains("LOGGED_MODEL_READY"),
        "{body}"
    );
    let (status, body) = s.raw("PATCH", &at(""), br#"{"status": "DONE"}"#);
    assert!(
        status == 400 && body.contains("INVALID_PARAMETER_VALUE"),
        "{body}"
    );
    let (status, body) = s.raw(
        "PATCH",
        &at("tags"),
        br#"{"tags": [{"key": "k", "value": "v"}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.raw("DELETE", &at("tags/k"), b"");
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.raw("DELETE", &at("tags/k"), b"");
    assert!(
        status == 404 && body.contains("RESOURCE_DOES_NOT_EXIST"),
        "{body}"
    );
    let (status, body) = s.raw(
        "POST",
        &at("params"),
        br#"{"params": [{"key": "d", "value": "6"}]}"#,
    );
    assert_eq!(status, 200, "{body}");
    // Its artifacts go through the artifacts API and are listed by the model.
    let upload = format!(
        "{}/api/2.0/mlflow-artifacts/artifacts/0/models/{id}/artifacts/MLmodel",
        s.base
    );
    let (status, body) = s.raw("PUT", &upload, b"flavors: {}\n");
    assert_eq!(status, 200, "{body}");
    let (status, list) = s.get(&format!("logged-models/{id}/artifacts/directories"), &[]);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["files"][0]["path"], "MLmodel");
    // The run's outputs and model inputs, in runs/get.
    s.ok(
        "runs/outputs",
        json!({"run_id": run, "models": [{"model_id": id, "step": 2}]}),
    );
    s.ok(
        "runs/log-inputs",
        json!({"run_id": run, "models": [{"model_id": id}]}),
    );
    s.ok("runs/log-batch", json!({"run_id": run, "metrics": [
        {"key": "acc", "value": 0.5, "timestamp": 1, "step": 0, "model_id": id, "dataset_name": "d"}]}));
    let (_, got) = s.get("runs/get", &[("run_id", &run)]);
    assert_eq!(
        got["run"]["outputs"]["model_outputs"],
        json!([{"model_id": id, "step": 2}])
    );
    assert_eq!(
        got["run"]["inputs"]["model_inputs"],
        json!([{"model_id": id}])
    );
    let (_, got) = s.get(&format!("logged-models/{id}"), &[]);
    assert_eq!(got["model"]["data"]["metrics"][0]["dataset_name"], "d");
    let found = s.ok(
        "logged-models/search",
        json!({"experiment_ids": ["0"], "filter": "metrics.acc > 0.1",
               "order_by": [{"field_name": "name", "ascending": false}]}),
    );
    assert_eq!(found["models"].as_array().unwrap().len(), 1);
    let bad = s.fails(
        "logged-models/search",
        json!({"experiment_ids": ["0"], "filter": "colour = 'red'"}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(bad.contains("colour"), "{bad}");
    let (status, body) = s.raw("DELETE", &at(""), b"");
    assert_eq!(status, 200, "{body}");
    let (status, body) = s.raw("GET", &at(""), b"");
    assert!(
        status == 404 && body.contains("Logged model with ID"),
        "{status} {body}"
    );
    let (status, body) = s.raw("PUT", &at(""), b"{}");
    assert_eq!(status, 405, "{body}");
}

/// What MLflow's own server tests found (issue 24, item 4): validation as
/// MLflow's server does it, and its message texts where clients match on
/// them.
#[test]
fn validation_and_messages_as_mlflows_server() {
    let s = start();
    let run = s.ok("runs/create", json!({"experiment_id": "0"}))["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = s.fails(
        "runs/log-batch",
        json!({"run_id": run, "metrics": [{"key": "a", "value": 1}]}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(m.contains("'metrics[0].timestamp'"), "{m}");
    let m = s.fails(
        "runs/log-metric",
        json!({"run_id": run, "key": "", "value": 1, "timestamp": 1}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(
        m.contains("Missing value for required parameter 'key'"),
        "{m}"
    );
    s.fails(
        "runs/log-metric",
        json!({"run_id": run, "key": "a", "value": 1}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    let (status, got) = s.get(
        "metrics/get-history",
        &[("run_id", &run), ("metric_key", "")],
    );
    assert_eq!(status, 400, "{got}");
    // No experiment ids: nothing, as MLflow answers.
    assert_eq!(s.ok("runs/search", json!({})), json!({}));
    // int64 as a whole double, and bare NaN as Python's json writes it.
    s.ok(
        "runs/log-metric",
        json!({"run_id": run, "key": "w", "value": 1, "timestamp": 1e3, "step": 2.0}),
    );
    let url = s.api("runs/log-batch");
    let body = format!(
        r#"{{"run_id": "{run}", "metrics": [{{"key": "n", "value": NaN, "timestamp": 1, "step": 0}}]}}"#
    );
    let (status, body) = s.raw("POST", &url, body.as_bytes());
    assert_eq!(status, 200, "{body}");
    let (_, got) = s.get(
        "metrics/get-history",
        &[("run_id", &run), ("metric_key", "w")],
    );
    assert_eq!(got["metrics"][0]["timestamp"], 1000);
    assert_eq!(got["metrics"][0]["step"], 2);
    let (_, got) = s.get(
        "metrics/get-history",
        &[("run_id", &run), ("metric_key", "n")],
    );
    assert_eq!(got["metrics"][0]["value"], "NaN");
    // runs/update stores what it is given, and invents nothing.
    s.ok("runs/update", json!({"run_id": run, "end_time": 123}));
    let (_, got) = s.get("runs/get", &[("run_id", &run)]);
    assert_eq!(got["run"]["info"]["end_time"], 123);
    assert_eq!(got["run"]["info"]["status"], "RUNNING");
    let other = s.ok("runs/create", json!({"experiment_id": "0"}))["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.ok("runs/update", json!({"run_id": other, "status": "FAILED"}));
    let (_, got) = s.get("runs/get", &[("run_id", &other)]);
    assert_eq!(got["run"]["info"]["status"], "FAILED");
    assert!(got["run"]["info"].get("end_time").is_none(), "{got}");
    // The run name's tag may be deleted; the run keeps its name.
    s.ok(
        "runs/delete-tag",
        json!({"run_id": other, "key": "mlflow.runName"}),
    );
    // MLflow's texts.
    let (status, got) = s.get(
        "runs/get",
        &[("run_id", "0123456789abcdef0123456789abcdef")],
    );
    assert_eq!(status, 404);
    assert_eq!(
        got["message"],
        "Run with id=0123456789abcdef0123456789abcdef not found"
    );
    let m = s.fails(
        "runs/delete-tag",
        json!({"run_id": run, "key": "absent"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    );
    assert_eq!(m, format!("No tag with name: absent in run with id {run}"));
    let m = s.fails(
        "experiments/search",
        json!({"max_results": 100000}),
        400,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(
        m.starts_with("Invalid value 100000 for parameter 'max_results' supplied"),
        "{m}"
    );
}

/// The routes MLflow's UI and server tests use beside the REST API:
/// `metrics/get-history-bulk`, `experiments/search-datasets`,
/// `/get-artifact` and `/model-versions/get-artifact`, with MLflow's
/// download headers (also on `mlflow-artifacts` downloads); and with
/// `--artifacts-destination`, the Default experiment's proxied location.
#[test]
fn ui_routes_and_download_headers() {
    let dest = tempfile::tempdir().unwrap();
    let dest_path = dest.path().to_owned();
    let s = start_with(move |o| o.artifacts_destination = Some(dest_path.clone()));
    let (_, got) = s.get("experiments/get", &[("experiment_id", "0")]);
    assert_eq!(
        got["experiment"]["artifact_location"],
        "mlflow-artifacts:/0"
    );
    let run = s.ok("runs/create", json!({"experiment_id": "0"}))["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.ok(
        "runs/log-batch",
        json!({"run_id": run, "metrics": [
            {"key": "loss", "value": 2, "timestamp": 20, "step": 1},
            {"key": "loss", "value": 1, "timestamp": 10, "step": 2}]}),
    );
    s.ok("runs/log-inputs", json!({"run_id": run, "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "train"}],
        "dataset": {"name": "wine", "digest": "d1", "source_type": "local", "source": "{}"}}]}));
    let url = format!(
        "{}/ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id={run}&metric_key=loss",
        s.base
    );
    let (status, body) = s.raw("GET", &url, b"");
    assert_eq!(status, 200, "{body}");
    let got: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(got["metrics"][0]["timestamp"], 10, "by timestamp: {got}");
    assert_eq!(got["metrics"][1]["run_id"], run.as_str());
    let found = s.ok(
        "experiments/search-datasets",
        json!({"experiment_ids": ["0"]}),
    );
    assert_eq!(
        found,
        json!({"dataset_summaries": [{"experiment_id": "0", "name": "wine", "digest": "d1", "context": "train"}]})
    );
    // A file through the artifacts API lands under the destination, and
    // comes back as MLflow sends it.
    let put = format!(
        "{}/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/MLmodel",
        s.base
    );
    let (status, _) = s.raw("PUT", &put, b"flavors: {}\n");
    assert_eq!(status, 200);
    assert!(dest
        .path()
        .join(format!("0/{run}/artifacts/MLmodel"))
        .is_file());
    for url in [
        put.clone(),
        format!("{}/get-artifact?run_id={run}&path=MLmodel", s.base),
    ] {
        let r = s
            .agent
            .get(&url)
            .header("Accept", "application/json")
            .call()
            .unwrap();
        let headers = r.headers();
        assert_eq!(headers["content-type"], "text/plain", "{url}");
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=MLmodel"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
    let (status, body) = s.raw(
        "GET",
        &format!("{}/get-artifact?run_id={run}&path=../../x", s.base),
        b"",
    );
    assert!(status == 400 && body.contains("Invalid path"), "{body}");
    // A registered version's file.
    s.ok("registered-models/create", json!({"name": "m"}));
    s.ok(
        "model-versions/create",
        json!({"name": "m", "source": format!("runs:/{run}"), "run_id": run}),
    );
    let (status, body) = s.raw(
        "GET",
        &format!(
            "{}/model-versions/get-artifact?name=m&version=1&path=MLmodel",
            s.base
        ),
        b"",
    );
    assert_eq!((status, body.as_str()), (200, "flavors: {}\n"));
}

/// `POST /graphql` as MLflow's server answers it: MLflow's UI queries
/// (with variables, aliases, fragments and `__typename`), int64s as text,
/// a run's experiment and registered versions, a failed field as null with
/// its message in `errors`, and MLflow's refusals (unknown fields, depth,
/// root fields), never a crash on a hostile query.
#[test]
fn graphql_answers_mlflows_ui_queries() {
    let s = start();
    let exp = s.ok("experiments/create", json!({"name": "g"}))["experiment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = s.ok(
        "runs/create",
        json!({"experiment_id": exp, "run_name": "r"}),
    )["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.ok(
        "runs/log-batch",
        json!({"run_id": run, "metrics": [
            {"key": "loss", "value": 0.5, "timestamp": 1_700_000_000_123_i64, "step": 3},
            {"key": "bad", "value": "NaN", "timestamp": 1, "step": 0}],
            "params": [{"key": "lr", "value": "0.1"}]}),
    );
    s.ok("registered-models/create", json!({"name": "reg"}));
    s.ok(
        "model-versions/create",
        json!({"name": "reg", "source": format!("runs:/{run}/model"), "run_id": run}),
    );
    let gql = |query: &str, variables: Value| -> (u16, Value) {
        let url = format!("{}/graphql", s.base);
        let body = json!({"query": query, "variables": variables}).to_string();
        let (status, text) = s.raw("POST", &url, body.as_bytes());
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    };
    let (status, got) = gql(
        "query GetRun($data: MlflowGetRunInput!) @component(name: \"MLflow.ExperimentRunTracking\") {
           mlflowGetRun(input: $data) {
             __typename
             apiError { code message }
             run { info { runName runUuid startTime status ...Times }
                   experiment { name experimentId }
                   modelVersions { name version status }
                   data { metrics { key value step timestamp } params { key value } } } } }
         fragment Times on MlflowRunInfo { endTime lifecycleStage }",
        json!({"data": {"runId": run}}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["errors"], Value::Null, "{got}");
    let r = &got["data"]["mlflowGetRun"];
    assert_eq!(r["__typename"], "MlflowGetRunResponse");
    assert_eq!(r["apiError"], Value::Null);
    assert_eq!(r["run"]["info"]["runName"], "r");
    assert_eq!(r["run"]["info"]["runUuid"], run.as_str());
    assert!(
        r["run"]["info"]["startTime"].is_string(),
        "int64 as text: {r}"
    );
    assert_eq!(r["run"]["info"]["status"], "RUNNING");
    assert_eq!(
        r["run"]["info"]["lifecycleStage"], "active",
        "from the fragment"
    );
    assert_eq!(
        r["run"]["experiment"],
        json!({"name": "g", "experimentId": exp})
    );
    assert_eq!(
        r["run"]["modelVersions"],
        json!([{"name": "reg", "version": "1", "status": "READY"}])
    );
    let metrics = r["run"]["data"]["metrics"].as_array().unwrap();
    let loss = metrics.iter().find(|m| m["key"] == "loss").unwrap();
    assert_eq!(loss["timestamp"], "1700000000123");
    assert_eq!(loss["step"], "3");
    assert_eq!(loss["value"], 0.5);
    let bad = metrics.iter().find(|m| m["key"] == "bad").unwrap();
    assert_eq!(bad["value"], Value::Null, "NaN answers null, as MLflow's");
    assert_eq!(
        r["run"]["data"]["params"],
        json!([{"key": "lr", "value": "0.1"}])
    );

    // The experiment header, the runs table (as a mutation too), sampled
    // histories; aliases name the answers.
    let (_, got) = gql(
        "query Q($e: MlflowGetExperimentInput!, $s: MlflowSearchRunsInput!, $h: MlflowGetMetricHistoryBulkIntervalInput!) {
           exp: mlflowGetExperiment(input: $e) { experiment { name creationTime tags { key value } } }
           runs: mlflowSearchRuns(input: $s) { runs { info { runName } } nextPageToken }
           h: mlflowGetMetricHistoryBulkInterval(input: $h) { __typename metrics { key step value runId } } }",
        json!({"e": {"experimentId": exp}, "s": {"experimentIds": [exp], "maxResults": 10},
               "h": {"runIds": [run], "metricKey": "loss", "maxResults": 10}}),
    );
    assert_eq!(got["errors"], Value::Null, "{got}");
    assert_eq!(got["data"]["exp"]["experiment"]["name"], "g");
    assert!(got["data"]["exp"]["experiment"]["creationTime"].is_string());
    assert_eq!(got["data"]["runs"]["runs"][0]["info"]["runName"], "r");
    assert_eq!(
        got["data"]["h"]["metrics"],
        json!([{"key": "loss", "step": "3", "value": 0.5, "runId": run}])
    );
    let (_, got) = gql(
        "mutation { mlflowSearchRuns(input: {experimentIds: [\"0\"]}) { runs { info { runName } } } }",
        json!(null),
    );
    assert_eq!(got["data"]["mlflowSearchRuns"]["runs"], json!([]), "{got}");

    // A field that fails: null, and MLflow's message in `errors`.
    let (status, got) = gql(
        "{ mlflowGetRun(input: {runId: \"nope\"}) { run { info { runName } } } }",
        json!(null),
    );
    assert_eq!(status, 200);
    assert_eq!(got["data"]["mlflowGetRun"], Value::Null);
    assert!(
        got["errors"][0]
            .as_str()
            .unwrap()
            .contains("Run with id=nope not found"),
        "{got}"
    );

    // Refused before running: the whole answer is an error.
    let refused = |query: &str| -> String {
        let (status, got) = gql(query, json!(null));
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["data"], Value::Null, "{query}: {got}");
        got["errors"][0].as_str().unwrap().to_owned()
    };
    assert_eq!(
        refused("{ mlflowGetRun(input: {runId: \"x\"}) { run { secret } } }"),
        "Cannot query field 'secret' on type 'MlflowRunExtension'."
    );
    assert!(refused("{ mlflowDeleteEverything { x } }").contains("Cannot query field"));
    assert!(
        refused("{ mlflowGetRun(input: {}) { run { info { runName { x } } } } }")
            .contains("must not have a selection")
    );
    assert!(refused("{ mlflowGetRun(").starts_with("Syntax Error"));
    assert!(refused(&format!(
        "{}{}",
        "{ a ".repeat(100_000),
        "}".repeat(100_000)
    ))
    .contains("maximum depth"));
    let many = (0..11)
        .map(|i| format!("f{i}: test(inputString: \"x\") {{ output }}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(refused(&format!("{{ {many} }}")).contains("at most 10"));
    assert!(
        refused("{ ...Loop } fragment Loop on Query { ...Missing }").contains("Unknown fragment")
    );
    let (_, got) = gql("{ test(inputString: \"hi\") { output } }", json!(null));
    assert_eq!(got["data"]["test"]["output"], "hi");
    // The server is still there.
    let (status, _) = s.get("experiments/get", &[("experiment_id", "0")]);
    assert_eq!(status, 200);
}

/// What runlog does not have (traces, GenAI datasets, scorers, the AI
/// gateway, the assistant, UI telemetry) reads as an empty MLflow server
/// answers it, so that MLflow's UI shows no error; making one is still a
/// 501 that names what is missing. Experiment filters take `IS NULL` on
/// tags, as MLflow's UI sends them.
#[test]
fn absent_parts_read_as_empty_and_refuse_writes() {
    let s = start();
    let v3 = |p: &str| format!("{}/ajax-api/3.0/mlflow/{p}", s.base);
    for (method, path, want) in [
        ("POST", "traces/search", json!({})),
        ("POST", "traces/metrics", json!({})),
        ("POST", "datasets/search", json!({})),
        ("GET", "scorers/list", json!({})),
        ("GET", "gateway/endpoints/list", json!({})),
        ("GET", "assistant/providers", json!({"providers": []})),
        (
            "GET",
            "ui-telemetry",
            json!({"disable_ui_events": [], "disable_ui_telemetry": true, "ui_rollout_percentage": 0}),
        ),
    ] {
        let (status, body) = s.raw(method, &v3(path), b"{}");
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap(),
            want,
            "{path}"
        );
    }
    let (status, body) = s.get("gateway-proxy", &[("gateway_path", "api/2.0/endpoints/")]);
    assert_eq!((status, body), (200, json!({"endpoints": []})));
    let (status, body) = s.raw("POST", &v3("traces"), b"{}");
    assert_eq!(status, 501, "{body}");
    assert!(body.contains("tracing"), "{body}");
    s.ok(
        "experiments/create",
        json!({"name": "tagged", "tags": [{"key": "mlflow.experimentKind", "value": "x"}]}),
    );
    let found = s.ok(
        "experiments/search",
        json!({"filter": "tags.`mlflow.experimentKind` IS NULL", "max_results": 10}),
    );
    let names: Vec<&str> = found["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Default"]);
}

/// `POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=&path=` (MLflow's
/// UI): the body lands in the run's artifacts, whatever its content type;
/// MLflow's refusals for a missing run, path or body, a path out of the
/// run, and a file past 10 MB.
#[test]
fn the_uis_upload_artifact_writes_into_the_run() {
    let s = start();
    let run = s.ok("runs/create", json!({"experiment_id": "0"}))["run"]["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let upload = |query: &str, kind: &str, body: Vec<u8>| -> (u16, String) {
        let url = format!("{}/ajax-api/2.0/mlflow/upload-artifact?{query}", s.base);
        let request = ureq::http::Request::builder()
            .method("POST")
            .uri(url)
            .header("Content-Type", kind)
            .body(body)
            .unwrap();
        let mut r = s.agent.run(request).unwrap();
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let (status, body) = upload(
        &format!("run_uuid={run}&path=notes/a.txt"),
        "text/plain",
        b"hello".to_vec(),
    );
    assert_eq!((status, body.as_str()), (200, ""));
    let (status, listed) = s.get("artifacts/list", &[("run_id", &run), ("path", "notes")]);
    assert_eq!(status, 200);
    assert_eq!(listed["files"][0]["path"], "notes/a.txt", "{listed}");
    assert_eq!(listed["files"][0]["file_size"], 5, "{listed}");
    for (query, message) in [
        ("path=a.txt".to_owned(), "Request must specify run_uuid."),
        (format!("run_uuid={run}"), "Request must specify path."),
        (format!("run_uuid={run}&path=../../x"), "Invalid"),
        ("run_uuid=nope&path=a.txt".to_owned(), "not found"),
    ] {
        let (status, body) = upload(&query, "application/octet-stream", b"x".to_vec());
        assert!(status == 400 || status == 404, "{query}: {status} {body}");
        assert!(body.contains(message), "{query}: {body}");
    }
    let (status, body) = upload(
        &format!("run_uuid={run}&path=e.txt"),
        "text/plain",
        Vec::new(),
    );
    assert_eq!(status, 400);
    assert!(body.contains("Request must specify data."), "{body}");
    let (status, body) = upload(
        &format!("run_uuid={run}&path=big.bin"),
        "application/octet-stream",
        vec![0; (10 << 20) + 1],
    );
    assert_eq!(status, 400);
    assert!(body.contains("Max size is 10MB"), "{body}");
    let (_, listed) = s.get("artifacts/list", &[("run_id", &run)]);
    assert!(!listed.to_string().contains("big.bin"), "{listed}");
}

/// `--mlflow-ui DIR`: the build's page at `/` and its files under
/// `/static-files/` typed for a browser, with an entity tag (a browser that
/// has a file gets 304), never a file outside the build; the dashboard at
/// `/runlog/`.
#[test]
fn an_mlflow_ui_build_is_served_beside_the_dashboard() {
    let build = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(build.path().join("static/js")).unwrap();
    std::fs::write(build.path().join("index.html"), "<html>mlflow ui</html>").unwrap();
    std::fs::write(build.path().join("static/js/main.1.js"), "console.log(1)").unwrap();
    let outside = tempfile::tempdir_in(build.path().parent().unwrap()).unwrap();
    std::fs::write(outside.path().join("secret.txt"), "TOPSECRET").unwrap();
    let name = outside
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let dir = runlog_server::locate_mlflow_ui(Some(build.path()), None).unwrap();
    let s = start_with(move |o| o.mlflow_ui = Some(dir.clone()));
    let get = |path: &str, etag: Option<&str>| {
        let mut req = s.agent.get(format!("{}{path}", s.base));
        if let Some(tag) = etag {
            req = req.header("If-None-Match", tag);
        }
        let mut r = req.call().unwrap();
        let header = |h: &str| {
            r.headers()
                .get(h)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let (kind, tag, cache) = (
            header("content-type"),
            header("etag"),
            header("cache-control"),
        );
        let status = r.status().as_u16();
        (
            status,
            kind,
            tag,
            cache,
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let (status, kind, _, cache, body) = get("/", None);
    assert_eq!((status, body.as_str()), (200, "<html>mlflow ui</html>"));
    assert!(kind.starts_with("text/html"), "{kind}");
    assert_eq!(cache, "no-cache");
    let (status, kind, tag, cache, body) = get("/static-files/static/js/main.1.js", None);
    assert_eq!((status, body.as_str()), (200, "console.log(1)"));
    assert!(kind.starts_with("text/javascript"), "{kind}");
    assert!(cache.contains("max-age"), "{cache}");
    assert!(!tag.is_empty());
    let (status, _, _, _, body) = get("/static-files/static/js/main.1.js", Some(&tag));
    assert_eq!((status, body.as_str()), (304, ""));
    for bad in [
        format!("/static-files/../{name}/secret.txt"),
        format!("/static-files/%2e%2e/{name}/secret.txt"),
        "/static-files/static/js/none.js".to_owned(),
    ] {
        let (status, _, _, _, body) = get(&bad, None);
        assert!(status == 404 || status == 400, "{bad}: {status} {body}");
        assert!(!body.contains("TOPSECRET"), "{bad}: {body}");
    }
    let (status, _, _, _, body) = get("/runlog/", None);
    assert_eq!(status, 200);
    assert!(
        body.contains("<script type=\"module\" src=\"/ui/"),
        "{body}"
    );
}

/// The store's background compactor gives way to requests in progress: a
/// request whose body has not come yet holds it back, and once it ends
/// the compactor takes what the other requests logged meanwhile. An open
/// event stream (the dashboard following the run) does not hold it back.
#[test]
fn the_server_compacts_in_the_gaps_between_requests() {
    use std::io::Write;
    let s = start_with(|o| {
        o.store_options = runlog::Options::default()
            .segment_size(8 << 10)
            .auto_compact(Some(1));
    });
    let generations = || {
        runlog::log::manifest::Manifest::load(&s.store)
            .map(|m| m.generations.len())
            .unwrap_or(0)
    };
    let exp = s.ok("experiments/create", json!({"name": "gaps"}));
    let run = s.ok(
        "runs/create",
        json!({"experiment_id": exp["experiment_id"]}),
    );
    let run_id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
    let address = s.base.trim_start_matches("http://");
    // The dashboard following the run, its stream open throughout.
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /ajax-api/2.0/runlog/follow?run_ids={run_id}&keys=loss HTTP/1.1\r\nHost: {address}\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    std::io::Read::read_exact(&mut stream, &mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200", "the event stream did not open");
    // A request in progress: its head sent, its body not.
    let mut waiting = std::net::TcpStream::connect(address).unwrap();
    write!(
        waiting,
        "POST /api/2.0/mlflow/runs/log-batch HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    .unwrap();
    waiting.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    for batch in 0..20 {
        let metrics: Vec<Value> = (0..1000)
            .map(|i| json!({"key": "loss", "value": 1.0, "timestamp": 1, "step": batch * 1000 + i}))
            .collect();
        s.ok(
            "runs/log-batch",
            json!({"run_id": run_id, "metrics": metrics}),
        );
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        generations(),
        0,
        "compacted while a request was in progress"
    );
    drop(waiting);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while generations() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(generations() > 0, "no compaction once the request ended");
    drop(stream);
    let (status, history) = s.get(
        "metrics/get-history",
        &[
            ("run_id", &run_id),
            ("metric_key", "loss"),
            ("max_results", "25000"),
        ],
    );
    assert_eq!(status, 200);
    assert_eq!(history["metrics"].as_array().map(Vec::len), Some(20_000));
}
