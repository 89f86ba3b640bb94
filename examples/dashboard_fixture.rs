//! Stores for measuring the dashboard (BENCHMARKS.md, "The dashboard"):
//!
//! `cargo run --release --example dashboard_fixture -- DIR`
//!
//! makes, in the store at DIR, three experiments and compacts them:
//! - `long`: 10 runs x 8 keys x 1,000,000 steps (80 M points), the
//!   first run's `loss` with a spike at step 777,777;
//! - `sweep`: 10,000 finished runs, each with 3 params and 3 metrics;
//! - `wide`: 100 runs x 1 key x 2,000 steps.
//!
//! and prints each experiment's id and, for `long` and `wide`, the run ids
//! (comma-separated) for the dashboard's address.

use std::time::Instant;

use clap::Parser;
use runlog::curves::Noise;
use runlog::{Client, Metric, NewRun, RunStatus};

#[derive(Parser)]
struct Args {
    /// The store directory (created).
    dir: std::path::PathBuf,
    /// Steps of each run of `long`.
    #[arg(long, default_value_t = 1_000_000)]
    long_steps: i64,
    /// Runs of `sweep`.
    #[arg(long, default_value_t = 10_000)]
    sweep_runs: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let client = Client::new(&args.dir.display().to_string())?;
    let t0 = Instant::now();
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);

    let long = client.create_experiment("long")?;
    let mut long_runs = Vec::new();
    for r in 0..10 {
        let id = client
            .create_run(NewRun::new(&long).run_name(format!("long-{r}")))?
            .info
            .run_id;
        let handles = (0..8)
            .map(|k| {
                client.metric_handle(
                    &id,
                    &if k == 0 {
                        "loss".into()
                    } else {
                        format!("metric_{k}")
                    },
                )
            })
            .collect::<runlog::Result<Vec<_>>>()?;
        let decay = args.long_steps as f64 / (4.0 + r as f64);
        for step in 0..args.long_steps {
            let clean = 2.5 * (-(step as f64) / decay).exp() + 0.05;
            for (k, h) in handles.iter().enumerate() {
                let mut value = clean * (k + 1) as f64 + 0.02 * noise.gaussian();
                if r == 0 && k == 0 && step == 777_777 {
                    value = 50.0;
                }
                h.log_at(Metric {
                    value,
                    timestamp: 1_700_000_000_000 + step * 5,
                    step,
                })?;
            }
        }
        client.set_terminated(&id, RunStatus::Finished)?;
        long_runs.push(id);
    }
    client.flush()?;
    eprintln!("long: {:.1} s", t0.elapsed().as_secs_f64());

    let sweep = client.create_experiment("sweep")?;
    for r in 0..args.sweep_runs {
        let id = client
            .create_run(NewRun::new(&sweep).run_name(format!("trial-{r}")))?
            .info
            .run_id;
        client.log_param(&id, "lr", format!("{}", 10f64.powi(-((r % 5) as i32))))?;
        client.log_param(&id, "batch", format!("{}", 16 << (r % 4)))?;
        client.log_param(&id, "seed", r.to_string())?;
        for (k, key) in ["loss", "acc", "val_loss"].iter().enumerate() {
            client.log_metric_at(
                &id,
                key,
                Metric {
                    value: noise.uniform() * (k + 1) as f64,
                    timestamp: 1_700_000_000_000 + r as i64,
                    step: 100,
                },
            )?;
        }
        client.set_terminated(&id, RunStatus::Finished)?;
    }
    client.flush()?;
    eprintln!("sweep: {:.1} s", t0.elapsed().as_secs_f64());

    let wide = client.create_experiment("wide")?;
    let mut wide_runs = Vec::new();
    for r in 0..100 {
        let id = client
            .create_run(NewRun::new(&wide).run_name(format!("wide-{r}")))?
            .info
            .run_id;
        let h = client.metric_handle(&id, "loss")?;
        for step in 0..2_000i64 {
            h.log_at(Metric {
                value: (1.0 + r as f64 / 50.0) * (-(step as f64) / 500.0).exp()
                    + 0.01 * noise.gaussian(),
                timestamp: 1_700_000_000_000 + step,
                step,
            })?;
        }
        client.set_terminated(&id, RunStatus::Finished)?;
        wide_runs.push(id);
    }
    client.flush()?;
    drop(client);
    let report = runlog::compact::compact(&args.dir)?;
    eprintln!(
        "wide and compaction: {:.1} s ({} generations)",
        t0.elapsed().as_secs_f64(),
        report.generations
    );
    println!("long {long} {}", long_runs.join(","));
    println!("sweep {sweep}");
    println!("wide {wide} {}", wide_runs.join(","));
    Ok(())
}
