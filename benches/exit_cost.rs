//! What the compaction after exit costs the exiting process: the time of
//! `runlog::compact::compact_after_exit` (taking the compaction lock and
//! forking the compacting child), for a process of a given resident size,
//! and how long the child then takes to compact. Run by
//! `benches/exit_compaction.sh`.
//!
//! `runlog-exit-cost [--rss-mib N] [--points N] [--rounds N]`

use std::time::{Duration, Instant};

use runlog::compact::{compact_after_exit, wait_for_compaction, ExitingLanes};
use runlog::engine::Store;
use runlog::Options;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rss_mib = arg("--rss-mib", 0);
    let points = arg("--points", 800_000);
    let rounds = arg("--rounds", 9).max(1);
    // Memory of the process's own, touched, as a trained model's would be.
    let ballast: Vec<u8> = vec![1; (rss_mib as usize) << 20];
    let mut forks = Vec::new();
    let mut compactions = Vec::new();
    for _ in 0..rounds {
        let dir = tempfile::tempdir()?;
        // A writer's lane, closed: the child finds it free at once.
        let store = Store::open_with(dir.path(), Options::default().auto_compact(None))?;
        let lane = store.lane();
        let h = store.metric_handle("00000000000000000000000000000001", "loss")?;
        for step in 0..points as i64 {
            h.log(step as f64, step)?;
        }
        store.close()?;
        let mut lanes = ExitingLanes::default();
        lanes.push(dir.path(), lane);
        let t0 = Instant::now();
        if !compact_after_exit(&lanes)? {
            println!("rss {rss_mib} MiB of ballast: above the bound, no compaction after exit");
            return Ok(());
        }
        forks.push(t0.elapsed());
        wait_for_compaction(dir.path(), &|| {})?;
        compactions.push(t0.elapsed());
    }
    println!(
        "rss {} MiB, {points} points: exit waits {:.3} ms (median of {rounds}), the child compacts in {:.1} ms",
        ballast.len() >> 20,
        median(forks).as_secs_f64() * 1e3,
        median(compactions).as_secs_f64() * 1e3,
    );
    Ok(())
}
