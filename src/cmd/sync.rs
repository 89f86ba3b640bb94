//! `runlog sync --to URI`: push the store to an MLflow tracking server.

use std::io::{self, Write};
use std::path::Path;

use runlog::remote::{sync, Connection, MlflowServer, SyncEvent, SyncOptions};

use super::table::write_json;
use super::CliError;
use crate::args::SyncArgs;
use crate::Outcome;

pub(crate) fn run(store: &Path, args: &SyncArgs) -> Result<Outcome, CliError> {
    if !runlog::uri::is_server_uri(&args.to) {
        return Err(CliError::Usage(format!(
            "--to takes the server's http:// or https:// URI, not {:?}",
            args.to
        )));
    }
    let client = runlog::Client::builder().store(store).read_only().open()?;
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
        if args.dry_run {
            writeln!(out, "dry run: nothing was sent")?;
        }
        let s = &summary;
        let rows: Vec<(String, String)> = vec![
            ("server".into(), server.uri().to_owned()),
            (
                format!("experiments {verb}created"),
                s.experiments_created.to_string(),
            ),
            (format!("runs {verb}created"), s.runs_created.to_string()),
            (
                format!("runs {verb}continued"),
                s.runs_continued.to_string(),
            ),
            ("runs up to date".into(), s.runs_unchanged.to_string()),
            (format!("params {verb}sent"), s.params.to_string()),
            (format!("tags {verb}sent"), s.tags.to_string()),
            (format!("metric points {verb}sent"), s.points.to_string()),
            (format!("inputs {verb}sent"), s.inputs.to_string()),
            (
                format!("artifacts {verb}sent"),
                format!("{} ({} bytes)", s.artifacts, s.artifact_bytes),
            ),
            (
                format!("logged models {verb}created"),
                s.logged_models.to_string(),
            ),
            (
                format!("model metrics {verb}sent"),
                s.model_metrics.to_string(),
            ),
            (format!("model links {verb}sent"), s.model_links.to_string()),
            (
                format!("registered models {verb}created"),
                s.registered_models.to_string(),
            ),
            (
                format!("model versions {verb}created"),
                s.model_versions.to_string(),
            ),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (label, value) in rows {
            writeln!(out, "{label:<width$}  {value}")?;
        }
    }
    if summary.failures.is_empty() {
        return Ok(Outcome::Ok);
    }
    for f in &summary.failures {
        eprintln!("runlog: not synced: {f}");
    }
    Ok(Outcome::Failed)
}
