//! MLflow's first tracking example, line by line: a run that logs the
//! metric `quality` at three steps.
//!
//! ```python
//! with mlflow.start_run():
//!     for epoch in range(0, 3):
//!         mlflow.log_metric(key="quality", value=2 * epoch, step=epoch)
//! ```
//!
//! `cargo run --example quality_metric` (store: `MLFLOW_TRACKING_URI`, default `mlruns`)

fn main() -> runlog::Result<()> {
    let run = runlog::start_run()?;
    for epoch in 0..3 {
        runlog::log_metric("quality", 2.0 * epoch as f64, epoch)?;
    }
    let run_id = run.run_id().to_owned();
    drop(run); // ends the run, FINISHED

    let history = runlog::client()?.get_metric_history(&run_id, "quality")?;
    for point in &history {
        println!("step {} quality {}", point.step, point.value);
    }
    println!("run {run_id}");
    Ok(())
}
