//! Parallel runs in child processes, as in MLflow's docs ("launching
//! multiple runs in one program"): the program starts itself again as
//! workers; each worker process creates its own run in the same store and
//! experiment, concurrently.
//!
//! `cargo run --example parallel_runs -- --workers 4`

use std::process::Command;

use runlog::{StartRun, ViewType};

fn worker(index: u32) -> runlog::Result<()> {
    runlog::set_experiment("parallel-runs")?;
    let run = runlog::start_run_with(StartRun::new().run_name(format!("worker-{index}")))?;
    runlog::log_param("worker", index)?;
    let loss = run.metric_handle("loss")?;
    for step in 0..10_000 {
        loss.log(f64::from(index + 1) / (step + 1) as f64, step)?;
    }
    println!("worker {index}: run {}", run.run_id());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--worker") {
        let index = args.get(i + 1).ok_or("--worker needs an index")?.parse()?;
        return Ok(worker(index)?);
    }
    let workers: u32 = match args.iter().position(|a| a == "--workers") {
        Some(i) => args.get(i + 1).ok_or("--workers needs a count")?.parse()?,
        None => 4,
    };
    // Create the experiment first, so the workers only look it up.
    let experiment = runlog::set_experiment("parallel-runs")?;
    let exe = std::env::current_exe()?;
    let children = (0..workers)
        .map(|i| {
            Command::new(&exe)
                .args(["--worker", &i.to_string()])
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()?;
    for mut child in children {
        if !child.wait()?.success() {
            return Err("a worker failed".into());
        }
    }
    let runs = runlog::client()?.list_runs(&experiment.experiment_id, ViewType::ActiveOnly)?;
    println!("experiment 'parallel-runs' has {} runs:", runs.len());
    for run in runs {
        println!(
            "  {} {} {} loss {:.6}",
            run.info.run_name,
            run.info.run_id,
            run.info.status.as_str(),
            run.data.metrics["loss"].value
        );
    }
    Ok(())
}
