#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The official MLflow Python client (pinned, from PyPI) against a running
//! `runlog server`: the MLflow tracking docs' examples
//! (`tests/mlflow/client_against_server.py`), then what they logged read
//! back through the library from the store itself.

mod common;

use common::{mlflow_python, ServerProcess};
use runlog::{Client, SearchExperiments, SearchRuns, ViewType};

#[test]
fn mlflows_python_client_runs_its_docs_examples_against_runlog_server() {
    let python = mlflow_python();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut server = ServerProcess::start(&store, &[]);
    let out = std::process::Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/mlflow/client_against_server.py"
        ))
        .env("MLFLOW_TRACKING_URI", &server.url)
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(server.stop().success(), "SIGTERM: exit 0");

    // What the client logged is in the store, read without the server.
    let c = Client::builder().store(&store).read_only().open().unwrap();
    let fluent = c.get_experiment_by_name("docs-fluent").unwrap().unwrap();
    let runs = c
        .search_runs(&SearchRuns::new(&[&fluent.experiment_id]).order_by("attributes.run_name"))
        .unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r.info.run_name.as_str()).collect();
    assert_eq!(names, ["child", "parent"]);
    let parent = &runs[1];
    assert_eq!(parent.data.params["optimizer"], "adam");
    assert_eq!(
        c.get_metric_history(&parent.info.run_id, "loss")
            .unwrap()
            .len(),
        100
    );
    let artifact = store
        .join("artifacts")
        .join(&fluent.experiment_id)
        .join(&parent.info.run_id)
        .join("artifacts/models/model.txt");
    assert_eq!(std::fs::read(&artifact).unwrap().len(), 8000);
    let all = c
        .search_experiments(SearchExperiments::new().view(ViewType::All))
        .unwrap();
    assert_eq!(all.len(), 3, "Default, docs-fluent, docs-client");
    let client_exp = c.get_experiment_by_name("docs-client").unwrap().unwrap();
    let big = c
        .search_runs(
            &SearchRuns::new(&[&client_exp.experiment_id])
                .filter("attributes.run_name = 'trial-0'"),
        )
        .unwrap();
    assert_eq!(
        c.get_metric_history(&big[0].info.run_id, "m")
            .unwrap()
            .len(),
        30_000
    );
}

/// MLflow's auth client (`get_app_client("basic-auth", ...)`) and its
/// tracking client signed in as different users, against `runlog server
/// --app-name basic-auth` and, in the same test, `mlflow server --app-name
/// basic-auth` 3.17.2: the same script (`tests/mlflow/auth_client.py`)
/// passes against both.
#[test]
fn mlflows_auth_client_manages_users_and_permissions_as_on_mlflow_server() {
    let python = common::mlflow_server_python();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mlflow/auth_client.py");
    let run = |url: &str, dir: &std::path::Path, tokens: bool| {
        let out = std::process::Command::new(&python)
            .arg(script)
            .env("MLFLOW_TRACKING_URI", url)
            .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
            .env("RUNLOG_TOKENS", if tokens { "1" } else { "0" })
            .env("MLFLOW_AUTH_ADMIN_PASSWORD", common::TEST_ADMIN_PASSWORD)
            .current_dir(dir)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("all checks passed"),
            "{url}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let dir = tempfile::tempdir().unwrap();
    // Both servers read their first admin's password from the same variable.
    let runlog = ServerProcess::start_signed_in(&dir.path().join("store"));
    run(&runlog.url, dir.path(), true);
    let mlflow_dir = tempfile::tempdir().unwrap();
    let mlflow =
        common::MlflowServerProcess::start_with(mlflow_dir.path(), &["--app-name", "basic-auth"]);
    run(&mlflow.url, mlflow_dir.path(), false);
}

/// MLflow 3's sklearn autolog (the docs' example), an explicit `log_model`
/// with metrics about the model, `load_model` by `models:/m-...`, the
/// logged-model search, tags and deletion, and the registry
/// (`register_model`, loads by `models:/name/1` and `models:/name@alias`,
/// stages, tags, searches, renaming, deletion, MLflow's error codes) (`tests/mlflow/autolog_compare.py`,
/// unchanged MLflow 3.17.2 with scikit-learn) against `runlog server` and,
/// in the same test, `mlflow server`: what each server holds afterwards is
/// the same, field by field (ids, times and run names aside).
#[test]
fn mlflow_autolog_and_log_model_give_the_same_results_as_on_mlflow_server() {
    let python = common::mlflow_server_python();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/mlflow/autolog_compare.py"
    );
    let run =
        |url: &str, dir: &std::path::Path| common::mlflow_script_summary(&python, script, url, dir);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut runlog = ServerProcess::start(&store, &[]);
    let ours = run(&runlog.url, dir.path());
    assert!(runlog.stop().success(), "SIGTERM: exit 0");
    let mlflow_dir = tempfile::tempdir().unwrap();
    let mlflow = common::MlflowServerProcess::start(mlflow_dir.path());
    let theirs = run(&mlflow.url, mlflow_dir.path());
    // Not vacuous: the run finished with its params, metrics, datasets and
    // model, and the model loads.
    assert_eq!(ours["autolog_run"]["status"], "FINISHED");
    assert_eq!(ours["autolog_run"]["params"].as_object().unwrap().len(), 18);
    assert!(ours["autolog_run"]["metrics"].as_object().unwrap().len() >= 5);
    assert_eq!(ours["autolog_models"][0]["status"], "READY");
    assert_eq!(ours["autolog_round_trip"], true);
    assert_eq!(ours["explicit_by_model_uri"], true);
    assert_eq!(
        ours["registry_loads"],
        serde_json::json!([true, true, true])
    );
    assert_eq!(ours["latest_staging"], serde_json::json!(["2"]));
    for field in theirs.as_object().unwrap().keys() {
        assert_eq!(ours[field], theirs[field], "{field}");
    }
    assert_eq!(ours, theirs);

    // What the server acknowledged is in the store, read without it, and
    // the store's marker says a version 6 writer opened it (which
    // covers version 5's logged models).
    let c = Client::builder().store(&store).read_only().open().unwrap();
    let exp = c.get_experiment_by_name("autolog").unwrap().unwrap();
    let models = c
        .search_logged_models(&runlog::SearchModels {
            experiment_ids: vec![exp.experiment_id.clone()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(models.len(), 1, "the deleted one is left out");
    assert_eq!(models[0].status, runlog::ModelStatus::Ready);
    let marker = std::fs::read(store.join(runlog::layout::MARKER_FILE)).unwrap();
    assert_eq!(
        u32::from(marker[8]),
        runlog::format::STORE_VERSION_POINTS,
        "marker version"
    );
}

/// LightGBM's and XGBoost's MLflow autolog (`tests/mlflow/autolog_frameworks.py`,
/// unchanged MLflow 3.17.2 with the pinned CPU wheels) against `runlog
/// server` and `mlflow server` in the same test: the runs' params, metric
/// histories, artifacts and datasets, and their logged models, the same
/// field by field; each model loads back.
#[test]
fn lightgbm_and_xgboost_autolog_give_the_same_results_as_on_mlflow_server() {
    let python = common::mlflow_server_python();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/mlflow/autolog_frameworks.py"
    );
    let run =
        |url: &str, dir: &std::path::Path| common::mlflow_script_summary(&python, script, url, dir);
    let dir = tempfile::tempdir().unwrap();
    let runlog = ServerProcess::start(&dir.path().join("store"), &[]);
    let ours = run(&runlog.url, dir.path());
    let mlflow_dir = tempfile::tempdir().unwrap();
    let mlflow = common::MlflowServerProcess::start(mlflow_dir.path());
    let theirs = run(&mlflow.url, mlflow_dir.path());
    for framework in ["lightgbm", "xgboost"] {
        assert_eq!(ours[framework]["status"], "FINISHED", "{framework}");
        assert_eq!(
            ours[framework]["models"][0][1], "READY",
            "{framework}: {}",
            ours[framework]
        );
        assert_eq!(ours[framework], theirs[framework], "{framework}");
    }
    assert_eq!(ours["loads"], serde_json::json!([3, 3]));
    assert_eq!(ours, theirs);
}
