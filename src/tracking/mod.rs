//! Groundwork of the tracking API: MLflow's entities and the tracking state
//! materialised from the log. The `Client` and the fluent functions
//! (issue 3) build on it.

pub mod model;
mod state;

pub use model::{Experiment, LifecycleStage, Metric, Run, RunData, RunInfo, ViewType};
pub use state::TrackingState;
