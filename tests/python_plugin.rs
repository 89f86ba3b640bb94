//! MLflow's store plugin (`python/python/runlog/mlflow_plugin.py`): runlog's
//! package built and installed into a venv with the full MLflow 3.17.2 and
//! the framework wheels, then unchanged MLflow programs run with
//! `MLFLOW_TRACKING_URI=runlog:<dir>` and, in the same test, with MLflow's
//! SQLite store (its 3.x default): what each holds afterwards must agree.
//!
//! - the side-by-side store suite (`python/tests_mlflow`, pytest);
//! - the docs' sklearn autolog example, `log_model`, `load_model` and the
//!   registry (`tests/mlflow/autolog_compare.py`, as the server test runs
//!   it), then the store read back by this build, and MLflow's own command
//!   line (`mlflow runs list`) over the plugin;
//! - LightGBM's and XGBoost's autolog (`tests/mlflow/autolog_frameworks.py`).

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The venv's Python with this build's package installed (once per run of
/// this test binary).
fn plugin_python() -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let python = common::mlflow_server_python();
            common::install_runlog_package(&python);
            python
        })
        .clone()
}

/// Runs an MLflow comparison script with `uri` as the tracking URI, in
/// `dir`; its summary.
fn summary_of(script: &str, uri: &str, dir: &Path) -> serde_json::Value {
    common::mlflow_script_summary(&plugin_python(), script, uri, dir)
}

fn script(name: &str) -> String {
    format!("{}/tests/mlflow/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_store_suite_agrees_with_mlflows_sqlite_store() {
    let python = plugin_python();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("python/tests_mlflow"))
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLFLOW_REGISTRY_URI")
        .status()
        .unwrap();
    assert!(status.success(), "the store plugin's suite failed");
}

#[test]
fn autolog_log_model_and_the_registry_give_what_mlflows_sqlite_store_gives() {
    let dir = tempfile::tempdir().unwrap();
    let ours_dir = dir.path().join("runlog");
    let theirs_dir = dir.path().join("sqlite");
    std::fs::create_dir_all(&ours_dir).unwrap();
    std::fs::create_dir_all(&theirs_dir).unwrap();
    let store = ours_dir.join("store");
    let ours = summary_of(
        &script("autolog_compare.py"),
        &format!("runlog:{}", store.display()),
        &ours_dir,
    );
    let theirs = summary_of(
        &script("autolog_compare.py"),
        "sqlite:///mlflow.db",
        &theirs_dir,
    );
    // Not vacuous: autolog's run finished with its params and metrics, its
    // model is READY and loads, the registry loads by version and alias.
    assert_eq!(ours["autolog_run"]["status"], "FINISHED");
    assert_eq!(ours["autolog_run"]["params"].as_object().unwrap().len(), 18);
    assert!(ours["autolog_run"]["metrics"].as_object().unwrap().len() >= 5);
    assert_eq!(ours["autolog_models"][0]["status"], "READY");
    assert_eq!(ours["autolog_round_trip"], true);
    assert_eq!(
        ours["registry_loads"],
        serde_json::json!([true, true, true])
    );
    // Where artifacts live differs by nature: a file: URI under the store
    // here, a bare path under ./mlruns for MLflow's SQLite store.
    assert_eq!(ours["download_scheme"], "file");
    assert_eq!(ours["explicit_model"]["uri_scheme"], "file");
    assert_eq!(ours["autolog_models"][0]["uri_scheme"], "file");
    let mut ours = ours;
    let mut theirs = theirs;
    for s in [&mut ours, &mut theirs] {
        s.as_object_mut().unwrap().remove("download_scheme");
        for m in s["autolog_models"].as_array_mut().unwrap() {
            m.as_object_mut().unwrap().remove("uri_scheme");
        }
        s["explicit_model"]
            .as_object_mut()
            .unwrap()
            .remove("uri_scheme");
    }
    for field in theirs.as_object().unwrap().keys() {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    assert_eq!(ours, theirs);

    // The store, read by this build without the plugin.
    let c = runlog::Client::builder()
        .store(&store)
        .read_only()
        .open()
        .unwrap();
    let exp = c.get_experiment_by_name("autolog").unwrap().unwrap();
    let runs = c
        .search_runs(&runlog::SearchRuns::new(&[&exp.experiment_id]))
        .unwrap();
    assert!(runs.len() >= 2, "{runs:?}");
    assert!(runs
        .iter()
        .all(|r| r.info.status == runlog::RunStatus::Finished));
    let models = c
        .search_logged_models(&runlog::SearchModels {
            experiment_ids: vec![exp.experiment_id.clone()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(models.len(), 1, "the deleted one is left out");

    // MLflow's own command line over the plugin.
    let out = Command::new(plugin_python())
        .args(["-m", "mlflow", "runs", "list", "--experiment-id"])
        .arg(&exp.experiment_id)
        .env("MLFLOW_TRACKING_URI", format!("runlog:{}", store.display()))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for r in runs.iter() {
        assert!(listed.contains(&r.info.run_id), "{listed}");
    }
}

#[test]
fn lightgbm_and_xgboost_autolog_give_what_mlflows_sqlite_store_gives() {
    let dir = tempfile::tempdir().unwrap();
    let ours_dir = dir.path().join("runlog");
    let theirs_dir = dir.path().join("sqlite");
    std::fs::create_dir_all(&ours_dir).unwrap();
    std::fs::create_dir_all(&theirs_dir).unwrap();
    let ours = summary_of(&script("autolog_frameworks.py"), "runlog:store", &ours_dir);
    let theirs = summary_of(
        &script("autolog_frameworks.py"),
        "sqlite:///mlflow.db",
        &theirs_dir,
    );
    for framework in ["lightgbm", "xgboost"] {
        assert_eq!(ours[framework]["status"], "FINISHED", "{framework}");
        assert_eq!(
            ours[framework]["models"][0][1], "READY",
            "{framework}: {}",
            ours[framework]
        );
        assert_eq!(ours[framework], theirs[framework], "{framework}");
    }
    assert_eq!(ours, theirs);
}
