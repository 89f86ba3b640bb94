//! Writes the checked-in fixture stores `tests/fixtures.rs` reads; a future
//! format version must keep reading them (or refuse them clearly):
//!
//! - `tests/fixtures/v1/clean`: every record kind, metric points with NaN
//!   and infinities, two lanes, a sealed segment (format version 1);
//! - `tests/fixtures/v3/compacted`: the same compacted into a generation
//!   (every lane's segments, their writers gone), then a later session's
//!   points and records in a raw segment beside it (format version 3).
//!
//! `cargo run --example make_fixture -- tests/fixtures/v1/clean`, or
//! `-- --compacted DIR` (only when a fixture is deliberately remade: its
//! bytes are the contract). `--compacted` writes the format version of the
//! build that runs it: `v3/compacted` was made by a version 3 build, and a
//! version 4 build writes the same content in version 4 (no Blocks entry:
//! its series are shorter than 257 points).

use runlog::engine::{Record, Store};
use runlog::Metric;
use runlog::{DatasetInput, Options, RunStatus};

const RUN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const T0: i64 = 1_700_000_000_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: make_fixture [--compacted] DIR";
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let compacted = args.first().is_some_and(|a| a == "--compacted");
    if compacted {
        args.remove(0);
    }
    let [path] = args.as_slice() else {
        return Err(usage.into());
    };
    if std::path::Path::new(path).exists() {
        return Err(format!("{path} exists; remove it first").into());
    }
    write_v1(path)?;
    if compacted {
        runlog::compact::compact(std::path::Path::new(path))?;
        write_after_compaction(path)?;
    }
    Ok(())
}

/// A later session's writes beside the generation: more `loss` points
/// (steps that interleave with the compacted ones), a param, the run's end.
fn write_after_compaction(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let run = RUN;
    let s = Store::open_with(path, Options::default().auto_compact(None))?;
    let loss = s.metric_handle(run, "loss")?;
    for step in [50, 199, 200, 201] {
        loss.log_at(Metric {
            value: -(step as f64),
            timestamp: T0 + 1_000 + step,
            step,
        })?;
    }
    s.append(&Record::Param {
        run_id: run,
        key: "epochs",
        value: "3",
    })?;
    s.append(&Record::EndRun {
        run_id: run,
        status: RunStatus::Failed,
        end_time: T0 + 2_000,
    })?;
    s.close()?;
    Ok(())
}

/// The version 1 fixture: every record kind, two lanes, a sealed segment.
fn write_v1(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let run = RUN;
    let t0 = T0;
    // Lane 1: small segments, so that the fixture holds a sealed one.
    let a = Store::open_with(
        path,
        Options::default().segment_size(4096).auto_compact(None),
    )?;
    // Lane 2: a second writer at the same time.
    let b = Store::open(path)?;
    a.append(&Record::CreateExperiment {
        experiment_id: "0",
        name: "Default",
        artifact_location: "mlruns/0",
        creation_time: t0,
    })?;
    a.append(&Record::SetExperimentTag {
        experiment_id: "0",
        key: "team",
        value: "vision",
    })?;
    a.append(&Record::RenameExperiment {
        experiment_id: "0",
        name: "Default",
        time: t0 + 1,
    })?;
    a.append(&Record::CreateRun {
        run_id: run,
        experiment_id: "0",
        run_name: "brave-owl-42",
        user_id: "alice",
        start_time: t0 + 2,
    })?;
    a.append(&Record::Param {
        run_id: run,
        key: "lr",
        value: "0.01",
    })?;
    a.append(&Record::SetTag {
        run_id: run,
        key: "mlflow.runName",
        value: "brave-owl-42",
    })?;
    a.append(&Record::DeleteTag {
        run_id: run,
        key: "obsolete",
    })?;
    a.append(&Record::LogInput {
        run_id: run,
        input: Box::new(DatasetInput {
            name: "mnist",
            digest: "d41d8cd9",
            source_type: "local",
            source: "{\"uri\": \"/data/mnist\"}",
            schema: Some("{\"mlflow_colspec\": []}"),
            profile: None,
            tags: vec![("mlflow.data.context", "training")],
        }),
    })?;
    let loss = a.metric_handle(run, "loss")?;
    for step in 0..200 {
        loss.log_at(Metric {
            value: 2.0 / (step + 1) as f64,
            timestamp: t0 + 10 + step,
            step,
        })?;
    }
    for (i, v) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0]
        .into_iter()
        .enumerate()
    {
        a.log_metric(
            run,
            "odd",
            Metric {
                value: v,
                timestamp: t0 + 300,
                step: i as i64 - 2,
            },
        )?;
    }
    b.log_metric(
        run,
        "gpu_util",
        Metric {
            value: 0.75,
            timestamp: t0 + 150,
            step: 0,
        },
    )?;
    b.append(&Record::UpdateRunStatus {
        run_id: run,
        status: RunStatus::Running,
        time: t0 + 400,
    })?;
    a.append(&Record::RenameRun {
        run_id: run,
        run_name: "bold-owl-42",
    })?;
    a.append(&Record::EndRun {
        run_id: run,
        status: RunStatus::Finished,
        end_time: t0 + 500,
    })?;
    a.append(&Record::DeleteRun {
        run_id: run,
        time: t0 + 600,
    })?;
    a.append(&Record::RestoreRun {
        run_id: run,
        time: t0 + 700,
    })?;
    a.append(&Record::DeleteExperimentTag {
        experiment_id: "0",
        key: "team",
    })?;
    a.append(&Record::DeleteExperiment {
        experiment_id: "0",
        time: t0 + 800,
    })?;
    a.append(&Record::RestoreExperiment {
        experiment_id: "0",
        time: t0 + 900,
    })?;
    a.close()?;
    b.close()?;
    Ok(())
}
