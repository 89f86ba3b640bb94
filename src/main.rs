//! The `runlog` command line: store tools over the public library API.
//!
//! Exit codes: 0 success, 1 runtime error (or corruption found by
//! `verify`), 2 usage error. A closed output pipe (`runlog replay | head`)
//! ends the program quietly with 0.

mod args;
mod cmd;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

/// What a command ended with.
pub(crate) enum Outcome {
    /// Success.
    Ok,
    /// The command ran, and what it checked failed (e.g. corruption found).
    Failed,
}

fn main() -> ExitCode {
    let args = args::Cli::parse();
    let uri = args
        .tracking_uri
        .clone()
        .unwrap_or_else(runlog::uri::tracking_uri_from_env);
    let result = runlog::uri::store_path(&uri)
        .map_err(cmd::CliError::from)
        .and_then(|store| cmd::run(&args.command, &store));
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Err(cmd::CliError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e @ cmd::CliError::Usage(_)) => {
            eprintln!("runlog: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            let _ = io::stdout().flush();
            eprintln!("runlog: {e}");
            ExitCode::from(1)
        }
    }
}
