#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The fluent API: active experiment, per-thread run stacks, guards that
//! end runs, nested runs, system tags, auto-started runs.
//!
//! The fluent state is process-wide, so these tests take turns.

use std::sync::Mutex;

use runlog::{Error, RunStatus, StartRun};

static TURN: Mutex<()> = Mutex::new(());

/// Takes the turn and points the fluent API at a fresh store.
fn fresh() -> (std::sync::MutexGuard<'static, ()>, tempfile::TempDir) {
    let turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    runlog::set_tracking_uri(&dir.path().join("mlruns").display().to_string()).unwrap();
    (turn, dir)
}

#[test]
fn the_guard_ends_the_run_finished_or_failed() {
    let (_turn, _dir) = fresh();
    let id = {
        let run = runlog::start_run().unwrap();
        runlog::log_metric("quality", 0.9, 0).unwrap();
        run.run_id().to_owned()
    };
    let run = runlog::get_run(&id).unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    assert!(run.info.end_time.is_some());
    assert!(runlog::active_run().unwrap().is_none());
    assert_eq!(runlog::last_active_run().unwrap().unwrap().info.run_id, id);

    let failed = std::thread::spawn(|| {
        let run = runlog::start_run().unwrap();
        let id = run.run_id().to_owned();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _run = run;
            panic!("training diverged");
        }));
        assert!(result.is_err());
        id
    })
    .join()
    .unwrap();
    assert_eq!(
        runlog::get_run(&failed).unwrap().info.status,
        RunStatus::Failed
    );

    let run = runlog::start_run().unwrap();
    let id = run.run_id().to_owned();
    run.end(RunStatus::Killed).unwrap();
    assert_eq!(runlog::get_run(&id).unwrap().info.status, RunStatus::Killed);
}

#[test]
fn new_runs_carry_the_system_tags() {
    let (_turn, _dir) = fresh();
    let run =
        runlog::start_run_with(StartRun::new().description("a note").tag("team", "x")).unwrap();
    let tags = run.run().unwrap().data.tags;
    assert_eq!(tags["mlflow.source.type"], "LOCAL");
    assert!(!tags["mlflow.source.name"].is_empty());
    assert!(!tags["mlflow.user"].is_empty());
    assert_eq!(tags["mlflow.runName"], run.run().unwrap().info.run_name);
    assert_eq!(tags["mlflow.note.content"], "a note");
    assert_eq!(tags["team"], "x");
    // The test runs inside the repository's git work tree (when it has one).
    if runlog::context::git_commit(&std::env::current_dir().unwrap()).is_some() {
        assert_eq!(tags["mlflow.source.git.commit"].len(), 40);
    }
    assert_eq!(run.run().unwrap().info.user_id, tags["mlflow.user"]);
    drop(run);
    // A system tag given by the caller replaces runlog's own, as in MLflow.
    let run = runlog::start_run_with(StartRun::new().tag("mlflow.user", "someone")).unwrap();
    let info = run.run().unwrap();
    assert_eq!(info.data.tags["mlflow.user"], "someone");
    assert_eq!(info.info.user_id, "someone");
}

#[test]
fn one_active_run_per_thread_unless_nested() {
    let (_turn, _dir) = fresh();
    let parent = runlog::start_run_with(StartRun::new().run_name("parent")).unwrap();
    let err = runlog::start_run().unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)), "{err}");
    let pid = parent.run_id().to_owned();
    let mut children = Vec::new();
    for lr in [0.1, 0.01] {
        let child = runlog::start_run_with(StartRun::new().nested(true)).unwrap();
        runlog::log_param("lr", lr).unwrap();
        let run = child.run().unwrap();
        assert_eq!(run.data.tags["mlflow.parentRunId"], pid);
        assert_eq!(
            runlog::get_parent_run(child.run_id())
                .unwrap()
                .unwrap()
                .info
                .run_id,
            pid
        );
        children.push(child.run_id().to_owned());
    }
    assert_eq!(runlog::active_run().unwrap().unwrap().info.run_id, pid);
    assert!(runlog::get_parent_run(&pid).unwrap().is_none());
    // A parent that is not the active run is refused.
    let err = runlog::start_run_with(StartRun::new().nested(true).parent_run_id(&children[0]))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidState(_)), "{err}");
    // Ending the parent ends a child still active above it.
    let dangling = runlog::start_run_with(StartRun::new().nested(true)).unwrap();
    let dangling_id = dangling.run_id().to_owned();
    std::mem::forget(dangling);
    drop(parent);
    assert_eq!(
        runlog::get_run(&dangling_id).unwrap().info.status,
        RunStatus::Finished
    );
    assert!(runlog::active_run().unwrap().is_none());
}

#[test]
fn threads_each_run_a_nested_child() {
    let (_turn, _dir) = fresh();
    let parent = runlog::start_run().unwrap();
    let pid = parent.run_id().to_owned();
    let children: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let pid = pid.clone();
                s.spawn(move || {
                    // This thread's stack is empty: the parent is explicit.
                    let child = runlog::start_run_with(
                        StartRun::new()
                            .nested(true)
                            .parent_run_id(&pid)
                            .run_name(format!("t{t}")),
                    )
                    .unwrap();
                    for step in 0..100 {
                        runlog::log_metric("loss", 1.0 / (step + 1) as f64, step).unwrap();
                    }
                    child.run_id().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(runlog::active_run().unwrap().unwrap().info.run_id, pid);
    for id in &children {
        let run = runlog::get_run(id).unwrap();
        assert_eq!(run.info.status, RunStatus::Finished);
        assert_eq!(run.data.tags["mlflow.parentRunId"], pid);
        assert_eq!(run.data.metrics["loss"].step, 99);
    }
}

#[test]
fn logging_without_a_run_starts_one() {
    let (_turn, _dir) = fresh();
    assert!(runlog::active_run().unwrap().is_none());
    runlog::log_param("auto", true).unwrap();
    runlog::log_params([("a", 1), ("b", 2)]).unwrap();
    runlog::log_metrics([("x", 1.0), ("y", 2.0)], 3).unwrap();
    runlog::set_tags([("t", "v")]).unwrap();
    let run = runlog::active_run().unwrap().unwrap();
    assert_eq!(run.data.params["auto"], "true");
    assert_eq!(run.data.metrics["y"].step, 3);
    assert_eq!(run.data.tags["t"], "v");
    runlog::end_run().unwrap();
    assert!(runlog::active_run().unwrap().is_none());
    assert_eq!(
        runlog::get_run(&run.info.run_id).unwrap().info.status,
        RunStatus::Finished
    );
    runlog::end_run().unwrap(); // no active run: nothing to do
}

#[test]
fn set_experiment_creates_selects_and_refuses_deleted() {
    let (_turn, _dir) = fresh();
    assert_eq!(runlog::active_experiment_id().unwrap(), "0");
    let e = runlog::set_experiment("fraud-detection").unwrap();
    assert_eq!(runlog::set_experiment("fraud-detection").unwrap(), e);
    let run = runlog::start_run().unwrap();
    assert_eq!(run.run().unwrap().info.experiment_id, e.experiment_id);
    drop(run);
    let other = runlog::create_experiment("other").unwrap();
    runlog::set_experiment_by_id(&other).unwrap();
    let run = runlog::start_run().unwrap();
    assert_eq!(run.run().unwrap().info.experiment_id, other);
    drop(run);
    runlog::delete_experiment(&other).unwrap();
    assert!(runlog::set_experiment("other").is_err());
    assert!(runlog::set_experiment_by_id(&other).is_err());
    assert!(runlog::set_experiment_by_id("123").is_err());
    runlog::set_experiment_by_id("0").unwrap();
}

#[test]
fn resuming_a_run_sets_it_running_again() {
    let (_turn, _dir) = fresh();
    let id = {
        let run = runlog::start_run().unwrap();
        runlog::log_metric("m", 1.0, 0).unwrap();
        run.run_id().to_owned()
    };
    let first = runlog::get_run(&id).unwrap().info;
    assert_eq!(first.status, RunStatus::Finished);
    {
        let run = runlog::start_run_with(StartRun::new().run_id(&id)).unwrap();
        let info = run.run().unwrap().info;
        // MLflow keeps the old end time while the resumed run runs.
        assert_eq!(
            (info.status, info.end_time),
            (RunStatus::Running, first.end_time)
        );
        runlog::log_metric("m", 2.0, 1).unwrap();
    }
    let run = runlog::get_run(&id).unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    assert_eq!(run.data.metrics["m"].value, 2.0);
    runlog::client().unwrap().delete_run(&id).unwrap();
    assert!(matches!(
        runlog::start_run_with(StartRun::new().run_id(&id)),
        Err(Error::InvalidState(_))
    ));
    assert!(
        runlog::start_run_with(StartRun::new().run_id("ffffffffffffffffffffffffffffffff")).is_err()
    );
}

#[test]
fn artifacts_and_inputs_through_the_fluent_api() {
    let (_turn, dir) = fresh();
    let run = runlog::start_run().unwrap();
    let f = dir.path().join("weights.bin");
    std::fs::write(&f, b"w").unwrap();
    runlog::log_artifact(&f, Some("model")).unwrap();
    runlog::log_text("t", "notes.txt").unwrap();
    let data = runlog::Dataset::new("d", "digest", "local", "{}");
    runlog::log_input(&data, Some("training"), &[]).unwrap();
    let uri = runlog::get_artifact_uri(Some("model/weights.bin")).unwrap();
    assert!(std::path::Path::new(uri.strip_prefix("file://").unwrap()).is_file());
    assert_eq!(run.run().unwrap().inputs.len(), 1);
    let handle = runlog::metric_handle("fast").unwrap();
    handle.log(1.0, 0).unwrap();
    assert_eq!(run.run().unwrap().data.metrics["fast"].value, 1.0);
}

#[test]
fn tracking_uris_are_checked() {
    let _turn = TURN.lock().unwrap_or_else(|p| p.into_inner());
    assert!(runlog::set_tracking_uri("s3://bucket/mlruns").is_err());
    // A tracking server (tests/remote_logging.rs logs to one).
    runlog::set_tracking_uri("http://localhost:5000").unwrap();
    runlog::set_tracking_uri("file:///tmp/somewhere").unwrap();
    assert_eq!(runlog::get_tracking_uri(), "file:///tmp/somewhere");
}

#[test]
fn logging_to_a_deleted_active_run_is_refused() {
    let (_turn, _dir) = fresh();
    let run = runlog::start_run().unwrap();
    for step in 0..3 {
        runlog::log_metric("m", 1.0, step).unwrap(); // the cached handle path
    }
    runlog::client().unwrap().delete_run(run.run_id()).unwrap();
    let err = runlog::log_metric("m", 2.0, 3).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    assert!(runlog::log_metric("other", 2.0, 3).is_err());
    assert!(runlog::log_param("p", 1).is_err());
    let history = runlog::client()
        .unwrap()
        .get_metric_history(run.run_id(), "m")
        .unwrap();
    assert_eq!(history.len(), 3, "nothing logged after the deletion");
    assert!(
        run.end(RunStatus::Finished).is_err(),
        "a deleted run cannot be ended"
    );
    assert!(runlog::active_run().unwrap().is_none());
}

#[test]
fn log_metrics_checks_every_key_before_logging_any_point() {
    let (_turn, _dir) = fresh();
    let run = runlog::start_run().unwrap();
    let id = run.run_id().to_owned();
    runlog::log_metrics([("a", 1.0), ("b", 2.0)], 0).unwrap();
    // A bad key among good ones (one with a handle already): nothing of
    // the call is logged.
    let e = runlog::log_metrics([("a", 5.0), ("c", 6.0), ("bad key!", 7.0)], 1).unwrap_err();
    assert!(matches!(e, runlog::Error::InvalidArgument(_)), "{e}");
    runlog::log_metrics(vec![("b".to_string(), f64::NAN), ("c".to_string(), 3.0)], 2).unwrap();
    run.end(RunStatus::Finished).unwrap();
    let client = runlog::client().unwrap();
    let got = client.get_run(&id).unwrap();
    assert_eq!(got.data.metrics.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(
        (got.data.metrics["a"].step, got.data.metrics["a"].value),
        (0, 1.0)
    );
    assert!(got.data.metrics["b"].value.is_nan());
    let c = client.get_metric_history(&id, "c").unwrap();
    assert_eq!(
        c.iter().map(|m| (m.step, m.value)).collect::<Vec<_>>(),
        [(2, 3.0)]
    );
}
