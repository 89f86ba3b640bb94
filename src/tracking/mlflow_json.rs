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

use crate::format::DatasetInput;
use crate::replay::Event;
use crate::tracking::model::{json_number, Experiment, LifecycleStage, Metric, Run};

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
    json!({"info": info, "data": data, "inputs": inputs})
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
    use crate::format::RunStatus;
    use crate::tracking::model::{RunData, RunInfo};

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
        assert_eq!(v["inputs"], json!({}));
        assert_eq!(runs_page(&[], None), json!({}));
        assert_eq!(
            runs_page(&[r], Some("t"))["next_page_token"],
            Value::from("t")
        );
    }
}
