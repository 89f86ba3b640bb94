#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The tracking client against MLflow's documented behaviour: experiments,
//! runs, params, metrics, tags, batches, inputs, validation, reopening.

use runlog::engine::Store;
use runlog::{Batch, Client, Dataset, Error, LifecycleStage, Metric, RunStatus, ViewType};
use runlog::{NewExperiment, NewRun};

fn client() -> (tempfile::TempDir, Client) {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder()
        .store(dir.path().join("mlruns"))
        .open()
        .unwrap();
    (dir, c)
}

#[test]
fn a_new_store_has_the_default_experiment() {
    let (dir, c) = client();
    let e = c.get_experiment("0").unwrap();
    assert_eq!(e.name, "Default");
    assert_eq!(e.lifecycle_stage, LifecycleStage::Active);
    let root = std::path::absolute(dir.path().join("mlruns")).unwrap();
    assert_eq!(
        e.artifact_location,
        format!("file://{}/artifacts/0", root.display())
    );
    assert_eq!(c.get_experiment_by_name("Default").unwrap().unwrap(), e);
    // Opening again does not create it twice.
    drop(c);
    let c = Client::builder()
        .store(dir.path().join("mlruns"))
        .open()
        .unwrap();
    assert_eq!(c.search_experiments(ViewType::All).unwrap().len(), 1);
}

#[test]
fn experiment_names_are_unique_and_validated() {
    let (_dir, c) = client();
    let id = c
        .create_experiment(NewExperiment::new("fraud-detection").tags(&[("team", "risk")]))
        .unwrap();
    assert_eq!(id.len(), 18);
    let e = c.get_experiment(&id).unwrap();
    assert_eq!(e.tags["team"], "risk");
    let err = c.create_experiment("fraud-detection").unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err}");
    assert!(matches!(
        c.create_experiment(""),
        Err(Error::InvalidArgument(_))
    ));
    assert!(c.create_experiment("x".repeat(501)).is_err());
    assert!(matches!(c.get_experiment("42"), Err(Error::NotFound(_))));
    assert_eq!(c.get_experiment_by_name("nope").unwrap(), None);

    // Deleted experiments keep their name.
    c.delete_experiment(&id).unwrap();
    let err = c.create_experiment("fraud-detection").unwrap_err();
    assert!(err.to_string().contains("deleted"), "{err}");
    assert!(c.get_or_create_experiment("fraud-detection").is_err());
}

#[test]
fn experiments_rename_delete_restore_and_tags() {
    let (_dir, c) = client();
    let a = c.create_experiment("a").unwrap();
    let b = c.create_experiment("b").unwrap();
    assert!(matches!(
        c.rename_experiment(&a, "b"),
        Err(Error::AlreadyExists(_))
    ));
    c.rename_experiment(&a, "a2").unwrap();
    assert_eq!(c.get_experiment(&a).unwrap().name, "a2");
    assert!(c.get_experiment_by_name("a").unwrap().is_none());
    c.create_experiment("a").unwrap(); // the old name is free again

    c.set_experiment_tag(&b, "owner", "me").unwrap();
    c.set_experiment_tag(&b, "owner", "you").unwrap();
    assert_eq!(c.get_experiment(&b).unwrap().tags["owner"], "you");
    c.delete_experiment_tag(&b, "owner").unwrap();
    assert!(c.get_experiment(&b).unwrap().tags.is_empty());
    assert!(matches!(
        c.delete_experiment_tag(&b, "owner"),
        Err(Error::NotFound(_))
    ));

    let run = c.create_run(&b).unwrap();
    c.delete_experiment(&b).unwrap();
    // Twice: RESOURCE_DOES_NOT_EXIST, as in MLflow.
    assert!(matches!(c.delete_experiment(&b), Err(Error::NotFound(_))));
    let names = |v| {
        c.search_experiments(v)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
    };
    assert!(!names(ViewType::ActiveOnly).contains(&"b".to_owned()));
    assert_eq!(names(ViewType::DeletedOnly), ["b"]);
    assert_eq!(names(ViewType::All).len(), 4);
    // Its runs read as deleted and take no writes.
    let r = c.get_run(&run.info.run_id).unwrap();
    assert_eq!(r.info.lifecycle_stage, LifecycleStage::Deleted);
    // MLflow's INVALID_PARAMETER_VALUE.
    assert!(matches!(
        c.log_metric(&run.info.run_id, "m", 1.0, 0),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(c.create_run(&b), Err(Error::InvalidArgument(_))));
    assert!(c.list_runs(&b, ViewType::ActiveOnly).unwrap().is_empty());
    assert_eq!(c.list_runs(&b, ViewType::DeletedOnly).unwrap().len(), 1);

    c.restore_experiment(&b).unwrap();
    assert!(matches!(c.restore_experiment(&b), Err(Error::NotFound(_))));
    let r = c.get_run(&run.info.run_id).unwrap();
    assert_eq!(r.info.lifecycle_stage, LifecycleStage::Active);
    c.log_metric(&run.info.run_id, "m", 1.0, 0).unwrap();
}

/// MLflow's SQL store cascades both ways: deleting an experiment deletes
/// its runs, restoring it restores every run (one deleted before the
/// experiment too), and a run restored alone inside a deleted experiment
/// is active and takes writes. Read again from the log after a reopen.
#[test]
fn experiment_deletion_and_restore_cascade_to_runs() {
    let dir = tempfile::tempdir().unwrap();
    let stage = |c: &Client, id: &str| c.get_run(id).unwrap().info.lifecycle_stage;
    let (early, kept, alone, e) = {
        let c = Client::builder().store(dir.path()).open().unwrap();
        let e = c.create_experiment("cascade").unwrap();
        let early = c.create_run(&e).unwrap().info.run_id;
        let kept = c.create_run(&e).unwrap().info.run_id;
        let alone = c.create_run(&e).unwrap().info.run_id;
        c.delete_run(&early).unwrap();
        c.delete_experiment(&e).unwrap();
        for id in [&early, &kept, &alone] {
            assert_eq!(stage(&c, id), LifecycleStage::Deleted);
        }
        c.restore_run(&alone).unwrap();
        assert_eq!(stage(&c, &alone), LifecycleStage::Active);
        c.log_metric(&alone, "m", 1.0, 0).unwrap();
        assert_eq!(c.list_runs(&e, ViewType::ActiveOnly).unwrap().len(), 1);
        assert!(matches!(
            c.log_metric(&kept, "m", 1.0, 0),
            Err(Error::InvalidArgument(_))
        ));
        c.flush().unwrap();
        (early, kept, alone, e)
    };
    let c = Client::builder().store(dir.path()).open().unwrap();
    assert_eq!(stage(&c, &alone), LifecycleStage::Active);
    assert_eq!(stage(&c, &kept), LifecycleStage::Deleted);
    c.restore_experiment(&e).unwrap();
    for id in [&early, &kept, &alone] {
        assert_eq!(stage(&c, id), LifecycleStage::Active, "{id}");
    }
    assert_eq!(c.list_runs(&e, ViewType::ActiveOnly).unwrap().len(), 3);
    drop(c);
    let c = Client::builder()
        .store(dir.path())
        .read_only()
        .open()
        .unwrap();
    assert_eq!(c.list_runs(&e, ViewType::ActiveOnly).unwrap().len(), 3);
}

#[test]
fn runs_get_names_status_times_and_artifact_uris() {
    let (_dir, c) = client();
    let run = c
        .create_run(NewRun::new("0").tags(&[("team", "vision")]))
        .unwrap();
    let info = &run.info;
    assert_eq!(info.run_id.len(), 32);
    assert_eq!(info.status, RunStatus::Running);
    assert_eq!(info.end_time, None);
    assert!(info.start_time > 1_600_000_000_000);
    assert_eq!(info.experiment_id, "0");
    let parts: Vec<&str> = info.run_name.split('-').collect();
    assert_eq!(parts.len(), 3, "{}", info.run_name);
    assert!(parts[2].parse::<u32>().unwrap() < 1000);
    assert_eq!(run.data.tags["mlflow.runName"], info.run_name);
    assert_eq!(run.data.tags["team"], "vision");
    assert!(info
        .artifact_uri
        .ends_with(&format!("/artifacts/0/{}/artifacts", info.run_id)));
    assert!(info.artifact_uri.starts_with("file:///"));

    let named = c.create_run(NewRun::new("0").run_name("baseline")).unwrap();
    assert_eq!(named.info.run_name, "baseline");
    c.update_run(&named.info.run_id, None, Some("renamed"))
        .unwrap();
    let renamed = c.get_run(&named.info.run_id).unwrap();
    assert_eq!(renamed.info.run_name, "renamed");
    assert_eq!(renamed.data.tags["mlflow.runName"], "renamed");
    c.set_tag(&named.info.run_id, "mlflow.runName", "again")
        .unwrap();
    assert_eq!(
        c.get_run(&named.info.run_id).unwrap().info.run_name,
        "again"
    );

    // Newest start first.
    let listed: Vec<String> = c
        .list_runs("0", ViewType::All)
        .unwrap()
        .into_iter()
        .map(|r| r.info.run_id)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(matches!(
        c.get_run("0123456789abcdef0123456789abcdef"),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(c.create_run("12345"), Err(Error::NotFound(_))));
}

#[test]
fn terminal_statuses_end_runs_and_running_resumes_them() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    assert!(matches!(
        c.set_terminated(&id, RunStatus::Running),
        Err(Error::InvalidArgument(_))
    ));
    for status in [RunStatus::Failed, RunStatus::Killed, RunStatus::Finished] {
        c.set_terminated_at(&id, status, 1_700_000_000_000).unwrap();
        let info = c.get_run(&id).unwrap().info;
        assert_eq!(info.status, status);
        assert_eq!(info.end_time, Some(1_700_000_000_000));
    }
    // A finished run takes logs (as in MLflow) and can be resumed.
    c.log_metric(&id, "late", 1.0, 0).unwrap();
    c.update_run(&id, Some(RunStatus::Running), None).unwrap();
    let info = c.get_run(&id).unwrap().info;
    // MLflow keeps the old end time while the resumed run runs.
    assert_eq!(
        (info.status, info.end_time),
        (RunStatus::Running, Some(1_700_000_000_000))
    );
    c.set_terminated_at(&id, RunStatus::Finished, 1_700_000_000_500)
        .unwrap();
    assert_eq!(
        c.get_run(&id).unwrap().info.end_time,
        Some(1_700_000_000_500)
    );
}

#[test]
fn deleted_runs_refuse_writes_until_restored() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    c.log_param(&id, "a", 1).unwrap();
    c.delete_run(&id).unwrap();
    assert_eq!(
        c.get_run(&id).unwrap().info.lifecycle_stage,
        LifecycleStage::Deleted
    );
    for result in [
        c.log_param(&id, "b", 2),
        c.log_metric(&id, "m", 1.0, 0),
        c.set_tag(&id, "t", "v"),
        c.log_batch(&id, &Batch::new().metric("m", 1.0, 0)),
        c.set_terminated(&id, RunStatus::Finished),
        c.metric_handle(&id, "m").map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }
    // MLflow's rules: deleting a deleted run, restoring an active one,
    // succeed and change nothing.
    c.delete_run(&id).unwrap();
    assert!(c.list_runs("0", ViewType::ActiveOnly).unwrap().is_empty());
    c.restore_run(&id).unwrap();
    c.restore_run(&id).unwrap();
    c.log_param(&id, "b", 2).unwrap();
    // Nothing logged before the deletion was lost.
    let run = c.get_run(&id).unwrap();
    assert_eq!(
        (run.data.params["a"].as_str(), run.data.params["b"].as_str()),
        ("1", "2")
    );
}

/// MLflow's error kinds for run ids: a string that cannot be a run id is
/// INVALID_PARAMETER_VALUE, a well-formed id of no run
/// RESOURCE_DOES_NOT_EXIST.
#[test]
fn malformed_run_ids_are_invalid_and_unknown_ones_not_found() {
    let (_dir, c) = client();
    for bad in ["not a run!", "-leading-dash", "a/b", ""] {
        for result in [
            c.get_run(bad).map(|_| ()),
            c.log_metric(bad, "m", 1.0, 0),
            c.log_param(bad, "p", 1),
            c.delete_run(bad),
        ] {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{bad:?}: {err}");
        }
    }
    let unknown = "0123456789abcdef0123456789abcdef";
    assert!(matches!(c.get_run(unknown), Err(Error::NotFound(_))));
    assert!(matches!(
        c.log_metric(unknown, "m", 1.0, 0),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn params_are_write_once() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    c.log_param(&id, "lr", 0.01).unwrap();
    c.log_param(&id, "lr", "0.01").unwrap(); // same value: fine
    let err = c.log_param(&id, "lr", 0.02).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}"); // MLflow's code
    assert!(err.to_string().contains("'0.01'"), "{err}");
    assert_eq!(c.get_run(&id).unwrap().data.params["lr"], "0.01");
    // Validation.
    assert!(matches!(
        c.log_param(&id, "bad key!", 1),
        Err(Error::InvalidArgument(_))
    ));
    // Cut to MLflow's 6,000 characters (tests/long_values.rs: refused
    // when MLFLOW_TRUNCATE_LONG_VALUES is false): the same value as these.
    c.log_param(&id, "long", "x".repeat(6001)).unwrap();
    c.log_param(&id, "long", "x".repeat(6000)).unwrap();
    // The log holds the param once.
    c.flush().unwrap();
    let params = runlog::engine::Replay::open(c.store_dir())
        .unwrap()
        .filter(|r| matches!(&r.as_ref().unwrap().event, runlog::engine::Event::Record(runlog::engine::Record::Param { key, .. }) if key == "lr"))
        .count();
    assert_eq!(params, 1);
}

#[test]
fn metrics_keep_every_point_exactly() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    let values = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        1e-300,
        3.5,
    ];
    let steps = [5, -3, 100, 7, 7, 0];
    for (i, (v, s)) in values.iter().zip(steps).enumerate() {
        c.log_metric_at(
            &id,
            "m",
            Metric {
                value: *v,
                timestamp: 1_000 + i as i64,
                step: s,
            },
        )
        .unwrap();
    }
    let history = c.get_metric_history(&id, "m").unwrap();
    let got: Vec<(i64, i64, u64)> = history
        .iter()
        .map(|m| (m.step, m.timestamp, m.value.to_bits()))
        .collect();
    // Ordered by step, then timestamp.
    let mut want: Vec<(i64, i64, u64)> = values
        .iter()
        .zip(steps)
        .enumerate()
        .map(|(i, (v, s))| (s, 1_000 + i as i64, v.to_bits()))
        .collect();
    want.sort_by_key(|w| (w.0, w.1));
    assert_eq!(got, want);
    // The latest value: greatest step (100 → -inf).
    let latest = c.get_run(&id).unwrap().data.metrics["m"];
    assert_eq!(latest.step, 100);
    assert_eq!(latest.value, f64::NEG_INFINITY);
    // Unknown key: empty; unknown run: error; bad input refused.
    assert!(c.get_metric_history(&id, "nope").unwrap().is_empty());
    assert!(c
        .get_metric_history("ffffffffffffffffffffffffffffffff", "m")
        .is_err());
    assert!(c
        .log_metric_at(
            &id,
            "m",
            Metric {
                value: 1.0,
                timestamp: -1,
                step: 0
            }
        )
        .is_err());
    assert!(c.log_metric(&id, "../m", 1.0, 0).is_err());
    assert!(c.log_metric(&id, "", 1.0, 0).is_err());
}

#[test]
fn latest_metric_ties_break_by_timestamp_then_value() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    for (value, timestamp, step) in [(1.0, 20, 3), (9.0, 10, 3), (2.0, 20, 3), (0.5, 99, 1)] {
        let point = Metric {
            value,
            timestamp,
            step,
        };
        c.log_metric_at(&id, "m", point).unwrap();
    }
    let m = c.get_run(&id).unwrap().data.metrics["m"];
    assert_eq!(
        m,
        Metric {
            value: 2.0,
            timestamp: 20,
            step: 3
        }
    );
}

#[test]
fn tags_set_delete_and_reserved_keys() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    c.set_tag(&id, "phase", "a").unwrap();
    c.set_tag(&id, "phase", "b").unwrap();
    c.set_tag(&id, "mlflow.note.content", "a description")
        .unwrap();
    let tags = c.get_run(&id).unwrap().data.tags;
    assert_eq!(tags["phase"], "b");
    assert_eq!(tags["mlflow.note.content"], "a description");
    // System tags are accepted, as MLflow's clients send them.
    c.set_tag(&id, "mlflow.source.name", "train.py").unwrap();
    assert_eq!(
        c.get_run(&id).unwrap().data.tags["mlflow.source.name"],
        "train.py"
    );
    c.set_tag(&id, "k", &"v".repeat(8001)).unwrap(); // cut, as in MLflow
    assert_eq!(c.get_run(&id).unwrap().data.tags["k"].len(), 8000);
    c.delete_tag(&id, "phase").unwrap();
    assert!(!c.get_run(&id).unwrap().data.tags.contains_key("phase"));
    assert!(matches!(
        c.delete_tag(&id, "phase"),
        Err(Error::NotFound(_))
    ));
    // As in MLflow (issue 24): the name's tag may be deleted; the run
    // keeps its name.
    let name = c.get_run(&id).unwrap().info.run_name;
    c.delete_tag(&id, "mlflow.runName").unwrap();
    let run = c.get_run(&id).unwrap();
    assert!(!run.data.tags.contains_key("mlflow.runName"));
    assert_eq!(run.info.run_name, name);
}

/// Points of keys that come in runs and interleave (a, a, a, b, b, a) each
/// land in their own key's history, in order.
#[test]
fn log_batch_keeps_interleaved_keys_apart() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    let keys = ["a", "a", "a", "b", "b", "a", "c", "b"];
    let batch = keys.iter().enumerate().fold(Batch::new(), |b, (i, k)| {
        b.metric_at(*k, i as f64, i as i64, 1_000 + i as i64)
    });
    c.log_batch(&id, &batch).unwrap();
    for key in ["a", "b", "c"] {
        let steps: Vec<i64> = c
            .get_metric_history(&id, key)
            .unwrap()
            .iter()
            .map(|m| m.step)
            .collect();
        let want: Vec<i64> = (0..keys.len() as i64)
            .filter(|i| keys[*i as usize] == key)
            .collect();
        assert_eq!(steps, want, "{key}");
    }
}

#[test]
fn log_batch_checks_everything_before_writing_anything() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    c.log_batch(
        &id,
        &Batch::new()
            .metric("loss", 0.5, 1)
            .metric("loss", 0.25, 2)
            .param("lr", 0.1)
            .tag("t", "v"),
    )
    .unwrap();
    let run = c.get_run(&id).unwrap();
    assert_eq!(run.data.metrics["loss"].value, 0.25);
    assert_eq!(run.data.params["lr"], "0.1");
    assert_eq!(run.data.tags["t"], "v");

    let bad = [
        Batch::new().metric("ok", 1.0, 0).param("lr", 0.2), // changes a param
        Batch::new()
            .metric("ok", 1.0, 0)
            .param("x", 1)
            .param("x", 2), // disagrees with itself
        Batch::new()
            .metric("ok", 1.0, 0)
            .param("y", 1)
            .param("y", 1), // twice, as MLflow refuses
        Batch::new().metric("ok", 1.0, 0).metric("bad key!", 1.0, 0),
        Batch::new()
            .metric("ok", 1.0, 0)
            .metric("ok", 1.0, 1)
            .metric_at("ok", 1.0, 2, -1), // a bad point after good ones of its key
    ];
    for batch in &bad {
        assert!(c.log_batch(&id, batch).is_err());
    }
    assert!(!c.get_run(&id).unwrap().data.metrics.contains_key("ok"));
    assert!(c.get_metric_history(&id, "ok").unwrap().is_empty());
    // At the limits: fine.
    let full = (0..900).fold(Batch::new(), |b, i| b.metric("ok", 1.0, i));
    let full = (0..100).fold(full, |b, i| b.param(format!("p{i}"), i));
    c.log_batch(&id, &full).unwrap();
    assert_eq!(c.get_metric_history(&id, "ok").unwrap().len(), 900);
}

#[test]
fn dataset_inputs_read_back_with_the_run() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    let data = Dataset::new("wine", "abc123", "local", r#"{"uri":"wine.csv"}"#)
        .with_schema(r#"{"cols":["a"]}"#)
        .with_profile(r#"{"rows":10}"#);
    let input = data.as_input(Some("training"), &[("split", "80")]);
    c.log_inputs(&id, std::slice::from_ref(&input)).unwrap();
    c.log_inputs(&id, std::slice::from_ref(&input)).unwrap(); // kept once
    let eval = Dataset::new("wine", "abc123", "local", "{}").as_input(Some("eval"), &[]);
    c.log_inputs(&id, std::slice::from_ref(&eval)).unwrap();
    let run = c.get_run(&id).unwrap();
    assert_eq!(run.inputs, vec![input, eval]);
    assert_eq!(
        run.inputs[0].tags[0],
        ("mlflow.data.context".to_owned(), "training".to_owned())
    );
    let nameless = Dataset::new("", "d", "local", "{}").as_input(None, &[]);
    assert!(c.log_inputs(&id, &[nameless]).is_err());
}

#[test]
fn metric_handles_log_to_their_run() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    let h = c.metric_handle(&id, "loss").unwrap();
    for step in 0..10_000 {
        h.log(1.0 / (step + 1) as f64, step).unwrap();
    }
    assert_eq!(c.get_run(&id).unwrap().data.metrics["loss"].step, 9_999);
    assert_eq!(c.get_metric_history(&id, "loss").unwrap().len(), 10_000);
    assert!(c.metric_handle(&id, "bad key!").is_err());
    assert!(c
        .metric_handle("ffffffffffffffffffffffffffffffff", "m")
        .is_err());
}

#[test]
fn everything_reads_back_after_reopening() {
    let (dir, c) = client();
    let exp = c
        .create_experiment(NewExperiment::new("e").tags(&[("k", "v")]))
        .unwrap();
    let id = c
        .create_run(NewRun::new(&exp).run_name("r"))
        .unwrap()
        .info
        .run_id;
    c.log_param(&id, "p", "1").unwrap();
    c.set_tag(&id, "t", "2").unwrap();
    for step in 0..100 {
        c.log_metric(&id, "m", step as f64, step).unwrap();
    }
    c.set_terminated(&id, RunStatus::Finished).unwrap();
    let before = c.get_run(&id).unwrap();
    drop(c);
    let c = Client::builder()
        .store(dir.path().join("mlruns"))
        .open()
        .unwrap();
    assert_eq!(c.get_run(&id).unwrap(), before);
    assert_eq!(
        c.get_experiment_by_name("e").unwrap().unwrap().tags["k"],
        "v"
    );
    assert_eq!(c.get_metric_history(&id, "m").unwrap().len(), 100);
    // Writes after reopening still check against the old data.
    assert!(c.log_param(&id, "p", "2").is_err());
}

#[test]
fn two_clients_see_each_others_writes() {
    let (dir, a) = client();
    let b = Client::builder()
        .store(dir.path().join("mlruns"))
        .open()
        .unwrap();
    assert_ne!(a.store().unwrap().lane(), b.store().unwrap().lane());
    let id = a.create_run("0").unwrap().info.run_id;
    b.log_param(&id, "from_b", 1).unwrap(); // b finds the run a created
    a.log_metric(&id, "m", 1.0, 1).unwrap();
    // Another client sees a point once a's writer wrote it: within about a
    // millisecond, or at once after a's flush.
    a.flush().unwrap();
    assert_eq!(b.get_run(&id).unwrap().data.metrics["m"].step, 1);
    assert_eq!(a.get_run(&id).unwrap().data.params["from_b"], "1");
    let e = b.create_experiment("shared").unwrap();
    assert!(a.create_experiment("shared").is_err());
    assert_eq!(
        a.get_experiment_by_name("shared")
            .unwrap()
            .unwrap()
            .experiment_id,
        e
    );
}

#[test]
fn threads_log_concurrently_through_one_client() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    std::thread::scope(|s| {
        for t in 0..4 {
            let (c, id) = (&c, &id);
            s.spawn(move || {
                for step in 0..2_000 {
                    c.log_metric(id, &format!("m{t}"), step as f64, step)
                        .unwrap();
                }
                c.log_param(id, &format!("p{t}"), t).unwrap();
            });
        }
    });
    let run = c.get_run(&id).unwrap();
    assert_eq!(run.data.params.len(), 4);
    for t in 0..4 {
        assert_eq!(run.data.metrics[&format!("m{t}")].step, 1_999);
        assert_eq!(
            c.get_metric_history(&id, &format!("m{t}")).unwrap().len(),
            2_000
        );
    }
}

#[test]
fn tracking_uris_other_than_local_paths_and_servers_are_refused() {
    // (http:// and https:// name a tracking server: tests/remote_logging.rs)
    for uri in ["sqlite:///mlflow.db", "databricks", "s3://b/x"] {
        if uri == "databricks" {
            continue; // a plain relative path to us
        }
        let err = Client::new(uri).unwrap_err().to_string();
        assert!(
            err.contains("not supported") || err.contains("remote"),
            "{uri}: {err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("0")).unwrap();
    std::fs::write(dir.path().join("0/meta.yaml"), "name: Default\n").unwrap();
    let err = Client::builder()
        .store(dir.path())
        .open()
        .unwrap_err()
        .to_string();
    assert!(err.contains("MLflow file store"), "{err}");
    let uri = format!("file://{}", tempfile::tempdir().unwrap().path().display());
    assert_eq!(Client::new(&uri).unwrap().tracking_uri(), uri);
}

#[test]
fn client_reads_a_store_written_through_the_raw_api() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    let id = c.create_run("0").unwrap().info.run_id;
    drop(c);
    let store = Store::open(dir.path()).unwrap();
    store
        .log_metric(
            &id,
            "raw",
            Metric {
                value: 2.5,
                timestamp: 1,
                step: 4,
            },
        )
        .unwrap();
    store.close().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    assert_eq!(c.get_run(&id).unwrap().data.metrics["raw"].value, 2.5);
}

#[test]
fn batches_of_any_size_are_taken_whole_as_mlflows_client_splits_them() {
    let (_dir, c) = client();
    let id = c.create_run("0").unwrap().info.run_id;
    let batch = (0..2_500).fold(Batch::new(), |b, i| {
        b.metric("loss", 1.0 / (i + 1) as f64, i)
    });
    let batch = (0..250).fold(batch, |b, i| b.param(format!("p{i}"), i));
    let batch = (0..250).fold(batch, |b, i| b.tag(format!("t{i}"), "v"));
    c.log_batch(&id, &batch).unwrap();
    let run = c.get_run(&id).unwrap();
    assert_eq!(
        (run.data.params.len(), run.data.metrics["loss"].step),
        (250, 2_499)
    );
    assert_eq!(
        run.data.tags.keys().filter(|k| k.starts_with('t')).count(),
        250
    );
    assert_eq!(c.get_metric_history(&id, "loss").unwrap().len(), 2_500);
    // Still all or nothing: a bad item at the end refuses all of it.
    let bad = (0..2_000)
        .fold(Batch::new(), |b, i| b.metric("late", 1.0, i))
        .param("p0", 99);
    assert!(c.log_batch(&id, &bad).is_err());
    assert!(c.get_metric_history(&id, "late").unwrap().is_empty());
}

#[test]
fn a_run_name_and_a_different_run_name_tag_are_refused() {
    let (_dir, c) = client();
    let err = c
        .create_run(
            NewRun::new("0")
                .run_name("a")
                .tags(&[("mlflow.runName", "b")]),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    let same = c
        .create_run(
            NewRun::new("0")
                .run_name("a")
                .tags(&[("mlflow.runName", "a")]),
        )
        .unwrap();
    assert_eq!(same.info.run_name, "a");
    let by_tag = c
        .create_run(NewRun::new("0").tags(&[("mlflow.runName", "b")]))
        .unwrap();
    assert_eq!(by_tag.info.run_name, "b");
}
