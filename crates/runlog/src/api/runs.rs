//! `runs/*`: create, get, update, delete, restore, search, log-metric,
//! log-parameter, log-batch, log-inputs, set-tag, delete-tag.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::message::{
    key_values, required, required_str, strings, view_type, Int, KeyValue, Num, Raw,
};
use crate::api::request::{missing, within};
use crate::api::Api;
use crate::format::{DatasetInput, RunStatus};
use crate::tracking::SearchRuns;
use crate::tracking::{mlflow_json, Metric, ModelPoint, NewRun};
use crate::validation::validate_batch_limits;

/// A run's id: `run_id`, else MLflow's older `run_uuid`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunId {
    run_id: Option<String>,
    run_uuid: Option<String>,
}

impl RunId {
    /// The id given, required.
    pub fn get(&self) -> Result<&str, ApiError> {
        run_id(&self.run_id, &self.run_uuid)
    }
}

/// A run's id, required: `run_id`, else `run_uuid`.
pub fn run_id<'a>(
    run_id: &'a Option<String>,
    run_uuid: &'a Option<String>,
) -> Result<&'a str, ApiError> {
    run_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .or(run_uuid.as_deref().filter(|id| !id.is_empty()))
        .ok_or_else(|| missing("run_id"))
}

/// A status by MLflow's name.
fn status(name: &str, value: Option<&str>) -> Result<Option<RunStatus>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    Ok(Some(match value {
        "RUNNING" => RunStatus::Running,
        "SCHEDULED" => RunStatus::Scheduled,
        "FINISHED" => RunStatus::Finished,
        "FAILED" => RunStatus::Failed,
        "KILLED" => RunStatus::Killed,
        other => {
            return Err(ApiError::invalid(format!(
                "Invalid value \"{other}\" for parameter '{name}' supplied: expected RUNNING, \
                 SCHEDULED, FINISHED, FAILED or KILLED"
            )))
        }
    }))
}

/// `runs/create`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateRun {
    experiment_id: Option<String>,
    user_id: Option<String>,
    start_time: Option<Int>,
    tags: Vec<KeyValue>,
    run_name: Option<String>,
}

/// `POST runs/create {experiment_id, user_id?, start_time?, tags?,
/// run_name?}`.
pub fn create(s: &Api, m: CreateRun) -> Result<Value, ApiError> {
    let experiment_id = m.experiment_id.as_deref().unwrap_or("0");
    let tags = key_values("tags", m.tags)?;
    // The client's user: `user_id`, else its `mlflow.user` tag, else none
    // (never the user running the server).
    let user = match m.user_id {
        Some(user) => user,
        None => tags
            .iter()
            .find(|(k, _)| k == crate::context::TAG_USER)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    };
    let mut new = NewRun::new(experiment_id).user_id(user);
    if let Some(Int(start)) = m.start_time {
        new = new.start_time(start);
    }
    if let Some(name) = m.run_name.filter(|n| !n.is_empty()) {
        new = new.run_name(name);
    }
    for (k, v) in tags {
        new = new.tag(k, v);
    }
    let run = s.client.create_run(new)?;
    Ok(json!({"run": s.run_json(&run)}))
}

/// `GET runs/get?run_id=` (or `run_uuid`).
pub fn get(s: &Api, m: RunId) -> Result<Value, ApiError> {
    let run = s.client.get_run(m.get()?)?;
    Ok(json!({"run": s.run_json(&run)}))
}

/// `artifacts/list`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListArtifacts {
    run_id: Option<String>,
    run_uuid: Option<String>,
    path: Option<String>,
}

/// `GET artifacts/list?run_id=&path=`: the files and directories directly
/// under `path` of the run's artifacts, with paths from the artifact root
/// (`{root_uri, files: [{path, is_dir, file_size}]}`, MLflow's shape).
pub fn list_artifacts(s: &Api, m: ListArtifacts) -> Result<Value, ApiError> {
    let run_id = run_id(&m.run_id, &m.run_uuid)?;
    let path = m.path.as_deref().filter(|p| !p.is_empty());
    let run = s.client.get_run(run_id)?;
    let files = s.client.list_artifacts(run_id, path)?;
    Ok(listing(
        s.run_json(&run)["info"]["artifact_uri"].clone(),
        files,
    ))
}

/// A directory's listing as MLflow answers it: `{root_uri, files: [{path,
/// is_dir, file_size}]}`, `files` left out when empty.
pub(crate) fn listing(root_uri: Value, files: Vec<crate::tracking::FileInfo>) -> Value {
    let files: Vec<Value> = files
        .into_iter()
        .map(|file| {
            let mut v = json!({"path": file.path, "is_dir": file.is_dir});
            if let Some(size) = file.file_size {
                v["file_size"] = size.into();
            }
            v
        })
        .collect();
    let mut answer = json!({"root_uri": root_uri});
    if !files.is_empty() {
        answer["files"] = files.into();
    }
    answer
}

/// `runs/update`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateRun {
    run_id: Option<String>,
    run_uuid: Option<String>,
    status: Option<String>,
    end_time: Option<Int>,
    run_name: Option<String>,
}

/// `POST runs/update {run_id, status?, end_time?, run_name?}`, as MLflow's
/// server: the status and the end time given are stored, neither invented
/// (`Client::update_run_info`).
pub fn update(s: &Api, m: UpdateRun) -> Result<Value, ApiError> {
    let run_id = run_id(&m.run_id, &m.run_uuid)?;
    let name = m.run_name.as_deref().filter(|n| !n.is_empty());
    let status = status("status", m.status.as_deref())?;
    let end_time = m.end_time.map(|Int(t)| t);
    s.client.update_run_info(run_id, status, end_time, name)?;
    let run = s.client.get_run(run_id)?;
    Ok(json!({"run_info": s.run_json(&run)["info"]}))
}

/// `POST runs/delete {run_id}`.
pub fn delete(s: &Api, m: RunId) -> Result<Value, ApiError> {
    s.client.delete_run(m.get()?)?;
    Ok(json!({}))
}

/// `POST runs/restore {run_id}`.
pub fn restore(s: &Api, m: RunId) -> Result<Value, ApiError> {
    s.client.restore_run(m.get()?)?;
    Ok(json!({}))
}

/// `runs/search`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchRunsMsg {
    #[serde(deserialize_with = "strings")]
    experiment_ids: Vec<String>,
    filter: Option<String>,
    run_view_type: Option<String>,
    max_results: Option<Int>,
    page_token: Option<String>,
    #[serde(deserialize_with = "strings")]
    order_by: Vec<String>,
}

/// `POST runs/search {experiment_ids, filter?, run_view_type?,
/// max_results?, order_by?, page_token?}`.
pub fn search(s: &Api, m: SearchRunsMsg) -> Result<Value, ApiError> {
    if m.experiment_ids.is_empty() {
        return Ok(json!({})); // as MLflow's store: no experiment, no run
    }
    let query = SearchRuns::new(&m.experiment_ids)
        .filter(m.filter.unwrap_or_default())
        .view(view_type("run_view_type", m.run_view_type.as_deref())?);
    let query = crate::api::paged!(query, m);
    let page = s.client.search_runs(&query)?;
    let runs = page.items.iter().map(|r| s.run_json(r)).collect();
    Ok(mlflow_json::page(
        "runs",
        runs,
        page.next_page_token.as_deref(),
    ))
}

/// `runs/log-metric`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogMetric {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: Option<String>,
    value: Option<Num>,
    timestamp: Option<Int>,
    step: Option<Int>,
    model_id: Option<String>,
    dataset_name: Option<String>,
    dataset_digest: Option<String>,
}

/// `POST runs/log-metric {run_id, key, value, timestamp, step?,
/// model_id?, dataset_name?, dataset_digest?}`.
pub fn log_metric(s: &Api, m: LogMetric) -> Result<Value, ApiError> {
    let run_id = run_id(&m.run_id, &m.run_uuid)?;
    let key = required_str("key", &m.key)?;
    let value = required("value", &m.value)?.0;
    let timestamp = required("timestamp", &m.timestamp)?.0;
    let step = m.step.map_or(0, |Int(s)| s);
    let metric = Metric {
        value,
        timestamp,
        step,
    };
    let Some(model_id) = m.model_id.filter(|id| !id.is_empty()) else {
        s.client.log_metric_at(run_id, key, metric)?;
        return Ok(json!({}));
    };
    let point = ModelPoint {
        key: key.to_owned(),
        metric,
        model_id,
        dataset_name: m.dataset_name,
        dataset_digest: m.dataset_digest,
    };
    let points = [point];
    if !s.client.run_has_points(run_id, &points)?[0] {
        s.client.log_metric_at(run_id, key, metric)?;
    }
    s.client.log_model_metrics(run_id, &points)?;
    Ok(json!({}))
}

/// `runs/log-parameter` and `runs/set-tag`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunKeyValue {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: Option<String>,
    value: Option<String>,
}

/// `POST runs/log-parameter {run_id, key, value}`.
pub fn log_param(s: &Api, m: RunKeyValue) -> Result<Value, ApiError> {
    s.client.log_param(
        run_id(&m.run_id, &m.run_uuid)?,
        required_str("key", &m.key)?,
        m.value.as_deref().unwrap_or_default(),
    )?;
    Ok(json!({}))
}

/// One point of `runs/log-batch`.
#[derive(Debug, Deserialize)]
pub struct MetricIn<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    value: Num,
    timestamp: Int,
    step: Option<Int>,
    /// MLflow 3: the logged model the point is about, and the dataset it
    /// was measured on.
    #[serde(borrow, default)]
    model_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    dataset_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    dataset_digest: Option<Cow<'a, str>>,
}

/// A param or tag of `runs/log-batch`.
#[derive(Debug, Deserialize)]
pub struct KeyValueIn<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow, default)]
    value: Option<Cow<'a, str>>,
}

/// `runs/log-batch`'s message: the hot write, read in one pass straight
/// into typed fields that borrow from the body (no JSON tree, no copy of
/// a string before the batch takes it).
#[derive(Debug, Deserialize)]
pub struct LogBatch<'a> {
    #[serde(borrow, default)]
    run_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    run_uuid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    metrics: Vec<MetricIn<'a>>,
    #[serde(borrow, default)]
    params: Vec<KeyValueIn<'a>>,
    #[serde(borrow, default)]
    tags: Vec<KeyValueIn<'a>>,
}

impl LogBatch<'_> {
    /// How many metric points it carries.
    pub fn metric_count(&self) -> usize {
        self.metrics.len()
    }
}

/// `POST runs/log-batch {run_id, metrics?, params?, tags?}`, within
/// MLflow's per-request limits (1,000 metrics, 100 params, 100 tags, 1,000
/// items in all).
pub fn log_batch(s: &Api, raw: &Raw) -> Result<Value, ApiError> {
    let m: LogBatch = raw.parse_borrowed()?;
    let run_id = m
        .run_id
        .as_deref()
        .or(m.run_uuid.as_deref())
        .ok_or_else(|| missing("run_id"))?;
    validate_batch_limits(m.metrics.len(), m.params.len(), m.tags.len())?;
    // The points keep their keys borrowed from the body: no copy of a key
    // for each of up to 1,000 points.
    let mut metrics: Vec<(Cow<str>, Metric)> = Vec::with_capacity(m.metrics.len());
    let mut about_models = Vec::new();
    // Where each point about a model is in the batch.
    let mut slots = Vec::new();
    for point in m.metrics {
        let metric = Metric {
            value: point.value.0,
            timestamp: point.timestamp.0,
            step: point.step.map_or(0, |Int(s)| s),
        };
        if let Some(model_id) = point.model_id.filter(|id| !id.is_empty()) {
            slots.push(metrics.len());
            about_models.push(ModelPoint {
                key: point.key.to_string(),
                metric,
                model_id: model_id.into_owned(),
                dataset_name: point.dataset_name.map(Cow::into_owned),
                dataset_digest: point.dataset_digest.map(Cow::into_owned),
            });
        }
        metrics.push((point.key, metric));
    }
    let params: Vec<(String, String)> = m
        .params
        .into_iter()
        .map(|p| (p.key.into_owned(), p.value.unwrap_or_default().into_owned()))
        .collect();
    let tags: Vec<(String, String)> = m
        .tags
        .into_iter()
        .map(|t| (t.key.into_owned(), t.value.unwrap_or_default().into_owned()))
        .collect();
    if !about_models.is_empty() {
        drop_logged_points(s, run_id, &mut metrics, &about_models, &slots)?;
    }
    s.client.log_batch_of(run_id, &metrics, &params, &tags)?;
    s.client.log_model_metrics(run_id, &about_models)?;
    Ok(json!({}))
}

/// Takes out of `metrics` the points about models that the run already has
/// (or that come twice in the request), as MLflow's SQL store keeps one row
/// per point: sending a model's metrics again (a resumed `runlog sync`)
/// adds nothing to the run. Plain points are not looked at.
fn drop_logged_points(
    s: &Api,
    run_id: &str,
    metrics: &mut Vec<(Cow<str>, Metric)>,
    points: &[ModelPoint],
    slots: &[usize],
) -> Result<(), ApiError> {
    let present = s.client.run_has_points(run_id, points)?;
    let mut seen = std::collections::HashSet::new();
    let mut drop = vec![false; metrics.len()];
    for ((p, &slot), present) in points.iter().zip(slots).zip(present) {
        let bits = if p.metric.value.is_nan() {
            f64::NAN.to_bits()
        } else {
            p.metric.value.to_bits()
        };
        let first = seen.insert((&p.key, p.metric.step, p.metric.timestamp, bits));
        drop[slot] = present || !first;
    }
    let mut i = 0;
    metrics.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
    Ok(())
}

/// A dataset of `runs/log-inputs`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DatasetIn {
    name: Option<String>,
    digest: Option<String>,
    source_type: Option<String>,
    source: Option<String>,
    schema: Option<String>,
    profile: Option<String>,
}

/// An input of `runs/log-inputs`: a dataset and its tags.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DatasetInputIn {
    tags: Vec<KeyValue>,
    dataset: Option<DatasetIn>,
}

/// `runs/log-inputs`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogInputs {
    run_id: Option<String>,
    run_uuid: Option<String>,
    datasets: Vec<DatasetInputIn>,
    models: Vec<ModelInputIn>,
}

/// A model of `runs/log-inputs` (MLflow 3).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ModelInputIn {
    model_id: Option<String>,
}

/// `POST runs/log-inputs {run_id, datasets: [{tags, dataset}], models:
/// [{model_id}]}`.
pub fn log_inputs(s: &Api, m: LogInputs) -> Result<Value, ApiError> {
    let run_id = run_id(&m.run_id, &m.run_uuid)?;
    let mut inputs = Vec::with_capacity(m.datasets.len());
    for (i, item) in m.datasets.into_iter().enumerate() {
        let input = (|| {
            let tags = key_values("tags", item.tags)?;
            let d = item.dataset.ok_or_else(|| missing("dataset"))?;
            Ok::<_, ApiError>(DatasetInput {
                name: required_str("name", &d.name)?.to_owned(),
                digest: required_str("digest", &d.digest)?.to_owned(),
                source_type: required_str("source_type", &d.source_type)?.to_owned(),
                source: d.source.unwrap_or_default(),
                schema: d.schema,
                profile: d.profile,
                tags,
            })
        })()
        .map_err(|e| within("datasets", i, e))?;
        inputs.push(input);
    }
    let models = m
        .models
        .into_iter()
        .enumerate()
        .map(|(i, model)| {
            model
                .model_id
                .ok_or_else(|| within("models", i, missing("model_id")))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    if !inputs.is_empty() || models.is_empty() {
        s.client.log_inputs(run_id, &inputs)?;
    }
    if !models.is_empty() {
        let ids: Vec<&str> = models.iter().map(String::as_str).collect();
        s.client.log_model_inputs(run_id, &ids)?;
    }
    Ok(json!({}))
}

/// `POST runs/set-tag {run_id, key, value}`.
pub fn set_tag(s: &Api, m: RunKeyValue) -> Result<Value, ApiError> {
    s.client.set_tag(
        run_id(&m.run_id, &m.run_uuid)?,
        required_str("key", &m.key)?,
        m.value.as_deref().unwrap_or_default(),
    )?;
    Ok(json!({}))
}

/// `runs/delete-tag`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunKey {
    run_id: Option<String>,
    run_uuid: Option<String>,
    key: Option<String>,
}

/// `POST runs/delete-tag {run_id, key}`.
pub fn delete_tag(s: &Api, m: RunKey) -> Result<Value, ApiError> {
    s.client.delete_tag(
        run_id(&m.run_id, &m.run_uuid)?,
        required_str("key", &m.key)?,
    )?;
    Ok(json!({}))
}
