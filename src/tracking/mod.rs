//! MLflow's tracking API over the store: the [`Client`] (explicit run and
//! experiment ids), the fluent functions (a per-thread active run), and the
//! entities they return, materialised from the log by [`TrackingState`].

mod artifacts;
mod client;
mod exit;
mod experiments;
pub mod filter;
pub mod fluent;
mod history;
mod logging;
pub mod mlflow_json;
pub mod model;
mod runs;
mod search;
mod state;
mod tags;

pub use crate::index::{downsample, HistoryQuery, MetricHistoryIter};
pub use artifacts::FileInfo;
pub use client::{Client, ARTIFACTS_DIR, TRACKING_LOCK_FILE};
pub use experiments::NewExperiment;
pub use logging::Batch;
pub use model::{
    json_number, Dataset, Experiment, LifecycleStage, Metric, Run, RunData, RunInfo, ViewType,
    TAG_DATASET_CONTEXT,
};
pub use runs::NewRun;
pub use search::{Page, SearchExperiments, SearchRuns, DEFAULT_MAX_RESULTS, MAX_RESULTS_LIMIT};
pub use state::TrackingState;
