#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The dashboard in a real browser: Debian's chromium driven by
//! playwright-core (`crates/server/web/tests/dashboard.mjs`, installed by this test with
//! `npm ci` under `target/tmp`), against `runlog server` over a store made
//! here, while this process logs into a RUNNING run. Screenshots of every
//! view are left in `target/tmp/dashboard-screenshots/`.
//!
//! Needs chromium (installed with apt-get when missing and the test runs
//! as root on Debian; else `apt-get install chromium`, or
//! `RUNLOG_CHROMIUM` naming another), Node.js and npm.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ServerProcess;
use runlog::{Client, Metric, NewRun, RunStatus};

/// The store the browser looks at: "sweep" with 12 ended runs, run-11
/// FAILED and the others FINISHED (params
/// `lr`, metrics `loss` and `acc` over 2,000 steps; run-1 a child of run-0)
/// and a RUNNING run "live", and "other" with one run.
fn make_store(store: &Path) -> (String, String) {
    let client = Client::new(&store.display().to_string()).unwrap();
    let sweep = client.create_experiment("sweep").unwrap();
    let other = client.create_experiment("other").unwrap();
    let mut ids = Vec::new();
    for i in 0..12 {
        let mut run = NewRun::new(&sweep).run_name(format!("run-{i}"));
        if i == 1 {
            run = run.tag("mlflow.parentRunId", &ids[0]);
        }
        let id = client.create_run(run).unwrap().info.run_id;
        let lr = ["0.1", "0.01", "0.001"][i % 3];
        client.log_param(&id, "lr", lr).unwrap();
        let loss = client.metric_handle(&id, "loss").unwrap();
        let acc = client.metric_handle(&id, "acc").unwrap();
        for step in 0..2_000i64 {
            let t = 1_700_000_000_000 + step * 10;
            let decay = (-(step as f64) / (300.0 + 50.0 * i as f64)).exp();
            loss.log_at(Metric {
                value: 2.0 * decay + 0.05,
                timestamp: t,
                step,
            })
            .unwrap();
            acc.log_at(Metric {
                value: 1.0 - decay,
                timestamp: t,
                step,
            })
            .unwrap();
        }
        if i == 1 {
            client
                .log_text(&id, "trained on 2,000 steps", "notes/summary.txt")
                .unwrap();
            // A dataset as MLflow logs one: its source and profile are JSON.
            let train = runlog::DatasetInput {
                name: "train".into(),
                digest: "3f2a9c1e".into(),
                source_type: "s3".into(),
                source: r#"{"uri": "s3://bucket/train.csv"}"#.into(),
                schema: None,
                profile: Some(r#"{"num_rows": 12000, "num_elements": 96000}"#.into()),
                tags: vec![("mlflow.data.context".into(), "training".into())],
            };
            client.log_inputs(&id, &[train]).unwrap();
            client.set_tag(&id, "team", "vision").unwrap();
        }
        // The last one failed (the runs table shows it in red).
        let end = if i == 11 {
            RunStatus::Failed
        } else {
            RunStatus::Finished
        };
        client.set_terminated(&id, end).unwrap();
        ids.push(id);
    }
    let live = client
        .create_run(NewRun::new(&sweep).run_name("live"))
        .unwrap()
        .info
        .run_id;
    log_live(&client, &live, 0..100);
    // A logged model of run-1, registered, with an alias (the Models view).
    let model = client
        .create_logged_model(
            runlog::NewLoggedModel::new(&sweep)
                .name("forest")
                .source_run_id(&ids[1])
                .param("n_estimators", "100"),
        )
        .unwrap();
    client
        .log_model_metrics(
            &ids[1],
            &[runlog::ModelPoint {
                key: "accuracy".into(),
                metric: Metric {
                    value: 0.93,
                    timestamp: 1_700_000_000_000,
                    step: 0,
                },
                model_id: model.model_id.clone(),
                dataset_name: Some("eval".into()),
                dataset_digest: None,
            }],
        )
        .unwrap();
    client
        .finalize_logged_model(&model.model_id, runlog::ModelStatus::Ready)
        .unwrap();
    client
        .create_registered_model("sweep-model", &[], Some("the best of the sweep"))
        .unwrap();
    client
        .create_model_version(&runlog::tracking::NewModelVersion {
            name: "sweep-model".into(),
            source: format!("models:/{}", model.model_id),
            ..Default::default()
        })
        .unwrap();
    client
        .set_registered_model_alias("sweep-model", "champion", 1)
        .unwrap();
    let lone = client.create_run(NewRun::new(&other)).unwrap().info.run_id;
    client.set_terminated(&lone, RunStatus::Finished).unwrap();
    client.flush().unwrap();
    (sweep, live)
}

fn log_live(client: &Client, run: &str, steps: std::ops::Range<i64>) {
    for step in steps {
        client
            .log_metric_at(
                run,
                "loss",
                Metric {
                    value: 1.0 / (step + 1) as f64,
                    timestamp: runlog::clock::wall_clock_ms(),
                    step,
                },
            )
            .unwrap();
    }
    client.flush().unwrap();
}

/// playwright-core from `crates/server/web/tests/package-lock.json`, installed once.
fn playwright_core() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/server/web/tests");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-tests");
    let lock = std::fs::read_to_string(src.join("package-lock.json")).unwrap();
    let module = dir.join("node_modules/playwright-core/index.mjs");
    let installed = dir.join("installed-lock.json");
    if module.exists() && std::fs::read_to_string(&installed).ok().as_ref() == Some(&lock) {
        return module;
    }
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .current_dir(&dir)
        .status()
        .unwrap_or_else(|e| panic!("npm is needed for the browser tests: {e}"));
    assert!(status.success(), "npm ci of crates/server/web/tests failed");
    std::fs::write(installed, lock).unwrap();
    module
}

/// Debian's chromium (or `RUNLOG_CHROMIUM`), installed with apt-get when
/// missing and this test runs as root on a Debian machine, as the MLflow
/// tests install their client: the README's test command sets up what its
/// tests need.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("RUNLOG_CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = PathBuf::from("/usr/bin/chromium");
    // The browser tests run at once: one installs, the others wait for it
    // (two apt-gets at once fail on dpkg's lock).
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    if !path.exists() && root && Path::new("/usr/bin/apt-get").exists() {
        eprintln!("installing Debian's chromium for the browser tests (apt-get)");
        for args in [
            &["update", "-q"][..],
            &["install", "-y", "-q", "--no-install-recommends", "chromium"][..],
        ] {
            let status = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .unwrap();
            assert!(status.success(), "apt-get {args:?} failed");
        }
    }
    assert!(
        path.exists(),
        "the browser tests need chromium at {} (apt-get install chromium, or set \
         RUNLOG_CHROMIUM)",
        path.display()
    );
    path
}

#[test]
fn the_dashboard_in_chromium_lists_filters_charts_zooms_and_follows_a_live_run() {
    let browser = chromium();
    let module = playwright_core();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (_sweep, live) = make_store(&store);
    let server = ServerProcess::start(&store, &[]);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap();

    let mut node = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/server/web/tests/dashboard.mjs"))
        .env("PLAYWRIGHT_CORE", &module)
        .env("RUNLOG_URL", &server.url)
        .env("RUNLOG_SHOTS", &shots)
        .env("RUNLOG_CHROMIUM", &browser)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(node.stdout.take().unwrap());
    let logging = Arc::new(AtomicBool::new(true));
    let mut writer = None;
    let mut seen_after = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        if line == "LIVE-READY" {
            // Another process (this one) logs into the RUNNING run while
            // the page is open: a few points every 50 ms.
            let (store, live, logging) = (store.clone(), live.clone(), Arc::clone(&logging));
            writer = Some(std::thread::spawn(move || {
                let client = Client::new(&store.display().to_string()).unwrap();
                let mut step = 100;
                let t0 = Instant::now();
                while logging.load(Ordering::Relaxed) && t0.elapsed() < Duration::from_secs(20) {
                    log_live(&client, &live, step..step + 5);
                    step += 5;
                    std::thread::sleep(Duration::from_millis(50));
                }
            }));
        } else if let Some(ms) = line.strip_prefix("LIVE-SEEN ") {
            seen_after = Some(ms.parse::<u64>().unwrap());
        }
    }
    let out = node.wait_with_output().unwrap();
    logging.store(false, Ordering::Relaxed);
    if let Some(w) = writer {
        w.join().unwrap();
    }
    assert!(
        out.status.success(),
        "the browser checks failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen_after = seen_after.unwrap();
    eprintln!(
        "a logged point was on screen {seen_after} ms after logging started; screenshots in {}",
        shots.display()
    );
    assert!(seen_after < 5_000, "{seen_after} ms");
    for name in [
        "experiments",
        "runs",
        "filter-error",
        "charts",
        "zoomed",
        "live",
        "run",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
}

/// An experiment "scales" with one run of 200 steps over two hours whose
/// metrics live at five scales, one of them a single 0.0006 peak.
fn make_scales_store(store: &Path) {
    let client = Client::new(&store.display().to_string()).unwrap();
    let exp = client.create_experiment("scales").unwrap();
    let t0 = 1_700_000_000_000;
    let id = client
        .create_run(NewRun::new(&exp).run_name("scales").start_time(t0))
        .unwrap()
        .info
        .run_id;
    for step in 0..200i64 {
        let f = step as f64 / 200.0;
        let points = [
            ("lr_warmup", 2.5e-6 * f),
            ("grad_peak", if step == 100 { 0.0006 } else { 0.0 }),
            ("lr_decay", 0.01 * (1.0 - f)),
            ("loss", 2.3 - 2.0 * f),
            (
                "tokens_per_s",
                150_000.0 + 5_000.0 * (step as f64 / 7.0).sin(),
            ),
            ("params_total", 1.0e9 * (1.0 + f)),
        ];
        for (key, value) in points {
            let point = Metric {
                value,
                timestamp: t0 + step * 36_000,
                step,
            };
            client.log_metric_at(&id, key, point).unwrap();
        }
    }
    client.set_terminated(&id, RunStatus::Finished).unwrap();
    client.flush().unwrap();
}

/// Issue 26's chart labels at 1e-6, 1e-3, 1, 1e5 and 1e9, read back from
/// the browser: ticks that say their values, axes wide enough for them, a
/// legend with the digits a value has, log axes that fit, durations.
#[test]
fn chart_labels_in_chromium_say_their_values_at_every_scale() {
    let browser = chromium();
    let module = playwright_core();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    make_scales_store(&store);
    let server = ServerProcess::start(&store, &[]);
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chart-label-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/server/web/tests/chart_labels.mjs"))
        .env("PLAYWRIGHT_CORE", &module)
        .env("RUNLOG_URL", &server.url)
        .env("RUNLOG_SHOTS", &shots)
        .env("RUNLOG_CHROMIUM", &browser)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the chart label checks failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["scales", "scales-log", "scales-relative"] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
}

/// Runs `crates/server/web/tests/<script>` with node, driving chromium through
/// playwright-core, with `env` besides; fails the test with the script's
/// output unless it succeeds.
fn run_browser_script(script: &str, env: &[(&str, &str)]) {
    let browser = chromium();
    let module = playwright_core();
    let mut command = Command::new("node");
    command
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("crates/server/web/tests")
                .join(script),
        )
        .env("PLAYWRIGHT_CORE", &module)
        .env("RUNLOG_CHROMIUM", &browser);
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The directory for a test's screenshots, under cargo's target/tmp.
fn screenshots(name: &str) -> std::path::PathBuf {
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

/// A sweep as wide as real ones: 30 runs of "wide" with 14 params (one
/// named `lr`), 9 metrics (one also named `lr`) over 50 steps and a tag;
/// run-0, run-1 and run-2 are parents of three child runs each.
fn make_wide_store(store: &Path) -> String {
    let client = Client::new(&store.display().to_string()).unwrap();
    let wide = client.create_experiment("wide").unwrap();
    let mut parents = Vec::new();
    for i in 0..30usize {
        let mut run = NewRun::new(&wide).run_name(format!("run-{i}"));
        if (3..12).contains(&i) {
            run = run.tag("mlflow.parentRunId", &parents[(i - 3) / 3]);
        }
        let id = client.create_run(run).unwrap().info.run_id;
        if i < 3 {
            parents.push(id.clone());
        }
        client
            .log_param(&id, "lr", ["0.1", "0.01", "0.001"][i % 3])
            .unwrap();
        client
            .log_param(&id, "optimizer", ["adam", "sgd"][i % 2])
            .unwrap();
        for p in 0..12 {
            client
                .log_param(&id, &format!("hyper_parameter_{p:02}"), i * p)
                .unwrap();
        }
        for step in 0..50i64 {
            let t = (step as f64 + 1.0) / 50.0;
            client
                .log_metric(&id, "loss", 1.0 / (1.0 + t * (i as f64 + 1.0)), step)
                .unwrap();
            client.log_metric(&id, "lr", 0.1 * (1.0 - t), step).unwrap();
            for m in 0..7 {
                client
                    .log_metric(
                        &id,
                        &format!("validation_metric_{m}"),
                        t * m as f64 + i as f64,
                        step,
                    )
                    .unwrap();
            }
        }
        client
            .set_tag(&id, "team", ["vision", "speech"][i % 2])
            .unwrap();
        client.set_terminated(&id, RunStatus::Finished).unwrap();
    }
    client.flush().unwrap();
    wide
}

/// The runs table, the compare page, editing and export, and dark mode,
/// in the browser (`crates/server/web/tests/runs_table.mjs`); screenshots in
/// `target/tmp/runs-table-screenshots/`.
#[test]
fn runs_table_compare_editing_and_export_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let wide = make_wide_store(&store);
    let server = ServerProcess::start(&store, &[]);
    let shots = screenshots("runs-table-screenshots");
    run_browser_script(
        "runs_table.mjs",
        &[
            ("RUNLOG_URL", &server.url),
            ("RUNLOG_EXPERIMENT", &wide),
            ("RUNLOG_SHOTS", &shots.display().to_string()),
        ],
    );
    for name in [
        "table",
        "table-scrolled",
        "compare",
        "run-edited",
        "dark-runs",
        "dark-run",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
}

/// A sweep of 1,000 runs in "big": params `lr` (continuous), `batch` and
/// `optimizer` (categories), metrics `loss` and `acc` (one point each).
fn make_big_sweep(store: &Path) -> String {
    let client = Client::new(&store.display().to_string()).unwrap();
    let big = client.create_experiment("big").unwrap();
    for i in 0..1_000u32 {
        let id = client
            .create_run(NewRun::new(&big).run_name(format!("trial-{i}")))
            .unwrap()
            .info
            .run_id;
        let lr = 10f64.powf(-4.0 + 3.0 * f64::from(i % 97) / 96.0);
        client.log_param(&id, "lr", lr).unwrap();
        client
            .log_param(&id, "batch", [32, 64, 128, 256][(i % 4) as usize])
            .unwrap();
        client
            .log_param(&id, "optimizer", ["adam", "sgd", "lion"][(i % 3) as usize])
            .unwrap();
        let loss = (lr.log10() + 2.5).powi(2) * 0.2 + 0.05 * f64::from(i % 4);
        client.log_metric(&id, "loss", loss, 0).unwrap();
        client.log_metric(&id, "acc", 1.0 - loss / 2.0, 0).unwrap();
        client.set_terminated(&id, RunStatus::Finished).unwrap();
    }
    client.flush().unwrap();
    big
}

/// The sweep's analysis in the browser (`crates/server/web/tests/sweep_analysis.mjs`):
/// group-by with bands, x by a metric, log x, the sorted tooltip, the one
/// legend, chart CSV/PNG/SVG, full screen and resizing, parallel
/// coordinates brushing the runs table (30 runs, then 1,000) and the
/// scatter. Screenshots in `target/tmp/sweep-screenshots/`.
#[test]
fn sweep_analysis_in_chromium_groups_axes_brushes_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let wide = make_wide_store(&store);
    let big = make_big_sweep(&store);
    let server = ServerProcess::start(&store, &[]);
    let shots = screenshots("sweep-screenshots");
    run_browser_script(
        "sweep_analysis.mjs",
        &[
            ("RUNLOG_URL", &server.url),
            ("RUNLOG_EXPERIMENT", &wide),
            ("RUNLOG_BIG", &big),
            ("RUNLOG_SHOTS", &shots.display().to_string()),
        ],
    );
    for name in [
        "grouped",
        "x-by-metric",
        "full-screen",
        "parallel",
        "scatter",
        "parallel-1000",
    ] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}.png");
    }
}

/// The dashboard's edits under sign-in (`crates/server/web/tests/permissions.mjs`): a
/// user with MLflow's default READ permission is refused, in the server's
/// words under the form, and the admin is not.
#[test]
fn dashboard_edits_in_chromium_obey_sign_in_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let run = {
        let client = Client::new(&store.display().to_string()).unwrap();
        let experiment = client.create_experiment("reviewed").unwrap();
        let run = client
            .create_run(NewRun::new(&experiment).run_name("to-review"))
            .unwrap()
            .info
            .run_id;
        client.set_terminated(&run, RunStatus::Finished).unwrap();
        client.flush().unwrap();
        run
    };
    let server = ServerProcess::start_signed_in(&store);
    run_browser_script(
        "permissions.mjs",
        &[
            ("RUNLOG_URL", &server.url),
            ("RUNLOG_RUN", &run),
            ("RUNLOG_ADMIN_PASSWORD", common::TEST_ADMIN_PASSWORD),
        ],
    );
}

/// A page on another site (and the same page after DNS rebinding) can
/// neither change nor read the store through a server on this machine,
/// while the dashboard on its own origin works with no CSP violation
/// (`crates/server/web/tests/cross_site.mjs`).
#[test]
fn another_site_in_chromium_cannot_read_or_delete_through_the_server() {
    let browser = chromium();
    let module = playwright_core();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let client = Client::new(&store.display().to_string()).unwrap();
    let target = client.create_experiment("precious").unwrap();
    client.flush().unwrap();
    drop(client);
    let server = ServerProcess::start(&store, &[]);
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/server/web/tests/cross_site.mjs"))
        .env("PLAYWRIGHT_CORE", &module)
        .env("RUNLOG_URL", &server.url)
        .env("RUNLOG_EXPERIMENT", &target)
        .env("RUNLOG_CHROMIUM", &browser)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    eprintln!("{report:#}");
    // The attacks were made (the page ran), and none got through.
    assert_eq!(report["attacker"]["no_cors_post"], "sent", "{report}");
    assert_eq!(report["attacker"]["form_post"], "submitted", "{report}");
    assert_eq!(
        report["attacker"]["cross_origin_read"], "blocked",
        "{report}"
    );
    assert_eq!(report["rebound_page"], 403, "{report}");
    assert_eq!(report["rebound"]["read"], 403, "{report}");
    assert_eq!(report["rebound"]["delete"], 403, "{report}");
    assert!(
        !report["rebound"]["body"].to_string().contains("precious"),
        "{report}"
    );
    assert_eq!(report["dashboard_same_origin_post"], 200, "{report}");
    assert_eq!(report["csp_violations"], serde_json::json!([]), "{report}");
    let r = common::http_agent()
        .get(format!(
            "{}/api/2.0/mlflow/experiments/get?experiment_id={target}",
            server.url
        ))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(r.contains("\"lifecycle_stage\":\"active\""), "{r}");
}

/// The ids `tests/mlflow/ui_data.py` prints after writing its data through
/// MLflow's client to the server at `url`.
fn mlflow_ui_data(python: &Path, url: &str, dir: &Path) -> serde_json::Value {
    let out = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/mlflow/ui_data.py"
        ))
        .arg(url)
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{url}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
}

/// MLflow's own web UI (the build of the pinned mlflow package, found by
/// `--mlflow-ui` through the `python3` on PATH) on `runlog server`: the
/// experiment list, the runs table, the charts, a run's page and its
/// artifacts, the compare page, logged models, registered models and a
/// version, the webhooks settings (`crates/server/web/tests/mlflow_ui.mjs`) all draw their data with no failed
/// request, no script error and no error message. The same pages on
/// `mlflow server` over the same data (written by MLflow's client to both)
/// are timed in the same run; screenshots of both are left in
/// `target/tmp/mlflow-ui-screenshots/`.
#[test]
fn mlflows_own_web_ui_draws_every_page_on_runlog_server() {
    let browser = chromium();
    let module = playwright_core();
    let python = common::mlflow_server_python();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // `--mlflow-ui` with no directory: the mlflow package of the python3
    // on PATH, as in a user's activated virtual environment.
    let venv_bin = python.parent().unwrap().to_owned();
    let path = std::env::join_paths(
        std::iter::once(venv_bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_runlog"));
    command
        .arg("--tracking-uri")
        .arg(&store)
        .args(["server", "--port", "0", "--mlflow-ui"])
        .env("PATH", path);
    let runlog = ServerProcess::spawn(command);
    let ours = mlflow_ui_data(&python, &runlog.url, dir.path());
    let mlflow_dir = tempfile::tempdir().unwrap();
    let mlflow = common::MlflowServerProcess::start(mlflow_dir.path());
    let theirs = mlflow_ui_data(&python, &mlflow.url, mlflow_dir.path());
    // runlog's dashboard is still there, beside MLflow's UI.
    let dashboard = common::http_agent()
        .get(format!("{}/runlog/", runlog.url))
        .call()
        .unwrap()
        .into_body()
        .read_to_string()
        .unwrap();
    assert!(
        dashboard.contains("<script type=\"module\" src=\"/ui/"),
        "{dashboard}"
    );

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mlflow-ui-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let servers = serde_json::json!([
        {"name": "runlog", "url": runlog.url, "ids": ours},
        {"name": "mlflow", "url": mlflow.url, "ids": theirs},
    ]);
    let out = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/server/web/tests/mlflow_ui.mjs"))
        .env("PLAYWRIGHT_CORE", &module)
        .env("RUNLOG_CHROMIUM", &browser)
        .env("RUNLOG_SHOTS", &shots)
        .env("SERVERS", servers.to_string())
        // benches/mlflow_ui.sh asks for more rounds (the median is kept).
        .env(
            "ROUNDS",
            std::env::var("RUNLOG_UI_ROUNDS").unwrap_or_else(|_| "1".into()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the browser script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
    eprintln!("page load (ms), runlog server against mlflow server:");
    for (page, ms) in report["runlog"]["times"].as_object().unwrap() {
        eprintln!("  {page:18} {ms:>6} {:>6}", report["mlflow"]["times"][page]);
    }
    assert_eq!(report["runlog"]["times"].as_object().unwrap().len(), 12);
    assert_eq!(
        report["runlog"]["problems"],
        serde_json::json!([]),
        "on runlog server; screenshots in {}",
        shots.display()
    );
    // The same pages work on MLflow's own server: the checks ask for what
    // MLflow's UI shows, not for something runlog alone does.
    assert_eq!(report["mlflow"]["problems"], serde_json::json!([]));
}
