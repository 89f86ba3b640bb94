//! The experiment chosen by environment variable, as in MLflow's docs:
//!
//! ```sh
//! export MLFLOW_EXPERIMENT_NAME=fraud-detection
//! cargo run --example fraud_detection
//! ```
//!
//! Every run the program starts goes to `fraud-detection` (created when
//! missing) without the code naming it. Without the variable, runs go to
//! the default experiment `0`.

use runlog::StartRun;

fn main() -> runlog::Result<()> {
    let run = runlog::start_run_with(StartRun::new().run_name("gradient-boosting"))?;
    runlog::log_params([("max_depth", "6"), ("n_estimators", "200")])?;
    runlog::log_metrics([("auc", 0.947), ("recall", 0.81)], 0)?;
    let info = run.run()?.info;
    let experiment = runlog::get_experiment(&info.experiment_id)?;
    println!(
        "run {} ({}) logged to experiment '{}' (id {})",
        info.run_name, info.run_id, experiment.name, experiment.experiment_id
    );
    Ok(())
}
