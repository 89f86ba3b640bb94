//! `experiments/*`: get, get-by-name, create, search, update (rename),
//! delete, restore, set-experiment-tag, delete-experiment-tag.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::message::{key_values, required_str, strings, view_type, Int, KeyValue};
use crate::api::Api;
use crate::tracking::SearchExperiments;
use crate::tracking::{mlflow_json, NewExperiment};

/// A message naming an experiment: `experiment_id`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExperimentId {
    experiment_id: Option<String>,
}

/// `GET experiments/get?experiment_id=`.
pub fn get(s: &Api, m: ExperimentId) -> Result<Value, ApiError> {
    let e = s
        .client
        .get_experiment(required_str("experiment_id", &m.experiment_id)?)?;
    Ok(json!({"experiment": s.experiment_json(&e)}))
}

/// `experiments/get-by-name`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExperimentName {
    experiment_name: Option<String>,
}

/// `GET experiments/get-by-name?experiment_name=`: deleted ones included,
/// as in MLflow; a missing name is 404 (MLflow's client reads it as None).
pub fn get_by_name(s: &Api, m: ExperimentName) -> Result<Value, ApiError> {
    let name = required_str("experiment_name", &m.experiment_name)?;
    match s.client.get_experiment_by_name(name)? {
        Some(e) => Ok(json!({"experiment": s.experiment_json(&e)})),
        None => Err(ApiError::not_found(format!(
            "Could not find experiment with name '{name}'"
        ))),
    }
}

/// `experiments/create`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateExperiment {
    name: Option<String>,
    artifact_location: Option<String>,
    tags: Vec<KeyValue>,
}

/// `POST experiments/create {name, artifact_location?, tags?}`.
pub fn create(s: &Api, m: CreateExperiment) -> Result<Value, ApiError> {
    let mut new = NewExperiment::new(required_str("name", &m.name)?);
    if let Some(root) = &s.artifact_root {
        // New experiments' artifacts go through the server:
        // mlflow-artifacts:/<id>, under --artifacts-destination.
        new = new.artifact_root(root);
    }
    if let Some(location) = m.artifact_location.as_deref().filter(|l| !l.is_empty()) {
        new = new.artifact_location(s.stored_location(location)?);
    }
    for (k, v) in key_values("tags", m.tags)? {
        new = new.tag(k, v);
    }
    let id = s.client.create_experiment(new)?;
    Ok(json!({"experiment_id": id}))
}

/// `experiments/search`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchExperimentsMsg {
    view_type: Option<String>,
    filter: Option<String>,
    max_results: Option<Int>,
    page_token: Option<String>,
    #[serde(deserialize_with = "strings")]
    order_by: Vec<String>,
}

/// `POST experiments/search {max_results?, page_token?, filter?,
/// order_by?, view_type?}`.
pub fn search(s: &Api, m: SearchExperimentsMsg) -> Result<Value, ApiError> {
    let query = SearchExperiments::new()
        .view(view_type("view_type", m.view_type.as_deref())?)
        .filter(m.filter.clone().unwrap_or_default());
    let query = crate::api::paged!(query, m);
    let page = s.client.search_experiments(query)?;
    let experiments = page.items.iter().map(|e| s.experiment_json(e)).collect();
    let token = page.next_page_token.as_deref();
    Ok(mlflow_json::page("experiments", experiments, token))
}

/// A `max_results` that fits a `usize` (the search checks its range).
pub fn max_results(n: i64) -> Result<usize, ApiError> {
    usize::try_from(n).map_err(|_| {
        ApiError::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied: it must be positive"
        ))
    })
}

/// `experiments/update`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateExperiment {
    experiment_id: Option<String>,
    new_name: Option<String>,
}

/// `POST experiments/update {experiment_id, new_name}`.
pub fn update(s: &Api, m: UpdateExperiment) -> Result<Value, ApiError> {
    let id = required_str("experiment_id", &m.experiment_id)?;
    if let Some(name) = &m.new_name {
        s.client.rename_experiment(id, name)?;
    }
    Ok(json!({}))
}

/// `POST experiments/delete {experiment_id}`.
pub fn delete(s: &Api, m: ExperimentId) -> Result<Value, ApiError> {
    s.client
        .delete_experiment(required_str("experiment_id", &m.experiment_id)?)?;
    Ok(json!({}))
}

/// `POST experiments/restore {experiment_id}`.
pub fn restore(s: &Api, m: ExperimentId) -> Result<Value, ApiError> {
    s.client
        .restore_experiment(required_str("experiment_id", &m.experiment_id)?)?;
    Ok(json!({}))
}

/// `experiments/set-experiment-tag` and `delete-experiment-tag`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExperimentTag {
    experiment_id: Option<String>,
    key: Option<String>,
    value: Option<String>,
}

/// `POST experiments/set-experiment-tag {experiment_id, key, value}`.
pub fn set_tag(s: &Api, m: ExperimentTag) -> Result<Value, ApiError> {
    s.client.set_experiment_tag(
        required_str("experiment_id", &m.experiment_id)?,
        required_str("key", &m.key)?,
        m.value.as_deref().unwrap_or_default(),
    )?;
    Ok(json!({}))
}

/// `POST experiments/delete-experiment-tag {experiment_id, key}`.
pub fn delete_tag(s: &Api, m: ExperimentTag) -> Result<Value, ApiError> {
    s.client.delete_experiment_tag(
        required_str("experiment_id", &m.experiment_id)?,
        required_str("key", &m.key)?,
    )?;
    Ok(json!({}))
}

/// `experiments/search-datasets`' message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchDatasets {
    #[serde(deserialize_with = "strings")]
    experiment_ids: Vec<String>,
}

/// Most experiments one `search-datasets` names, as in MLflow.
const MAX_DATASET_EXPERIMENTS: usize = 20;

/// `POST experiments/search-datasets {experiment_ids}` ->
/// `{"dataset_summaries": [{experiment_id, name, digest, context}]}`: each
/// dataset the experiments' active runs used, once per context (the
/// `mlflow.data.context` input tag), as MLflow's UI lists them.
pub fn search_datasets(s: &Api, m: SearchDatasets) -> Result<Value, ApiError> {
    if m.experiment_ids.is_empty() {
        return Err(ApiError::invalid(
            "SearchDatasets request must specify at least one experiment_id.",
        ));
    }
    if m.experiment_ids.len() > MAX_DATASET_EXPERIMENTS {
        return Err(ApiError::invalid(format!(
            "SearchDatasets request cannot specify more than {MAX_DATASET_EXPERIMENTS} \
             experiment_ids. Received {} experiment_ids.",
            m.experiment_ids.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut summaries = Vec::new();
    for id in &m.experiment_ids {
        for run in s
            .client
            .list_runs(id, crate::tracking::ViewType::ActiveOnly)?
        {
            for input in &run.inputs {
                let context = input
                    .tags
                    .iter()
                    .find(|(k, _)| k == crate::tracking::TAG_DATASET_CONTEXT)
                    .map(|(_, v)| v.clone());
                let key = (
                    id.clone(),
                    input.name.clone(),
                    input.digest.clone(),
                    context.clone(),
                );
                if !seen.insert(key) {
                    continue;
                }
                let mut summary = json!({
                    "experiment_id": id,
                    "name": input.name,
                    "digest": input.digest,
                });
                if let Some(context) = context {
                    summary["context"] = Value::from(context);
                }
                summaries.push(summary);
            }
        }
    }
    if summaries.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({"dataset_summaries": summaries}))
}
