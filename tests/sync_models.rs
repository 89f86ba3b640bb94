//! `runlog sync` of MLflow 3's logged models (params, tags, status,
//! artifacts, metrics, run outputs and model inputs) and of the model
//! registry (registered models, versions, stages, tags, aliases), against
//! a live `runlog server` and a live `mlflow server` on loopback: what the
//! server holds equals the store, with the server's ids; a second sync
//! sends nothing; growth is sent; a lost state or a killed sync sends
//! nothing twice; MLflow's own client loads the synced model by its
//! registered name and alias.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use runlog::remote::{sync, Connection, MlflowServer, SyncOptions, SyncReport};
use runlog::tracking::NewModelVersion;
use runlog::{
    Client, Metric, ModelOutput, ModelPoint, ModelStatus, NewLoggedModel, NewRun, RunStatus,
};
use serde_json::{json, Value};

fn server(url: &str) -> MlflowServer {
    MlflowServer::new(Connection::from_env(url)).unwrap()
}

fn sync_all(store: &Path, url: &str) -> SyncReport {
    let client = Client::builder().store(store).read_only().open().unwrap();
    sync(&client, &server(url), &SyncOptions::default(), &mut |_| {}).unwrap()
}

/// The local store of the tests: experiment `models` with a training run
/// that produced logged model `forest` (params, tags, artifacts with an
/// `MLmodel` that names it, 3 points of `acc` about it, finalized READY),
/// an evaluation run that used it and logged a point about it on a
/// dataset, and registered model `reg` with versions 1 and 3 of it (2
/// deleted), tags, a stage and alias `champion` on 3.
struct Sample {
    train: String,
    eval: String,
    model: String,
}

fn sample(store: &Path) -> Sample {
    let c = Client::builder().store(store).open().unwrap();
    let exp = c.create_experiment("models").unwrap();
    let train = c
        .create_run(NewRun::new(&exp).run_name("train"))
        .unwrap()
        .info
        .run_id;
    c.log_param(&train, "lr", "0.1").unwrap();
    let model = c
        .create_logged_model(
            NewLoggedModel::new(&exp)
                .name("forest")
                .source_run_id(&train)
                .model_type("sklearn")
                .param("n_estimators", "100")
                .tag("team", "a"),
        )
        .unwrap()
        .model_id;
    let root = c.logged_model_artifact_root(&model).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    std::fs::write(
        root.join("MLmodel"),
        format!(
            "artifact_path: model\nmodel_id: {model}\nrun_id: {train}\nflavors:\n  sklearn: {{}}\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("data/model.pkl"), vec![7u8; 4096]).unwrap();
    for step in 0..3i64 {
        let metric = Metric {
            value: 0.8 + step as f64 / 100.0,
            timestamp: 1_700_000_000_000 + step,
            step,
        };
        c.log_metric_at(&train, "acc", metric).unwrap();
        c.log_model_metrics(
            &train,
            &[ModelPoint {
                key: "acc".into(),
                metric,
                model_id: model.clone(),
                dataset_name: None,
                dataset_digest: None,
            }],
        )
        .unwrap();
    }
    c.log_outputs(
        &train,
        &[ModelOutput {
            model_id: model.clone(),
            step: 2,
        }],
    )
    .unwrap();
    c.finalize_logged_model(&model, ModelStatus::Ready).unwrap();
    c.set_terminated(&train, RunStatus::Finished).unwrap();

    let eval = c
        .create_run(NewRun::new(&exp).run_name("eval"))
        .unwrap()
        .info
        .run_id;
    c.log_model_inputs(&eval, &[&model]).unwrap();
    let metric = Metric {
        value: 0.75,
        timestamp: 1_700_000_001_000,
        step: 0,
    };
    c.log_metric_at(&eval, "test_acc", metric).unwrap();
    c.log_model_metrics(
        &eval,
        &[ModelPoint {
            key: "test_acc".into(),
            metric,
            model_id: model.clone(),
            dataset_name: Some("holdout".into()),
            dataset_digest: Some("d1".into()),
        }],
    )
    .unwrap();
    c.set_terminated(&eval, RunStatus::Finished).unwrap();

    c.create_registered_model("reg", &[("owner", "ml")], Some("the forest"))
        .unwrap();
    for _ in 0..3 {
        c.create_model_version(&NewModelVersion {
            name: "reg".into(),
            source: format!("models:/{model}"),
            run_id: Some(train.clone()),
            model_id: Some(model.clone()),
            tags: vec![("checked".into(), "yes".into())],
            ..NewModelVersion::default()
        })
        .unwrap();
    }
    c.delete_model_version("reg", 2).unwrap();
    c.transition_model_version_stage("reg", 1, "Staging", false)
        .unwrap();
    c.set_registered_model_alias("reg", "champion", 3).unwrap();
    c.flush().unwrap();
    Sample { train, eval, model }
}

fn experiment_ids(url: &str) -> Vec<String> {
    let all = server(url)
        .post("experiments/search", &json!({"max_results": 1000}))
        .unwrap();
    all["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["experiment_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The remote object found by its runlog source tag (exactly one).
fn remote_run(url: &str, local: &str) -> Value {
    let found = server(url)
        .post(
            "runs/search",
            &json!({"experiment_ids": experiment_ids(url),
                    "filter": format!("tags.`runlog.source_run_id` = '{local}'")}),
        )
        .unwrap();
    let runs = found["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 1, "one remote run for {local}: {found}");
    // Read whole: MLflow's search leaves out model inputs and outputs.
    let id = runs[0]["info"]["run_id"].as_str().unwrap();
    server(url).get("runs/get", &[("run_id", id)]).unwrap()["run"].clone()
}

fn remote_models(url: &str, local: &str) -> Vec<Value> {
    let found = server(url)
        .post(
            "logged-models/search",
            &json!({"experiment_ids": experiment_ids(url),
                    "filter": format!("tags.`runlog.source_model_id` = '{local}'")}),
        )
        .unwrap();
    found["models"].as_array().cloned().unwrap_or_default()
}

fn remote_model(url: &str, local: &str) -> Value {
    let models = remote_models(url, local);
    assert_eq!(models.len(), 1, "one remote model for {local}: {models:?}");
    models[0].clone()
}

fn pairs(v: &Value) -> BTreeMap<String, String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_owned(),
                p["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not an int64: {v}"))
}

/// A run's points of `key` on the server, sorted, as (step, ts, value).
fn remote_points(url: &str, run: &str, key: &str) -> Vec<(i64, i64, f64)> {
    let mut points: Vec<(i64, i64, f64)> = server(url)
        .metric_history(run, key)
        .unwrap()
        .iter()
        .map(|p| {
            (
                int(&p["step"]),
                int(&p["timestamp"]),
                p["value"].as_f64().unwrap(),
            )
        })
        .collect();
    points.sort_by(|a, b| a.partial_cmp(b).unwrap());
    points
}

/// The model's metrics on the server, sorted, as (key, step, value, run,
/// dataset name).
fn model_metrics(model: &Value) -> Vec<(String, i64, f64, String, Option<String>)> {
    let mut got: Vec<_> = model["data"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["key"].as_str().unwrap().to_owned(),
                int(&m["step"]),
                m["value"].as_f64().unwrap(),
                m["run_id"].as_str().unwrap().to_owned(),
                m["dataset_name"].as_str().map(str::to_owned),
            )
        })
        .collect();
    got.sort_by(|a, b| a.partial_cmp(b).unwrap());
    got
}

/// The remote versions of `name`, by number.
fn remote_versions(url: &str, name: &str) -> BTreeMap<i64, Value> {
    let found = server(url)
        .get(
            "model-versions/search",
            &[("filter", &format!("name = '{name}'"))],
        )
        .unwrap();
    found["model_versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (int(&v["version"]), v.clone()))
        .collect()
}

/// Asserts that the server holds the sample with its own ids.
/// Reads an artifact of the server by its URI.
type ReadArtifact<'a> = &'a dyn Fn(&str) -> Vec<u8>;

fn assert_synced(url: &str, s: &Sample, artifacts: Option<ReadArtifact<'_>>) {
    let train = remote_run(url, &s.train);
    let train_id = train["info"]["run_id"].as_str().unwrap().to_owned();
    let eval = remote_run(url, &s.eval);
    let eval_id = eval["info"]["run_id"].as_str().unwrap().to_owned();
    let model = remote_model(url, &s.model);
    let info = &model["info"];
    let model_id = info["model_id"].as_str().unwrap().to_owned();
    assert_ne!(model_id, s.model, "the server's own id");
    assert_eq!(info["name"], "forest");
    assert_eq!(info["model_type"], "sklearn");
    assert_eq!(info["status"], "LOGGED_MODEL_READY");
    assert_eq!(info["source_run_id"].as_str(), Some(train_id.as_str()));
    assert_eq!(pairs(&info["tags"])["team"], "a");
    assert_eq!(
        pairs(&model["data"]["params"]),
        BTreeMap::from([("n_estimators".to_owned(), "100".to_owned())])
    );
    assert_eq!(
        model_metrics(&model),
        vec![
            ("acc".into(), 0, 0.8, train_id.clone(), None),
            ("acc".into(), 1, 0.8 + 1.0 / 100.0, train_id.clone(), None),
            ("acc".into(), 2, 0.8 + 2.0 / 100.0, train_id.clone(), None),
            (
                "test_acc".into(),
                0,
                0.75,
                eval_id.clone(),
                Some("holdout".into())
            ),
        ]
    );
    // Each point once in its run, though it was sent with the run and
    // again with the model.
    assert_eq!(remote_points(url, &train_id, "acc").len(), 3);
    assert_eq!(remote_points(url, &eval_id, "test_acc").len(), 1);
    let outputs = &train["outputs"]["model_outputs"];
    assert_eq!(outputs.as_array().map(Vec::len), Some(1), "{train}");
    assert_eq!(outputs[0]["model_id"].as_str(), Some(model_id.as_str()));
    assert_eq!(int(&outputs[0]["step"]), 2);
    let inputs = &eval["inputs"]["model_inputs"];
    assert_eq!(inputs.as_array().map(Vec::len), Some(1), "{eval}");
    assert_eq!(inputs[0]["model_id"].as_str(), Some(model_id.as_str()));
    if let Some(read) = artifacts {
        let uri = info["artifact_uri"].as_str().unwrap();
        let mlmodel = String::from_utf8(read(&format!("{uri}/MLmodel"))).unwrap();
        assert!(
            mlmodel.contains(&format!("model_id: {model_id}\n")),
            "{mlmodel}"
        );
        assert!(
            mlmodel.contains(&format!("run_id: {train_id}\n")),
            "{mlmodel}"
        );
        assert_eq!(read(&format!("{uri}/data/model.pkl")), vec![7u8; 4096]);
    }

    let reg = server(url)
        .get("registered-models/get", &[("name", "reg")])
        .unwrap();
    let reg = &reg["registered_model"];
    assert_eq!(reg["description"], "the forest");
    assert_eq!(pairs(&reg["tags"])["owner"], "ml");
    let versions = remote_versions(url, "reg");
    assert_eq!(
        versions.keys().copied().collect::<Vec<_>>(),
        [1, 2],
        "v2 deleted: v3 is 2"
    );
    let aliases = reg["aliases"].as_array().unwrap();
    assert_eq!(aliases.len(), 1, "{reg}");
    assert_eq!(aliases[0]["alias"], "champion");
    assert_eq!(int(&aliases[0]["version"]), 2);
    for (n, v) in &versions {
        // MLflow's SQL registry keeps no model id on a version (its
        // source names the model); runlog's does.
        if let Some(id) = v.get("model_id") {
            assert_eq!(id.as_str(), Some(model_id.as_str()), "{v}");
        }
        assert_eq!(v["run_id"].as_str(), Some(train_id.as_str()), "{v}");
        assert_eq!(v["source"], format!("models:/{model_id}"));
        assert_eq!(pairs(&v["tags"])["checked"], "yes");
        let stage = if *n == 1 { "Staging" } else { "None" };
        assert_eq!(v["current_stage"], stage, "{v}");
    }
}

fn proxied(url: &str) -> impl Fn(&str) -> Vec<u8> + '_ {
    move |uri: &str| {
        let path = uri
            .trim_start_matches("mlflow-artifacts:")
            .trim_matches('/');
        let mut got = http_agent()
            .get(format!("{url}/api/2.0/mlflow-artifacts/artifacts/{path}"))
            .call()
            .unwrap();
        got.body_mut().read_to_vec().unwrap()
    }
}

#[test]
fn models_and_the_registry_reach_runlog_server_once_and_grow() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let s = sample(local.path());
    let srv = ServerProcess::start(remote.path(), &[]);
    let first = sync_all(local.path(), &srv.url);
    assert_eq!(first.failures, Vec::<String>::new());
    assert_eq!(
        (
            first.logged_models,
            first.model_metrics,
            first.model_links,
            first.registered_models,
            first.model_versions
        ),
        (1, 4, 2, 1, 2)
    );
    assert_synced(&srv.url, &s, Some(&proxied(&srv.url)));

    // A second sync sends nothing.
    assert_eq!(
        sync_all(local.path(), &srv.url),
        SyncReport {
            runs_unchanged: 2,
            ..SyncReport::default()
        }
    );

    // Growth: a tag changed and one deleted, a point about the model, a
    // new version, the alias moved to it, a stage.
    let c = Client::builder().store(local.path()).open().unwrap();
    c.set_logged_model_tags(&s.model, &[("team", "b"), ("extra", "1")])
        .unwrap();
    c.delete_logged_model_tag(&s.model, "extra").unwrap();
    let metric = Metric {
        value: 0.9,
        timestamp: 1_700_000_002_000,
        step: 5,
    };
    c.log_model_metrics(
        &s.eval,
        &[ModelPoint {
            key: "test_acc".into(),
            metric,
            model_id: s.model.clone(),
            dataset_name: None,
            dataset_digest: None,
        }],
    )
    .unwrap();
    let v4 = c
        .create_model_version(&NewModelVersion {
            name: "reg".into(),
            source: format!("models:/{}", s.model),
            run_id: Some(s.train.clone()),
            model_id: Some(s.model.clone()),
            ..NewModelVersion::default()
        })
        .unwrap();
    c.set_registered_model_alias("reg", "champion", v4.version)
        .unwrap();
    c.transition_model_version_stage("reg", 3, "Production", false)
        .unwrap();
    c.flush().unwrap();
    drop(c);
    let grown = sync_all(local.path(), &srv.url);
    assert_eq!(grown.failures, Vec::<String>::new());
    assert_eq!((grown.model_metrics, grown.model_versions), (1, 1));
    let model = remote_model(&srv.url, &s.model);
    let tags = pairs(&model["info"]["tags"]);
    assert_eq!((tags["team"].as_str(), tags.get("extra")), ("b", None));
    assert_eq!(model_metrics(&model).len(), 5);
    let eval_id = remote_run(&srv.url, &s.eval)["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A point about the model that its run never logged: the server adds
    // it to the run once, as MLflow does.
    assert_eq!(remote_points(&srv.url, &eval_id, "test_acc").len(), 2);
    let versions = remote_versions(&srv.url, "reg");
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[&2]["current_stage"], "Production");
    let reg = server(&srv.url)
        .get("registered-models/get", &[("name", "reg")])
        .unwrap();
    assert_eq!(int(&reg["registered_model"]["aliases"][0]["version"]), 3);

    // The local state lost: everything is found again by its source tags,
    // nothing is created or stored twice.
    std::fs::remove_dir_all(local.path().join("sync")).unwrap();
    let again = sync_all(local.path(), &srv.url);
    assert_eq!(again.failures, Vec::<String>::new());
    assert_eq!(
        (
            again.runs_created,
            again.logged_models,
            again.registered_models,
            again.model_versions
        ),
        (0, 0, 0, 0)
    );
    let model = remote_model(&srv.url, &s.model);
    assert_eq!(model_metrics(&model).len(), 5, "model points not doubled");
    assert_eq!(remote_points(&srv.url, &eval_id, "test_acc").len(), 2);
    let train_id = remote_run(&srv.url, &s.train)["info"]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(remote_points(&srv.url, &train_id, "acc").len(), 3);
    // The server's store itself holds each point once (its REST history
    // would show a point stored twice once).
    let stored = Client::builder()
        .store(remote.path())
        .read_only()
        .open()
        .unwrap();
    assert_eq!(
        stored.get_metric_history(&train_id, "acc").unwrap().len(),
        3
    );
    assert_eq!(
        stored
            .get_metric_history(&eval_id, "test_acc")
            .unwrap()
            .len(),
        2
    );
    assert_eq!(remote_versions(&srv.url, "reg").len(), 3);
    let train = remote_run(&srv.url, &s.train);
    assert_eq!(
        train["outputs"]["model_outputs"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn a_dry_run_counts_models_and_versions_and_sends_nothing() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    sample(local.path());
    let srv = ServerProcess::start(remote.path(), &[]);
    let out = ok(&runlog_at(
        local.path(),
        &["sync", "--to", &srv.url, "--dry-run", "--json"],
    ));
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["logged_models"], 1);
    assert_eq!(summary["model_metrics"], 4);
    assert_eq!(summary["registered_models"], 1);
    assert_eq!(summary["model_versions"], 2);
    assert_eq!(experiment_ids(&srv.url), ["0"], "nothing created");
    let reg = server(&srv.url).get("registered-models/get", &[("name", "reg")]);
    // The server's refusal, typed: its status and MLflow code kept.
    assert!(
        matches!(&reg, Err(runlog::Error::Refused(r))
            if r.status == 404 && r.error_code == "RESOURCE_DOES_NOT_EXIST"),
        "{reg:?}"
    );
    assert!(reg.unwrap_err().is_not_found());
    // What it counted is what a real sync sends.
    let real = ok(&runlog_at(
        local.path(),
        &["sync", "--to", &srv.url, "--json"],
    ));
    assert_eq!(serde_json::from_str::<Value>(&real).unwrap(), summary);
    // The same with one experiment chosen, to another server: its models
    // and their versions are counted though none is on the server yet.
    let other_dir = tempfile::tempdir().unwrap();
    let other = ServerProcess::start(other_dir.path(), &[]);
    let chosen = [
        "sync",
        "--to",
        &other.url,
        "--experiment",
        "models",
        "--json",
    ];
    let dry = ok(&runlog_at(
        local.path(),
        &[&chosen[..], &["--dry-run"]].concat(),
    ));
    let dry: Value = serde_json::from_str(&dry).unwrap();
    assert_eq!(dry["model_versions"], 2, "{dry}");
    let real: Value = serde_json::from_str(&ok(&runlog_at(local.path(), &chosen))).unwrap();
    assert_eq!(real, dry);
}

/// A store of `models` logged models of one run, each with 4 files of
/// `file_bytes` each, 50 points about it, finalized READY and registered
/// as a version of `many`; their local ids.
fn many_models(store: &Path, models: usize, file_bytes: usize) -> Vec<String> {
    let c = Client::builder().store(store).open().unwrap();
    let exp = c.create_experiment("many").unwrap();
    c.create_registered_model("many", &[], None).unwrap();
    let run = c.create_run(NewRun::new(&exp)).unwrap().info.run_id;
    let mut ids = Vec::new();
    for i in 0..models {
        let id = c
            .create_logged_model(NewLoggedModel::new(&exp).source_run_id(&run))
            .unwrap()
            .model_id;
        let root = c.logged_model_artifact_root(&id).unwrap();
        std::fs::create_dir_all(&root).unwrap();
        for f in 0..4 {
            std::fs::write(root.join(format!("part{f}.bin")), vec![i as u8; file_bytes]).unwrap();
        }
        let points: Vec<ModelPoint> = (0..50i64)
            .map(|step| ModelPoint {
                key: "score".into(),
                metric: Metric {
                    value: step as f64 + i as f64,
                    timestamp: 1_700_000_000_000,
                    step,
                },
                model_id: id.clone(),
                dataset_name: None,
                dataset_digest: None,
            })
            .collect();
        c.log_model_metrics(&run, &points).unwrap();
        c.finalize_logged_model(&id, ModelStatus::Ready).unwrap();
        c.create_model_version(&NewModelVersion {
            name: "many".into(),
            source: format!("models:/{id}"),
            run_id: Some(run.clone()),
            model_id: Some(id.clone()),
            ..NewModelVersion::default()
        })
        .unwrap();
        ids.push(id);
    }
    c.flush().unwrap();
    ids
}

/// Asserts that the server has each model once, whole, and each version
/// of `many` once.
fn assert_many_synced(url: &str, ids: &[String]) {
    for id in ids {
        let model = remote_model(url, id);
        assert_eq!(model["info"]["status"], "LOGGED_MODEL_READY");
        assert_eq!(model_metrics(&model).len(), 50, "{id}");
    }
    let versions = remote_versions(url, "many");
    assert_eq!(versions.len(), ids.len(), "each version once");
    let mut sources: Vec<String> = versions
        .values()
        .map(|v| pairs(&v["tags"])["runlog.source_version"].clone())
        .collect();
    sources.sort();
    sources.dedup();
    assert_eq!(sources.len(), ids.len());
}

#[test]
fn a_sync_of_many_models_killed_mid_way_resumes_without_duplicates() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let ids = many_models(local.path(), 200, 16 << 10);
    let srv = ServerProcess::start(remote.path(), &[]);
    let killed = kill_syncs(local.path(), &srv.url, &[300, 600, 900, 1_200]);
    eprintln!("{killed} syncs killed mid-way");
    let out = runlog_at(local.path(), &["sync", "--to", &srv.url, "--json"]);
    let summary: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(summary["failures"], json!([]));
    assert!(killed >= 2, "syncs were killed while sending: {killed}");
    assert_many_synced(&srv.url, &ids);
}

#[test]
fn a_server_killed_and_restarted_mid_sync_gets_each_model_once() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let ids = many_models(local.path(), 200, 16 << 10);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let args = ["server", "--port", port.as_str()];
    let mut srv = ServerProcess::start_command(remote.path(), &args);
    let url = srv.url.clone();
    let syncing = {
        let (store, url) = (local.path().to_owned(), url.clone());
        std::thread::spawn(move || sync_all(&store, &url))
    };
    // Killed once some models are there (the sync is sending them), back
    // a moment later on its port.
    let started = std::time::Instant::now();
    loop {
        let made = server(&url)
            .post("experiments/search", &json!({"filter": "name = 'many'"}))
            .ok()
            .and_then(|e| {
                e["experiments"][0]["experiment_id"]
                    .as_str()
                    .map(str::to_owned)
            })
            .and_then(|id| {
                server(&url)
                    .post("logged-models/search", &json!({"experiment_ids": [id]}))
                    .ok()
            })
            .and_then(|m| m["models"].as_array().map(Vec::len))
            .unwrap_or(0);
        if made >= 10 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "no model reached the server"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(
        !syncing.is_finished(),
        "the sync was sending when the server was killed"
    );
    srv.child.kill().unwrap(); // SIGKILL
    srv.child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _back = ServerProcess::start_command(remote.path(), &args);
    let summary = syncing.join().unwrap();
    assert_eq!(summary.failures, Vec::<String>::new());
    assert_many_synced(&url, &ids);
}

/// The end-to-end path of a user: MLflow writes a real scikit-learn model
/// and its registry into SQLite; `runlog import` brings it into a store;
/// `runlog sync` pushes the store to `mlflow server`; MLflow's client then
/// loads and runs the model by its registered name and by its alias, and
/// reads its metric.
#[test]
fn mlflow_server_serves_a_synced_model_to_mlflows_client() {
    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mlflow/make_import_sources.py");
    let db = work.path().join("mlflow.db");
    let made = std::process::Command::new(mlflow_server_python())
        .arg(&script)
        .arg(format!("sqlite:///{}", db.display()))
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let store = work.path().join("store");
    let db_uri = format!("sqlite:///{}", db.display());
    ok(&runlog_at(&store, &["import", "--from", &db_uri]));
    let remote = tempfile::tempdir().unwrap();
    let srv = MlflowServerProcess::start(remote.path());
    let out = runlog_at(&store, &["sync", "--to", &srv.url, "--json"]);
    let summary: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(summary["failures"], json!([]));
    assert_eq!(summary["logged_models"], 1);
    assert_eq!(summary["registered_models"], 1);
    assert_eq!(summary["model_versions"], 2, "v3 was deleted");
    let again = runlog_at(&store, &["sync", "--to", &srv.url, "--json"]);
    let again: Value = serde_json::from_str(&ok(&again)).unwrap();
    assert_eq!(
        (
            &again["logged_models"],
            &again["model_versions"],
            &again["model_metrics"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
    let check = r#"
import sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
client = mlflow.MlflowClient()
for uri in ["models:/reg/1", "models:/reg@champion", "models:/reg/2"]:
    model = mlflow.pyfunc.load_model(uri)
    assert list(model.predict([[0.0, 1.0], [18.0, 19.0]])) == [0, 1]
v1 = client.get_model_version("reg", "1")
assert v1.source.startswith("models:/m-"), v1.source
m = client.get_logged_model(v1.source.split("/")[1])
assert m.status.to_int() == 2 or str(m.status).endswith("READY"), m.status
assert [(x.key, x.value) for x in m.metrics] == [("score", 0.9)], m.metrics
assert client.get_model_version("reg", "2").current_stage == "Staging"
assert client.get_registered_model("reg").description == "the one"
run = client.get_run(m.source_run_id)
assert [o.model_id for o in run.outputs.model_outputs] == [m.model_id]
assert [h.value for h in client.get_metric_history(run.info.run_id, "score")] == [0.9]
print("ok")
"#;
    let loaded = std::process::Command::new(mlflow_server_python())
        .args(["-c", check, &srv.url])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(
        loaded.status.success() && String::from_utf8_lossy(&loaded.stdout).contains("ok"),
        "{}\n{}",
        String::from_utf8_lossy(&loaded.stdout),
        String::from_utf8_lossy(&loaded.stderr)
    );
}

#[test]
fn mlflow_server_gets_models_and_the_registry_once() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let s = sample(local.path());
    let srv = MlflowServerProcess::start(remote.path());
    let first = sync_all(local.path(), &srv.url);
    assert_eq!(first.failures, Vec::<String>::new());
    assert_synced(&srv.url, &s, Some(&proxied(&srv.url)));
    std::fs::remove_dir_all(local.path().join("sync")).unwrap();
    let again = sync_all(local.path(), &srv.url);
    assert_eq!(again.failures, Vec::<String>::new());
    assert_eq!((again.logged_models, again.model_versions), (0, 0));
    assert_synced(&srv.url, &s, None);
}

/// Versions registered from a run (a `runs:/` URI, a path inside the run's
/// artifacts) name the server's copy of the run after a sync; a source
/// outside the store (an object store URI) is left as it is.
#[test]
fn version_sources_name_the_servers_run() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let c = Client::builder().store(local.path()).open().unwrap();
    let exp = c.create_experiment("sources").unwrap();
    let run = c.create_run(NewRun::new(&exp)).unwrap().info.run_id;
    c.log_text(&run, "weights", "model/weights.txt").unwrap();
    c.create_registered_model("src", &[], None).unwrap();
    let in_run = c.artifact_root(&run).unwrap().join("model");
    for source in [
        format!("runs:/{run}/model"),
        in_run.display().to_string(),
        "s3://bucket/model".to_owned(),
    ] {
        c.create_model_version(&NewModelVersion {
            name: "src".into(),
            source,
            run_id: Some(run.clone()),
            ..NewModelVersion::default()
        })
        .unwrap();
    }
    c.flush().unwrap();
    drop(c);
    let srv = ServerProcess::start(remote.path(), &[]);
    let summary = sync_all(local.path(), &srv.url);
    assert_eq!(summary.failures, Vec::<String>::new());
    let remote_run = remote_run(&srv.url, &run);
    let remote_id = remote_run["info"]["run_id"].as_str().unwrap();
    let artifact_uri = remote_run["info"]["artifact_uri"].as_str().unwrap();
    let versions = remote_versions(&srv.url, "src");
    let sources: Vec<&str> = versions
        .values()
        .map(|v| v["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        [
            format!("runs:/{remote_id}/model"),
            format!("{}/model", artifact_uri.trim_end_matches('/')),
            "s3://bucket/model".to_owned(),
        ]
    );
    for v in versions.values() {
        assert_eq!(v["run_id"].as_str(), Some(remote_id));
    }
}

/// A team server with sign-in: a user who is not an admin (READ on what
/// others made, MLflow's default) syncs a store, experiment, logged model
/// and registered model included; they become theirs, so every later
/// update of them is allowed. Without credentials nothing is sent.
#[test]
fn a_signed_in_user_syncs_models_and_the_registry() {
    let local = tempfile::tempdir().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let s = sample(local.path());
    let srv = ServerProcess::start_signed_in(remote.path());
    let admin = Connection {
        basic: Some(("admin".into(), TEST_ADMIN_PASSWORD.into())),
        ..Connection::from_env(&srv.url)
    };
    MlflowServer::new(admin)
        .unwrap()
        .post(
            "users/create",
            &json!({"username": "alice", "password": "alice-password-1"}),
        )
        .unwrap();
    let sync_as = |user: Option<(&str, &str)>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_runlog"));
        c.arg("--tracking-uri")
            .arg(local.path())
            .args(["sync", "--to", &srv.url, "--json"])
            .env_remove("MLFLOW_TRACKING_TOKEN")
            .env_remove("MLFLOW_TRACKING_USERNAME")
            .env_remove("MLFLOW_TRACKING_PASSWORD");
        if let Some((name, password)) = user {
            c.env("MLFLOW_TRACKING_USERNAME", name)
                .env("MLFLOW_TRACKING_PASSWORD", password);
        }
        c.output().unwrap()
    };
    assert!(
        !sync_as(None).status.success(),
        "no credentials, nothing sent"
    );
    let alice = Some(("alice", "alice-password-1"));
    let first: Value = serde_json::from_str(&ok(&sync_as(alice))).unwrap();
    assert_eq!(first["failures"], json!([]));
    assert_eq!(
        (&first["logged_models"], &first["model_versions"]),
        (&json!(1), &json!(2))
    );
    // Updates of what alice made: a model tag, a version's stage.
    let c = Client::builder().store(local.path()).open().unwrap();
    c.set_logged_model_tags(&s.model, &[("team", "b")]).unwrap();
    c.transition_model_version_stage("reg", 3, "Production", false)
        .unwrap();
    c.flush().unwrap();
    drop(c);
    let again: Value = serde_json::from_str(&ok(&sync_as(alice))).unwrap();
    assert_eq!(again["failures"], json!([]));
    let read = MlflowServer::new(Connection {
        basic: Some(("alice".into(), "alice-password-1".into())),
        ..Connection::from_env(&srv.url)
    })
    .unwrap();
    let versions = read
        .get("model-versions/search", &[("filter", "name = 'reg'")])
        .unwrap();
    let stages: Vec<&str> = versions["model_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["current_stage"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"Production"), "{versions}");
}
