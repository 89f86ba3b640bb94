//! Command-line definitions (clap derive); no logic.

use clap::{Parser, Subcommand};

/// runlog: an append-only embedded metrics store with MLflow Tracking semantics.
#[derive(Debug, Parser)]
#[command(name = "runlog", version, about)]
pub(crate) struct Cli {
    /// The store: a directory or a file: URI [env: MLFLOW_TRACKING_URI] [default: mlruns]
    #[arg(long, global = true, value_name = "URI")]
    pub(crate) tracking_uri: Option<String>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print every valid entry of the store, one per line, in write order per
    /// lane (lanes interleaved by time). Corruption is reported on stderr and
    /// skipped; the exit code is then 1.
    Replay {
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check every CRC and rule of the store without changing it; print a
    /// summary and exit 1 when anything is corrupt.
    Verify {
        /// Print the summary as one JSON document.
        #[arg(long)]
        json: bool,
    },
}
