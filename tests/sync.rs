//! `runlog sync` against a live `runlog server` on loopback: what the
//! server holds after a sync equals the local store (runs, params, tags,
//! status, times, inputs, histories, artifacts); a second sync sends
//! nothing; a grown run is continued; a sync killed mid-way, or whose
//! state was lost, resumes without sending a point twice; refusals of one
//! run do not stop the others.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use runlog::remote::{sync, Connection, MlflowServer, SyncOptions, SyncReport};
use runlog::{Client, Metric, NewRun, RunStatus};

fn server(url: &str) -> MlflowServer {
    MlflowServer::new(Connection::from_env(url)).unwrap()
}

fn sync_all(store: &Path, url: &str) -> SyncReport {
    let client = Client::builder().store(store).read_only().open().unwrap();
    sync(&client, &server(url), &SyncOptions::default(), &mut |_| {}).unwrap()
}

/// The remote run whose `runlog.source_run_id` is `local`.
fn remote_run(url: &str, local: &str) -> serde_json::Value {
    let found = server(url)
        .post(
            "runs/search",
            &serde_json::json!({"experiment_ids": experiment_ids(url),
                "filter": format!("tags.`runlog.source_run_id` = '{local}'")}),
        )
        .unwrap();
    let runs = found["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 1, "one remote run for {local}: {found}");
    runs[0].clone()
}

fn experiment_ids(url: &str) -> Vec<String> {
    let all = server(url)
        .post(
            "experiments/search",
            &serde_json::json!({"max_results": 1000}),
        )
        .unwrap();
    all["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["experiment_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A remote run's points of `key`, sorted, as (step, timestamp, value).
fn remote_points(url: &str, remote_id: &str, key: &str) -> Vec<(i64, i64, f64)> {
    let mut points: Vec<(i64, i64, f64)> = server(url)
        .metric_history(remote_id, key)
        .unwrap()
        .iter()
        .map(|p| {
            let v = match &p["value"] {
                serde_json::Value::String(s) if s == "NaN" => f64::NAN,
                v => v.as_f64().unwrap(),
            };
            (
                p["step"].as_i64().unwrap(),
                p["timestamp"].as_i64().unwrap(),
                v,
            )
        })
        .collect();
    points.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    points
}

fn local_points(store: &Path, run: &str, key: &str) -> Vec<(i64, i64, f64)> {
    let c = Client::builder().store(store).read_only().open().unwrap();
    let mut points: Vec<(i64, i64, f64)> = c
        .get_metric_history(run, key)
        .unwrap()
        .iter()
        .map(|m| (m.step, m.timestamp, m.value))
        .collect();
    points.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    points
}

fn pairs(v: &serde_json::Value) -> BTreeMap<String, String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|kv| {
            (
                kv["key"].as_str().unwrap().to_owned(),
                kv["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Asserts that the server's copy of local run `run` equals it.
fn assert_same_run(store: &Path, url: &str, run: &str) {
    let c = Client::builder().store(store).read_only().open().unwrap();
    let local = c.get_run(run).unwrap();
    let remote = remote_run(url, run);
    let info = &remote["info"];
    assert_eq!(info["run_name"], local.info.run_name.as_str());
    assert_eq!(info["status"], local.info.status.as_str());
    assert_eq!(info["start_time"], local.info.start_time);
    assert_eq!(info["end_time"].as_i64(), local.info.end_time);
    assert_eq!(info["user_id"], local.info.user_id.as_str());
    assert_eq!(pairs(&remote["data"]["params"]), local.data.params);
    let mut tags = pairs(&remote["data"]["tags"]);
    assert_eq!(tags.remove("runlog.source_run_id").as_deref(), Some(run));
    let mut want = local.data.tags.clone();
    want.remove("mlflow.parentRunId"); // translated: checked by the nested test
    tags.remove("mlflow.parentRunId");
    for (k, v) in &want {
        assert_eq!(tags.get(k), Some(v), "tag {k}");
    }
    let remote_id = info["run_id"].as_str().unwrap();
    for key in local.data.metrics.keys() {
        let (l, r) = (
            local_points(store, run, key),
            remote_points(url, remote_id, key),
        );
        assert_eq!(l.len(), r.len(), "{key}: as many points, no duplicate");
        for (a, b) in l.iter().zip(&r) {
            assert_eq!((a.0, a.1), (b.0, b.1));
            assert!(
                a.2 == b.2 || (a.2.is_nan() && b.2.is_nan()),
                "{key}: {a:?} {b:?}"
            );
        }
    }
    let inputs = remote["inputs"]["dataset_inputs"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(inputs, local.inputs.len());
}

/// The server's copy of `child` names its parent by the parent's id on
/// the server, and the parent's artifact is served by its artifact API.
fn assert_parent_and_artifact(url: &str, run: &str, child: &str) {
    let parent = remote_run(url, run);
    let tags = pairs(&remote_run(url, child)["data"]["tags"]);
    assert_eq!(tags["mlflow.parentRunId"], parent["info"]["run_id"]);
    let uri = parent["info"]["artifact_uri"].as_str().unwrap();
    let path = uri
        .trim_start_matches("mlflow-artifacts:")
        .trim_matches('/');
    let mut got = http_agent()
        .get(format!(
            "{url}/api/2.0/mlflow-artifacts/artifacts/{path}/notes/readme.txt"
        ))
        .call()
        .unwrap();
    assert_eq!(got.body_mut().read_to_string().unwrap(), "hello");
}

/// A store with an experiment `train`: a finished run with params, tags,
/// 2,500 points of `loss` (a NaN among them) and 10 of `acc`, an input
/// and an artifact; a running child run of it.
fn sample(store: &Path) -> (String, String) {
    let c = Client::builder().store(store).open().unwrap();
    let exp = c.create_experiment("train").unwrap();
    let run = c
        .create_run(NewRun::new(&exp).run_name("parent").tag("team", "a"))
        .unwrap()
        .info
        .run_id;
    c.log_param(&run, "lr", "0.01").unwrap();
    for step in 0..2_500i64 {
        let value = if step == 7 {
            f64::NAN
        } else {
            1.0 / (step + 1) as f64
        };
        c.log_metric_at(
            &run,
            "loss",
            Metric {
                value,
                timestamp: 1_700_000_000_000 + step,
                step,
            },
        )
        .unwrap();
    }
    for step in 0..10i64 {
        c.log_metric_at(
            &run,
            "acc",
            Metric {
                value: step as f64 / 10.0,
                timestamp: 5,
                step,
            },
        )
        .unwrap();
    }
    let dataset = runlog::tracking::Dataset::new("mnist", "d1g3st", "local", "/data/mnist");
    c.log_inputs(&run, &[dataset.as_input(Some("training"), &[])])
        .unwrap();
    c.log_text(&run, "hello", "notes/readme.txt").unwrap();
    c.set_terminated(&run, RunStatus::Finished).unwrap();
    let child = c
        .create_run(
            NewRun::new(&exp)
                .run_name("child")
                .tag("mlflow.parentRunId", &run),
        )
        .unwrap()
        .info
        .run_id;
    c.log_metric(&child, "loss", 0.5, 0).unwrap();
    c.flush().unwrap();
    (run, child)
}

#[test]
fn a_store_synced_twice_is_on_the_server_once() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let (run, child) = sample(local.path());
    let srv = ServerProcess::start(remote.path(), &[]);

    let first = sync_all(local.path(), &srv.url);
    assert_eq!(first.failures, Vec::<String>::new());
    assert_eq!((first.experiments_created, first.runs_created), (1, 2));
    assert_eq!(first.points, 2_511);
    assert_eq!((first.params, first.inputs, first.artifacts), (1, 1, 1));
    assert_same_run(local.path(), &srv.url, &run);
    assert_same_run(local.path(), &srv.url, &child);
    assert_parent_and_artifact(&srv.url, &run, &child);

    let second = sync_all(local.path(), &srv.url);
    assert_eq!(
        second,
        SyncReport {
            runs_unchanged: 2,
            ..SyncReport::default()
        },
        "a second sync sends nothing"
    );
    assert_same_run(local.path(), &srv.url, &run);
}

#[test]
fn a_run_that_grew_is_continued_not_duplicated() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let (run, child) = sample(local.path());
    let srv = ServerProcess::start(remote.path(), &[]);
    sync_all(local.path(), &srv.url);

    let c = Client::builder().store(local.path()).open().unwrap();
    for step in 1..300i64 {
        c.log_metric(&child, "loss", 0.5 / step as f64, step)
            .unwrap();
    }
    c.log_metric(&child, "new_key", 1.0, 0).unwrap();
    c.log_param(&child, "batch", "64").unwrap();
    c.set_tag(&child, "phase", "two").unwrap();
    c.set_terminated(&child, RunStatus::Failed).unwrap();
    c.delete_tag(&run, "team").unwrap();
    c.flush().unwrap();
    drop(c);

    let again = sync_all(local.path(), &srv.url);
    assert_eq!(again.failures, Vec::<String>::new());
    assert_eq!((again.runs_created, again.runs_continued), (0, 2));
    assert_eq!(again.points, 300);
    assert_same_run(local.path(), &srv.url, &child);
    assert_same_run(local.path(), &srv.url, &run);
    assert!(!pairs(&remote_run(&srv.url, &run)["data"]["tags"]).contains_key("team"));
}

#[test]
fn lost_state_and_unacknowledged_requests_send_no_point_twice() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let (run, _) = sample(local.path());
    let srv = ServerProcess::start(remote.path(), &[]);
    sync_all(local.path(), &srv.url);

    // A kill after requests were sent, before their acknowledgement was
    // recorded: the state says 1,000 of loss were sent, 2,500 pending.
    let state = runlog::remote::state::SyncState::new(local.path(), &srv.url);
    let mut st = state.run(&run).unwrap().unwrap();
    let c = Client::builder()
        .store(local.path())
        .read_only()
        .open()
        .unwrap();
    let history = c.get_metric_history(&run, "loss").unwrap();
    let loss = st.metrics.get_mut("loss").unwrap();
    loss.sent = 1_000;
    loss.crc = runlog::remote::state::points_crc(0, &history[..1_000]);
    loss.pending = Some(2_500);
    state.save_run(&run, &st).unwrap();
    let resumed = sync_all(local.path(), &srv.url);
    assert_eq!(resumed.points, 0, "all of it was on the server already");
    assert_same_run(local.path(), &srv.url, &run);

    // More points, then the whole sync state lost: the runs are found by
    // their source tag, and only the new points are sent.
    let w = Client::builder().store(local.path()).open().unwrap();
    for step in 2_500..2_600i64 {
        w.log_metric_at(
            &run,
            "loss",
            Metric {
                value: 0.1,
                timestamp: 9,
                step,
            },
        )
        .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    std::fs::remove_dir_all(local.path().join("sync")).unwrap();
    let rebuilt = sync_all(local.path(), &srv.url);
    assert_eq!(rebuilt.failures, Vec::<String>::new());
    assert_eq!((rebuilt.runs_created, rebuilt.experiments_created), (0, 0));
    assert_eq!(rebuilt.points, 100);
    assert_same_run(local.path(), &srv.url, &run);
}

/// A run `long` of `points` points of `loss` in experiment 0.
fn long_run(store: &Path, points: i64) -> String {
    let c = Client::builder().store(store).open().unwrap();
    let run = c
        .create_run(NewRun::new("0").run_name("long"))
        .unwrap()
        .info
        .run_id;
    let h = c.metric_handle(&run, "loss").unwrap();
    for step in 0..points {
        let value = (step % 977) as f64;
        h.log_at(Metric {
            value,
            timestamp: 1_700_000_000_000 + step,
            step,
        })
        .unwrap();
    }
    c.flush().unwrap();
    run
}

#[test]
fn a_sync_killed_mid_way_resumes_without_duplicates() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let run = long_run(local.path(), 400_000);
    let srv = ServerProcess::start(remote.path(), &[]);
    let killed = kill_syncs(local.path(), &srv.url, &[150, 400, 700]);
    let out = runlog_at(local.path(), &["sync", "--to", &srv.url, "--json"]);
    let summary: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(summary["failures"], serde_json::json!([]));
    assert_same_run(local.path(), &srv.url, &run);
    assert!(killed > 0, "at least one sync was killed while sending");
}

#[test]
fn a_server_killed_and_restarted_mid_sync_gets_every_point_once() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let run = long_run(local.path(), 1_500_000);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port_arg = port.to_string();
    let args = ["server", "--port", port_arg.as_str()];
    let mut srv = ServerProcess::start_command(remote.path(), &args);
    let url = srv.url.clone();
    let syncing = {
        let (store, url) = (local.path().to_owned(), url.clone());
        std::thread::spawn(move || sync_all(&store, &url))
    };
    // Killed while batches are in flight, back a moment later on its port.
    std::thread::sleep(std::time::Duration::from_millis(700));
    srv.child.kill().unwrap(); // SIGKILL
    srv.child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _back = ServerProcess::start_command(remote.path(), &args);
    let summary = syncing.join().unwrap();
    assert_eq!(summary.failures, Vec::<String>::new());
    assert_same_run(local.path(), &url, &run);
}

#[test]
fn a_refused_run_is_reported_and_the_others_are_synced() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let (run, child) = sample(local.path());
    let srv = ServerProcess::start(remote.path(), &[]);
    sync_all(local.path(), &srv.url);
    // The server's copy gets another value of a param the local run then
    // logs: params are immutable, so the server refuses it.
    let remote_child = remote_run(&srv.url, &child)["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    server(&srv.url)
        .post(
            "runs/log-parameter",
            &serde_json::json!({"run_id": remote_child, "key": "p", "value": "remote"}),
        )
        .unwrap();
    let c = Client::builder().store(local.path()).open().unwrap();
    c.log_param(&child, "p", "local").unwrap();
    c.log_metric(&run, "acc", 1.0, 10).unwrap();
    c.flush().unwrap();
    drop(c);
    let out = runlog_at(local.path(), &["sync", "--to", &srv.url]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&child) && stderr.contains("INVALID_PARAMETER_VALUE"),
        "{stderr}"
    );
    assert_same_run(local.path(), &srv.url, &run);
}

#[test]
fn dry_run_sends_nothing_and_bad_arguments_are_refused() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    sample(local.path());
    let srv = ServerProcess::start(remote.path(), &[]);
    let out = ok(&runlog_at(
        local.path(),
        &["sync", "--to", &srv.url, "--dry-run", "--json"],
    ));
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["points"], 2_511);
    assert_eq!(summary["runs_created"], 2);
    assert_eq!(experiment_ids(&srv.url), ["0"], "nothing created");
    assert!(!local.path().join("sync").exists(), "nothing recorded");

    let bad = runlog_at(local.path(), &["sync", "--to", "ftp://x"]);
    assert_eq!(bad.status.code(), Some(2));
    let missing = runlog_at(
        local.path(),
        &["sync", "--to", &srv.url, "--experiment", "nope"],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope"));
    // A server that is not there: a clear error after the retries.
    let down = runlog_at(local.path(), &["sync", "--to", "http://127.0.0.1:9"]);
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("127.0.0.1:9"));
}

#[test]
fn mlflow_server_gets_the_store_once_and_its_growth() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let (run, child) = sample(local.path());
    let srv = MlflowServerProcess::start(remote.path());

    let first = sync_all(local.path(), &srv.url);
    assert_eq!(first.failures, Vec::<String>::new());
    assert_eq!((first.runs_created, first.points), (2, 2_511));
    assert_same_run(local.path(), &srv.url, &run);
    assert_same_run(local.path(), &srv.url, &child);
    assert_parent_and_artifact(&srv.url, &run, &child);

    assert_eq!(
        sync_all(local.path(), &srv.url),
        SyncReport {
            runs_unchanged: 2,
            ..SyncReport::default()
        }
    );
    let c = Client::builder().store(local.path()).open().unwrap();
    for step in 1..50i64 {
        c.log_metric(&child, "loss", 1.0 / step as f64, step)
            .unwrap();
    }
    c.set_terminated(&child, RunStatus::Killed).unwrap();
    c.flush().unwrap();
    drop(c);
    // A kill after the requests were sent, before they were recorded.
    let state = runlog::remote::state::SyncState::new(local.path(), &srv.url);
    let grown = sync_all(local.path(), &srv.url);
    assert_eq!((grown.runs_continued, grown.points), (1, 49));
    let mut st = state.run(&child).unwrap().unwrap();
    let loss = st.metrics.get_mut("loss").unwrap();
    loss.pending = Some(loss.sent);
    loss.sent = 1;
    let history = Client::builder()
        .store(local.path())
        .read_only()
        .open()
        .unwrap()
        .get_metric_history(&child, "loss")
        .unwrap();
    loss.crc = runlog::remote::state::points_crc(0, &history[..1]);
    state.save_run(&child, &st).unwrap();
    assert_eq!(sync_all(local.path(), &srv.url).points, 0);
    assert_same_run(local.path(), &srv.url, &child);
}
