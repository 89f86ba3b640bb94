//! Logging to a tracking server through an `http://` tracking URI: log
//! calls go to a local spool and a background sync pushes them. Checked against
//! `runlog server` and MLflow's own `mlflow server` (SQLite) on loopback:
//! what the server holds equals what was logged, point for point, once;
//! the server stopped mid-run and back; the logging process SIGKILLed and
//! its spool synced by the next one; a refused param reported without
//! stalling the rest; the spool's size bound.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;

use common::*;
use runlog::remote::{connect, SpoolConfig};
use runlog::{Client, Error, NewExperiment, NewRun, RunStatus};

const SYNC_WAIT: Duration = Duration::from_secs(120);

fn spool_config(root: &Path) -> SpoolConfig {
    SpoolConfig {
        root: root.to_owned(),
        max_bytes: runlog::remote::DEFAULT_SPOOL_MAX_BYTES,
    }
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The server's history of `key`, as (step, timestamp, value), sorted.
fn server_points(reader: &Client, run: &str, key: &str) -> Vec<(i64, i64, f64)> {
    let mut points: Vec<(i64, i64, f64)> = reader
        .get_metric_history(run, key)
        .unwrap()
        .iter()
        .map(|m| (m.step, m.timestamp, m.value))
        .collect();
    points.sort_by_key(|p| (p.0, p.1));
    points
}

/// The one entry of a directory (a spool root's server directory, a
/// server directory's one spool).
fn only_entry(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// The server has every flushed point of `id`'s `loss` once, in order.
fn steps_once_each(reader: &Client, id: &str, flushed: i64) {
    let steps: Vec<i64> = server_points(reader, id, "loss")
        .iter()
        .map(|p| p.0)
        .collect();
    assert!(steps.len() as i64 >= flushed, "{} < {flushed}", steps.len());
    assert_eq!(
        steps,
        (0..steps.len() as i64).collect::<Vec<_>>(),
        "once each, in order"
    );
}

/// Logs a run through `url` and checks the server's copy field by field.
fn round_trip(url: &str) {
    let spool = tempfile::tempdir().unwrap();
    let client = connect(url, &spool_config(spool.path())).unwrap();
    assert!(client.is_remote());
    assert_eq!(client.tracking_uri(), url);
    let exp = client
        .create_experiment(NewExperiment::new("remote-logging").tag("team", "a"))
        .unwrap();
    let run = client
        .create_run(NewRun::new(&exp).run_name("trained").tag("k", "v"))
        .unwrap();
    let id = run.info.run_id.clone();
    assert_eq!(run.info.run_name, "trained");
    client.log_param(&id, "lr", 0.01).unwrap();
    let handle = client.metric_handle(&id, "loss").unwrap();
    let mut logged = Vec::new();
    for step in 0..5_000i64 {
        let v = 1.0 / (step + 1) as f64;
        handle.log(v, step).unwrap();
        logged.push((step, v));
        client
            .log_metric(&id, "acc", step as f64 / 5_000.0, step)
            .unwrap();
    }
    client.log_metric(&id, "odd", f64::NAN, 0).unwrap();
    client.set_tag(&id, "phase", "done").unwrap();
    client
        .log_text(&id, "hello from the spool", "notes/readme.txt")
        .unwrap();
    client.set_terminated(&id, RunStatus::Finished).unwrap();
    let report = client.wait_synced(SYNC_WAIT).unwrap();
    assert_eq!(report.refused, Vec::<String>::new());

    // Read back through the server (a second client, a spool of its own).
    let reader = connect(url, &spool_config(spool.path())).unwrap();
    let got = reader.get_run(&id).unwrap();
    assert_eq!(got.info.status, RunStatus::Finished);
    assert_eq!(got.info.run_name, "trained");
    assert_eq!(got.info.experiment_id, exp);
    assert_eq!(got.data.params["lr"], "0.01");
    assert_eq!(got.data.tags["k"], "v");
    assert_eq!(got.data.tags["phase"], "done");
    assert_eq!(got.data.metrics["loss"].step, 4_999);
    assert!(got.data.metrics["odd"].value.is_nan());
    let loss = server_points(&reader, &id, "loss");
    assert_eq!(loss.len(), 5_000, "every point once");
    for ((step, _, v), (want_step, want)) in loss.iter().zip(&logged) {
        assert_eq!((*step, v.to_bits()), (*want_step, want.to_bits()));
    }
    assert_eq!(server_points(&reader, &id, "acc").len(), 5_000);
    let files = reader.list_artifacts(&id, Some("notes")).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let out = tempfile::tempdir().unwrap();
    let path = reader
        .download_artifacts(&id, Some("notes/readme.txt"), out.path())
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "hello from the spool"
    );
    let found = reader
        .search_runs(&runlog::SearchRuns::new(&[&exp]).filter("params.lr = '0.01'"))
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        reader
            .get_experiment_by_name("remote-logging")
            .unwrap()
            .unwrap()
            .experiment_id,
        exp
    );
}

#[test]
fn a_run_logged_through_http_reaches_runlog_server_whole() {
    let remote = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(remote.path(), &[]);
    round_trip(&srv.url);
}

#[test]
fn a_run_logged_through_http_reaches_mlflow_server_whole() {
    let remote = tempfile::tempdir().unwrap();
    let srv = MlflowServerProcess::start(remote.path());
    round_trip(&srv.url);
}

#[test]
fn the_fluent_api_logs_to_a_server_and_end_run_waits_for_it() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(remote.path(), &[]);
    // The only test of this binary that uses the fluent API (and the
    // environment).
    std::env::set_var(runlog::remote::SPOOL_DIR_ENV, spool.path());
    runlog::set_tracking_uri(&srv.url).unwrap();
    assert_eq!(runlog::get_tracking_uri(), srv.url);
    let exp = runlog::set_experiment("fluent-remote").unwrap();
    let run = runlog::start_run_with(runlog::StartRun::new().run_name("fluent")).unwrap();
    let id = run.run_id().to_owned();
    runlog::log_param("lr", 0.1).unwrap();
    for step in 0..3_000 {
        runlog::log_metric("loss", 1.0 / (step + 1) as f64, step).unwrap();
    }
    runlog::set_tag("stage", "fluent").unwrap();
    // Read through the server: the run exists there from its start.
    assert_eq!(
        runlog::get_run(&id).unwrap().info.experiment_id,
        exp.experiment_id
    );
    drop(run); // ends it FINISHED, and waits until the server has it all
    let reader = connect(&srv.url, &spool_config(spool.path())).unwrap();
    let got = reader.get_run(&id).unwrap();
    assert_eq!(got.info.status, RunStatus::Finished);
    assert_eq!(got.info.run_name, "fluent");
    assert_eq!(got.data.params["lr"], "0.1");
    assert_eq!(got.data.tags["stage"], "fluent");
    assert_eq!(server_points(&reader, &id, "loss").len(), 3_000);
    assert!(
        got.data.tags.contains_key("mlflow.user"),
        "{:?}",
        got.data.tags
    );
}

#[test]
fn the_server_going_away_never_blocks_logging_and_loses_nothing() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let args = ["server", "--port", port.as_str()];
    let mut srv = ServerProcess::start_command(remote.path(), &args);
    let url = srv.url.clone();
    let client = connect(&url, &spool_config(spool.path())).unwrap();
    let id = client.create_run("0").unwrap().info.run_id;
    for step in 0..1_000 {
        client.log_metric(&id, "loss", step as f64, step).unwrap();
    }
    srv.stop();
    // Down: log calls still succeed at once; the wait says why it waits.
    let began = std::time::Instant::now();
    for step in 1_000..50_000 {
        client.log_metric(&id, "loss", step as f64, step).unwrap();
    }
    client.log_param(&id, "during", "outage").unwrap();
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    let waited = client.wait_synced(Duration::from_millis(1_500));
    assert!(
        matches!(&waited, Err(Error::Remote(m)) if m.contains("spool")),
        "{waited:?}"
    );
    let _back = ServerProcess::start_command(remote.path(), &args);
    client.set_terminated(&id, RunStatus::Finished).unwrap();
    let report = client.wait_synced(SYNC_WAIT).unwrap();
    assert_eq!(report.refused, Vec::<String>::new());
    let points = server_points(&client, &id, "loss");
    let steps: Vec<i64> = points.iter().map(|p| p.0).collect();
    assert_eq!(steps, (0..50_000).collect::<Vec<_>>(), "each point once");
    let run = client.get_run(&id).unwrap();
    assert_eq!(run.data.params["during"], "outage");
    assert_eq!(run.info.status, RunStatus::Finished);
}

#[test]
fn a_param_the_server_refuses_is_reported_and_the_rest_ships() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(remote.path(), &[]);
    let client = connect(&srv.url, &spool_config(spool.path())).unwrap();
    let id = client.create_run("0").unwrap().info.run_id;
    // Another client logs lr first, with another value.
    let other =
        runlog::remote::MlflowServer::new(runlog::remote::Connection::from_env(&srv.url)).unwrap();
    other
        .post(
            "runs/log-parameter",
            &serde_json::json!({"run_id": id, "key": "lr", "value": "0.5"}),
        )
        .unwrap();
    client.log_param(&id, "lr", "0.1").unwrap();
    client.log_param(&id, "batch", 32).unwrap();
    for step in 0..100 {
        client.log_metric(&id, "loss", 1.0, step).unwrap();
    }
    let report = client.wait_synced(SYNC_WAIT).unwrap();
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(report.refused[0].contains("lr"), "{report:?}");
    assert_eq!(report.refused_total, 1);
    let run = client.get_run(&id).unwrap();
    assert_eq!(run.data.params["lr"], "0.5", "the server's value stands");
    assert_eq!(run.data.params["batch"], "32");
    assert_eq!(server_points(&client, &id, "loss").len(), 100);
    // Reported once, not at every cycle.
    client.log_metric(&id, "loss", 1.0, 100).unwrap();
    assert_eq!(
        client.wait_synced(SYNC_WAIT).unwrap().refused,
        Vec::<String>::new()
    );
}

#[test]
fn a_spool_past_its_bound_refuses_records_with_a_clear_error() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let mut srv = ServerProcess::start(remote.path(), &[]);
    let config = SpoolConfig {
        root: spool.path().to_owned(),
        max_bytes: 4 << 20,
    };
    let client = connect(&srv.url, &config).unwrap();
    let id = client.create_run("0").unwrap().info.run_id;
    srv.stop();
    // The server is gone: the spool only grows, until its bound.
    let mut refused = None;
    let began = std::time::Instant::now();
    let mut step = 0i64;
    'logging: while began.elapsed() < Duration::from_secs(60) {
        for _ in 0..10_000 {
            if let Err(e) = client.log_metric(&id, "loss", 1.0, step) {
                refused = Some(e);
                break 'logging;
            }
            step += 1;
        }
        client.flush().unwrap();
    }
    let e = refused.expect("refused past the bound");
    assert!(matches!(e, Error::Full(_)), "{e:?}");
    let text = e.to_string();
    let dir = client.store_dir().display().to_string();
    assert!(text.contains(&dir) && text.contains("4194304"), "{text}");
    assert!(text.contains("not acknowledged"), "{text}");
    assert!(text.contains(runlog::remote::SPOOL_MAX_BYTES_ENV), "{text}");
    // What was taken is still written, and syncs once the server is back.
    client.flush().unwrap();
    let port = srv.url.rsplit(':').next().unwrap().to_owned();
    let args = ["server", "--port", port.as_str()];
    let _back = ServerProcess::start_command(remote.path(), &args);
    client.wait_synced(SYNC_WAIT).unwrap();
    assert_eq!(server_points(&client, &id, "loss").len() as i64, step);
    // Synced: records are taken again.
    let began = std::time::Instant::now();
    while client.log_metric(&id, "loss", 2.0, step).is_err() {
        assert!(began.elapsed() < Duration::from_secs(30), "still refused");
        std::thread::sleep(Duration::from_millis(100));
    }
    client.wait_synced(SYNC_WAIT).unwrap();
    assert_eq!(server_points(&client, &id, "loss").len() as i64, step + 1);
}

/// The child of the kill test: connects to `RUNLOG_TEST_URL`, creates a
/// run, prints its id, then logs points, printing each flushed count.
#[test]
#[ignore = "child process: run by kill_logging_child with --ignored"]
fn child_logging_process() {
    let url = std::env::var("RUNLOG_TEST_URL").expect("run by kill_logging_child, which sets it");
    let root = std::env::var("RUNLOG_TEST_SPOOL").unwrap();
    let client = connect(&url, &spool_config(Path::new(&root))).unwrap();
    let id = client.create_run("0").unwrap().info.run_id;
    let mut out = std::io::stdout();
    writeln!(out, "\nRUN_ID={id}").unwrap();
    client.log_param(&id, "p", 1).unwrap();
    let handle = client.metric_handle(&id, "loss").unwrap();
    let mut step = 0i64;
    loop {
        for _ in 0..2_000 {
            handle.log(step as f64, step).unwrap();
            step += 1;
        }
        client.flush().unwrap();
        writeln!(out, "FLUSHED={step}").unwrap();
        out.flush().unwrap();
    }
}

/// Kills a child logging through `url` once it flushed `at_least` points;
/// returns the run id and the count flushed.
fn kill_logging_child(url: &str, spool: &Path, at_least: i64) -> (String, i64) {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_logging_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RUNLOG_TEST_URL", url)
        .env("RUNLOG_TEST_SPOOL", spool)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (mut id, mut flushed) = (String::new(), 0);
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some((_, rest)) = line.split_once("RUN_ID=") {
            id = rest.trim().to_owned();
        } else if let Some((_, n)) = line.split_once("FLUSHED=") {
            flushed = n.trim().parse().unwrap();
            if flushed >= at_least {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    (id, flushed)
}

/// After the kill, the next client of the server syncs what the killed
/// one flushed: each point once, none lost.
fn killed_then_shipped(url: &str, spool: &Path, id: &str, flushed: i64) {
    let next = connect(url, &spool_config(spool)).unwrap();
    // Its first cycle syncs the orphan spool.
    next.wait_synced(SYNC_WAIT).unwrap();
    steps_once_each(&next, id, flushed);
    assert_eq!(next.get_run(id).unwrap().data.params["p"], "1");
    let left: Vec<_> = std::fs::read_dir(only_entry(spool)).unwrap().collect();
    assert_eq!(
        left.len(),
        1,
        "the orphan spool is deleted once synced: {left:?}"
    );
}

#[test]
fn a_logging_process_killed_mid_run_loses_nothing_it_flushed() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(remote.path(), &[]);
    let (id, flushed) = kill_logging_child(&srv.url, spool.path(), 200_000);
    killed_then_shipped(&srv.url, spool.path(), &id, flushed);
}

#[test]
fn a_logging_process_killed_while_mlflow_server_is_down_loses_nothing() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let srv = MlflowServerProcess::start(remote.path());
    let url = srv.url.clone();
    let port = url.rsplit(':').next().unwrap().to_owned();
    let (id, flushed) = {
        // Down after the run is created: the child logs into its spool.
        let stopper = {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent = http_agent();
                for _ in 0..200 {
                    let r = agent
                        .post(format!("{url}/api/2.0/mlflow/runs/search"))
                        .send_json(serde_json::json!({"experiment_ids": ["0"]}))
                        .unwrap();
                    let body: serde_json::Value = r.into_body().read_json().unwrap();
                    if body.get("runs").is_some() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        let started = std::thread::spawn({
            let (url, spool) = (url.clone(), spool.path().to_owned());
            move || kill_logging_child(&url, &spool, 100_000)
        });
        stopper.join().unwrap();
        drop(srv);
        started.join().unwrap()
    };
    let back = MlflowServerProcess::start_on(remote.path(), &port);
    killed_then_shipped(&back.url, spool.path(), &id, flushed);
}

#[test]
fn runlog_sync_of_a_killed_processs_spool_ships_it_under_its_ids() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(remote.path(), &[]);
    let (id, flushed) = kill_logging_child(&srv.url, spool.path(), 100_000);
    let dir = only_entry(&only_entry(spool.path()));
    ok(&runlog_at(&dir, &["sync", "--to", &srv.url]));
    // A reader with a spool root of its own: it does not sync the orphan.
    let elsewhere = tempfile::tempdir().unwrap();
    let reader = connect(&srv.url, &spool_config(elsewhere.path())).unwrap();
    steps_once_each(&reader, &id, flushed);
    // The same run, not a copy tagged with a source id.
    let runs = reader
        .search_runs(&runlog::SearchRuns::new(&["0"]))
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(!runs[0]
        .data
        .tags
        .contains_key(runlog::remote::SOURCE_RUN_TAG));
}

/// One server under two spellings of its URI is one server: a spool left
/// by a client of `http://localhost:P` is synced by the next client of
/// `http://127.0.0.1:P/`, once; `runlog sync` of it under either spelling
/// sends nothing twice.
#[test]
fn one_server_under_two_spellings_gets_each_point_once() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(remote.path(), &[]);
    let localhost = srv.url.replace("127.0.0.1", "localhost");
    let (id, flushed) = kill_logging_child(&localhost, spool.path(), 50_000);
    let dir = only_entry(&only_entry(spool.path()));
    // Synced under both spellings (and a trailing slash): once each.
    ok(&runlog_at(
        &dir,
        &["sync", "--to", &format!("{}/", srv.url)],
    ));
    ok(&runlog_at(&dir, &["sync", "--to", &localhost]));
    let elsewhere = tempfile::tempdir().unwrap();
    let reader = connect(&srv.url, &spool_config(elsewhere.path())).unwrap();
    steps_once_each(&reader, &id, flushed);
    let runs = reader.list_runs("0", runlog::ViewType::All).unwrap();
    assert_eq!(runs.len(), 1, "no copy of the run: {runs:?}");
    // The next client of the other spelling finds the orphan (same
    // directory) and syncs nothing twice.
    killed_then_shipped(&format!("{}/", srv.url), spool.path(), &id, flushed);
}

/// A client killed between making its spool directory and marking it as
/// a spool leaves an empty directory: the next client removes it (once it
/// is older than a live client's window), and leaves a young one alone.
#[test]
fn a_spool_directory_a_killed_client_never_finished_is_cleaned_up() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(remote.path(), &[]);
    // The kill point: the directory made and the store opened in it, not
    // yet locked by its owner nor marked with its SPOOL file.
    let first = connect(&srv.url, &spool_config(spool.path())).unwrap();
    drop(first);
    let server_dir = only_entry(spool.path());
    let old = server_dir.join("1700000000000-4242");
    let young = server_dir.join("1700000000001-4243");
    for dir in [&old, &young] {
        drop(Client::builder().store(dir).open().unwrap());
        assert!(!dir.join("SPOOL").exists());
    }
    let status = std::process::Command::new("touch")
        .args(["-d", "2 minutes ago"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(status.success());
    let next = connect(&srv.url, &spool_config(spool.path())).unwrap();
    next.wait_synced(SYNC_WAIT).unwrap();
    assert!(
        !old.exists(),
        "the unfinished spool of a killed client is removed"
    );
    assert!(young.exists(), "a young one may be a live client's: kept");
}

/// Logged models and the registry are not carried by the spool's background sync:
/// through an `http://` tracking URI they are refused with an error that
/// says what to do, and nothing is written that would be lost.
#[test]
fn models_through_http_are_refused_not_lost() {
    let remote = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let srv = ServerProcess::start(remote.path(), &[]);
    let client = connect(&srv.url, &spool_config(spool.path())).unwrap();
    let run = client.create_run(NewRun::new("0")).unwrap().info.run_id;
    let refused = [
        client
            .create_logged_model(runlog::NewLoggedModel::new("0"))
            .map(|_| ()),
        client
            .search_logged_models(&runlog::SearchModels {
                experiment_ids: vec!["0".into()],
                ..Default::default()
            })
            .map(|_| ()),
        client.log_model_metrics(
            &run,
            &[runlog::ModelPoint {
                key: "acc".into(),
                metric: runlog::Metric {
                    value: 1.0,
                    timestamp: 1,
                    step: 0,
                },
                model_id: "m-0123".into(),
                dataset_name: None,
                dataset_digest: None,
            }],
        ),
        client.create_registered_model("reg", &[], None).map(|_| ()),
        client
            .search_registered_models(&Default::default())
            .map(|_| ()),
    ];
    for r in refused {
        match r {
            Err(runlog::Error::InvalidState(why)) => {
                assert!(why.contains("runlog sync"), "{why}")
            }
            other => panic!("not refused: {other:?}"),
        }
    }
    let server =
        runlog::remote::MlflowServer::new(runlog::remote::Connection::from_env(&srv.url)).unwrap();
    let reg = server.get("registered-models/get", &[("name", "reg")]);
    // The server's refusal, typed: its status and MLflow code kept.
    assert!(
        matches!(&reg, Err(runlog::Error::Refused(r))
            if r.status == 404 && r.error_code == "RESOURCE_DOES_NOT_EXIST"),
        "{reg:?}"
    );
    assert!(reg.unwrap_err().is_not_found());
}
