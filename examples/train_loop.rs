//! A simulated training loop logging through the storage engine.
//!
//! `cargo run --release --example train_loop -- --steps 100000 --keys 8`
//!
//! Creates a run, logs its params, then one point per key per step: `loss`
//! (exponential decay plus Gaussian noise) and `metric_1`, `metric_2`, ...;
//! flushes, and prints the throughput and the bytes per point on disk.

use std::time::Instant;

use clap::Parser;
use runlog::{Record, RunStatus, Store};

#[derive(Parser)]
struct Args {
    /// Training steps to simulate.
    #[arg(long, default_value_t = 100_000)]
    steps: i64,
    /// Metrics logged per step (the first is `loss`).
    #[arg(long, default_value_t = 8)]
    keys: usize,
    /// The store: a directory or a file: URI [env: MLFLOW_TRACKING_URI] [default: mlruns]
    #[arg(long)]
    tracking_uri: Option<String>,
}

/// xorshift64* with Box-Muller: reproducible Gaussian noise without a dependency.
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn gaussian(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.keys == 0 || args.steps <= 0 {
        return Err("--steps and --keys must be at least 1".into());
    }
    let uri = args
        .tracking_uri
        .unwrap_or_else(runlog::tracking_uri_from_env);
    let path = runlog::store_path(&uri)?;
    let store = Store::open(&path)?;
    let report = store.recovery_report();
    if !report.is_clean() {
        eprintln!("recovered the store: {report:?}");
    }

    let seed = runlog::wall_clock_ms() as u64 ^ (u64::from(std::process::id()) << 32);
    let mut noise = Noise(seed | 1);
    let run_id = format!(
        "{:016x}{:016x}",
        noise.0.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        seed
    );
    let start = store.now_ms();
    store.append(&Record::CreateRun {
        run_id: run_id.as_str(),
        experiment_id: "0",
        run_name: "train-loop",
        user_id: &std::env::var("USER").unwrap_or_default(),
        start_time: start,
    })?;
    for (key, value) in [
        ("steps", args.steps.to_string()),
        ("keys", args.keys.to_string()),
    ] {
        store.append(&Record::Param {
            run_id: run_id.as_str(),
            key,
            value: value.as_str(),
        })?;
    }

    let handles = (0..args.keys)
        .map(|k| {
            let key = if k == 0 {
                "loss".to_owned()
            } else {
                format!("metric_{k}")
            };
            store.metric_handle(&run_id, &key)
        })
        .collect::<runlog::Result<Vec<_>>>()?;

    let before = store.stats();
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
    store.flush()?;
    let flushed = t0.elapsed();
    store.append(&Record::EndRun {
        run_id: run_id.as_str(),
        status: RunStatus::Finished,
        end_time: store.now_ms(),
    })?;
    store.flush()?;
    let after = store.stats();
    store.close()?;

    let points = args.steps as u64 * args.keys as u64;
    let bytes = after.bytes - before.bytes;
    println!("run {run_id} in {}", path.display());
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
    println!(
        "{bytes} bytes written, {:.1} bytes per point; {} batches, {} fsyncs, queue high-water {}",
        bytes as f64 / points as f64,
        after.batches - before.batches,
        after.fsyncs - before.fsyncs,
        after.queue_high_water
    );
    Ok(())
}
