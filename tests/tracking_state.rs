//! The tracking state built from the checked-in v1 fixture store, whose
//! history exercises every record kind: the result is what MLflow would
//! show for the same calls.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

use std::path::PathBuf;

use runlog::engine::{Event, Record, Replay};
use runlog::tracking::{LifecycleStage, TrackingState, ViewType};
use runlog::RunStatus;

const RUN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn state_of(store: &str) -> TrackingState {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v1")
        .join(store);
    let mut state = TrackingState::default();
    for item in Replay::open(path).unwrap() {
        state.apply(&item.unwrap().event);
    }
    state
}

#[test]
fn the_fixture_history_materialises_as_mlflow_would_show_it() {
    let state = state_of("clean");

    let exp = state.experiment("0").unwrap();
    assert_eq!(exp.name, "Default");
    assert_eq!(
        exp.lifecycle_stage,
        LifecycleStage::Active,
        "deleted, then restored"
    );
    assert!(exp.tags.is_empty(), "the tag was set, then deleted");
    assert_eq!(exp.last_update_time, 1_700_000_000_900);
    assert_eq!(
        state.experiment_by_name("Default").unwrap().experiment_id,
        "0"
    );
    assert_eq!(state.experiments(ViewType::ActiveOnly).count(), 1);
    assert_eq!(state.experiments(ViewType::DeletedOnly).count(), 0);

    let run = state.run(RUN).unwrap();
    assert_eq!(run.info.experiment_id, "0");
    assert_eq!(run.info.run_name, "bold-owl-42", "renamed after creation");
    assert_eq!(run.data.tags["mlflow.runName"], "bold-owl-42");
    assert_eq!(run.info.user_id, "alice");
    assert_eq!(run.info.status, RunStatus::Finished);
    assert_eq!(run.info.end_time, Some(1_700_000_000_500));
    assert_eq!(
        run.info.lifecycle_stage,
        LifecycleStage::Active,
        "deleted, then restored"
    );
    assert_eq!(run.info.artifact_uri, format!("mlruns/0/{RUN}/artifacts"));
    assert_eq!(run.data.params["lr"], "0.01");
    assert!(!run.data.tags.contains_key("obsolete"));

    // Latest value of each metric: greatest step, then timestamp, then value.
    let loss = run.data.metrics["loss"];
    assert_eq!((loss.step, loss.value), (199, 2.0 / 200.0));
    let odd = run.data.metrics["odd"];
    assert_eq!(odd.step, 1);
    assert_eq!(odd.value.to_bits(), (-0.0f64).to_bits());
    assert_eq!(run.data.metrics["gpu_util"].value, 0.75);

    assert_eq!(run.inputs.len(), 1);
    assert_eq!(run.inputs[0].name, "mnist");
    assert_eq!(state.runs("0", ViewType::ActiveOnly).len(), 1);
    assert!(state.runs("0", ViewType::DeletedOnly).is_empty());
}

#[test]
fn the_latest_value_rule_breaks_ties_by_timestamp_then_value() {
    use runlog::tracking::Metric;
    let m = |step, timestamp, value| Metric {
        value,
        timestamp,
        step,
    };
    assert!(m(2, 0, 0.0).is_later_than(&m(1, 9, 9.0)));
    assert!(m(1, 5, 0.0).is_later_than(&m(1, 4, 9.0)));
    assert!(m(1, 5, 2.0).is_later_than(&m(1, 5, 1.0)));
    assert!(!m(1, 5, 1.0).is_later_than(&m(1, 5, 1.0)));
    // runlog's rule at the same step and timestamp: any number beats NaN
    // (MLflow's SQL store compares NaN as 0), in either order of logging.
    for number in [f64::NEG_INFINITY, -1.0, 0.0, 1.0, f64::INFINITY] {
        assert!(
            m(1, 5, number).is_later_than(&m(1, 5, f64::NAN)),
            "{number}"
        );
        assert!(
            !m(1, 5, f64::NAN).is_later_than(&m(1, 5, number)),
            "{number}"
        );
    }
    assert!(m(1, 6, f64::NAN).is_later_than(&m(1, 5, 1.0)));
    assert!(
        m(-1, 0, 0.0).is_later_than(&m(-2, 0, 0.0)),
        "negative steps order too"
    );
}

#[test]
fn events_of_a_run_before_its_creation_are_kept() {
    use runlog::engine::{Event, Record};
    let mut state = TrackingState::default();
    state.apply(&Event::Metric {
        run_id: "r".into(),
        key: "m".into(),
        value: 1.0,
        timestamp: 1,
        step: 1,
    });
    state.apply(&Event::Record(Record::Param {
        run_id: "r".into(),
        key: "p".into(),
        value: "first".into(),
    }));
    assert!(state.run("r").is_none(), "not listed before its creation");
    state.apply(&Event::Record(Record::CreateExperiment {
        experiment_id: "7".into(),
        name: "e".into(),
        artifact_location: "/a".into(),
        creation_time: 0,
    }));
    state.apply(&Event::Record(Record::CreateRun {
        run_id: "r".into(),
        experiment_id: "7".into(),
        run_name: "n".into(),
        user_id: "u".into(),
        start_time: 0,
    }));
    state.apply(&Event::Record(Record::Param {
        run_id: "r".into(),
        key: "p".into(),
        value: "second".into(),
    }));
    let run = state.run("r").unwrap();
    assert_eq!(run.data.metrics["m"].value, 1.0);
    assert_eq!(run.data.params["p"], "first", "params are write-once");
    assert_eq!(state.runs("7", ViewType::All).len(), 1);
}

#[test]
fn the_run_name_index_follows_creations_and_renames() {
    let mut state = TrackingState::default();
    let create = |run: &str, name: &str| {
        Event::Record(Record::CreateRun {
            run_id: run.into(),
            experiment_id: "1".into(),
            run_name: name.into(),
            user_id: "u".into(),
            start_time: 0,
        })
    };
    state.apply(&create("a", "same"));
    state.apply(&create("b", "same"));
    assert!(state.has_run_named("1", "same"));
    assert!(!state.has_run_named("2", "same"));
    state.apply(&Event::Record(Record::RenameRun {
        run_id: "a".into(),
        run_name: "other".into(),
    }));
    assert!(state.has_run_named("1", "same"), "b still has it");
    state.apply(&Event::Record(Record::SetTag {
        run_id: "b".into(),
        key: "mlflow.runName".into(),
        value: "third".into(),
    }));
    assert!(!state.has_run_named("1", "same"));
    assert!(state.has_run_named("1", "other") && state.has_run_named("1", "third"));
}
