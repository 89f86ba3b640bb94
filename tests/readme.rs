#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! The README's Rust examples, run as written: each `rust` block of
//! README.md must appear verbatim in one of the functions below (checked),
//! which run them in a scratch directory (the blocks use the default store,
//! `mlruns`, under the working directory).

/// The README's `rust` blocks.
fn readme_blocks() -> Vec<String> {
    let readme = include_str!("../README.md");
    readme
        .split("```rust\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap().to_owned())
        .collect()
}

#[test]
fn every_readme_block_is_run_here() {
    let here = include_str!("readme.rs");
    let blocks = readme_blocks();
    assert_eq!(blocks.len(), 3, "a new block needs a function here");
    for block in blocks {
        assert!(
            here.contains(&block),
            "not run by tests/readme.rs:\n{block}"
        );
    }
}

#[rustfmt::skip]
#[allow(unused_variables, reason = "the README binds what it shows")]
fn tracking_as_in_mlflow() -> Result<(), Box<dyn std::error::Error>> {
runlog::set_experiment("fraud-detection")?;                 // created when missing; or MLFLOW_EXPERIMENT_NAME
{
    let run = runlog::start_run_with(runlog::StartRun::new().run_name("baseline"))?;
    runlog::log_params([("lr", "0.01"), ("layers", "4")])?;  // write-once, as in MLflow
    for step in 0..100 {
        runlog::log_metric("loss", 1.0 / (step + 1) as f64, step)?;   // ~70 ns a call
    }
    let child = runlog::start_run_with(runlog::StartRun::new().nested(true))?; // tag mlflow.parentRunId
    runlog::set_tag("phase", "eval")?;
    drop(child);                                             // ends it FINISHED
    let acc = run.metric_handle("acc")?;                     // hot loops: ~20 ns a call
    acc.log(0.91, 100)?;
    runlog::log_artifact("model.bin", Some("models"))?;     // copied under the run's artifact directory
}                                                            // FINISHED, or FAILED when unwinding from a panic

let client = runlog::Client::new("mlruns")?;                // MLflow's MlflowClient: explicit ids
let model = client.create_logged_model(runlog::NewLoggedModel::new("0").name("forest"))?; // MLflow 3's LoggedModel, PENDING
client.finalize_logged_model(&model.model_id, runlog::ModelStatus::Ready)?;               // its artifacts under <experiment>/models/<id>/artifacts
let exp = client.create_experiment("churn")?;               // or NewExperiment::new(name).tag(..).artifact_location(..)
let run = client.create_run(&exp)?;                          // a generated adjective-animal-N name
let run = client.create_run(runlog::NewRun::new(&exp).run_name("baseline").tag("team", "risk"))?;
client.log_batch(&run.info.run_id, &runlog::Batch::new().metric("loss", 0.5, 1).param("seed", 7))?;
let run = client.get_run(&run.info.run_id)?;                 // info, latest metrics, params, tags, inputs
let history = client.get_metric_history(&run.info.run_id, "loss")?;
client.set_terminated(&run.info.run_id, runlog::RunStatus::Finished)?;
    assert_eq!(history.len(), 1);
    Ok(())
}

#[rustfmt::skip]
fn search_history_compaction() -> Result<(), Box<dyn std::error::Error>> {
    // What the block searches for: one run in experiment 0.
    {
        let c = runlog::Client::new("mlruns")?;
        let r = c.create_run(runlog::NewRun::new("0").tag("mlflow.source.type", "LOCAL"))?;
        c.log_param(&r.info.run_id, "optimizer", "adam")?;
        for step in 0..3_000 {
            c.log_metric(&r.info.run_id, "loss", 0.4, step)?;
        }
        c.flush()?;
    }
use runlog::{HistoryQuery, SearchRuns, SearchExperiments};

let client = runlog::Client::new("mlruns")?;
let best = client.search_runs(
    &SearchRuns::new(&["0"])
        .filter("metrics.loss < 0.5 and params.optimizer = 'adam' and tags.`mlflow.source.type` = 'LOCAL'")
        .order_by("metrics.loss ASC")
        .max_results(10),                                    // page.next_page_token for more
)?;
let experiments = client.search_experiments(SearchExperiments::new().filter("name LIKE 'fraud%'"))?;
let run_id = &best[0].info.run_id;
let window = client.metric_history(run_id, "loss", &HistoryQuery::new().steps(1_000..=1_999))?;
let plot = client.metric_history(run_id, "loss", &HistoryQuery::new().max_points(300))?; // min/max per bucket
let compare = client.get_metric_history_bulk(&[run_id.as_str()], "loss", &HistoryQuery::new())?;
let mut buffer = Vec::new(); // a plot that refreshes reuses one buffer (no fresh pages to clear)
client.metric_history_into(run_id, "loss", &HistoryQuery::new(), &mut buffer)?;
let report = runlog::compact::compact(client.store_dir())?;  // also runs in the background by policy
    assert_eq!((best.len(), experiments.len()), (1, 1));
    assert_eq!(buffer, compare[0].1);
    assert_eq!((window.len(), compare.len()), (1_000, 1));
    assert!(plot.len() <= 300 && report.points > 0);
    Ok(())
}

#[rustfmt::skip]
fn using_the_storage_core() -> Result<(), Box<dyn std::error::Error>> {
use runlog::engine::{Record, Replay, Store};

let store = Store::open("mlruns")?;                        // or Store::open_with(path, Options)
let run = "5f0c6e8e0a3b4c7d9e1f2a3b4c5d6e7f";
store.append(&Record::Param { run_id: run, key: "lr", value: "0.01" })?;
let loss = store.metric_handle(run, "loss")?;               // for hot loops: no allocation, no hashing per call
for step in 0..1000 {
    loss.log(0.5, step)?;                                   // timestamp: the store clock (ms)
}
store.log_metric(run, "accuracy", runlog::Metric { value: 0.9, timestamp: store.now_ms(), step: 999 })?;  // by key, when no handle is at hand
store.flush()?;                                             // on disk when this returns Ok
store.close()?;                                             // or drop: flushes and joins the writer

for item in Replay::open("mlruns")? {                       // every record, in write order per lane
    let replayed = item?;                                   // Err(StorageError::Corrupt(_)) for damage, then it goes on
    println!("{:?}", replayed.event);
}
// replay.refresh()? then iterating again follows live writers: new entries, segments, lanes
let summary = runlog::engine::verify("mlruns")?;                    // every CRC and rule, segments checked in parallel
assert!(summary.corrupt.is_empty());
    Ok(())
}

/// One test runs the three in order (they share the working directory).
#[test]
fn readme_examples_run() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    std::fs::write("model.bin", b"weights").unwrap();
    tracking_as_in_mlflow().unwrap();
    search_history_compaction().unwrap();
    using_the_storage_core().unwrap();
}
