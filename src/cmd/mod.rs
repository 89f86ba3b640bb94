//! One module per command, each using only the library's public API.

mod compact;
#[cfg(feature = "import")]
mod import;
mod ingest;
mod metrics;
mod models;
mod plot;
mod progress;
mod replay;
#[cfg(feature = "server")]
mod server;
mod stats;
#[cfg(feature = "remote")]
mod sync;
mod table;
mod tracking;
mod verify;

use std::io;
use std::path::Path;

use crate::args::Command;
use crate::Outcome;

/// An error of a command: the library's, or writing the output.
#[derive(Debug)]
pub(crate) enum CliError {
    Runlog(runlog::Error),
    Io(io::Error),
    /// Arguments that parse but make no sense together (exit code 2).
    Usage(String),
    /// Drawing a chart failed.
    Plot(String),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Runlog(e) => write!(f, "{e}"),
            CliError::Io(e) => write!(f, "writing output: {e}"),
            CliError::Usage(m) => write!(f, "{m}"),
            CliError::Plot(m) => write!(f, "drawing the chart: {m}"),
        }
    }
}

impl From<runlog::Error> for CliError {
    fn from(e: runlog::Error) -> Self {
        CliError::Runlog(e)
    }
}

/// The engine operations' own errors, each as the crate's error.
macro_rules! from_engine_errors {
    ($($error:ty),*) => {$(
        impl From<$error> for CliError {
            fn from(e: $error) -> Self {
                CliError::Runlog(e.into())
            }
        }
    )*};
}

from_engine_errors!(
    runlog::engine::StorageError,
    runlog::engine::LogError,
    runlog::compact::CompactError
);

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Io(e)
    }
}

/// Runs one command against the store at `store`.
pub(crate) fn run(command: &Command, store: &Path) -> Result<Outcome, CliError> {
    match command {
        Command::Replay { json } => replay::run(store, *json),
        Command::Verify { json } => verify::run(store, *json),
        Command::Compact { json } => compact::run(store, *json),
        Command::Stats { json } => stats::run(store, *json),
        Command::Experiments(cmd) => tracking::experiments(store, cmd),
        Command::Runs(cmd) => tracking::runs(store, cmd),
        Command::Models(cmd) => models::run(store, cmd),
        Command::Metrics(cmd) => metrics::run(store, cmd),
        Command::Ingest { input, json } => ingest::run(store, input, *json),
        #[cfg(feature = "server")]
        Command::Server(args) => server::run(store, args),
        #[cfg(feature = "server")]
        Command::Ui { port, safety } => server::ui(store, *port, safety),
        #[cfg(feature = "remote")]
        Command::Sync(args) => sync::run(store, args),
        #[cfg(feature = "import")]
        Command::Import { from, json } => import::run(store, from, *json),
    }
}
