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
    /// Print every valid entry of the store, one per line.
    ///
    /// Entries come in write order per lane, lanes interleaved by time.
    /// Corruption is reported on stderr and skipped; the exit code is then 1.
    Replay {
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check every CRC and rule of the store, without changing it.
    ///
    /// Prints a summary; exits 1 when anything is corrupt.
    Verify {
        /// Print the summary as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Compact every sealed segment into generation files now.
    ///
    /// A store also compacts itself in the background; this waits for such a
    /// compaction to end first.
    Compact {
        /// Print the report as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// What the store holds and what it takes on disk.
    ///
    /// Lanes, segments, generations, experiments, runs, metric points,
    /// bytes on disk and bytes per point.
    Stats {
        /// Print the numbers as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Create, list, rename, delete and restore experiments.
    #[command(subcommand)]
    Experiments(Experiments),
    /// List, describe, search, delete and restore runs.
    #[command(subcommand)]
    Runs(Runs),
    /// List and describe MLflow 3's logged models and registered models.
    #[command(subcommand)]
    Models(Models),
    /// Read metric histories and plot them.
    #[command(subcommand)]
    Metrics(Metrics),
    /// Log JSON lines (from other languages) into the store.
    ///
    /// One record a line, by "type": experiment, run_start, param, tag,
    /// metric, run_end (fields in the README). Stops at the first bad line,
    /// naming it; every line before it is written.
    Ingest {
        /// The JSON lines file; - reads standard input.
        #[arg(value_name = "FILE")]
        input: std::path::PathBuf,
        /// Print the report as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Serve MLflow's tracking REST API over the store.
    ///
    /// MLflow's clients log into and read from the store unchanged:
    /// MLFLOW_TRACKING_URI=http://127.0.0.1:5000 python train.py. No
    /// authentication: it listens on loopback unless --host says otherwise.
    /// SIGINT or SIGTERM: stops accepting, finishes requests in flight,
    /// flushes, exits 0. The dashboard is at its root address.
    #[cfg(feature = "server")]
    Server(Box<ServerArgs>),
    /// Push the store to an MLflow tracking server (MLflow's or runlog's).
    ///
    /// Experiments are matched by name (created when missing); runs are
    /// created there with their params, tags, status, times, dataset
    /// inputs, full metric histories and artifacts. A second sync sends
    /// only what is new: what the server acknowledged is recorded in the
    /// store (<store>/sync/), so a run that grew is continued, and a sync
    /// that was killed resumes without sending a point twice. Credentials
    /// and TLS as MLflow's client: MLFLOW_TRACKING_TOKEN,
    /// MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD,
    /// MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH.
    #[cfg(feature = "remote")]
    Sync(SyncArgs),
    /// Bring experiments and runs in from MLflow, ids kept.
    ///
    /// From an MLflow file store directory (mlruns/), an MLflow SQLite
    /// database (sqlite:///mlflow.db) or a tracking server (http://...,
    /// with MLflow's credential variables): params, tags, status and times, full
    /// metric histories, dataset inputs; artifacts stay where MLflow keeps
    /// them (each experiment keeps its artifact location). Runs the store
    /// already has are left as they are, so importing again brings only
    /// new runs. A source file or row that cannot be read is reported (exit
    /// 1) and skipped; the rest is imported.
    #[cfg(feature = "import")]
    Import {
        /// The MLflow data: a file store directory, sqlite:///path.db or http(s)://server
        #[arg(long, value_name = "PATH_OR_URI")]
        from: String,
        /// Print the summary as one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Open the dashboard: the server on loopback, and the address to open.
    ///
    /// Compare the runs of an experiment and watch training live in a
    /// browser: `runlog ui`, then open the printed address. The same server
    /// as `runlog server --host 127.0.0.1`, so MLflow clients can log to it
    /// too. Ctrl-C stops it.
    #[cfg(feature = "server")]
    Ui {
        /// The port (0: any free one; the one taken is printed).
        #[arg(long, short = 'p', default_value_t = 5000)]
        port: u16,
        #[command(flatten)]
        safety: SafetyArgs,
    },
}

/// `runlog server`'s flags, as `mlflow server` names them.
#[cfg(feature = "server")]
#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    /// The address to listen on (0.0.0.0: every interface, no authentication).
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) host: String,
    /// The port (0: any free one; the one taken is printed).
    #[arg(long, short = 'p', default_value_t = 5000)]
    pub(crate) port: u16,
    /// The store (the same as the global --tracking-uri).
    #[arg(long, value_name = "URI")]
    pub(crate) backend_store_uri: Option<String>,
    /// Where served artifacts live [default: <store>/artifacts].
    #[arg(long, value_name = "DIR")]
    pub(crate) artifacts_destination: Option<std::path::PathBuf>,
    /// Serve the mlflow-artifacts API (the default).
    #[arg(long, overrides_with = "no_serve_artifacts")]
    pub(crate) serve_artifacts: bool,
    /// Do not serve artifacts: clients write to the locations runs give.
    #[arg(long)]
    pub(crate) no_serve_artifacts: bool,
    /// Worker threads [default: one per core].
    #[arg(long, short = 'w')]
    pub(crate) workers: Option<usize>,
    /// The largest JSON request body, in bytes (artifact uploads are
    /// streamed and not bounded by it).
    #[arg(long, default_value_t = 16 << 20)]
    pub(crate) max_request_bytes: usize,
    #[command(flatten)]
    pub(crate) safety: SafetyArgs,
    /// Sign-in: `basic-auth` (MLflow's app: users, an admin, permissions
    /// per experiment; configured by $MLFLOW_AUTH_CONFIG_PATH).
    #[arg(long, value_name = "APP", value_parser = ["basic-auth"])]
    pub(crate) app_name: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM; with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub(crate) tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(crate) tls_key: Option<std::path::PathBuf>,
    /// Serve MLflow's own web UI at / (runlog's dashboard moves to
    /// /runlog/): the build inside the mlflow package python3 imports, or
    /// the directory given (the build, or an mlflow package directory).
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    pub(crate) mlflow_ui: Option<Option<std::path::PathBuf>>,
    #[command(flatten)]
    pub(crate) webhooks: WebhookArgs,
}

/// Where registry webhooks may post, and how (`mlflow server`'s
/// variables).
#[cfg(feature = "server")]
#[derive(Debug, clap::Args)]
pub(crate) struct WebhookArgs {
    /// URL schemes a webhook may use (comma-separated).
    #[arg(
        long,
        env = "MLFLOW_WEBHOOK_ALLOWED_SCHEMES",
        value_delimiter = ',',
        default_value = "https"
    )]
    pub(crate) webhook_allowed_schemes: Vec<String>,
    /// Let webhooks post to loopback, private and link-local addresses
    /// (for a receiver on this machine or network; off by default, so
    /// that whoever may create a webhook cannot reach them through the
    /// server).
    #[arg(long, env = "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS")]
    pub(crate) webhook_allow_private_ips: bool,
    /// Seconds one webhook POST may take.
    #[arg(long, env = "MLFLOW_WEBHOOK_REQUEST_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) webhook_timeout: u64,
    /// Times a delivery answered 429 or 5xx (or not answered) is tried
    /// again, waiting 1 s, 2 s, 4 s ...
    #[arg(long, env = "MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES", default_value_t = 3)]
    pub(crate) webhook_max_retries: u32,
    /// Threads that deliver webhooks.
    #[arg(long, env = "MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=256))]
    pub(crate) webhook_workers: u64,
    /// Seconds the list of webhooks is kept before it is read again (for
    /// changes another server made to the same store).
    #[arg(long, env = "MLFLOW_WEBHOOK_CACHE_TTL", default_value_t = 60)]
    pub(crate) webhook_cache_ttl: u64,
}

/// What keeps web pages and greedy clients from the server (`runlog
/// server` and `runlog ui`), with `mlflow server`'s names and variables.
#[cfg(feature = "server")]
#[derive(Debug, clap::Args)]
pub(crate) struct SafetyArgs {
    /// Host names clients may reach the server by, besides loopback and
    /// private addresses (comma-separated; `*` patterns; `*` allows any).
    #[arg(long, env = "MLFLOW_SERVER_ALLOWED_HOSTS", value_delimiter = ',')]
    pub(crate) allowed_hosts: Vec<String>,
    /// Web origins allowed to call the API, besides localhost ones
    /// (comma-separated; `*` patterns; `*` allows any).
    #[arg(
        long,
        env = "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub(crate) cors_allowed_origins: Vec<String>,
    /// The X-Frame-Options header: SAMEORIGIN, DENY, or NONE (no header).
    #[arg(
        long,
        env = "MLFLOW_SERVER_X_FRAME_OPTIONS",
        default_value = "SAMEORIGIN"
    )]
    pub(crate) x_frame_options: String,
    /// No Host, Origin or Content-Type checks and no security headers.
    #[arg(long, env = "MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE")]
    pub(crate) disable_security_middleware: bool,
    /// Most connections at once [default: from the file-descriptor limit].
    #[arg(long)]
    pub(crate) max_connections: Option<usize>,
    /// Most dashboard event streams at once.
    #[arg(long, default_value_t = 256)]
    pub(crate) max_streams: usize,
    /// Seconds a request's headers (or an idle connection's next request)
    /// may take.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) header_timeout: u64,
    /// Seconds a request body or a response may make no progress.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) idle_timeout: u64,
    /// Seconds requests in flight get to finish after SIGTERM or Ctrl-C.
    #[arg(long, default_value_t = 10)]
    pub(crate) shutdown_timeout: u64,
}

/// `runlog models ...`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Models {
    /// The logged models of experiments (every experiment when none is
    /// named), newest first, and the registered models.
    List {
        /// Experiments (repeat for several).
        #[arg(long = "experiment-id", short = 'x')]
        experiment_ids: Vec<String>,
        /// MLflow's filter for logged models, e.g. "metrics.acc > 0.9".
        #[arg(long)]
        filter: Option<String>,
        /// MLflow's JSON ({"models": [...], "registered_models": [...]})
        /// instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one logged model (--model-id) or one registered
    /// model and its versions (--name).
    Describe {
        /// A logged model, by id (`m-...`).
        #[arg(long, conflicts_with = "name", required_unless_present = "name")]
        model_id: Option<String>,
        /// A registered model, by name.
        #[arg(long)]
        name: Option<String>,
        /// MLflow's JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Which experiments or runs to list.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum View {
    /// Only active ones.
    Active,
    /// Only deleted ones.
    Deleted,
    /// Both.
    All,
}

/// `runlog experiments ...`
#[derive(Debug, Subcommand)]
pub(crate) enum Experiments {
    /// Create an experiment and print its id.
    Create {
        /// Its name (unique in the store).
        #[arg(long, short = 'n')]
        experiment_name: String,
        /// Where its runs' artifacts go (a local path or file: URI).
        #[arg(long, short = 'l')]
        artifact_location: Option<String>,
    },
    /// List experiments (MLflow's search_experiments).
    Search {
        /// Which experiments.
        #[arg(long, value_enum, default_value = "active")]
        view: View,
        /// A filter, e.g. "name LIKE 'fraud%'".
        #[arg(long)]
        filter: Option<String>,
        /// At most this many (a page; standard error says when more match).
        #[arg(long, default_value_t = 1000)]
        max_results: usize,
        /// The page after the one that returned this token.
        #[arg(long)]
        page_token: Option<String>,
        /// MLflow's experiments/search JSON (with next_page_token when more
        /// match) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Rename an experiment.
    Rename {
        /// The experiment.
        #[arg(long, short = 'x')]
        experiment_id: String,
        /// Its new name.
        #[arg(long)]
        new_name: String,
    },
    /// Delete an experiment (restorable).
    Delete {
        /// The experiment.
        #[arg(long, short = 'x')]
        experiment_id: String,
    },
    /// Restore a deleted experiment.
    Restore {
        /// The experiment.
        #[arg(long, short = 'x')]
        experiment_id: String,
    },
}

/// `runlog runs ...`
#[derive(Debug, Subcommand)]
pub(crate) enum Runs {
    /// List the runs of an experiment, newest first.
    ///
    /// Without --experiment-id or --experiment-name: the active experiment,
    /// as MLflow picks it (MLFLOW_EXPERIMENT_NAME, else MLFLOW_EXPERIMENT_ID,
    /// else the default experiment "0").
    List {
        /// The experiment, by id.
        #[arg(long, short = 'x', conflicts_with = "experiment_name")]
        experiment_id: Option<String>,
        /// The experiment, by name.
        #[arg(long)]
        experiment_name: Option<String>,
        /// Which runs.
        #[arg(long, value_enum, default_value = "active")]
        view: View,
        /// MLflow's runs/search JSON ({"runs": [...]}) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Everything about one run: info, latest metrics, params, tags, inputs.
    Describe {
        /// The run.
        #[arg(long)]
        run_id: String,
        /// MLflow's runs/get JSON ({"run": {...}}) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Runs matching an MLflow filter, e.g. --filter "metrics.loss < 0.5".
    Search {
        /// Experiments to search (repeat for several).
        #[arg(long = "experiment-id", short = 'x', required = true)]
        experiment_ids: Vec<String>,
        /// The filter.
        #[arg(long)]
        filter: Option<String>,
        /// Order, e.g. "metrics.loss ASC" (repeat for several keys).
        #[arg(long)]
        order_by: Vec<String>,
        /// At most this many (a page; standard error says when more match).
        #[arg(long, default_value_t = 1000)]
        max_results: usize,
        /// The page after the one that returned this token.
        #[arg(long)]
        page_token: Option<String>,
        /// Which runs.
        #[arg(long, value_enum, default_value = "active")]
        view: View,
        /// MLflow's runs/search JSON (with next_page_token when more match)
        /// instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a run (restorable).
    Delete {
        /// The run.
        #[arg(long)]
        run_id: String,
    },
    /// Restore a deleted run.
    Restore {
        /// The run.
        #[arg(long)]
        run_id: String,
    },
}

/// Output format of a metric history.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum HistoryFormat {
    /// `step,timestamp,value` lines with a header.
    Csv,
    /// One JSON array of `{"step", "timestamp", "value"}`.
    Json,
}

/// `runlog metrics ...`
#[derive(Debug, Subcommand)]
pub(crate) enum Metrics {
    /// Every point of one metric of a run, by step (streamed: any length).
    History {
        /// The run.
        #[arg(long)]
        run_id: String,
        /// The metric key.
        #[arg(long)]
        key: String,
        /// Only steps A to B (inclusive), written A:B; either end may be
        /// left open (A: or :B), and steps may be negative (-5:5).
        #[arg(long, value_parser = parse_steps, allow_hyphen_values = true)]
        steps: Option<(i64, i64)>,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: HistoryFormat,
        /// The same as --format json, as on every other data command.
        #[arg(long, conflicts_with = "format")]
        json: bool,
    },
    /// The metric keys of a run, with their point counts and step ranges.
    List {
        /// The run.
        #[arg(long)]
        run_id: String,
        /// One JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A line chart of one metric for one or several runs.
    ///
    /// Into an SVG or PNG file with -o, else drawn in the terminal. Long
    /// histories are downsampled (each bucket keeps its minimum and
    /// maximum, so spikes show).
    Plot {
        /// A run to plot (repeat to compare runs; the legend shows run names).
        #[arg(long = "run-id", value_name = "RUN_ID", required = true)]
        run_ids: Vec<String>,
        /// The metric key.
        #[arg(long)]
        key: String,
        /// Only steps A to B (inclusive), written A:B; either end may be
        /// left open (A: or :B), and steps may be negative (-5:5).
        #[arg(long, value_parser = parse_steps, allow_hyphen_values = true)]
        steps: Option<(i64, i64)>,
        /// The chart file: its name ends in .svg or .png.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        /// WIDTHxHEIGHT: pixels for a file (default 1024x600), character
        /// cells in the terminal (default from COLUMNS and LINES).
        #[arg(long, value_parser = parse_size)]
        size: Option<(u32, u32)>,
    },
}

/// `WxH`, e.g. `1200x700`.
fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, found {s:?}"))?;
    let w: u32 = w.trim().parse().map_err(|e| format!("{w:?}: {e}"))?;
    let h: u32 = h.trim().parse().map_err(|e| format!("{h:?}: {e}"))?;
    Ok((w, h))
}

/// `A:B`, `A:`, `:B` (inclusive; an open end is unbounded), steps may be
/// negative.
pub(crate) fn parse_steps(s: &str) -> Result<(i64, i64), String> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| format!("expected A:B (or A: or :B), found {s:?}"))?;
    let end = |text: &str, open: i64| -> Result<i64, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(open);
        }
        text.parse()
            .map_err(|e| format!("{text:?} is not a step (a whole number): {e}"))
    };
    let (a, b) = (end(a, i64::MIN)?, end(b, i64::MAX)?);
    if a > b {
        return Err(format!("the range {a}:{b} is empty"));
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::parse_steps;

    #[test]
    fn step_ranges_take_open_ends_and_negative_steps() {
        assert_eq!(parse_steps("3:7"), Ok((3, 7)));
        assert_eq!(parse_steps("-5:5"), Ok((-5, 5)));
        assert_eq!(parse_steps("10:"), Ok((10, i64::MAX)));
        assert_eq!(parse_steps(":10"), Ok((i64::MIN, 10)));
        assert_eq!(parse_steps(":"), Ok((i64::MIN, i64::MAX)));
        assert_eq!(parse_steps(" -9 : -2 "), Ok((-9, -2)));
        assert!(parse_steps("7:3").unwrap_err().contains("empty"));
        assert!(parse_steps("7").unwrap_err().contains("A:B"));
        assert!(parse_steps("a:3").unwrap_err().contains("not a step"));
    }
}

/// `runlog sync`.
#[cfg(feature = "remote")]
#[derive(Debug, clap::Args)]
pub(crate) struct SyncArgs {
    /// The server: http://host:port or https://...
    #[arg(long, value_name = "URI")]
    pub(crate) to: String,
    /// Only this experiment (name or id; repeat for several).
    #[arg(long, value_name = "NAME|ID")]
    pub(crate) experiment: Vec<String>,
    /// Only this run (repeat for several).
    #[arg(long, value_name = "ID")]
    pub(crate) run: Vec<String>,
    /// Say what would be sent; send and create nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print the summary as one JSON document.
    #[arg(long)]
    pub(crate) json: bool,
}
