//! `runlog compact`: compact the store now.

use std::io::{self, Write};
use std::path::Path;

use super::table::write_json;
use super::CliError;
use crate::Outcome;

pub(crate) fn run(store: &Path, json: bool) -> Result<Outcome, CliError> {
    let report = runlog::compact::compact(store)?;
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
    }
    Ok(Outcome::Ok)
}
