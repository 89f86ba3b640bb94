#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The examples reproducing MLflow's tracking docs, run as built (cargo
//! builds them with the tests), each on a fresh store, with their results
//! checked through the client.

use std::path::{Path, PathBuf};
use std::process::Command;

use runlog::{Client, RunStatus, ViewType};

/// The built example binary (`target/<profile>/examples/<name>`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} not built; run through `cargo test`",
        path.display()
    );
    path
}

fn run(name: &str, store: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(example(name));
    cmd.args(args)
        .env("MLFLOW_TRACKING_URI", store)
        .env_remove("MLFLOW_EXPERIMENT_NAME")
        .env_remove("MLFLOW_EXPERIMENT_ID");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn quality_metric() {
    let dir = tempfile::tempdir().unwrap();
    let out = run("quality_metric", dir.path(), &[], &[]);
    let run_id = out.lines().last().unwrap().strip_prefix("run ").unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    let history = c.get_metric_history(run_id, "quality").unwrap();
    let got: Vec<(i64, f64)> = history.iter().map(|m| (m.step, m.value)).collect();
    assert_eq!(got, [(0, 0.0), (1, 2.0), (2, 4.0)]);
    let run = c.get_run(run_id).unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    assert_eq!(run.info.experiment_id, "0");
}

#[test]
fn fraud_detection_by_environment() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("MLFLOW_EXPERIMENT_NAME", "fraud-detection")];
    run("fraud_detection", dir.path(), &[], &env);
    run("fraud_detection", dir.path(), &[], &env);
    run("fraud_detection", dir.path(), &[], &[]);
    let c = Client::builder().store(dir.path()).open().unwrap();
    let e = c
        .get_experiment_by_name("fraud-detection")
        .unwrap()
        .unwrap();
    let runs = c.list_runs(&e.experiment_id, ViewType::All).unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.data.metrics["auc"].value == 0.947));
    assert_eq!(c.list_runs("0", ViewType::All).unwrap().len(), 1);
}

#[test]
fn hyperparameter_sweep() {
    let dir = tempfile::tempdir().unwrap();
    run("hyperparameter_sweep", dir.path(), &[], &[]);
    let c = Client::builder().store(dir.path()).open().unwrap();
    let e = c.get_experiment_by_name("sweep").unwrap().unwrap();
    let runs = c.list_runs(&e.experiment_id, ViewType::All).unwrap();
    assert_eq!(runs.len(), 9);
    let parent = runs.iter().find(|r| r.info.run_name == "lr-sweep").unwrap();
    assert_eq!(parent.data.params["num_trials"], "8");
    let children: Vec<_> = runs
        .iter()
        .filter(|r| r.data.tags.get("mlflow.parentRunId") == Some(&parent.info.run_id))
        .collect();
    assert_eq!(children.len(), 8);
    let best = children
        .iter()
        .min_by(|a, b| {
            a.data.metrics["loss"]
                .value
                .total_cmp(&b.data.metrics["loss"].value)
        })
        .unwrap();
    assert_eq!(parent.data.tags["best_run"], best.info.run_id);
    assert_eq!(best.data.params["lr"], "0.03");
    assert!(runs.iter().all(|r| r.info.status == RunStatus::Finished));
}

#[test]
fn parallel_runs_in_child_processes() {
    let dir = tempfile::tempdir().unwrap();
    run("parallel_runs", dir.path(), &["--workers", "3"], &[]);
    let c = Client::builder().store(dir.path()).open().unwrap();
    let e = c.get_experiment_by_name("parallel-runs").unwrap().unwrap();
    let runs = c.list_runs(&e.experiment_id, ViewType::All).unwrap();
    assert_eq!(runs.len(), 3);
    for r in &runs {
        assert_eq!(r.info.status, RunStatus::Finished);
        assert_eq!(
            c.get_metric_history(&r.info.run_id, "loss").unwrap().len(),
            10_000
        );
    }
}

#[test]
fn threads_with_nested_child_runs() {
    let dir = tempfile::tempdir().unwrap();
    run("threaded_runs", dir.path(), &[], &[]);
    let c = Client::builder().store(dir.path()).open().unwrap();
    let runs = c.list_runs("0", ViewType::All).unwrap();
    assert_eq!(runs.len(), 5);
    let parent = runs
        .iter()
        .find(|r| r.info.run_name == "threaded-parent")
        .unwrap();
    for t in 0..4 {
        let child = runs
            .iter()
            .find(|r| r.info.run_name == format!("thread-{t}"))
            .unwrap();
        assert_eq!(child.data.tags["mlflow.parentRunId"], parent.info.run_id);
        assert_eq!(child.data.metrics["loss"].step, 999);
        assert_eq!(child.info.status, RunStatus::Finished);
    }
}

#[test]
fn train_loop_logs_a_run_to_the_default_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        "train_loop",
        dir.path(),
        &["--steps", "2000", "--keys", "3"],
        &[],
    );
    assert!(out.contains("status FINISHED"), "{out}");
    let c = Client::builder().store(dir.path()).open().unwrap();
    let runs = c.list_runs("0", ViewType::All).unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.data.params["steps"], "2000");
    assert_eq!(run.data.metrics.len(), 3);
    assert_eq!(run.data.metrics["loss"].step, 1999);
    assert_eq!(run.data.tags["mlflow.source.type"], "LOCAL");
}

/// `runlog stats --json` of a store, as a user would run it right after a
/// program ends.
fn stats_right_after(store: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_runlog"))
        .args(["stats", "--json", "--tracking-uri"])
        .arg(store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_main_job_ends_with_a_compacted_store() {
    // The README's main job as it runs by default: 100,000 steps of 8
    // keys. Its exit forks a compaction; `runlog stats` right after the
    // program ends waits for it and reports the compacted store.
    let dir = tempfile::tempdir().unwrap();
    let out = run("train_loop", dir.path(), &[], &[]);
    // 28 bytes a point in Points entries of 256, their frames and the
    // run's records around them.
    assert!(out.contains("28.0 bytes per point"), "{out}");
    let stats = stats_right_after(dir.path());
    assert_eq!(stats["metric_points"], 800_000, "{stats}");
    assert_eq!(stats["segments"], 0, "{stats}");
    assert_eq!(stats["generations"], 1, "{stats}");
    let per_point = stats["bytes_per_point"].as_f64().unwrap();
    assert!(per_point <= 8.0, "{stats}");
    // And every point reads back.
    let c = Client::builder().store(dir.path()).open().unwrap();
    let run = &c.list_runs("0", ViewType::All).unwrap()[0];
    let history = c.get_metric_history(&run.info.run_id, "loss").unwrap();
    assert_eq!(history.len(), 100_000);
    assert!(history.windows(2).all(|w| w[0].step + 1 == w[1].step));
}

#[test]
fn the_compaction_after_exit_can_be_turned_off_and_skips_small_stores() {
    let off = tempfile::tempdir().unwrap();
    let env = [("RUNLOG_COMPACT_AT_EXIT", "0")];
    run("train_loop", off.path(), &["--steps", "20000"], &env);
    let stats = stats_right_after(off.path());
    assert_eq!(stats["segments"], 1, "{stats}");
    assert_eq!(stats["generations"], 0, "{stats}");
    // Below 4 MiB of raw segments (20,000 points, 0.5 MiB): left for a
    // later compaction to take with others.
    let small = tempfile::tempdir().unwrap();
    run(
        "train_loop",
        small.path(),
        &["--steps", "10000", "--keys", "2"],
        &[],
    );
    let stats = stats_right_after(small.path());
    assert_eq!(stats["segments"], 1, "{stats}");
    assert_eq!(stats["generations"], 0, "{stats}");
    // The same program once more on the store with 4.3 MiB more: now the
    // two runs' segments are worth compacting, and are compacted together.
    run("train_loop", small.path(), &["--steps", "20000"], &[]);
    let stats = stats_right_after(small.path());
    assert_eq!(stats["metric_points"], 180_000, "{stats}");
    assert_eq!(stats["segments"], 0, "{stats}");
    assert_eq!(stats["generations"], 1, "{stats}");
}

#[test]
fn dashboard_fixture_makes_its_three_experiments() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = run(
        "dashboard_fixture",
        dir.path(),
        &[
            store.to_str().unwrap(),
            "--long-steps",
            "1000",
            "--sweep-runs",
            "20",
        ],
        &[],
    );
    let c = Client::builder().store(&store).open().unwrap();
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split(' ').collect()).collect();
    let count = |i: usize| c.list_runs(lines[i][1], ViewType::All).unwrap().len();
    assert_eq!(
        [lines[0][0], lines[1][0], lines[2][0]],
        ["long", "sweep", "wide"]
    );
    assert_eq!([count(0), count(1), count(2)], [10, 20, 100]);
    assert_eq!(lines[0][2].split(',').count(), 10);
    let first = lines[0][2].split(',').next().unwrap();
    let loss = c.get_metric_history(first, "loss").unwrap();
    assert_eq!(loss.len(), 1000);
}
