//! A simulated training loop logging through the tracking API.
//!
//! `cargo run --release --example train_loop -- --steps 100000 --keys 8`
//!
//! Starts a run in the active experiment (default `0`), logs its params,
//! then one point per key per step through metric handles: `loss`
//! (exponential decay plus Gaussian noise) and `metric_1`, `metric_2`, ...;
//! ends the run, reads it back, and prints the throughput and the bytes per
//! point on disk.

use std::time::Instant;

use clap::Parser;
use runlog::curves::Noise;
use runlog::RunStatus;

#[derive(Parser)]
struct Args {
    /// Training steps to simulate.
    #[arg(long, default_value_t = 100_000)]
    steps: i64,
    /// Metrics logged per step (the first is `loss`).
    #[arg(long, default_value_t = 8)]
    keys: usize,
    /// The store: a directory or a file: URI, or a tracking server
    /// (http://, https://) [env: MLFLOW_TRACKING_URI] [default: mlruns]
    #[arg(long)]
    tracking_uri: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.keys == 0 || args.steps <= 0 {
        return Err("--steps and --keys must be at least 1".into());
    }
    if let Some(uri) = &args.tracking_uri {
        runlog::set_tracking_uri(uri)?;
    }
    let client = runlog::client()?;
    let report = client.store()?.recovery_report();
    if !report.is_clean() {
        eprintln!("recovered the store: {report:?}");
    }

    // A new run in the active experiment (MLFLOW_EXPERIMENT_NAME /
    // MLFLOW_EXPERIMENT_ID, else the default experiment "0").
    let run = runlog::start_run()?;
    runlog::log_params([
        ("steps", args.steps.to_string()),
        ("keys", args.keys.to_string()),
    ])?;
    let handles = (0..args.keys)
        .map(|k| match k {
            0 => run.metric_handle("loss"),
            k => run.metric_handle(&format!("metric_{k}")),
        })
        .collect::<runlog::Result<Vec<_>>>()?;

    let seed = runlog::clock::wall_clock_ms() as u64 ^ (u64::from(std::process::id()) << 32);
    let mut noise = Noise(seed | 1);
    let before = client.store()?.stats();
    let t0 = Instant::now();
    let decay = args.steps as f64 / 5.0;
    for step in 0..args.steps {
        let clean = 2.5 * (-(step as f64) / decay).exp() + 0.05;
        handles[0].log(clean + 0.02 * noise.gaussian(), step)?;
        for (k, h) in handles.iter().enumerate().skip(1) {
            h.log(clean * k as f64 + noise.uniform(), step)?;
        }
    }
    let logged = t0.elapsed();
    client.flush()?;
    let flushed = t0.elapsed();
    let after = client.store()?.stats();
    let run_id = run.run_id().to_owned();
    // An http(s):// tracking URI: logged to a local spool, synced to the
    // server in the background; this waits until the server has it all.
    let synced = match client.is_remote() {
        true => {
            client.wait_synced(std::time::Duration::from_secs(3600))?;
            Some(t0.elapsed())
        }
        false => None,
    };
    run.end(RunStatus::Finished)?; // also flushes

    let finished = client.get_run(&run_id)?;
    let loss = finished.data.metrics["loss"];
    let points = args.steps as u64 * args.keys as u64;
    let bytes = after.bytes - before.bytes;
    println!(
        "run {} ({}) in experiment {}, {}",
        finished.info.run_name,
        run_id,
        finished.info.experiment_id,
        client.store_dir().display()
    );
    println!(
        "status {}; final loss {:.4} at step {}",
        finished.info.status.as_str(),
        loss.value,
        loss.step
    );
    println!(
        "logged {points} points in {:.3} s: {:.1} M points/s, {:.1} ns per log call",
        logged.as_secs_f64(),
        points as f64 / logged.as_secs_f64() / 1e6,
        logged.as_nanos() as f64 / points as f64
    );
    println!(
        "on disk after flush in {:.3} s: {:.1} M points/s end to end",
        flushed.as_secs_f64(),
        points as f64 / flushed.as_secs_f64() / 1e6
    );
    if let Some(synced) = synced {
        println!(
            "acknowledged by {} after {:.3} s: {:.0} points/s end to end",
            client.tracking_uri(),
            synced.as_secs_f64(),
            points as f64 / synced.as_secs_f64()
        );
    }
    println!(
        "{bytes} bytes written, {:.1} bytes per point; {} batches, {} fsyncs, queue high-water {}",
        bytes as f64 / points as f64,
        after.batches - before.batches,
        after.fsyncs - before.fsyncs,
        after.queue_high_water
    );
    Ok(())
}
