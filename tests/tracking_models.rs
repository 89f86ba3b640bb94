#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! MLflow 3's logged models through the client: what MLflow's SQL store
//! does with them (creation, status, tags, params, metrics about a model,
//! links to runs, search), kept across reopening and compaction, recovered
//! after a torn write, and the store marked version 5 only once it holds
//! one.

use runlog::compact::compact;
use runlog::layout::MARKER_FILE;
use runlog::{
    Batch, Client, Error, Metric, ModelOutput, ModelPoint, ModelStatus, NewLoggedModel, NewRun,
    SearchModels,
};

fn marker_version(dir: &std::path::Path) -> u8 {
    std::fs::read(dir.join(MARKER_FILE)).unwrap()[8]
}

fn search(c: &Client, filter: &str) -> Vec<String> {
    c.search_logged_models(&SearchModels {
        experiment_ids: vec!["0".into()],
        filter: filter.into(),
        ..Default::default()
    })
    .unwrap()
    .iter()
    .map(|m| m.name.clone())
    .collect()
}

#[test]
fn logged_models_as_mlflows_store_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let c = Client::builder().store(&store).open().unwrap();
    let run = c.create_run(NewRun::new("0")).unwrap().info.run_id;
    assert_eq!(
        u32::from(marker_version(&store)),
        runlog::format::STORE_VERSION_POINTS,
        "a writer of version 6 marks the store as it opens it (models need 5)"
    );

    let forest = c
        .create_logged_model(
            NewLoggedModel::new("0")
                .name("forest")
                .source_run_id(&run)
                .param("n", "100")
                .tag("team", "risk"),
        )
        .unwrap();
    assert_eq!(
        u32::from(marker_version(&store)),
        runlog::format::STORE_VERSION_POINTS
    );
    assert!(forest.model_id.starts_with("m-") && forest.model_id.len() == 34);
    assert_eq!(forest.status, ModelStatus::Pending);
    let location = format!(
        "file://{}/artifacts/0/models/{}/artifacts",
        store.display(),
        forest.model_id
    );
    assert_eq!(forest.artifact_location, location);
    let unnamed = c.create_logged_model(NewLoggedModel::new("0")).unwrap();
    assert!(!unnamed.name.is_empty(), "a generated name");

    let ready = c
        .finalize_logged_model(&forest.model_id, ModelStatus::Ready)
        .unwrap();
    assert_eq!(ready.status, ModelStatus::Ready);
    assert!(ready.last_updated_timestamp >= ready.creation_timestamp);
    c.set_logged_model_tags(&forest.model_id, &[("stage", "a"), ("stage", "b")])
        .unwrap();
    c.log_logged_model_params(&forest.model_id, &[("depth", "6")])
        .unwrap();
    c.log_outputs(
        &run,
        &[ModelOutput {
            model_id: forest.model_id.clone(),
            step: 4,
        }],
    )
    .unwrap();
    c.log_model_inputs(&run, &[&unnamed.model_id]).unwrap();
    let point = |key: &str, value: f64, timestamp: i64, model: &str| ModelPoint {
        key: key.into(),
        metric: Metric {
            value,
            timestamp,
            step: 0,
        },
        model_id: model.into(),
        dataset_name: Some("eval".into()),
        dataset_digest: Some("d1".into()),
    };
    c.log_batch(&run, &Batch::new().metric_at("acc", 0.9, 0, 10))
        .unwrap();
    c.log_model_metrics(
        &run,
        &[
            point("acc", 0.7, 5, &forest.model_id),
            point("acc", 0.9, 10, &forest.model_id),
            point("acc", 0.9, 10, &forest.model_id), // the same point again: kept once
            point("acc", 0.5, 10, &unnamed.model_id),
            point("acc", 1.0, 10, "m-unknown"), // no such model: left out
        ],
    )
    .unwrap();

    let check = |c: &Client| {
        let m = c.get_logged_model(&forest.model_id).unwrap();
        assert_eq!(m.status, ModelStatus::Ready);
        assert_eq!(m.tags["stage"], "b", "last write wins");
        assert_eq!(m.params["n"], "100");
        assert_eq!(m.params["depth"], "6");
        assert_eq!(m.metrics.len(), 2);
        let r = c.get_run(&run).unwrap();
        assert_eq!(r.outputs[0].model_id, forest.model_id);
        assert_eq!(r.outputs[0].step, 4);
        assert_eq!(r.model_inputs, std::slice::from_ref(&unnamed.model_id));
        assert_eq!(r.data.metrics["acc"].value, 0.9, "the run's own point");
        // The latest point (by time) is the model's value.
        assert_eq!(search(c, "metrics.acc >= 0.9"), ["forest"]);
        assert_eq!(search(c, "metrics.acc < 0.6").len(), 1);
        assert_eq!(
            search(c, "name LIKE 'fo%' AND status = 'READY'"),
            ["forest"]
        );
        assert_eq!(
            search(c, "params.n = '100' AND tags.stage = 'b'"),
            ["forest"]
        );
        let by_metric = c
            .search_logged_models(&SearchModels {
                experiment_ids: vec!["0".into()],
                order_by: vec![runlog::tracking::ModelOrder {
                    field: "metrics.acc".into(),
                    ascending: true,
                    dataset: None,
                }],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(by_metric[0].model_id, unnamed.model_id);
    };
    check(&c);
    c.flush().unwrap();
    drop(c);
    let c = Client::builder().store(&store).open().unwrap();
    check(&c);
    drop(c);
    compact(&store).unwrap();
    assert_eq!(
        u32::from(marker_version(&store)),
        runlog::format::STORE_VERSION_POINTS,
        "compaction keeps version 6"
    );
    let c = Client::builder().store(&store).open().unwrap();
    check(&c);

    // Paging and deletion.
    let first = c
        .search_logged_models(&SearchModels {
            experiment_ids: vec!["0".into()],
            max_results: Some(1),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(first.len(), 1);
    let token = first.next_page_token.clone().unwrap();
    let second = c
        .search_logged_models(&SearchModels {
            experiment_ids: vec!["0".into()],
            max_results: Some(1),
            page_token: Some(token),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(second.len(), 1);
    assert!(second.next_page_token.is_none());
    assert_ne!(first[0].model_id, second[0].model_id);
    c.delete_logged_model(&unnamed.model_id).unwrap();
    assert_eq!(search(&c, ""), ["forest"]);
    assert!(matches!(
        c.get_logged_model(&unnamed.model_id),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn bad_model_requests_get_mlflows_errors() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    let e = c.get_logged_model("m-nothing").unwrap_err();
    assert!(
        e.to_string()
            .contains("Logged model with ID 'm-nothing' not found."),
        "{e}"
    );
    assert!(matches!(
        c.create_logged_model(NewLoggedModel::new("0").name("a/b")),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        c.create_logged_model(NewLoggedModel::new("404")),
        Err(Error::NotFound(_))
    ));
    let m = c.create_logged_model(NewLoggedModel::new("0")).unwrap();
    assert!(matches!(
        c.delete_logged_model_tag(&m.model_id, "absent"),
        Err(Error::NotFound(_))
    ));
    let bad_filter = c.search_logged_models(&SearchModels {
        experiment_ids: vec!["0".into()],
        filter: "attributes.colour = 'red'".into(),
        ..Default::default()
    });
    assert!(matches!(bad_filter, Err(Error::InvalidFilter { .. })));
    let no_experiment = c.search_logged_models(&SearchModels::default());
    assert!(matches!(no_experiment, Err(Error::InvalidArgument(_))));
    let exp = c.create_experiment("gone").unwrap();
    c.delete_experiment(&exp).unwrap();
    assert!(matches!(
        c.create_logged_model(NewLoggedModel::new(&exp)),
        Err(Error::InvalidArgument(_))
    ));
}

/// A model record torn by a crash (its last bytes never written) is lost
/// alone: the model's creation before it stands, and the store opens.
#[test]
fn a_torn_model_record_costs_that_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let c = Client::builder().store(&store).open().unwrap();
    let m = c
        .create_logged_model(NewLoggedModel::new("0").name("half"))
        .unwrap();
    c.finalize_logged_model(&m.model_id, ModelStatus::Ready)
        .unwrap();
    c.flush().unwrap();
    drop(c);
    // The finalize record is the last entry of the lane's last segment
    // before its Seal (17 bytes with its frame, written at close): cut the
    // seal and the finalize's last 5 bytes, as a crash mid-write leaves it.
    let lanes = store.join("lanes");
    let mut segments: Vec<_> = walk(&lanes)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    let last = segments.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(last).unwrap();
    file.set_len(len - 17 - 5).unwrap();
    drop(file);
    let c = Client::builder().store(&store).open().unwrap();
    let again = c.get_logged_model(&m.model_id).unwrap();
    assert_eq!(again.name, "half");
    assert_eq!(
        again.status,
        ModelStatus::Pending,
        "the torn finalize is lost"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The registry as MLflow's store keeps it: names unique, versions
/// numbered once (also by clients racing on one store), renames carrying
/// versions and aliases, stages with `archive_existing`, deletions; kept
/// across reopening and compaction.
#[test]
fn the_registry_as_mlflows_store_keeps_it() {
    use runlog::tracking::{NewModelVersion, SearchRegistry};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let c = Client::builder().store(&store).open().unwrap();
    let run = c.create_run(NewRun::new("0")).unwrap().info.run_id;
    let logged = c
        .create_logged_model(NewLoggedModel::new("0").source_run_id(&run))
        .unwrap();
    c.create_registered_model("churn", &[("team", "risk")], Some("first"))
        .unwrap();
    assert!(matches!(
        c.create_registered_model("churn", &[], None),
        Err(Error::AlreadyExists(_))
    ));
    // Versions from a logged model and from a run's path.
    let v1 = c
        .create_model_version(&NewModelVersion {
            name: "churn".into(),
            source: format!("models:/{}", logged.model_id),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.run_id.as_deref(), Some(run.as_str()), "the model's run");
    assert_eq!(v1.storage_location, logged.artifact_location);
    let v2 = c
        .create_model_version(&NewModelVersion {
            name: "churn".into(),
            source: format!("runs:/{run}/model"),
            ..Default::default()
        })
        .unwrap();
    assert!(v2
        .storage_location
        .ends_with(&format!("{run}/artifacts/model")));
    // Four clients on one store register at once: every number once.
    let numbers: Vec<i64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                s.spawn(move || {
                    let other = Client::builder().store(&store).open().unwrap();
                    (0..5)
                        .map(|_| {
                            other
                                .create_model_version(&NewModelVersion {
                                    name: "churn".into(),
                                    source: "/models/x".into(),
                                    ..Default::default()
                                })
                                .unwrap()
                                .version
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (3..=22).collect::<Vec<_>>());

    c.set_registered_model_alias("churn", "champion", 2)
        .unwrap();
    assert!(matches!(
        c.set_registered_model_alias("churn", "v3", 2),
        Err(Error::InvalidArgument(_))
    ));
    c.transition_model_version_stage("churn", 1, "production", false)
        .unwrap();
    c.transition_model_version_stage("churn", 2, "Production", true)
        .unwrap();
    assert_eq!(
        c.get_model_version("churn", 1).unwrap().current_stage,
        "Archived"
    );
    assert!(matches!(
        c.transition_model_version_stage("churn", 2, "Nowhere", false),
        Err(Error::InvalidArgument(_))
    ));
    c.rename_registered_model("churn", "churn-2").unwrap();
    let check = |c: &Client| {
        assert!(matches!(
            c.get_registered_model("churn"),
            Err(Error::NotFound(_))
        ));
        let m = c.get_registered_model("churn-2").unwrap();
        assert_eq!(m.tags["team"], "risk");
        assert_eq!(m.aliases["champion"], 2);
        assert_eq!(
            c.get_model_version_by_alias("churn-2", "champion")
                .unwrap()
                .version,
            2
        );
        let latest = c
            .get_latest_versions("churn-2", &["Production".into()])
            .unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].version, 2);
        let versions = c
            .search_model_versions(&SearchRegistry {
                filter: "name = 'churn-2'".into(),
                max_results: Some(5),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(versions[0].version, 22, "newest first");
        assert!(versions.next_page_token.is_some());
        let found = c
            .search_registered_models(&SearchRegistry {
                filter: "name LIKE 'churn%' AND tags.`mlflow.prompt.is_prompt` != 'true'".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(found.len(), 1);
    };
    check(&c);
    drop(c);
    compact(&store).unwrap();
    let c = Client::builder().store(&store).open().unwrap();
    check(&c);
    // Deleting a version frees its aliases, never its number.
    c.delete_model_version("churn-2", 2).unwrap();
    assert!(c
        .get_registered_model("churn-2")
        .unwrap()
        .aliases
        .is_empty());
    let next = c
        .create_model_version(&NewModelVersion {
            name: "churn-2".into(),
            source: "/models/y".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(next.version, 23);
    c.delete_registered_model("churn-2").unwrap();
    assert!(matches!(
        c.get_model_version("churn-2", 1),
        Err(Error::NotFound(_))
    ));
}

/// A model another client of the store made (another process, say the
/// server beside a training script) is found by this one, and points
/// about it are kept.
#[test]
fn a_model_made_by_another_client_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let a = Client::builder().store(&store).open().unwrap();
    let run = a.create_run(NewRun::new("0")).unwrap().info.run_id;
    assert!(matches!(a.get_logged_model("m-0"), Err(Error::NotFound(_))));
    let b = Client::builder().store(&store).open().unwrap();
    let made = b.create_logged_model(NewLoggedModel::new("0")).unwrap();
    b.flush().unwrap();
    assert_eq!(a.get_logged_model(&made.model_id).unwrap().name, made.name);
    let point = ModelPoint {
        key: "acc".into(),
        metric: Metric {
            value: 0.5,
            timestamp: 1,
            step: 0,
        },
        model_id: made.model_id.clone(),
        dataset_name: None,
        dataset_digest: None,
    };
    a.log_model_metrics(&run, &[point]).unwrap();
    a.flush().unwrap();
    assert_eq!(b.get_logged_model(&made.model_id).unwrap().metrics.len(), 1);
}
