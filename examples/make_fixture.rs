//! Writes the checked-in v1 fixture store `tests/fixtures/v1/clean`: every
//! record kind, metric points with NaN and infinities, two lanes, a sealed
//! segment. `tests/fixtures.rs` replays it; a future format version must
//! keep reading it (or refuse it clearly).
//!
//! `cargo run --example make_fixture -- tests/fixtures/v1/clean` (only when
//! the fixture is deliberately remade: its bytes are the contract).

use runlog::Metric;
use runlog::{DatasetInput, Options, Record, RunStatus, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: make_fixture DIR")?;
    if std::path::Path::new(&path).exists() {
        return Err(format!("{path} exists; remove it first").into());
    }
    let run = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let t0 = 1_700_000_000_000i64;
    // Lane 1: small segments, so that the fixture holds a sealed one.
    let a = Store::open_with(
        &path,
        Options::default().segment_size(4096).auto_compact(None),
    )?;
    // Lane 2: a second writer at the same time.
    let b = Store::open(&path)?;
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
