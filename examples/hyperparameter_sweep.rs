//! A parent run with one nested child run per trial of a sweep, as in
//! MLflow's docs:
//!
//! ```python
//! with mlflow.start_run():
//!     mlflow.log_param("num_trials", num_trials)
//!     for params in trials:
//!         with mlflow.start_run(nested=True):
//!             mlflow.log_params(params)
//!             mlflow.log_metric("loss", loss)
//!     mlflow.log_metric("best_loss", best_loss)
//! ```
//!
//! `cargo run --example hyperparameter_sweep`

use runlog::StartRun;

/// A stand-in for training: the loss of a quadratic bowl around lr = 0.03.
fn train(lr: f64, layers: u32) -> f64 {
    (lr.log10() - 0.03f64.log10()).powi(2) + 0.01 * f64::from(layers)
}

fn main() -> runlog::Result<()> {
    runlog::set_experiment("sweep")?;
    let trials: Vec<(f64, u32)> = [0.001, 0.01, 0.03, 0.1]
        .iter()
        .flat_map(|lr| [2, 4].map(|layers| (*lr, layers)))
        .collect();
    let parent = runlog::start_run_with(StartRun::new().run_name("lr-sweep"))?;
    runlog::log_param("num_trials", trials.len())?;
    let mut best = (f64::INFINITY, String::new());
    for (lr, layers) in &trials {
        let child = runlog::start_run_with(StartRun::new().nested(true))?;
        runlog::log_params([("lr", lr.to_string()), ("layers", layers.to_string())])?;
        let loss = train(*lr, *layers);
        runlog::log_metric("loss", loss, 0)?;
        if loss < best.0 {
            best = (loss, child.run_id().to_owned());
        }
    } // each child ends when its guard drops
    runlog::log_metric("best_loss", best.0, 0)?;
    runlog::set_tag("best_run", &best.1)?;
    let parent_id = parent.run_id().to_owned();
    drop(parent);

    let client = runlog::client()?;
    let best_run = client.get_run(&best.1)?;
    println!(
        "parent {parent_id}: {} trials, best loss {:.4} with lr={} layers={} (child {})",
        trials.len(),
        best.0,
        best_run.data.params["lr"],
        best_run.data.params["layers"],
        best.1
    );
    Ok(())
}
