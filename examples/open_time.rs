//! Opens a store with the tracking client and says how long that took and
//! what it found: the measurement behind "open a store of 100 M points".
//!
//! `cargo run --release --example open_time -- --tracking-uri /tmp/big [--compact]`

use std::time::Instant;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// The store: a directory or a file: URI [env: MLFLOW_TRACKING_URI] [default: mlruns]
    #[arg(long)]
    tracking_uri: Option<String>,
    /// Compact the store first (and say what that did).
    #[arg(long)]
    compact: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let uri = args
        .tracking_uri
        .unwrap_or_else(runlog::uri::tracking_uri_from_env);
    if args.compact {
        let t = Instant::now();
        let report = runlog::compact::compact(&runlog::uri::store_path(&uri)?)?;
        println!(
            "compacted {} segments ({} points) into {} generations in {:.1} s: {} bytes in, {} out",
            report.segments,
            report.points,
            report.generations,
            t.elapsed().as_secs_f64(),
            report.bytes_in,
            report.bytes_out
        );
    }
    let t = Instant::now();
    let options = runlog::Options::default().auto_compact(None);
    let client = runlog::Client::builder()
        .store(runlog::uri::store_path(&uri)?)
        .options(options)
        .open()?;
    let opened = t.elapsed();
    let experiments = client.search_experiments(runlog::ViewType::All)?;
    let mut runs = 0;
    for e in experiments.iter() {
        runs += client
            .list_runs(&e.experiment_id, runlog::ViewType::All)?
            .len();
    }
    let manifest = runlog::log::manifest::Manifest::load(client.store_dir())?;
    println!(
        "opened {} in {:.1} ms: {} experiments, {runs} runs, {} generations",
        client.store_dir().display(),
        opened.as_secs_f64() * 1e3,
        experiments.len(),
        manifest.generations.len()
    );
    Ok(())
}
