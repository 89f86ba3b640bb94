//! MLflow's tracking API over the store: the [`Client`] (explicit run and
//! experiment ids), the fluent functions (a per-thread active run), and the
//! entities they return, materialised from the log by [`TrackingState`].

mod artifacts;
pub(crate) mod backend;
pub(crate) mod client;
mod experiments;
pub mod filter;
mod history;
pub mod logged_models;
pub(crate) mod logging;
pub mod mlflow_json;
pub mod model;
mod models;
mod registered_models;
pub mod registry;
mod registry_search;
#[cfg(feature = "remote")]
pub(crate) mod rest;
mod runs;
// Page tokens, for the server's own listings (webhooks). Not a stable API.
#[doc(hidden)]
pub mod search;
mod state;
pub(crate) mod tags;

pub use crate::index::{downsample, HistoryQuery, MetricHistoryIter};
pub use artifacts::FileInfo;
pub use backend::SyncRefusals;
pub use client::{Client, ARTIFACTS_DIR, TRACKING_LOCK_FILE};
pub use experiments::NewExperiment;
pub use logged_models::LoggedModels;
pub use logging::Batch;
pub use model::{
    json_number, Dataset, Experiment, LifecycleStage, LoggedModel, Metric, ModelMetric,
    ModelOutput, Run, RunData, RunInfo, ViewType, TAG_DATASET_CONTEXT,
};
pub use models::{
    DatasetFilter, ModelOrder, ModelPoint, NewLoggedModel, SearchModels, DEFAULT_MODELS_PAGE,
    MODELS_DIR,
};
pub use registered_models::{
    NewModelVersion, SearchRegistry, MODEL_VERSIONS_PAGE, REGISTERED_MODELS_PAGE,
};
pub use registry::{ModelVersion, RegisteredModel, Registry};
pub use runs::NewRun;
pub use search::{Page, SearchExperiments, SearchRuns, DEFAULT_MAX_RESULTS, MAX_RESULTS_LIMIT};
pub use state::TrackingState;
