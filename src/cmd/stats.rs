//! `runlog stats`: what a store holds and what it takes on disk.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use super::table::write_json;
use super::tracking::read_client;
use super::CliError;
use crate::Outcome;

/// The numbers `stats` prints (JSON field names as printed).
#[derive(Serialize)]
struct Stats {
    lanes: u64,
    segments: u64,
    generations: u64,
    experiments: usize,
    runs: usize,
    metric_points: u64,
    records: u64,
    bytes_on_disk: u64,
    bytes_per_point: f64,
    corrupt: usize,
}

pub(crate) fn run(store: &Path, json: bool) -> Result<Outcome, CliError> {
    // A compaction running (after a training program exited, say) is
    // rewriting the files measured here: their numbers once it is done.
    runlog::compact::wait_for_compaction(store, &|| {
        eprintln!("waiting for the compaction running on {}", store.display())
    })?;
    let summary = super::progress::verified(store)?;
    let c = read_client(store)?;
    let experiments = c.search_experiments(runlog::ViewType::All)?;
    let mut runs = 0;
    for e in experiments.iter() {
        runs += c.list_runs(&e.experiment_id, runlog::ViewType::All)?.len();
    }
    let bytes_on_disk = dir_bytes(&store.join("lanes"))? + dir_bytes(&store.join("compact"))?;
    let stats = Stats {
        lanes: summary.lanes,
        segments: summary.segments,
        generations: summary.generations,
        experiments: experiments.len(),
        runs,
        metric_points: summary.metric_points,
        records: summary.events - summary.metric_points,
        bytes_on_disk,
        bytes_per_point: if summary.metric_points == 0 {
            0.0
        } else {
            bytes_on_disk as f64 / summary.metric_points as f64
        },
        corrupt: summary.corrupt.len(),
    };
    let mut out = io::stdout().lock();
    if json {
        write_json(&mut out, &stats)?;
    } else {
        writeln!(out, "store            {}", store.display())?;
        writeln!(out, "lanes            {}", stats.lanes)?;
        writeln!(out, "segments         {}", stats.segments)?;
        writeln!(out, "generations      {}", stats.generations)?;
        writeln!(out, "experiments      {}", stats.experiments)?;
        writeln!(out, "runs             {}", stats.runs)?;
        writeln!(out, "metric points    {}", stats.metric_points)?;
        writeln!(out, "other records    {}", stats.records)?;
        writeln!(out, "bytes on disk    {}", stats.bytes_on_disk)?;
        writeln!(out, "bytes per point  {:.2}", stats.bytes_per_point)?;
        writeln!(out, "corrupt ranges   {}", stats.corrupt)?;
    }
    Ok(Outcome::Ok)
}

/// Bytes of the files under `dir` (0 when it does not exist).
pub(crate) fn dir_bytes(dir: &Path) -> io::Result<u64> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut total = 0;
    for item in read {
        let item = item?;
        let meta = item.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&item.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
