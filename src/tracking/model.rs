//! MLflow's tracking entities, as the tracking state materialises them from
//! the log: experiments, runs (info, data, inputs) and metric points.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::format::{DatasetInput, RunStatus};

/// Whether an experiment or a run is live or in the trash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// Live.
    Active,
    /// Deleted (restorable).
    Deleted,
}

/// Which experiments or runs a listing includes (MLflow's `ViewType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ViewType {
    /// Only active ones (the default).
    #[default]
    ActiveOnly,
    /// Only deleted ones.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// Whether an entity in `stage` is in this view.
    pub fn includes(self, stage: LifecycleStage) -> bool {
        match self {
            ViewType::ActiveOnly => stage == LifecycleStage::Active,
            ViewType::DeletedOnly => stage == LifecycleStage::Deleted,
            ViewType::All => true,
        }
    }
}

/// An experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experiment {
    /// Decimal id; `"0"` is the default experiment.
    pub experiment_id: String,
    /// Unique name.
    pub name: String,
    /// Where its runs' artifacts go.
    pub artifact_location: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Creation time, ms since the epoch.
    pub creation_time: i64,
    /// Time of the last change, ms since the epoch.
    pub last_update_time: i64,
    /// Experiment tags.
    pub tags: BTreeMap<String, String>,
}

/// One metric point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The value.
    pub value: f64,
    /// Ms since the epoch.
    pub timestamp: i64,
    /// The step.
    pub step: i64,
}

impl Metric {
    /// Whether `self` replaces `current` as a metric's latest value, by
    /// MLflow's rule: the greater step, then the greater timestamp, then the
    /// greater value (by IEEE total order, so NaN ranks above +inf).
    pub fn is_later_than(&self, current: &Metric) -> bool {
        (self.step, self.timestamp)
            .cmp(&(current.step, current.timestamp))
            .then_with(|| self.value.total_cmp(&current.value))
            .is_gt()
    }
}

/// A run's metadata (MLflow's `RunInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// 32 hex digits.
    pub run_id: String,
    /// The run's name (also tag `mlflow.runName`).
    pub run_name: String,
    /// Its experiment.
    pub experiment_id: String,
    /// Who ran it.
    pub user_id: String,
    /// Its status.
    pub status: RunStatus,
    /// Start time, ms since the epoch.
    pub start_time: i64,
    /// End time, once it ended.
    pub end_time: Option<i64>,
    /// Where its artifacts go: `<experiment artifact location>/<run id>/artifacts`.
    pub artifact_uri: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
}

/// A run's logged data (MLflow's `RunData`): the latest value of each metric,
/// params and tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Latest value per key, by [`Metric::is_later_than`].
    pub metrics: BTreeMap<String, Metric>,
    /// Params (write-once).
    pub params: BTreeMap<String, String>,
    /// Tags (last write wins).
    pub tags: BTreeMap<String, String>,
}

/// A run: info, data and dataset inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Latest metrics, params, tags.
    pub data: RunData,
    /// Datasets the run used, in the order they were logged.
    pub inputs: Vec<DatasetInput>,
}
