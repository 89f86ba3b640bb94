//! `runlog sync --to URI`: push the store to an MLflow tracking server.

use std::io::{self, Write};
use std::path::Path;

use runlog::remote::{sync, Connection, MlflowServer, SyncEvent, SyncOptions};

use super::table::write_json;
use super::CliError;
use crate::args::SyncArgs;
use crate::Outcome;

pub(crate) fn run(store: &Path, args: &SyncArgs) -> Result<Outcome, CliError> {
    if !runlog::remote::is_remote_uri(&args.to) {
        return Err(CliError::Usage(format!(
            "--to takes the server's http:// or https:// URI, not {:?}",
            args.to
        )));
    }
    let client = runlog::Client::open_read_only(store)?;
    let server = MlflowServer::new(Connection::from_env(&args.to))?;
    let options = SyncOptions {
        experiments: args.experiment.clone(),
        runs: args.run.clone(),
        dry_run: args.dry_run,
    };
    let bar = super::progress::bar("syncing", 0, false);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {pos}/{len} runs ({elapsed}, {eta} left) {prefix}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut points = 0u64;
    let mut runs = 0u64;
    let result = sync(&client, &server, &options, &mut |event| match event {
        SyncEvent::Runs(n) => bar.set_length(n as u64),
        SyncEvent::Run(_) => {
            bar.set_position(runs);
            runs += 1;
        }
        SyncEvent::Points(n) => {
            points += n;
            bar.set_prefix(format!("{points} points"));
        }
    });
    bar.finish_and_clear();
    let summary = result?;
    let mut out = io::stdout().lock();
    if args.json {
        write_json(&mut out, &summary)?;
    } else {
        let verb = if args.dry_run { "would be " } else { "" };
        writeln!(out, "server               {}", server.uri())?;
        if args.dry_run {
            writeln!(out, "dry run: nothing was sent")?;
        }
        writeln!(
            out,
            "experiments {verb}created  {}",
            summary.experiments_created
        )?;
        writeln!(out, "runs {verb}created         {}", summary.runs_created)?;
        writeln!(out, "runs {verb}continued       {}", summary.runs_continued)?;
        writeln!(out, "runs up to date      {}", summary.runs_unchanged)?;
        writeln!(out, "params {verb}sent          {}", summary.params)?;
        writeln!(out, "tags {verb}sent            {}", summary.tags)?;
        writeln!(out, "metric points {verb}sent   {}", summary.points)?;
        writeln!(out, "inputs {verb}sent          {}", summary.inputs)?;
        writeln!(
            out,
            "artifacts {verb}sent       {} ({} bytes)",
            summary.artifacts, summary.artifact_bytes
        )?;
        writeln!(out, "logged models {verb}created {}", summary.logged_models)?;
        writeln!(out, "model metrics {verb}sent   {}", summary.model_metrics)?;
        writeln!(out, "model links {verb}sent     {}", summary.model_links)?;
        writeln!(
            out,
            "registered models {verb}created {}",
            summary.registered_models
        )?;
        writeln!(
            out,
            "model versions {verb}created {}",
            summary.model_versions
        )?;
    }
    if summary.failures.is_empty() {
        return Ok(Outcome::Ok);
    }
    for f in &summary.failures {
        eprintln!("runlog: not synced: {f}");
    }
    Ok(Outcome::Failed)
}
