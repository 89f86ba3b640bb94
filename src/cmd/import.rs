//! `runlog import --from PATH_OR_URI`: MLflow's data into the store.

use std::io::{self, Write};
use std::path::Path;

use runlog::import::{import, Source};

use super::table::write_json;
use super::tracking::client;
use super::CliError;
use crate::Outcome;

pub(crate) fn run(store: &Path, from: &str, json: bool) -> Result<Outcome, CliError> {
    let source = Source::parse(from)?;
    let client = client(store)?;
    let bar = super::progress::counter("importing", "");
    let result = import(&client, &source);
    bar.finish_and_clear();
    let summary = result?;
    let mut out = io::stdout().lock();
    if json {
        write_json(&mut out, &summary)?;
    } else {
        writeln!(out, "experiments created  {}", summary.experiments)?;
        writeln!(out, "runs imported        {}", summary.runs)?;
        writeln!(out, "runs already present {}", summary.runs_present)?;
        writeln!(out, "params               {}", summary.params)?;
        writeln!(out, "tags                 {}", summary.tags)?;
        writeln!(out, "metric points        {}", summary.points)?;
        writeln!(out, "dataset inputs       {}", summary.inputs)?;
        writeln!(out, "logged models        {}", summary.logged_models)?;
        writeln!(out, "registered models    {}", summary.registered_models)?;
        writeln!(out, "model versions       {}", summary.model_versions)?;
    }
    if summary.problems.is_empty() {
        return Ok(Outcome::Ok);
    }
    for p in &summary.problems {
        eprintln!("runlog: not imported: {p}");
    }
    Ok(Outcome::Failed)
}
