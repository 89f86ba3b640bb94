//! Threads each logging to their own nested child run, as in MLflow's docs:
//! the active-run stack is per thread, so each thread starts its child with
//! the parent's id and logs to it with the fluent functions.
//!
//! `cargo run --example threaded_runs`

use runlog::StartRun;

fn main() -> runlog::Result<()> {
    let parent = runlog::start_run_with(StartRun::new().run_name("threaded-parent"))?;
    let parent_id = parent.run_id().to_owned();
    let children = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let parent_id = parent_id.clone();
                s.spawn(move || -> runlog::Result<String> {
                    let child = runlog::start_run_with(
                        StartRun::new()
                            .nested(true)
                            .parent_run_id(parent_id)
                            .run_name(format!("thread-{t}")),
                    )?;
                    runlog::log_param("thread", t)?;
                    for step in 0..1_000 {
                        runlog::log_metric("loss", 1.0 / (step + t + 1) as f64, step)?;
                    }
                    Ok(child.run_id().to_owned())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<runlog::Result<Vec<_>>>()
    })?;
    drop(parent);
    let client = runlog::client()?;
    for id in children {
        let run = client.get_run(&id)?;
        println!(
            "{} {} parent {} status {}",
            run.info.run_name,
            id,
            run.data.tags["mlflow.parentRunId"],
            run.info.status.as_str()
        );
    }
    Ok(())
}
