//! `runlog import` of what the real MLflow client (3.17.2, installed from
//! PyPI) wrote into a file store and into an SQLite database: compared
//! field by field with what MLflow reads back from them; a second import
//! brings nothing; a corrupt source file is reported by path and skipped.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// Writes the sources with MLflow's client into `dir` and returns what
/// MLflow reads back (`tests/mlflow/make_import_sources.py`).
fn mlflow_writes(dir: &Path, uri: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mlflow/make_import_sources.py");
    let out = std::process::Command::new(mlflow_server_python())
        .arg(script)
        .arg(uri)
        .current_dir(dir)
        .env("MLFLOW_ALLOW_FILE_STORE", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn value_json(v: f64) -> Value {
    match runlog::tracking::model::json_number::non_finite_name(v) {
        Some(name) => Value::from(name),
        None => Value::from(v),
    }
}

/// Asserts that the store holds what MLflow read.
fn assert_imported(store: &Path, mlflow: &Value) {
    let c = runlog::Client::builder()
        .store(store)
        .read_only()
        .open()
        .unwrap();
    for e in mlflow["experiments"].as_array().unwrap() {
        let id = e["id"].as_str().unwrap();
        let local = c.get_experiment(id).unwrap();
        assert_eq!(local.name, e["name"].as_str().unwrap());
        assert_eq!(
            serde_json::to_value(local.lifecycle_stage).unwrap(),
            e["lifecycle_stage"],
            "{id}"
        );
        let location = e["artifact_location"].as_str().unwrap();
        // Both stores have experiment 0 (Default): the store keeps its own.
        assert!(
            id == "0"
                || local.artifact_location.trim_start_matches("file://")
                    == location.trim_start_matches("file://"),
            "{} vs {location}",
            local.artifact_location
        );
        for (k, v) in e["tags"].as_object().unwrap() {
            assert_eq!(
                local.tags.get(k).map(String::as_str),
                v.as_str(),
                "experiment tag {k}"
            );
        }
    }
    let runs = mlflow["runs"].as_array().unwrap();
    assert!(runs.len() >= 5);
    for r in runs {
        let id = r["run_id"].as_str().unwrap();
        let local = c.get_run(id).unwrap();
        let name = r["run_name"].as_str().unwrap();
        assert_eq!(local.info.run_name, name);
        assert_eq!(
            local.info.experiment_id,
            r["experiment_id"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(local.info.user_id, r["user_id"].as_str().unwrap(), "{name}");
        assert_eq!(
            local.info.status.as_str(),
            r["status"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            local.info.start_time,
            r["start_time"].as_i64().unwrap(),
            "{name}"
        );
        assert_eq!(local.info.end_time, r["end_time"].as_i64(), "{name}");
        assert_eq!(
            serde_json::to_value(local.info.lifecycle_stage).unwrap(),
            r["lifecycle_stage"],
            "{name}"
        );
        let params: std::collections::BTreeMap<String, String> =
            serde_json::from_value(r["params"].clone()).unwrap();
        assert_eq!(local.data.params, params, "{name}");
        let tags: std::collections::BTreeMap<String, String> =
            serde_json::from_value(r["tags"].clone()).unwrap();
        assert_eq!(local.data.tags, tags, "{name}");
        let metrics = r["metrics"].as_object().unwrap();
        assert_eq!(local.data.metrics.len(), metrics.len(), "{name}");
        for (key, points) in metrics {
            let mut mine: Vec<Value> = c
                .get_metric_history(id, key)
                .unwrap()
                .iter()
                .map(|m| serde_json::json!([m.step, m.timestamp, value_json(m.value)]))
                .collect();
            mine.sort_by_key(|p| (p[0].as_i64(), p[1].as_i64()));
            assert_eq!(&Value::from(mine), points, "{name} {key}");
        }
        let inputs = r["inputs"].as_array().unwrap();
        assert_eq!(local.inputs.len(), inputs.len(), "{name}");
        for (l, m) in local.inputs.iter().zip(inputs) {
            assert_eq!(l.name, m["name"].as_str().unwrap());
            assert_eq!(l.digest, m["digest"].as_str().unwrap());
            assert_eq!(l.source_type, m["source_type"].as_str().unwrap());
            assert_eq!(l.source, m["source"].as_str().unwrap());
            assert_eq!(l.schema.as_deref(), m["schema"].as_str());
            assert_eq!(l.profile.as_deref(), m["profile"].as_str());
            let tags: Vec<(String, String)> = m["tags"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect();
            assert_eq!(l.tags, tags);
        }
    }
}

/// Asserts that the store holds MLflow 3's logged model and registry as
/// MLflow read them (`models` and `registry` of the script's output).
fn assert_models_imported(store: &Path, mlflow: &Value) {
    let c = runlog::Client::builder()
        .store(store)
        .read_only()
        .open()
        .unwrap();
    let m = &mlflow["models"][0];
    let local = c.get_logged_model(m["model_id"].as_str().unwrap()).unwrap();
    assert_eq!(local.name, m["name"].as_str().unwrap());
    assert_eq!(local.experiment_id, m["experiment_id"].as_str().unwrap());
    assert_eq!(
        local.status.as_str(),
        format!(
            "LOGGED_MODEL_{}",
            m["status"]
                .as_str()
                .unwrap()
                .trim_start_matches("LoggedModelStatus.")
                .trim_start_matches("LOGGED_MODEL_")
        )
    );
    assert_eq!(local.source_run_id.as_deref(), m["source_run_id"].as_str());
    assert_eq!(
        local.artifact_location,
        m["artifact_location"].as_str().unwrap()
    );
    assert_eq!(local.model_type.as_deref(), m["model_type"].as_str());
    let params: std::collections::BTreeMap<String, String> =
        serde_json::from_value(m["params"].clone()).unwrap();
    assert_eq!(local.params, params);
    let tags: std::collections::BTreeMap<String, String> =
        serde_json::from_value(m["tags"].clone()).unwrap();
    assert_eq!(local.tags, tags);
    let metrics: Vec<Value> = local
        .metrics
        .iter()
        .map(|x| serde_json::json!([x.key, x.value, x.step]))
        .collect();
    assert_eq!(Value::from(metrics), m["metrics"]);
    let run = mlflow["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_name"] == "with model")
        .unwrap();
    let outputs: Vec<Value> = c
        .get_run(run["run_id"].as_str().unwrap())
        .unwrap()
        .outputs
        .iter()
        .map(|o| serde_json::json!([o.model_id, o.step]))
        .collect();
    assert_eq!(Value::from(outputs), run["outputs"]);

    let r = &mlflow["registry"];
    let local = c.get_registered_model("reg").unwrap();
    assert_eq!(local.description.as_deref(), r["description"].as_str());
    let tags: std::collections::BTreeMap<String, String> =
        serde_json::from_value(r["tags"].clone()).unwrap();
    assert_eq!(local.tags, tags);
    let aliases: Vec<(String, String)> = local
        .aliases
        .iter()
        .map(|(a, v)| (a.clone(), v.to_string()))
        .collect();
    let theirs: Vec<(String, String)> = r["aliases"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(a, v)| (a.clone(), v.as_str().map_or(v.to_string(), str::to_owned)))
        .collect();
    assert_eq!(aliases, theirs);
    let page = c
        .search_model_versions(&runlog::tracking::SearchRegistry {
            filter: "name = 'reg'".into(),
            ..Default::default()
        })
        .unwrap();
    let mut versions: Vec<Value> = page
        .items
        .iter()
        .map(|v| serde_json::json!([v.version, v.source, v.run_id, v.current_stage, v.tags]))
        .collect();
    versions.sort_by_key(|v| v[0].as_i64());
    assert_eq!(
        Value::from(versions),
        r["versions"],
        "versions 1 and 2; 3 deleted"
    );
}

fn import(store: &Path, from: &str) -> (Value, std::process::Output) {
    let out = runlog_at(store, &["import", "--from", from, "--json"]);
    let summary = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (summary, out)
}

#[test]
fn a_file_store_imports_as_mlflow_reads_it() {
    let source = tempfile::tempdir().unwrap();
    let mlflow = mlflow_writes(source.path(), "./mlruns");
    let store = tempfile::tempdir().unwrap();
    let mlruns = source.path().join("mlruns");
    let (summary, out) = import(store.path(), mlruns.to_str().unwrap());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary["runs"], 6);
    assert_eq!(summary["points"], 3_006);
    assert_imported(store.path(), &mlflow);
    assert_models_imported(store.path(), &mlflow);
    assert_eq!(summary["model_versions"], 2, "the deleted one not counted");
    let (again, out) = import(store.path(), mlruns.to_str().unwrap());
    assert!(out.status.success());
    assert_eq!(
        (again["runs"].as_u64(), again["runs_present"].as_u64()),
        (Some(0), Some(6))
    );
    assert_eq!(again["logged_models_present"], 1);
    assert_imported(store.path(), &mlflow);

    // A torn metric line and a broken run meta.yaml: reported by path and
    // skipped, the rest imported.
    let parent = mlflow["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_name"] == "parent")
        .unwrap();
    let (exp, run) = (
        parent["experiment_id"].as_str().unwrap(),
        parent["run_id"].as_str().unwrap(),
    );
    let loss = mlruns.join(exp).join(run).join("metrics/loss");
    let mut text = std::fs::read_to_string(&loss).unwrap();
    text.push_str("17000000"); // a line cut by a killed writer
    std::fs::write(&loss, text).unwrap();
    let child = mlflow["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_name"] == "child")
        .unwrap();
    let child_meta = mlruns
        .join(exp)
        .join(child["run_id"].as_str().unwrap())
        .join("meta.yaml");
    std::fs::write(&child_meta, "run_id: 'torn\n").unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let (summary, out) = import(fresh.path(), mlruns.to_str().unwrap());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(loss.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains(child_meta.to_str().unwrap()), "{stderr}");
    assert_eq!(summary["runs"], 5);
    let c = runlog::Client::builder()
        .store(fresh.path())
        .read_only()
        .open()
        .unwrap();
    assert_eq!(
        c.get_metric_history(run, "loss").unwrap().len(),
        3_000,
        "the good lines kept"
    );
}

#[test]
fn an_sqlite_database_imports_as_mlflow_reads_it() {
    let source = tempfile::tempdir().unwrap();
    let mlflow = mlflow_writes(source.path(), "sqlite:///mlflow.db");
    let store = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", source.path().join("mlflow.db").display());
    let (summary, out) = import(store.path(), &uri);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary["runs"], 6);
    assert_imported(store.path(), &mlflow);
    assert_models_imported(store.path(), &mlflow);
    assert_eq!(summary["logged_models"], 1);
    assert_eq!(summary["registered_models"], 1);
    assert_eq!(summary["model_versions"], 2, "the deleted one not counted");
    let (again, _) = import(store.path(), &uri);
    assert_eq!(again["runs_present"], 6);
    assert_eq!(again["logged_models_present"], 1);
    assert_eq!(again["registered_models_present"], 1);
    assert_eq!(again["logged_models"], 0);
    assert_models_imported(store.path(), &mlflow);

    let bad = runlog_at(
        store.path(),
        &["import", "--from", "sqlite:////nonexistent.db"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nonexistent.db"));
    let not_db = source.path().join("not.db");
    std::fs::write(&not_db, "hello").unwrap();
    let bad = runlog_at(
        store.path(),
        &[
            "import",
            "--from",
            &format!("sqlite:///{}", not_db.display()),
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not.db"));
}

#[test]
fn a_tracking_server_imports_as_it_serves_its_runs() {
    // The source: a runlog store served by `runlog server` (the same REST
    // API as mlflow server's, which tests/sync.rs runs too).
    let source = tempfile::tempdir().unwrap();
    let c = runlog::Client::builder()
        .store(source.path())
        .open()
        .unwrap();
    let exp = c
        .create_experiment(runlog::NewExperiment::new("served").tag("k", "v"))
        .unwrap();
    let mut ids = Vec::new();
    for (i, status) in [
        runlog::RunStatus::Finished,
        runlog::RunStatus::Failed,
        runlog::RunStatus::Running,
    ]
    .into_iter()
    .enumerate()
    {
        let run = c
            .create_run(
                runlog::NewRun::new(&exp)
                    .run_name(format!("r{i}"))
                    .tag("t", "x"),
            )
            .unwrap()
            .info
            .run_id;
        c.log_param(&run, "i", i.to_string()).unwrap();
        for step in 0..30_000i64 {
            let value = if step == 3 {
                f64::NAN
            } else {
                (step * (i as i64 + 1)) as f64
            };
            c.log_metric_at(
                &run,
                "loss",
                runlog::Metric {
                    value,
                    timestamp: 1_000 + step,
                    step,
                },
            )
            .unwrap();
        }
        let d = runlog::tracking::Dataset::new("d", "abc", "local", "/x");
        c.log_inputs(&run, &[d.as_input(Some("eval"), &[])])
            .unwrap();
        if status != runlog::RunStatus::Running {
            c.set_terminated(&run, status).unwrap();
        }
        ids.push(run);
    }
    c.delete_run(&ids[1]).unwrap();
    // MLflow 3's models: a logged model of run r0 with a metric and its
    // output, registered twice (version 2 deleted, version 3 in Staging),
    // with an alias and tags.
    let model = c
        .create_logged_model(
            runlog::NewLoggedModel::new(&exp)
                .name("forest")
                .source_run_id(&ids[0])
                .param("n", "100"),
        )
        .unwrap();
    c.log_model_metrics(
        &ids[0],
        &[runlog::ModelPoint {
            key: "acc".into(),
            metric: runlog::Metric {
                value: 0.9,
                timestamp: 5,
                step: 1,
            },
            model_id: model.model_id.clone(),
            dataset_name: Some("eval".into()),
            dataset_digest: Some("abc".into()),
        }],
    )
    .unwrap();
    c.log_outputs(
        &ids[0],
        &[runlog::tracking::ModelOutput {
            model_id: model.model_id.clone(),
            step: 1,
        }],
    )
    .unwrap();
    c.finalize_logged_model(&model.model_id, runlog::ModelStatus::Ready)
        .unwrap();
    c.create_registered_model("reg", &[("team", "a")], Some("the one"))
        .unwrap();
    for _ in 0..3 {
        c.create_model_version(&runlog::tracking::NewModelVersion {
            name: "reg".into(),
            source: format!("models:/{}", model.model_id),
            tags: vec![("t".into(), "1".into())],
            ..Default::default()
        })
        .unwrap();
    }
    c.delete_model_version("reg", 2).unwrap();
    c.transition_model_version_stage("reg", 3, "Staging", false)
        .unwrap();
    c.set_registered_model_alias("reg", "champion", 1).unwrap();
    c.flush().unwrap();
    drop(c);
    let srv = ServerProcess::start(source.path(), &[]);
    let store = tempfile::tempdir().unwrap();
    let (summary, out) = import(store.path(), &srv.url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        (summary["runs"].as_u64(), summary["points"].as_u64()),
        (Some(3), Some(90_000))
    );

    let (a, b) = (
        runlog::Client::builder()
            .store(source.path())
            .read_only()
            .open()
            .unwrap(),
        runlog::Client::builder()
            .store(store.path())
            .read_only()
            .open()
            .unwrap(),
    );
    assert_eq!(
        b.get_experiment(&exp).unwrap().tags,
        a.get_experiment(&exp).unwrap().tags
    );
    for id in &ids {
        let (x, y) = (a.get_run(id).unwrap(), b.get_run(id).unwrap());
        assert_eq!(y.info.run_name, x.info.run_name);
        assert_eq!(y.info.status, x.info.status);
        assert_eq!(y.info.start_time, x.info.start_time);
        assert_eq!(y.info.end_time, x.info.end_time);
        assert_eq!(y.info.lifecycle_stage, x.info.lifecycle_stage);
        assert_eq!(y.data.params, x.data.params);
        assert_eq!(y.data.tags, x.data.tags);
        assert_eq!(y.inputs, x.inputs);
        let bits = |c: &runlog::Client| -> Vec<(i64, i64, u64)> {
            c.get_metric_history(id, "loss")
                .unwrap()
                .iter()
                .map(|m| (m.step, m.timestamp, m.value.to_bits()))
                .collect()
        };
        assert_eq!(bits(&b), bits(&a));
    }
    // The model and the registry, as the source has them.
    let (x, y) = (
        a.get_logged_model(&model.model_id).unwrap(),
        b.get_logged_model(&model.model_id).unwrap(),
    );
    assert_eq!(
        (
            &y.name,
            &y.status,
            &y.params,
            &y.tags,
            &y.source_run_id,
            &y.metrics
        ),
        (
            &x.name,
            &x.status,
            &x.params,
            &x.tags,
            &x.source_run_id,
            &x.metrics
        )
    );
    // Where the server serves it (as an imported experiment's location is).
    assert_eq!(
        y.artifact_location,
        format!(
            "mlflow-artifacts:/{exp}/models/{}/artifacts",
            model.model_id
        )
    );
    assert_eq!(
        b.get_run(&ids[0]).unwrap().outputs,
        a.get_run(&ids[0]).unwrap().outputs
    );
    let (x, y) = (
        a.get_registered_model("reg").unwrap(),
        b.get_registered_model("reg").unwrap(),
    );
    assert_eq!(
        (&y.description, &y.tags, &y.aliases),
        (&x.description, &x.tags, &x.aliases)
    );
    let versions = |c: &runlog::Client| -> Vec<(i64, String, String, Option<String>)> {
        c.search_model_versions(&runlog::tracking::SearchRegistry {
            filter: "name = 'reg'".into(),
            ..Default::default()
        })
        .unwrap()
        .items
        .into_iter()
        .map(|v| (v.version, v.current_stage, v.source, v.model_id))
        .collect()
    };
    assert_eq!(versions(&b), versions(&a));
    assert_eq!(versions(&b).len(), 2, "1 and 3");
    assert_eq!(summary["logged_models"], 1);
    assert_eq!(summary["model_versions"], 2);
    let (again, _) = import(store.path(), &srv.url);
    assert_eq!(again["runs_present"], 3);
    assert_eq!(again["logged_models_present"], 1);
    assert_eq!(again["registered_models_present"], 1);
}
