//! MLflow 3's logged models in the tracking state: [`LoggedModels`], built
//! from the log's model records (the entities, [`LoggedModel`] and the
//! links between runs and models, are in [`model`](crate::tracking::model)).

use std::collections::{HashMap, HashSet};

use crate::format::{ModelStatus, Record};
use crate::tracking::model::{LifecycleStage, LoggedModel, ModelMetric};

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
                params,
                tags,
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
                        tags: tags.iter().cloned().collect(),
                        params: params.iter().rev().cloned().collect(), // the first of a key stands
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

    /// Whether the model has a point of `key` at this timestamp and step
    /// from run `run_id` (MLflow's key for a point about a model: a
    /// second one is dropped, whatever its value). One hash lookup.
    pub fn has_point(
        &self,
        model_id: &str,
        key: &str,
        timestamp: i64,
        step: i64,
        run_id: &str,
    ) -> bool {
        self.points
            .get(model_id)
            .is_some_and(|set| set.contains(&(key.to_owned(), timestamp, step, run_id.to_owned())))
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
