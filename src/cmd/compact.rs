//! `runlog compact`: compact the store now.

use std::io::{self, Write};
use std::path::Path;

use super::table::write_json;
use super::CliError;
use crate::Outcome;

pub(crate) fn run(store: &Path, json: bool) -> Result<Outcome, CliError> {
    // The bar counts segment bytes; a live writer's segment is not
    // compacted, so it may end short of the total.
    // Only for the bar: the compaction itself says what is wrong with the
    // store, if anything.
    let total = super::stats::dir_bytes(&store.join("lanes")).unwrap_or(0);
    let bar = super::progress::bar("compacting", total, true);
    // A store being written compacts itself in the background: wait for
    // that compaction to end, then compact what is left.
    let options = runlog::compact::CompactOptions {
        wait_for_other: true,
        ..Default::default()
    };
    let result = runlog::compact::compact_with_progress(store, &options, &|so_far| {
        bar.set_position(so_far.bytes_in)
    });
    bar.finish_and_clear();
    let report = result?;
    let mut out = io::stdout().lock();
    if json {
        write_json(&mut out, &report)?;
    } else {
        writeln!(out, "generations written  {}", report.generations)?;
        writeln!(out, "segments replaced    {}", report.segments)?;
        writeln!(out, "records              {}", report.records)?;
        writeln!(out, "metric points        {}", report.points)?;
        writeln!(out, "bytes in             {}", report.bytes_in)?;
        writeln!(out, "bytes out            {}", report.bytes_out)?;
        writeln!(out, "damaged segments     {}", report.damaged_segments)?;
        writeln!(out, "leftovers removed    {}", report.leftovers_removed)?;
        if report.manifest_rebuilt {
            writeln!(out, "manifest rebuilt     yes (it was damaged or missing)")?;
        }
        let recovered = &report.recovery.lanes_recovered;
        if !recovered.is_empty() {
            writeln!(out, "dead lanes recovered {}", recovered.len())?;
        }
    }
    if report.unlisted_generations.is_empty() {
        return Ok(Outcome::Ok);
    }
    // Damage: kept in place, and said on stderr whatever the format.
    let numbers: Vec<String> = report
        .unlisted_generations
        .iter()
        .map(u64::to_string)
        .collect();
    eprintln!(
        "runlog: generation files no manifest lists were kept as they are (generations {}); \
         run `runlog verify`",
        numbers.join(", ")
    );
    Ok(Outcome::Failed)
}
