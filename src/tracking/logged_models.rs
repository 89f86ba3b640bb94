//! MLflow 3's logged models: the entity ([`LoggedModel`]), the part of the
//! tracking state that holds them ([`LoggedModels`], built from the log's
//! model records), and the links between runs and models ([`ModelOutput`]
//! on a run; model inputs as model ids).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::format::{ModelStatus, Record};
use crate::tracking::model::LifecycleStage;

/// A model a run produced, at a step (MLflow's `LoggedModelOutput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// The model's id (`m-...`).
    pub model_id: String,
    /// The step at which the run produced it.
    pub step: i64,
}

/// A metric point about a logged model (MLflow's `Metric` with its
/// `model_id`, and the dataset it was measured on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetric {
    /// Metric key.
    pub key: String,
    /// Value.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Step.
    pub step: i64,
    /// The run that logged it.
    pub run_id: String,
    /// The dataset it was measured on, if any.
    pub dataset_name: Option<String>,
    /// That dataset's digest, if any.
    pub dataset_digest: Option<String>,
}

/// A logged model (MLflow 3's `LoggedModel`): a model's artifacts, params,
/// tags and metrics, made by a run or on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedModel {
    /// `m-` and 32 hex digits, as MLflow makes them.
    pub model_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Its name (generated when none is given, as a run's).
    pub name: String,
    /// Where its artifacts live: `<experiment location>/models/<id>/artifacts`.
    pub artifact_location: String,
    /// Milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// The last change of its status or lifecycle.
    pub last_updated_timestamp: i64,
    /// A free-form type (`"Agent"`, ...), if given.
    pub model_type: Option<String>,
    /// The run that made it, if any.
    pub source_run_id: Option<String>,
    /// PENDING until finalized.
    pub status: ModelStatus,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Tags (last write wins).
    pub tags: BTreeMap<String, String>,
    /// Params (the first value of a key stands).
    pub params: BTreeMap<String, String>,
    /// Metric points, in log order.
    pub metrics: Vec<ModelMetric>,
}

impl LoggedModel {
    /// `models:/<model_id>`: how MLflow's clients name it.
    pub fn model_uri(&self) -> String {
        format!("models:/{}", self.model_id)
    }
}

/// The logged models of a store, as its log says they are.
#[derive(Debug, Clone, Default)]
pub struct LoggedModels {
    models: HashMap<String, LoggedModel>,
    /// Model ids per experiment, in creation order.
    by_experiment: HashMap<String, Vec<String>>,
    /// Per model, the points it has by MLflow's key for them (metric key,
    /// timestamp, step, run): a point logged twice is kept once.
    points: HashMap<String, HashSet<(String, i64, i64, String)>>,
}

impl LoggedModels {
    /// Applies a model record; `false` for any other record.
    pub(crate) fn apply(&mut self, record: &Record, resolve: &impl Fn(&str) -> String) -> bool {
        match record {
            Record::CreateLoggedModel {
                model_id,
                experiment_id,
                name,
                artifact_location,
                model_type,
                source_run_id,
                creation_time,
            } => {
                if self.models.contains_key(model_id) {
                    return true; // the first creation in log order stands
                }
                self.by_experiment
                    .entry(experiment_id.clone())
                    .or_default()
                    .push(model_id.clone());
                self.models.insert(
                    model_id.clone(),
                    LoggedModel {
                        model_id: model_id.clone(),
                        experiment_id: experiment_id.clone(),
                        name: name.clone(),
                        artifact_location: resolve(artifact_location),
                        creation_timestamp: *creation_time,
                        last_updated_timestamp: *creation_time,
                        model_type: model_type.clone(),
                        source_run_id: source_run_id.clone(),
                        status: ModelStatus::Pending,
                        lifecycle_stage: LifecycleStage::Active,
                        tags: BTreeMap::new(),
                        params: BTreeMap::new(),
                        metrics: Vec::new(),
                    },
                );
            }
            Record::FinalizeLoggedModel {
                model_id,
                status,
                time,
            } => {
                if let Some(m) = self.models.get_mut(model_id) {
                    m.status = *status;
                    m.last_updated_timestamp = *time;
                }
            }
            Record::DeleteLoggedModel { model_id, time } => {
                if let Some(m) = self.models.get_mut(model_id) {
                    m.lifecycle_stage = LifecycleStage::Deleted;
                    m.last_updated_timestamp = *time;
                }
            }
            Record::SetLoggedModelTag {
                model_id,
                key,
                value,
            } => {
                if let Some(m) = self.models.get_mut(model_id) {
                    m.tags.insert(key.clone(), value.clone());
                }
            }
            Record::DeleteLoggedModelTag { model_id, key } => {
                if let Some(m) = self.models.get_mut(model_id) {
                    m.tags.remove(key);
                }
            }
            Record::LoggedModelParam {
                model_id,
                key,
                value,
            } => {
                if let Some(m) = self.models.get_mut(model_id) {
                    m.params.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
            Record::LoggedModelMetric {
                model_id,
                run_id,
                key,
                value,
                timestamp,
                step,
                dataset_name,
                dataset_digest,
            } => {
                if let Some(m) = self.models.get_mut(model_id) {
                    let id = (key.clone(), *timestamp, *step, run_id.clone());
                    if !self.points.entry(model_id.clone()).or_default().insert(id) {
                        return true;
                    }
                    m.metrics.push(ModelMetric {
                        key: key.clone(),
                        value: *value,
                        timestamp: *timestamp,
                        step: *step,
                        run_id: run_id.clone(),
                        dataset_name: dataset_name.clone(),
                        dataset_digest: dataset_digest.clone(),
                    });
                }
            }
            _ => return false,
        }
        true
    }

    /// The model with this id, deleted ones included.
    pub fn get(&self, model_id: &str) -> Option<&LoggedModel> {
        self.models.get(model_id)
    }

    /// The models of an experiment, in creation order, deleted ones included.
    pub fn of_experiment(&self, experiment_id: &str) -> impl Iterator<Item = &LoggedModel> {
        self.by_experiment
            .get(experiment_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.models.get(id))
    }

    /// Every model, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &LoggedModel> {
        self.models.values()
    }
}
