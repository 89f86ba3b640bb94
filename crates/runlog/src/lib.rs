//! runlog: an append-only embedded metrics engine with MLflow Tracking
//! semantics.
//!
//! # Tracking, as in MLflow
//!
//! The fluent functions are MLflow's `mlflow.*` (an active run per thread,
//! the tracking URI from `MLFLOW_TRACKING_URI`, else `./mlruns`), and
//! [`Client`] is its `MlflowClient`. A metric handle logs from a hot loop
//! for about 20 ns a call.
//!
//! ```
//! # fn main() -> runlog::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! runlog::set_tracking_uri(dir.path().to_str().unwrap())?;
//! runlog::set_experiment("quickstart")?; // created when missing
//! let run = runlog::start_run()?;
//! runlog::log_param("lr", 0.01)?;
//! runlog::log_metric("accuracy", 0.91, 0)?;
//! let loss = run.metric_handle("loss")?; // for the training loop
//! for step in 0..1000 {
//!     loss.log(1.0 / (step + 1) as f64, step)?;
//! }
//! let run_id = run.run_id().to_owned();
//! run.end(runlog::RunStatus::Finished)?; // also flushes
//!
//! let client = runlog::client()?;
//! let history = client.get_metric_history(&run_id, "loss")?;
//! assert_eq!((history.len(), history[999].step), (1000, 999));
//! assert_eq!(client.get_run(&run_id)?.data.params["lr"], "0.01");
//! # Ok(()) }
//! ```
//!
//! Searches ([`Client::search_runs`] with MLflow's filter language), history
//! queries ([`HistoryQuery`]: step and time ranges, several runs,
//! downsampling for plots), artifacts and dataset inputs are on [`Client`];
//! `Client::builder().store(dir).read_only()` reads a store without
//! writing a byte.
//!
//! # The layers underneath
//!
//! The crate root is the tracking API: the fluent functions, [`Client`]
//! (opened by [`Client::new`] or [`Client::builder`]), MLflow's entities,
//! [`Error`] and the store [`Options`]. Under it, in named modules:
//! [`engine`] (the [`Store`](engine::Store) and its metric handles,
//! [`Replay`](engine::Replay), [`verify`](engine::verify)), [`compact`],
//! [`uri`] (tracking URIs), [`clock`] (MLflow's timestamps), `api`
//! (MLflow's REST API in process; feature `api`), `remote` (tracking
//! servers; feature `remote`) and `import` (MLflow's stores read in;
//! feature `import`). Log calls put fixed-size records on a bounded
//! channel; a background writer thread drains it in batches into a
//! segmented log in which every entry carries a CRC32 (the bytes are
//! specified in `FORMAT.md`). A killed process loses nothing the writer
//! drained; opening a store cuts what a crash tore and reports any
//! corruption.

#![deny(unsafe_code)]

/// Declares the storage internals: public with the `internals` feature (for
/// the fuzz targets, tests and benches, which read and damage bytes on
/// disk; not a stable API), crate-private otherwise.
macro_rules! internal_modules {
    ($($(#[$attr:meta])* $name:ident;)*) => {$(
        #[cfg(feature = "internals")]
        $(#[$attr])*
        pub mod $name;
        #[cfg(not(feature = "internals"))]
        $(#[$attr])*
        #[allow(unused_imports, reason = "re-exports that only the internals feature uses")]
        pub(crate) mod $name;
    )*};
}

/// The reference curves of the codec's size targets, and the noise of the
/// examples' simulated training loops (feature `internals`: the tests,
/// benches and examples use it; the engine does not).
#[cfg(feature = "internals")]
pub mod curves;
internal_modules! {
    format;
    index;
    layout;
    log;
}

#[cfg(feature = "api")]
pub mod api;
pub mod calendar;
pub mod clock;
pub mod compact;
mod connect;
pub mod context;
pub mod engine;
mod error;
pub mod fluent;
mod foreground;
mod fs_util;
mod held_lock;
pub mod identity;
#[cfg(feature = "import")]
pub mod import;
mod options;
mod read_view;
#[cfg(feature = "remote")]
pub mod remote;
mod replay;
mod store;
#[cfg(feature = "system-metrics")]
pub mod system_metrics;
pub mod tracking;
pub mod uri;
pub mod validation;
mod verify;
mod writer;

pub use connect::ClientBuilder;
pub use error::{Damage, Error, Refusal, Result};
#[allow(
    deprecated,
    reason = "the old name, kept so that code written against it still builds"
)]
pub use fluent::RunOptions;
pub use fluent::{
    active_experiment_id, active_run, client, create_experiment, delete_experiment, delete_tag,
    disable_system_metrics_logging, enable_system_metrics_logging, end_run, end_run_with_status,
    flush, get_artifact_uri, get_experiment, get_experiment_by_name, get_parent_run, get_run,
    get_tracking_uri, last_active_run, log_artifact, log_artifacts, log_dict, log_input,
    log_metric, log_metric_at, log_metrics, log_param, log_params, log_text, metric_handle,
    search_experiments, search_runs, set_experiment, set_experiment_by_id, set_tag, set_tags,
    set_tracking_uri, start_run, start_run_with, ActiveRun, StartRun,
};
pub use foreground::{Foreground, ForegroundWork};
pub use format::{DatasetInput, ModelStatus, RunStatus};
pub use options::{Durability, Options};
#[cfg(feature = "system-metrics")]
pub use system_metrics::{SystemMetrics, SystemMetricsOptions};
pub use tracking::{
    Batch, Client, Dataset, Experiment, FileInfo, HistoryQuery, LifecycleStage, LoggedModel,
    Metric, MetricHistoryIter, ModelOutput, ModelPoint, NewExperiment, NewLoggedModel, NewRun,
    Page, Run, RunData, RunInfo, SearchExperiments, SearchModels, SearchRuns, ViewType,
};
