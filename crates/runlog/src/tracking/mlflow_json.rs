//! Runs, experiments and metric points as the JSON of MLflow's REST API
//! (the proto3 JSON form of `mlflow/protos/service.proto`): tags, params and
//! metrics as lists of `{"key": ..., "value": ...}`, metric values as
//! numbers or `"NaN"` / `"Infinity"` / `"-Infinity"`, times as numbers of
//! ms, and, as MLflow writes them, absent optional fields and empty lists
//! left out. `runlog ... --json` prints these shapes, and `runlog server`
//! answers with them.
//!
//! ```
//! use runlog::tracking::{mlflow_json, Metric};
//! let point = Metric { value: f64::NAN, timestamp: 7, step: 3 };
//! assert_eq!(
//!     mlflow_json::metric("loss", &point).to_string(),
//!     r#"{"key":"loss","value":"NaN","timestamp":7,"step":3}"#
//! );
//! ```

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::format::{DatasetInput, RunStatus};
use crate::replay::Event;
use crate::tracking::model::LoggedModel;
use crate::tracking::model::{
    json_number, Experiment, LifecycleStage, Metric, Run, RunData, RunInfo,
};

/// A metric point: `{"key", "value", "timestamp", "step"}`.
pub fn metric(key: &str, m: &Metric) -> Value {
    json!({
        "key": key,
        "value": number(m.value),
        "timestamp": m.timestamp,
        "step": m.step,
    })
}

/// A list of `{"key", "value"}` objects (tags, params) read back as a map
/// (the inverse of [`key_values`]); entries without a string key and value
/// are left out.
///
/// ```
/// let list = serde_json::json!([{"key": "a", "value": "1"}, {"key": "b"}]);
/// let map = runlog::tracking::mlflow_json::key_value_map(&list);
/// assert_eq!(map.len(), 1);
/// assert_eq!(map["a"], "1");
/// ```
pub fn key_value_map(list: &Value) -> BTreeMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|kv| {
            Some((
                kv["key"].as_str()?.to_owned(),
                kv["value"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// A metric value: a JSON number, or MLflow's string for a non-finite one.
pub fn number(v: f64) -> Value {
    match json_number::non_finite_name(v) {
        Some(name) => Value::from(name),
        None => Value::from(v),
    }
}

/// `"active"` or `"deleted"`.
pub fn lifecycle_stage(stage: LifecycleStage) -> &'static str {
    match stage {
        LifecycleStage::Active => "active",
        LifecycleStage::Deleted => "deleted",
    }
}

/// Key-value pairs as `[{"key", "value"}]`.
pub fn key_values<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Array(
        pairs
            .into_iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// Inserts `value` under `key` unless it is an empty list.
fn put_list(object: &mut Map<String, Value>, key: &str, value: Value) {
    if value.as_array().is_some_and(|a| !a.is_empty()) {
        object.insert(key.to_owned(), value);
    }
}

fn map_pairs(map: &BTreeMap<String, String>) -> Value {
    key_values(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// An experiment (`experiments/get`'s `experiment`).
pub fn experiment(e: &Experiment) -> Value {
    let mut o = Map::new();
    o.insert("experiment_id".into(), e.experiment_id.clone().into());
    o.insert("name".into(), e.name.clone().into());
    o.insert(
        "artifact_location".into(),
        e.artifact_location.clone().into(),
    );
    o.insert(
        "lifecycle_stage".into(),
        lifecycle_stage(e.lifecycle_stage).into(),
    );
    o.insert("last_update_time".into(), e.last_update_time.into());
    o.insert("creation_time".into(), e.creation_time.into());
    put_list(&mut o, "tags", map_pairs(&e.tags));
    Value::Object(o)
}

/// A dataset input: `{"tags": [...], "dataset": {...}}`.
pub fn dataset_input(input: &DatasetInput) -> Value {
    let mut dataset = Map::new();
    dataset.insert("name".into(), input.name.clone().into());
    dataset.insert("digest".into(), input.digest.clone().into());
    dataset.insert("source_type".into(), input.source_type.clone().into());
    dataset.insert("source".into(), input.source.clone().into());
    if let Some(schema) = &input.schema {
        dataset.insert("schema".into(), schema.clone().into());
    }
    if let Some(profile) = &input.profile {
        dataset.insert("profile".into(), profile.clone().into());
    }
    let mut o = Map::new();
    put_list(
        &mut o,
        "tags",
        key_values(input.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
    o.insert("dataset".into(), Value::Object(dataset));
    Value::Object(o)
}

/// A run (`runs/get`'s `run`): `info`, `data` (latest metrics, params,
/// tags) and `inputs`.
pub fn run(r: &Run) -> Value {
    let i = &r.info;
    let mut info = Map::new();
    info.insert("run_id".into(), i.run_id.clone().into());
    // MLflow still sends the deprecated name beside run_id.
    info.insert("run_uuid".into(), i.run_id.clone().into());
    info.insert("run_name".into(), i.run_name.clone().into());
    info.insert("experiment_id".into(), i.experiment_id.clone().into());
    info.insert("user_id".into(), i.user_id.clone().into());
    info.insert("status".into(), i.status.as_str().into());
    info.insert("start_time".into(), i.start_time.into());
    if let Some(end) = i.end_time {
        info.insert("end_time".into(), end.into());
    }
    info.insert("artifact_uri".into(), i.artifact_uri.clone().into());
    info.insert(
        "lifecycle_stage".into(),
        lifecycle_stage(i.lifecycle_stage).into(),
    );
    let mut data = Map::new();
    put_list(
        &mut data,
        "metrics",
        Value::Array(r.data.metrics.iter().map(|(k, m)| metric(k, m)).collect()),
    );
    put_list(&mut data, "params", map_pairs(&r.data.params));
    put_list(&mut data, "tags", map_pairs(&r.data.tags));
    let mut inputs = Map::new();
    put_list(
        &mut inputs,
        "dataset_inputs",
        Value::Array(r.inputs.iter().map(dataset_input).collect()),
    );
    put_list(
        &mut inputs,
        "model_inputs",
        r.model_inputs
            .iter()
            .map(|id| json!({"model_id": id}))
            .collect(),
    );
    let mut outputs = Map::new();
    put_list(
        &mut outputs,
        "model_outputs",
        r.outputs
            .iter()
            .map(|o| json!({"model_id": o.model_id, "step": o.step}))
            .collect(),
    );
    json!({"info": info, "data": data, "inputs": inputs, "outputs": outputs})
}

/// A logged model (`logged-models/get`'s `model`): `info` (ids, name,
/// artifact URI, times, status, tags) and `data` (params, metrics), as
/// MLflow's `LoggedModel` message.
pub fn logged_model(m: &LoggedModel) -> Value {
    let mut info = Map::new();
    info.insert("experiment_id".into(), m.experiment_id.clone().into());
    info.insert("model_id".into(), m.model_id.clone().into());
    info.insert("name".into(), m.name.clone().into());
    info.insert("artifact_uri".into(), m.artifact_location.clone().into());
    info.insert("creation_timestamp_ms".into(), m.creation_timestamp.into());
    info.insert(
        "last_updated_timestamp_ms".into(),
        m.last_updated_timestamp.into(),
    );
    if let Some(t) = &m.model_type {
        info.insert("model_type".into(), t.clone().into());
    }
    if let Some(r) = &m.source_run_id {
        info.insert("source_run_id".into(), r.clone().into());
    }
    info.insert("status".into(), m.status.as_str().into());
    put_list(&mut info, "tags", map_pairs(&m.tags));
    let mut data = Map::new();
    put_list(&mut data, "params", map_pairs(&m.params));
    put_list(
        &mut data,
        "metrics",
        m.metrics
            .iter()
            .map(|p| {
                let mut v = metric(
                    &p.key,
                    &Metric {
                        value: p.value,
                        timestamp: p.timestamp,
                        step: p.step,
                    },
                );
                v["model_id"] = m.model_id.clone().into();
                v["run_id"] = p.run_id.clone().into();
                if let Some(name) = &p.dataset_name {
                    v["dataset_name"] = name.clone().into();
                }
                if let Some(digest) = &p.dataset_digest {
                    v["dataset_digest"] = digest.clone().into();
                }
                v
            })
            .collect(),
    );
    json!({"info": info, "data": data})
}

/// One page of a search: `{"<field>": [...], "next_page_token": ...}`,
/// the list left out when empty and the token on the last page.
pub fn page(field: &str, items: Vec<Value>, next_page_token: Option<&str>) -> Value {
    let mut o = Map::new();
    put_list(&mut o, field, Value::Array(items));
    if let Some(token) = next_page_token {
        o.insert("next_page_token".into(), token.into());
    }
    Value::Object(o)
}

/// One page of runs (`runs/search`'s answer).
pub fn runs_page(runs: &[Run], next_page_token: Option<&str>) -> Value {
    page("runs", runs.iter().map(run).collect(), next_page_token)
}

/// One page of experiments (`experiments/search`'s answer).
pub fn experiments_page(experiments: &[Experiment], next_page_token: Option<&str>) -> Value {
    let items = experiments.iter().map(experiment).collect();
    page("experiments", items, next_page_token)
}

// ----- reading MLflow's answers back -----

/// A string field, or an error naming it and the object.
fn text(v: &Value, field: &str, what: &str) -> Result<String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Remote(format!("{what} without a {field:?}: {v}")))
}

/// A metric value: a number, or `"NaN"` / `"Infinity"` / `"-Infinity"`.
fn value_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => json_number::from_name(s).or_else(|| s.parse().ok()),
        _ => None,
    }
}

/// An integer sent as a number or, as proto3 JSON allows for int64, a string.
fn int_of(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// A metric point read back from [`metric`]'s shape (step 0 when left out,
/// as proto3 leaves zero out).
pub fn metric_from(v: &Value) -> Result<(String, Metric)> {
    let key = text(v, "key", "a metric")?;
    let value = value_of(&v["value"]).ok_or_else(|| {
        Error::Remote(format!("metric {key:?}: a value that is not a number: {v}"))
    })?;
    let timestamp = int_of(&v["timestamp"]).unwrap_or(0);
    let step = int_of(&v["step"]).unwrap_or(0);
    Ok((
        key,
        Metric {
            value,
            timestamp,
            step,
        },
    ))
}

/// A lifecycle stage by MLflow's name.
fn stage_of(v: &Value) -> LifecycleStage {
    match v.as_str() {
        Some("deleted") => LifecycleStage::Deleted,
        _ => LifecycleStage::Active,
    }
}

/// An experiment read back from [`experiment`]'s shape.
pub fn experiment_from(v: &Value) -> Result<Experiment> {
    Ok(Experiment {
        experiment_id: text(v, "experiment_id", "an experiment")?,
        name: text(v, "name", "an experiment")?,
        artifact_location: v["artifact_location"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        lifecycle_stage: stage_of(&v["lifecycle_stage"]),
        creation_time: int_of(&v["creation_time"]).unwrap_or(0),
        last_update_time: int_of(&v["last_update_time"]).unwrap_or(0),
        tags: key_value_map(&v["tags"]),
    })
}

/// A dataset input read back from [`dataset_input`]'s shape.
pub fn dataset_input_from(v: &Value) -> DatasetInput {
    let d = &v["dataset"];
    let field = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
    DatasetInput {
        name: field("name"),
        digest: field("digest"),
        source_type: field("source_type"),
        source: field("source"),
        schema: d["schema"].as_str().map(str::to_owned),
        profile: d["profile"].as_str().map(str::to_owned),
        tags: key_value_map(&v["tags"]).into_iter().collect(),
    }
}

/// A run status by MLflow's name or number (file stores write 1 to 5).
pub fn status_from(name: &str) -> Option<RunStatus> {
    Some(match name {
        "1" | "RUNNING" => RunStatus::Running,
        "2" | "SCHEDULED" => RunStatus::Scheduled,
        "3" | "FINISHED" => RunStatus::Finished,
        "4" | "FAILED" => RunStatus::Failed,
        "5" | "KILLED" => RunStatus::Killed,
        _ => return None,
    })
}

/// A run read back from [`run`]'s shape.
pub fn run_from(v: &Value) -> Result<Run> {
    let i = &v["info"];
    let run_id = i["run_id"]
        .as_str()
        .or_else(|| i["run_uuid"].as_str())
        .ok_or_else(|| Error::Remote(format!("a run without a \"run_id\": {v}")))?
        .to_owned();
    let status_name = i["status"].as_str().unwrap_or("RUNNING");
    let status = status_from(status_name)
        .ok_or_else(|| Error::Remote(format!("run {run_id}: unknown status {status_name:?}")))?;
    let metrics = v["data"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(metric_from)
        .collect::<Result<_>>()?;
    Ok(Run {
        info: RunInfo {
            run_name: i["run_name"].as_str().unwrap_or_default().to_owned(),
            experiment_id: text(i, "experiment_id", "a run")?,
            user_id: i["user_id"].as_str().unwrap_or_default().to_owned(),
            status,
            start_time: int_of(&i["start_time"]).unwrap_or(0),
            end_time: int_of(&i["end_time"]),
            artifact_uri: i["artifact_uri"].as_str().unwrap_or_default().to_owned(),
            lifecycle_stage: stage_of(&i["lifecycle_stage"]),
            run_id,
        },
        data: RunData {
            metrics,
            params: key_value_map(&v["data"]["params"]),
            tags: key_value_map(&v["data"]["tags"]),
        },
        inputs: v["inputs"]["dataset_inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(dataset_input_from)
            .collect(),
        model_inputs: v["inputs"]["model_inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["model_id"].as_str().map(str::to_owned))
            .collect(),
        outputs: v["outputs"]["model_outputs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| {
                Some(crate::tracking::ModelOutput {
                    model_id: o["model_id"].as_str()?.to_owned(),
                    step: int_of(&o["step"]).unwrap_or(0),
                })
            })
            .collect(),
    })
}

/// A replayed event in JSON (`runlog replay --json`): see [`Event`].
impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        match self {
            Event::Metric {
                run_id,
                key,
                value,
                timestamp,
                step,
            } => {
                let mut m = s.serialize_struct("Metric", 6)?;
                m.serialize_field("type", "metric")?;
                m.serialize_field("run_id", &**run_id)?;
                m.serialize_field("key", &**key)?;
                match json_number::non_finite_name(*value) {
                    Some(name) => m.serialize_field("value", name)?,
                    None => m.serialize_field("value", value)?,
                }
                m.serialize_field("timestamp", timestamp)?;
                m.serialize_field("step", step)?;
                m.end()
            }
            Event::Record(r) => r.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_has_mlflows_shape() {
        let mut data = RunData::default();
        data.metrics.insert(
            "loss".into(),
            Metric {
                value: f64::INFINITY,
                timestamp: 5,
                step: -1,
            },
        );
        data.params.insert("lr".into(), "0.1".into());
        let r = Run {
            info: RunInfo {
                run_id: "ab".into(),
                run_name: "n".into(),
                experiment_id: "0".into(),
                user_id: "u".into(),
                status: RunStatus::Running,
                start_time: 1,
                end_time: None,
                artifact_uri: "file:///a".into(),
                lifecycle_stage: LifecycleStage::Active,
            },
            data,
            inputs: Vec::new(),
            model_inputs: vec!["m-1".into()],
            outputs: vec![crate::tracking::ModelOutput {
                model_id: "m-2".into(),
                step: 3,
            }],
        };
        let v = run(&r);
        assert_eq!(v["info"]["status"], "RUNNING");
        assert_eq!(v["info"]["run_uuid"], "ab");
        assert!(v["info"].get("end_time").is_none(), "unset: left out");
        assert_eq!(
            v["data"]["metrics"],
            json!([{"key": "loss", "value": "Infinity", "timestamp": 5, "step": -1}])
        );
        assert_eq!(v["data"]["params"], json!([{"key": "lr", "value": "0.1"}]));
        assert!(v["data"].get("tags").is_none(), "empty: left out");
        assert_eq!(v["inputs"], json!({"model_inputs": [{"model_id": "m-1"}]}));
        assert_eq!(
            v["outputs"],
            json!({"model_outputs": [{"model_id": "m-2", "step": 3}]})
        );
        assert_eq!(run_from(&v).unwrap(), r, "read back");
        assert_eq!(runs_page(&[], None), json!({}));
        assert_eq!(run_from(&v).unwrap(), r, "read back as written");
        assert_eq!(
            runs_page(&[r], Some("t"))["next_page_token"],
            Value::from("t")
        );
    }
}
