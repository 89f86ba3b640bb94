//! `logged-models/*` (MLflow 3's logged models: create, get, finalize,
//! delete, search, tags, params, artifact listing) and `runs/outputs`.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::message::{key_values, required, required_str, strings, Int, KeyValue};
use crate::api::request::missing;
use crate::api::runs::run_id;
use crate::api::Api;
use crate::format::ModelStatus;
use crate::tracking::{
    mlflow_json, DatasetFilter, LoggedModel, ModelOrder, ModelOutput, NewLoggedModel, SearchModels,
};

impl Api {
    /// A logged model as JSON, its artifact URI as the client should use it.
    pub(crate) fn model_json(&self, m: &LoggedModel) -> Value {
        let mut v = mlflow_json::logged_model(m);
        v["info"]["artifact_uri"] = Value::from(self.presented(&m.artifact_location));
        v
    }
}

/// `logged-models`' create message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateModel {
    experiment_id: Option<String>,
    name: Option<String>,
    model_type: Option<String>,
    source_run_id: Option<String>,
    params: Vec<KeyValue>,
    tags: Vec<KeyValue>,
}

/// `POST logged-models {experiment_id, name?, model_type?, source_run_id?,
/// params?, tags?}` -> `{"model"}`.
pub fn create(s: &Api, m: CreateModel) -> Result<Value, ApiError> {
    let mut new = NewLoggedModel::new(required_str("experiment_id", &m.experiment_id)?);
    if let Some(name) = m.name.filter(|n| !n.is_empty()) {
        new = new.name(name);
    }
    if let Some(t) = m.model_type.filter(|t| !t.is_empty()) {
        new = new.model_type(t);
    }
    if let Some(r) = m.source_run_id.filter(|r| !r.is_empty()) {
        new = new.source_run_id(r);
    }
    for (k, v) in key_values("params", m.params)? {
        new = new.param(k, v);
    }
    for (k, v) in key_values("tags", m.tags)? {
        new = new.tag(k, v);
    }
    let model = s.client.create_logged_model(new)?;
    Ok(json!({"model": s.model_json(&model)}))
}

/// A message with nothing but what the path says.
#[derive(Debug, Default, Deserialize)]
pub struct Empty {}

/// `GET logged-models/{model_id}` -> `{"model"}`.
pub fn get(s: &Api, model_id: String, _: Empty) -> Result<Value, ApiError> {
    let model = s.client.get_logged_model(&model_id)?;
    Ok(json!({"model": s.model_json(&model)}))
}

/// `logged-models/{model_id}`' finalize message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Finalize {
    status: Option<StatusIn>,
}

/// A model status as MLflow's JSON gives it: its name or its number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StatusIn {
    /// `"LOGGED_MODEL_READY"`, ...
    Name(String),
    /// `2`, ...
    Number(i64),
}

/// `PATCH logged-models/{model_id} {status}` -> `{"model"}`.
pub fn finalize(s: &Api, model_id: String, m: Finalize) -> Result<Value, ApiError> {
    let status = match required("status", &m.status)? {
        StatusIn::Name(name) => ModelStatus::parse(name),
        StatusIn::Number(n) => u8::try_from(*n).ok().and_then(ModelStatus::from_code),
    }
    .ok_or_else(|| {
        ApiError::invalid(
            "Invalid value for parameter 'status' supplied: expected LOGGED_MODEL_PENDING, \
             LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED",
        )
    })?;
    let model = s.client.finalize_logged_model(&model_id, status)?;
    Ok(json!({"model": s.model_json(&model)}))
}

/// `DELETE logged-models/{model_id}` -> `{}`.
pub fn delete(s: &Api, model_id: String, _: Empty) -> Result<Value, ApiError> {
    s.client.delete_logged_model(&model_id)?;
    Ok(json!({}))
}

/// `logged-models/{model_id}/tags`' message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Tags {
    tags: Vec<KeyValue>,
}

/// `PATCH logged-models/{model_id}/tags {tags}` -> `{}`.
pub fn set_tags(s: &Api, model_id: String, m: Tags) -> Result<Value, ApiError> {
    let tags = key_values("tags", m.tags)?;
    let borrowed: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    s.client.set_logged_model_tags(&model_id, &borrowed)?;
    Ok(json!({}))
}

/// `DELETE logged-models/{model_id}/tags/{tag_key}` -> `{}`.
pub fn delete_tag(s: &Api, (model_id, key): (String, String), _: Empty) -> Result<Value, ApiError> {
    s.client.delete_logged_model_tag(&model_id, &key)?;
    Ok(json!({}))
}

/// `logged-models/{model_id}/params`' message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Params {
    params: Vec<KeyValue>,
}

/// `POST logged-models/{model_id}/params {params}` -> `{}`.
pub fn log_params(s: &Api, model_id: String, m: Params) -> Result<Value, ApiError> {
    let params = key_values("params", m.params)?;
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.client.log_logged_model_params(&model_id, &borrowed)?;
    Ok(json!({}))
}

/// `logged-models/{model_id}/artifacts/directories`' message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListArtifacts {
    artifact_directory_path: Option<String>,
}

/// `GET logged-models/{model_id}/artifacts/directories?
/// artifact_directory_path=` -> `{"root_uri", "files"}`.
pub fn list_artifacts(s: &Api, model_id: String, m: ListArtifacts) -> Result<Value, ApiError> {
    let path = m
        .artifact_directory_path
        .as_deref()
        .filter(|p| !p.is_empty());
    if let Some(p) = path {
        crate::api::relative_path(p)?;
    }
    let model = s.client.get_logged_model(&model_id)?;
    let files = s.client.list_logged_model_artifacts(&model_id, path)?;
    let root = Value::from(s.presented(&model.artifact_location));
    Ok(crate::api::runs::listing(root, files))
}

/// A dataset of a search's `datasets` or `order_by`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DatasetIn {
    dataset_name: Option<String>,
    dataset_digest: Option<String>,
}

/// One `order_by` item of a search.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrderIn {
    field_name: Option<String>,
    ascending: Option<bool>,
    dataset_name: Option<String>,
    dataset_digest: Option<String>,
}

/// `logged-models/search`' message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Search {
    #[serde(deserialize_with = "strings")]
    experiment_ids: Vec<String>,
    filter: Option<String>,
    datasets: Vec<DatasetIn>,
    max_results: Option<Int>,
    order_by: Vec<OrderIn>,
    page_token: Option<String>,
}

/// `POST logged-models/search {experiment_ids, filter?, datasets?,
/// max_results?, order_by?, page_token?}` -> `{"models",
/// "next_page_token"}`.
pub fn search(s: &Api, m: Search) -> Result<Value, ApiError> {
    if m.experiment_ids.is_empty() {
        return Err(missing("experiment_ids"));
    }
    let datasets = m
        .datasets
        .into_iter()
        .map(|d| DatasetFilter {
            name: d.dataset_name.unwrap_or_default(),
            digest: d.dataset_digest.filter(|x| !x.is_empty()),
        })
        .collect();
    let order_by = m
        .order_by
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let field = o
                .field_name
                .ok_or_else(|| crate::api::request::within("order_by", i, missing("field_name")))?;
            Ok(ModelOrder {
                field,
                ascending: o.ascending.unwrap_or(true),
                dataset: o.dataset_name.map(|name| DatasetFilter {
                    name,
                    digest: o.dataset_digest,
                }),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let max_results = match m.max_results {
        None => None,
        Some(Int(n)) => Some(crate::api::experiments::max_results(n)?),
    };
    let query = SearchModels {
        experiment_ids: m.experiment_ids,
        filter: m.filter.unwrap_or_default(),
        datasets,
        order_by,
        max_results,
        page_token: m.page_token.filter(|t| !t.is_empty()),
    };
    let page = s.client.search_logged_models(&query)?;
    let models = page.items.iter().map(|m| s.model_json(m)).collect();
    Ok(mlflow_json::page(
        "models",
        models,
        page.next_page_token.as_deref(),
    ))
}

/// A model of `runs/outputs`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OutputIn {
    model_id: Option<String>,
    step: Option<Int>,
}

/// `runs/outputs`' message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogOutputs {
    run_id: Option<String>,
    run_uuid: Option<String>,
    models: Vec<OutputIn>,
}

/// `POST runs/outputs {run_id, models: [{model_id, step}]}` -> `{}`.
pub fn log_outputs(s: &Api, m: LogOutputs) -> Result<Value, ApiError> {
    let run_id = run_id(&m.run_id, &m.run_uuid)?;
    let outputs = m
        .models
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            let model_id = o
                .model_id
                .ok_or_else(|| crate::api::request::within("models", i, missing("model_id")))?;
            Ok(ModelOutput {
                model_id,
                step: o.step.map_or(0, |Int(s)| s),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    s.client.log_outputs(run_id, &outputs)?;
    Ok(json!({}))
}

/// `runs/log-model`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogModelMsg {
    run_id: Option<String>,
    run_uuid: Option<String>,
    model_json: Option<String>,
}

/// The run tag that lists the models a run logged (MLflow 2's record,
/// which MLflow 3's Spark flavors and older clients still send).
const MODEL_HISTORY_TAG: &str = "mlflow.log-model.history";

/// `POST runs/log-model {run_id, model_json}`: adds the model's summary
/// (its run id, artifact path, creation time, uuid and flavors, each
/// flavor without its `config`) to the run's `mlflow.log-model.history`
/// tag, as MLflow's server does.
pub fn log_model(s: &Api, m: LogModelMsg) -> Result<Value, ApiError> {
    // Two requests for one run must not both read the old list.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let run_id = run_id(&m.run_id, &m.run_uuid)?;
    let text = required_str("model_json", &m.model_json)?;
    let malformed = || {
        ApiError::invalid(format!(
            "Malformed model info. \n {text} \n is not a valid JSON."
        ))
    };
    let model: serde_json::Map<String, Value> =
        serde_json::from_str(text).map_err(|_| malformed())?;
    let missing: Vec<&str> = ["artifact_path", "flavors", "utc_time_created", "run_id"]
        .into_iter()
        .filter(|k| !model.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|k| format!("'{k}'")).collect();
        return Err(ApiError::invalid(format!(
            "Model json is missing mandatory fields: {{{}}}",
            names.join(", ")
        )));
    }
    let mut summary = serde_json::Map::new();
    for key in ["run_id", "artifact_path", "utc_time_created"] {
        if !model[key].is_null() {
            summary.insert(key.into(), model[key].clone());
        }
    }
    summary.insert(
        "model_uuid".into(),
        model.get("model_uuid").cloned().unwrap_or(Value::Null),
    );
    let flavors = match &model["flavors"] {
        Value::Object(all) => Value::Object(
            all.iter()
                .map(|(name, config)| {
                    let mut config = config.clone();
                    if let Value::Object(c) = &mut config {
                        c.remove("config");
                    }
                    (name.clone(), config)
                })
                .collect(),
        ),
        other => other.clone(),
    };
    summary.insert("flavors".into(), flavors);
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let run = s.client.get_run(run_id)?;
    let mut history: Vec<Value> = match run.data.tags.get(MODEL_HISTORY_TAG) {
        None => Vec::new(),
        Some(old) => serde_json::from_str(old).map_err(|_| {
            ApiError::invalid(format!(
                "the run's {MODEL_HISTORY_TAG} tag is not a JSON list: {old:?}"
            ))
        })?,
    };
    history.push(Value::Object(summary));
    let value = Value::from(history).to_string();
    s.client.set_tag(run_id, MODEL_HISTORY_TAG, &value)?;
    Ok(json!({}))
}
