//! `runlog verify`: check every byte, print a summary.

use std::io::{self, Write};
use std::path::Path;

use super::CliError;
use crate::Outcome;

pub(crate) fn run(store: &Path, json: bool) -> Result<Outcome, CliError> {
    let summary = super::progress::verified(store)?;
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &summary).map_err(io::Error::from)?;
        writeln!(out)?;
    } else {
        writeln!(out, "store          {}", store.display())?;
        writeln!(out, "lanes          {}", summary.lanes)?;
        writeln!(out, "generations    {}", summary.generations)?;
        writeln!(out, "segments       {}", summary.segments)?;
        writeln!(out, "entries        {}", summary.entries)?;
        writeln!(out, "metric points  {}", summary.metric_points)?;
        writeln!(
            out,
            "other records  {}",
            summary.events - summary.metric_points
        )?;
        writeln!(out, "bytes          {}", summary.bytes)?;
        writeln!(out, "torn tails     {}", summary.torn.len())?;
        for t in &summary.torn {
            writeln!(
                out,
                "  lane {} segment {} at byte {}: {} bytes, {} incomplete entries (cut on next open)",
                t.lane, t.segment, t.offset, t.bytes, t.entries
            )?;
        }
        writeln!(out, "corrupt        {}", summary.corrupt.len())?;
        for d in &summary.corrupt {
            writeln!(
                out,
                "  lane {} segment {} at byte {}: {} bytes: {}",
                d.lane, d.segment, d.offset, d.len, d.reason
            )?;
        }
        writeln!(
            out,
            "{}",
            if summary.corrupt.is_empty() {
                "ok"
            } else {
                "CORRUPT"
            }
        )?;
    }
    Ok(if summary.corrupt.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
