#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The dashboard as `runlog server` serves it, over real HTTP on loopback:
//! its embedded page and charting library, and its JSON endpoints
//! (`/ajax-api/2.0/runlog/experiments`, `/ajax-api/2.0/runlog/series`):
//! counts, downsampling that keeps spikes, step ranges, non-finite values,
//! and a typed error for every kind of bad request.

mod common;

use common::{http_agent as agent, ServerProcess};
use runlog::{Client, Metric, NewRun};
use serde_json::{json, Value};

fn get(url: &str) -> (u16, String, String) {
    let mut r = agent().get(url).call().unwrap();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = r.body_mut().read_to_vec().unwrap();
    (
        r.status().as_u16(),
        kind,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn series(url: &str, body: Value) -> (u16, Value) {
    let mut r = agent()
        .post(&format!("{url}/ajax-api/2.0/runlog/series"))
        .send_json(&body)
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_json().unwrap())
}

/// Two experiments: "spiky" with a 100,000-point run (one spike at step
/// 77,777 and a NaN at step 5) and a RUNNING child run, "empty" with none.
fn sample(store: &std::path::Path) -> (String, String) {
    let client = Client::new(&store.display().to_string()).unwrap();
    let spiky = client.create_experiment("spiky").unwrap();
    client.create_experiment("empty").unwrap();
    let run = client
        .create_run(NewRun::new(&spiky).run_name("long"))
        .unwrap()
        .info
        .run_id;
    let h = client.metric_handle(&run, "loss").unwrap();
    for step in 0..100_000i64 {
        let value = match step {
            5 => f64::NAN,
            77_777 => 1e6,
            s => 1.0 / (s + 1) as f64,
        };
        h.log_at(Metric {
            value,
            timestamp: 1_700_000_000_000 + step,
            step,
        })
        .unwrap();
    }
    client
        .set_terminated(&run, runlog::RunStatus::Finished)
        .unwrap();
    let child = client
        .create_run(
            NewRun::new(&spiky)
                .run_name("child")
                .tag("mlflow.parentRunId", &run),
        )
        .unwrap()
        .info
        .run_id;
    client
        .log_metric_at(
            &child,
            "acc",
            Metric {
                value: 0.5,
                timestamp: 1,
                step: 3,
            },
        )
        .unwrap();
    client.flush().unwrap();
    (run, child)
}

#[test]
fn the_page_and_its_charting_library_are_served_from_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("store"), &[]);
    let (status, kind, page) = get(&format!("{}/", server.url));
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(page.contains("/ui/") && page.contains("/uplot.js\""));
    for (path, want) in [
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
        ("/ui/uplot.js", "text/javascript"),
        ("/ui/uplot.css", "text/css"),
        ("/ui/numbers.js", "text/javascript"),
        ("/ui/favicon.svg", "image/svg+xml"),
        ("/favicon.ico", "image/svg+xml"),
    ] {
        let (status, kind, body) = get(&format!("{}{path}", server.url));
        assert_eq!(status, 200, "{path}");
        assert!(kind.starts_with(want), "{path}: {kind}");
        if path == "/ui/uplot.js" {
            // The library the build fetched, or the line that says it is
            // missing, as runlog_server::has_charts tells.
            let built_in = body.contains("uPlot");
            assert_eq!(built_in, runlog_server::has_charts());
            assert!(built_in || body.contains("RUNLOG_CHARTS_MISSING"));
        }
    }
    let (status, _, body) = get(&format!("{}/ui/nothing.js", server.url));
    assert_eq!(status, 404, "{body}");
}

/// The modules a module imports (`from "./x.js"`), as paths under `dir`.
fn imports_of(dir: &str, module: &str) -> Vec<String> {
    module
        .split("from \"./")
        .skip(1)
        .filter_map(|rest| rest.split_once('"'))
        .map(|(name, _)| format!("{dir}{name}"))
        .collect()
}

/// The `Cache-Control` header of `url`.
fn cache_control(url: &str) -> String {
    let r = agent().get(url).call().unwrap();
    r.headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn every_module_the_page_imports_is_served_as_javascript_and_kept_by_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&dir.path().join("store"), &[]);
    let (_, _, page) = get(&format!("{}/", server.url));
    // The page's files are under /ui/<version>/: the modules' bundle when
    // the build had npm (esbuild), else the modules themselves.
    let script = page
        .split(r#"<script type="module" src=""#)
        .nth(1)
        .and_then(|rest| rest.split_once('"'))
        .map(|(src, _)| src.to_owned())
        .unwrap_or_else(|| panic!("no module script in {page}"));
    let bundled = runlog_server::is_bundled();
    let file = if bundled { "app.bundle.js" } else { "app.js" };
    let base = script
        .strip_suffix(file)
        .unwrap_or_else(|| panic!("{script}"));
    let app = format!("{base}app.js");
    if bundled {
        let (status, kind, bundle) = get(&format!("{}{script}", server.url));
        assert_eq!(status, 200);
        assert!(kind.starts_with("text/javascript"), "{kind}");
        // One file with every module's code, importing nothing.
        for code in [
            "startRouter(",
            "function parallelPlot(",
            "function chartCard(",
            "function runsTable(",
        ] {
            assert!(bundle.contains(code), "{code} is not in the bundle");
        }
        assert!(!bundle.contains("from \"./"), "the bundle imports a module");
        assert!(!page.contains("modulepreload"), "{page}");
    }
    let version = base.trim_start_matches("/ui/").trim_end_matches('/');
    assert!(
        version.len() == 16 && version.bytes().all(|b| b.is_ascii_hexdigit()),
        "{app}"
    );
    assert!(page.contains(&format!(r#"href="{base}app.css""#)), "{page}");
    let mut seen = std::collections::BTreeSet::new();
    let mut queue = vec![app.clone()];
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let (status, kind, body) = get(&format!("{}{path}", server.url));
        assert_eq!(status, 200, "{path}");
        assert!(kind.starts_with("text/javascript"), "{path}: {kind}");
        queue.extend(imports_of(base, &body));
    }
    // Every module in crates/server/web/src/ is reached from app.js (and so served),
    // and asked for with the page rather than when its importer arrives.
    let sources = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/server/web/src");
    for entry in std::fs::read_dir(sources).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".js") {
            assert!(seen.contains(&format!("{base}{name}")), "{name}: {seen:?}");
            assert!(
                bundled
                    || name == "app.js"
                    || page.contains(&format!(
                        r#"<link rel="modulepreload" href="{base}{name}">"#
                    )),
                "{name} is not preloaded"
            );
        }
    }
    // Versioned files are kept for good; the page, unversioned and other
    // versions' files are asked again.
    assert!(cache_control(&format!("{}{script}", server.url)).contains("immutable"));
    for path in ["/", "/ui/app.js", "/ui/0123456789abcdef/app.js"] {
        assert_eq!(
            cache_control(&format!("{}{path}", server.url)),
            "no-cache",
            "{path}"
        );
    }
}

#[test]
fn experiments_come_with_their_run_counts_and_last_activity() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    sample(&store);
    let server = ServerProcess::start(&store, &[]);
    let (status, _, body) = get(&format!("{}/ajax-api/2.0/runlog/experiments", server.url));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let by_name = |name: &str| {
        v["experiments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()
            .clone()
    };
    let spiky = by_name("spiky");
    assert_eq!(
        (spiky["run_count"].clone(), spiky["running"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(by_name("empty")["run_count"], 0);
    assert_eq!(by_name("Default")["run_count"], 0);
    assert!(spiky["last_activity"].as_i64().unwrap() >= spiky["creation_time"].as_i64().unwrap());
    // Logging is activity: a run started long ago that logs now (here, a
    // point an hour ahead) makes its experiment's last activity that point's.
    let client = Client::new(&store.display().to_string()).unwrap();
    let logging = client.create_experiment("logging").unwrap();
    let run = client
        .create_run(NewRun::new(&logging).start_time(1_600_000_000_000))
        .unwrap()
        .info
        .run_id;
    let ahead = runlog::clock::wall_clock_ms() + 3_600_000;
    let point = Metric {
        value: 1.0,
        timestamp: ahead,
        step: 0,
    };
    client.log_metric_at(&run, "loss", point).unwrap();
    client.flush().unwrap();
    let (_, _, body) = get(&format!("{}/ajax-api/2.0/runlog/experiments", server.url));
    let v: Value = serde_json::from_str(&body).unwrap();
    let logged = v["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "logging")
        .unwrap();
    assert_eq!(logged["last_activity"], ahead, "{logged}");
    assert_eq!(v["experiments"][0]["name"], "logging", "most recent first");
    let (status, _, body) = get(&format!(
        "{}/ajax-api/2.0/runlog/experiments?view_type=SOME",
        server.url
    ));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("INVALID_PARAMETER_VALUE"));
}

#[test]
fn series_are_downsampled_with_spikes_kept_and_cut_to_a_step_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (run, child) = sample(&store);
    let server = ServerProcess::start(&store, &[]);
    let url = &server.url;

    let (status, v) = series(
        url,
        json!({"run_ids": [run, child], "keys": ["loss", "acc"], "max_points": 200}),
    );
    assert_eq!(status, 200, "{v}");
    let all = v["series"].as_array().unwrap();
    assert_eq!(all.len(), 4, "every run and key, missing ones empty");
    let pick = |run_id: &str, key: &str| {
        all.iter()
            .find(|s| s["run_id"] == run_id && s["key"] == key)
            .unwrap()
            .clone()
    };
    let loss = pick(&run, "loss");
    let steps = loss["step"].as_array().unwrap();
    assert!(steps.len() <= 200 && steps.len() >= 100, "{}", steps.len());
    assert_eq!(loss["value"].as_array().unwrap().len(), steps.len());
    assert_eq!(loss["timestamp"].as_array().unwrap().len(), steps.len());
    let max = loss["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .fold(f64::MIN, f64::max);
    assert_eq!(max, 1e6, "the spike survives downsampling");
    assert!(steps.windows(2).all(|w| w[0].as_i64() < w[1].as_i64()));
    assert_eq!(pick(&child, "acc")["step"], json!([3]));
    assert_eq!(pick(&child, "loss")["step"], json!([]));

    // A zoomed range, and a NaN as null.
    let (status, v) = series(
        url,
        json!({"run_ids": [run], "keys": ["loss"], "start_step": 0, "end_step": 9}),
    );
    assert_eq!(status, 200, "{v}");
    let s = &v["series"][0];
    assert_eq!(s["step"], json!([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    assert_eq!(s["value"][5], Value::Null);
    assert_eq!(s["value"][1], json!(0.5));

    // Bad requests: a typed error each, never a 500.
    for (body, code) in [
        (json!({"keys": ["loss"]}), "INVALID_PARAMETER_VALUE"),
        (json!({"run_ids": [run]}), "INVALID_PARAMETER_VALUE"),
        (
            json!({"run_ids": [run], "keys": ["loss"], "max_points": 1}),
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"run_ids": [run], "keys": ["loss"], "max_points": 1_000_000}),
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"run_ids": [run], "keys": ["loss"], "start_step": 9, "end_step": 0}),
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"run_ids": [run], "keys": ["loss"], "start_step": 9}),
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"run_ids": ["0123456789abcdef0123456789abcdef"], "keys": ["loss"]}),
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            json!({"run_ids": vec![run.clone(); 101], "keys": ["loss"]}),
            "INVALID_PARAMETER_VALUE",
        ),
        (
            json!({"run_ids": "not a list", "keys": ["loss"]}),
            "INVALID_PARAMETER_VALUE",
        ),
    ] {
        let (status, v) = series(url, body.clone());
        assert!((400..500).contains(&status), "{body}: {status} {v}");
        assert_eq!(v["error_code"], code, "{body}: {v}");
    }
    let (status, _, _) = get(&format!("{url}/ajax-api/2.0/runlog/series"));
    assert_eq!(status, 405, "GET of a POST endpoint");
    let (status, _, body) = get(&format!("{url}/ajax-api/2.0/runlog/nothing"));
    assert_eq!(status, 404, "{body}");
    for path in ["experiments", "follow", "artifacts", "artifact"] {
        let mut r = agent()
            .post(&format!("{url}/ajax-api/2.0/runlog/{path}"))
            .send_json(json!({}))
            .unwrap();
        let v: Value = r.body_mut().read_json().unwrap();
        assert_eq!(r.status().as_u16(), 405, "POST of GET runlog/{path}: {v}");
        assert!(v["error_code"].is_string(), "{v}");
    }
}

/// The events of an open `runlog/follow` stream, one JSON value each
/// (`event: points` or `event: failed`), read on a thread of their own.
fn follow(url: &str) -> std::sync::mpsc::Receiver<(String, Value)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let url = url.to_owned();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut r = agent().get(&url).call().unwrap();
        let reader = std::io::BufReader::new(r.body_mut().as_reader());
        let mut event = String::new();
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(name) = line.strip_prefix("event: ") {
                event = name.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                if tx
                    .send((event.clone(), serde_json::from_str(data).unwrap()))
                    .is_err()
                {
                    return;
                }
            }
        }
    });
    rx
}

#[test]
fn new_points_are_pushed_to_an_open_stream_and_shutdown_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (_, child) = sample(&store);
    let mut server = ServerProcess::start(&store, &[]);
    let url = format!(
        "{}/ajax-api/2.0/runlog/follow?run_ids={child}&keys=acc&keys=loss&after=3",
        server.url
    );
    let events = follow(&url);
    // Nothing after step 3 yet; then this process logs steps 4 to 6.
    assert!(events
        .recv_timeout(std::time::Duration::from_millis(400))
        .is_err());
    let client = Client::new(&store.display().to_string()).unwrap();
    let logged = std::time::Instant::now();
    for step in 4..7 {
        client
            .log_metric_at(
                &child,
                "acc",
                Metric {
                    value: step as f64,
                    timestamp: 10,
                    step,
                },
            )
            .unwrap();
    }
    client.flush().unwrap();
    let mut steps = Vec::new();
    while steps.len() < 3 {
        let (event, v) = events
            .recv_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(event, "points", "{v}");
        for s in v["series"].as_array().unwrap() {
            assert_eq!(
                (s["run_id"].as_str(), s["key"].as_str()),
                (Some(&*child), Some("acc"))
            );
            steps.extend(
                s["step"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_i64().unwrap()),
            );
        }
    }
    assert_eq!(steps, [4, 5, 6], "each point once, in order");
    eprintln!("pushed {} ms after the flush", logged.elapsed().as_millis());

    // A bad request answers at once with MLflow's error, not a stream.
    let (status, _, body) = get(&format!(
        "{}/ajax-api/2.0/runlog/follow?keys=acc",
        server.url
    ));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("INVALID_PARAMETER_VALUE"), "{body}");
    // An unknown run: the stream says so and ends.
    let bad = follow(&format!(
        "{}/ajax-api/2.0/runlog/follow?run_ids=0123456789abcdef0123456789abcdef&keys=acc",
        server.url
    ));
    let (event, v) = bad.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!(
        (event.as_str(), v["error_code"].as_str()),
        ("failed", Some("RESOURCE_DOES_NOT_EXIST"))
    );

    // SIGTERM with a stream open: the server ends it and exits.
    let t0 = std::time::Instant::now();
    assert!(server.stop().success());
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t0.elapsed()
    );
}

#[test]
fn a_runs_artifacts_are_listed_and_sent_typed_and_sandboxed() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (run, _) = sample(&store);
    let client = Client::new(&store.display().to_string()).unwrap();
    client
        .log_text(&run, "hello artifacts", "notes/readme.txt")
        .unwrap();
    let png = dir.path().join("curve.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n not really").unwrap();
    client.log_artifact(&run, &png, Some("plots")).unwrap();
    client.flush().unwrap();
    let server = ServerProcess::start(&store, &[]);
    let api = |what: &str, q: &str| {
        get(&format!(
            "{}/ajax-api/2.0/runlog/{what}?run_id={run}{q}",
            server.url
        ))
    };

    let (status, _, body) = api("artifacts", "");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        v["files"],
        json!([{"path": "notes", "is_dir": true}, {"path": "plots", "is_dir": true}])
    );
    let (_, _, body) = api("artifacts", "&path=notes");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["files"][0]["path"], "readme.txt");
    assert_eq!(v["files"][0]["file_size"], 15);

    let mut r = agent()
        .get(&format!(
            "{}/ajax-api/2.0/runlog/artifact?run_id={run}&path=notes/readme.txt",
            server.url
        ))
        .call()
        .unwrap();
    let header = |name: &str| r.headers().get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/plain; charset=utf-8");
    assert!(header("content-security-policy").starts_with("sandbox"));
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(r.body_mut().read_to_string().unwrap(), "hello artifacts");
    let (status, kind, _) = api("artifact", "&path=plots/curve.png");
    assert_eq!((status, kind.as_str()), (200, "image/png"));

    for (q, want) in [
        ("&path=../../RUNLOG", 400),
        ("&path=notes/nothing.txt", 404),
        ("&path=notes", 404),
    ] {
        let (status, _, body) = api("artifact", q);
        assert_eq!(status, want, "{q}: {body}");
    }
    let (status, _, body) = get(&format!(
        "{}/ajax-api/2.0/runlog/artifacts?run_id=0123456789abcdef0123456789abcdef",
        server.url
    ));
    assert_eq!(status, 404, "{body}");
}

#[test]
fn runlog_ui_serves_the_dashboard_on_loopback_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let ui = ServerProcess::start_command(&dir.path().join("store"), &["ui", "--port", "0"]);
    assert!(ui.url.starts_with("http://127.0.0.1:"), "{}", ui.url);
    let (status, kind, _) = get(&ui.url);
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"), "{kind}");
}
