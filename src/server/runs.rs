//! `runs/*`: create, get, update, delete, restore, search, log-metric,
//! log-parameter, log-batch, log-inputs, set-tag, delete-tag.

use serde_json::{json, Value};

use crate::format::{DatasetInput, RunStatus};
use crate::server::error::ApiError;
use crate::server::request::{within, Fields};
use crate::server::{view_type, State};
use crate::tracking::SearchRuns;
use crate::tracking::{mlflow_json, Batch, Metric, NewRun};
use crate::validation::validate_batch_limits;
use crate::writer::wall_clock_ms;

/// A status by MLflow's name.
fn status(f: &Fields, name: &str) -> Result<Option<RunStatus>, ApiError> {
    let Some(value) = f.opt_string(name)? else {
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

/// `POST runs/create {experiment_id, user_id?, start_time?, tags?,
/// run_name?}`.
pub fn create(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let experiment_id = f.opt_string("experiment_id")?.unwrap_or("0");
    let tags = f.key_values("tags")?;
    // The client's user: `user_id`, else its `mlflow.user` tag, else none
    // (never the user running the server).
    let user = match f.opt_string("user_id")? {
        Some(user) => user.to_owned(),
        None => tags
            .iter()
            .find(|(k, _)| k == crate::context::TAG_USER)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    };
    let mut new = NewRun::new(experiment_id).user_id(user);
    if let Some(start) = f.opt_i64("start_time")? {
        new = new.start_time(start);
    }
    if let Some(name) = f.opt_string("run_name")?.filter(|n| !n.is_empty()) {
        new = new.run_name(name);
    }
    for (k, v) in tags {
        new = new.tag(k, v);
    }
    let run = s.client.create_run(new)?;
    Ok(json!({"run": s.run_json(&run)}))
}

/// `GET runs/get?run_id=` (or `run_uuid`).
pub fn get(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let run = s.client.get_run(f.run_id()?)?;
    Ok(json!({"run": s.run_json(&run)}))
}

/// `GET artifacts/list?run_id=&path=`: the files and directories directly
/// under `path` of the run's artifacts, with paths from the artifact root
/// (`{root_uri, files: [{path, is_dir, file_size}]}`, MLflow's shape).
pub fn list_artifacts(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let run_id = f.run_id()?;
    let path = f.opt_string("path")?.filter(|p| !p.is_empty());
    let run = s.client.get_run(run_id)?;
    let files: Vec<Value> = s
        .client
        .list_artifacts(run_id, path)?
        .into_iter()
        .map(|file| {
            let mut v = json!({"path": file.path, "is_dir": file.is_dir});
            if let Some(size) = file.file_size {
                v["file_size"] = size.into();
            }
            v
        })
        .collect();
    let mut answer = json!({"root_uri": s.run_json(&run)["info"]["artifact_uri"]});
    if !files.is_empty() {
        answer["files"] = files.into();
    }
    Ok(answer)
}

/// `POST runs/update {run_id, status?, end_time?, run_name?}`: RUNNING
/// resumes a run, a terminal status ends it (at `end_time`, else now).
pub fn update(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let run_id = f.run_id()?;
    let name = f.opt_string("run_name")?.filter(|n| !n.is_empty());
    match status(f, "status")? {
        Some(st @ (RunStatus::Finished | RunStatus::Failed | RunStatus::Killed)) => {
            if name.is_some() {
                s.client.update_run(run_id, None, name)?;
            }
            let end = f.opt_i64("end_time")?.unwrap_or_else(wall_clock_ms);
            s.client.set_terminated_at(run_id, st, end)?;
        }
        other => s.client.update_run(run_id, other, name)?,
    }
    let run = s.client.get_run(run_id)?;
    Ok(json!({"run_info": s.run_json(&run)["info"]}))
}

/// `POST runs/delete {run_id}`.
pub fn delete(s: &State, f: &Fields) -> Result<Value, ApiError> {
    s.client.delete_run(f.run_id()?)?;
    Ok(json!({}))
}

/// `POST runs/restore {run_id}`.
pub fn restore(s: &State, f: &Fields) -> Result<Value, ApiError> {
    s.client.restore_run(f.run_id()?)?;
    Ok(json!({}))
}

/// `POST runs/search {experiment_ids, filter?, run_view_type?,
/// max_results?, order_by?, page_token?}`.
pub fn search(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let ids = f.strings("experiment_ids")?;
    let query = SearchRuns::new(&ids)
        .filter(f.opt_string("filter")?.unwrap_or_default())
        .view(view_type(f, "run_view_type")?);
    let query = crate::server::paged!(query, f);
    let page = s.client.search_runs(&query)?;
    let runs = page.items.iter().map(|r| s.run_json(r)).collect();
    Ok(mlflow_json::page(
        "runs",
        runs,
        page.next_page_token.as_deref(),
    ))
}

/// `POST runs/log-metric {run_id, key, value, timestamp, step?}`.
pub fn log_metric(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let run_id = f.run_id()?;
    let key = f.string("key")?;
    let value = f.f64("value")?;
    let timestamp = f.opt_i64("timestamp")?.unwrap_or_else(wall_clock_ms);
    let step = f.opt_i64("step")?.unwrap_or(0);
    s.client.log_metric_at(
        run_id,
        key,
        Metric {
            value,
            timestamp,
            step,
        },
    )?;
    Ok(json!({}))
}

/// `POST runs/log-parameter {run_id, key, value}`.
pub fn log_param(s: &State, f: &Fields) -> Result<Value, ApiError> {
    s.client.log_param(
        f.run_id()?,
        f.string("key")?,
        f.opt_string("value")?.unwrap_or_default(),
    )?;
    Ok(json!({}))
}

/// `POST runs/log-batch {run_id, metrics?, params?, tags?}`, within
/// MLflow's per-request limits (1,000 metrics, 100 params, 100 tags, 1,000
/// items in all).
pub fn log_batch(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let run_id = f.run_id()?;
    let metrics = f.list("metrics")?;
    let params = f.key_values("params")?;
    let tags = f.key_values("tags")?;
    validate_batch_limits(metrics.len(), params.len(), tags.len())?;
    let mut batch = Batch::new();
    for (i, m) in metrics.iter().enumerate() {
        let m = Fields::item("metrics", i, m)?;
        let point = (|| {
            Ok::<_, ApiError>((
                m.string("key")?.to_owned(),
                m.f64("value")?,
                m.opt_i64("step")?.unwrap_or(0),
                m.opt_i64("timestamp")?.unwrap_or_else(wall_clock_ms),
            ))
        })()
        .map_err(|e| within("metrics", i, e))?;
        batch = batch.metric_at(point.0, point.1, point.2, point.3);
    }
    for (k, v) in params {
        batch = batch.param(k, v);
    }
    for (k, v) in tags {
        batch = batch.tag(k, v);
    }
    s.client.log_batch(run_id, &batch)?;
    Ok(json!({}))
}

/// `POST runs/log-inputs {run_id, datasets: [{tags, dataset}]}`.
pub fn log_inputs(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let run_id = f.run_id()?;
    let mut inputs = Vec::new();
    for (i, item) in f.list("datasets")?.iter().enumerate() {
        let input = (|| {
            let item = Fields::item("datasets", i, item)?;
            let tags = item.key_values("tags")?;
            let dataset = item
                .get("dataset")
                .ok_or_else(|| crate::server::request::missing("dataset"))?;
            let d = Fields::item("dataset", 0, dataset)?;
            Ok::<_, ApiError>(DatasetInput {
                name: d.string("name")?.to_owned(),
                digest: d.string("digest")?.to_owned(),
                source_type: d.string("source_type")?.to_owned(),
                source: d.opt_string("source")?.unwrap_or_default().to_owned(),
                schema: d.opt_string("schema")?.map(str::to_owned),
                profile: d.opt_string("profile")?.map(str::to_owned),
                tags,
            })
        })()
        .map_err(|e| within("datasets", i, e))?;
        inputs.push(input);
    }
    s.client.log_inputs(run_id, &inputs)?;
    Ok(json!({}))
}

/// `POST runs/set-tag {run_id, key, value}`.
pub fn set_tag(s: &State, f: &Fields) -> Result<Value, ApiError> {
    s.client.set_tag(
        f.run_id()?,
        f.string("key")?,
        f.opt_string("value")?.unwrap_or_default(),
    )?;
    Ok(json!({}))
}

/// `POST runs/delete-tag {run_id, key}`.
pub fn delete_tag(s: &State, f: &Fields) -> Result<Value, ApiError> {
    s.client.delete_tag(f.run_id()?, f.string("key")?)?;
    Ok(json!({}))
}

/// `runs/log-batch` parsed straight into typed fields (no JSON tree: the
/// tree's allocations cost more than the rest of the request). Any body
/// this does not read is handed to [`log_batch`] for its precise error.
pub mod fast {
    use std::borrow::Cow;

    use serde::de::{self, Deserializer, Visitor};
    use serde::Deserialize;

    use super::*;

    /// An int64 as a JSON number or a string, as protobuf's JSON allows.
    struct Int(i64);

    impl<'de> Deserialize<'de> for Int {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Int, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Int;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an int64")
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Int, E> {
                    Ok(Int(v))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Int, E> {
                    i64::try_from(v).map(Int).map_err(E::custom)
                }
                fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Int, E> {
                    v.trim().parse().map(Int).map_err(E::custom)
                }
            }
            d.deserialize_any(V)
        }
    }

    /// A double as a number, or a string (`"NaN"`, `"Infinity"`, ...).
    struct Num(f64);

    impl<'de> Deserialize<'de> for Num {
        fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Num, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Num;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a double")
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<Num, E> {
                    Ok(Num(v))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<Num, E> {
                    Ok(Num(v as f64))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<Num, E> {
                    Ok(Num(v as f64))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Num, E> {
                    crate::server::request::number_text(v)
                        .map(Num)
                        .ok_or_else(|| E::custom(format!("{v:?} is not a double")))
                }
            }
            d.deserialize_any(V)
        }
    }

    #[derive(Deserialize)]
    struct MetricIn<'a> {
        #[serde(borrow)]
        key: Cow<'a, str>,
        value: Num,
        timestamp: Option<Int>,
        step: Option<Int>,
    }

    #[derive(Deserialize)]
    struct KeyValueIn<'a> {
        #[serde(borrow)]
        key: Cow<'a, str>,
        #[serde(borrow, default)]
        value: Option<Cow<'a, str>>,
    }

    #[derive(Deserialize)]
    struct BatchIn<'a> {
        #[serde(borrow, default)]
        run_id: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        run_uuid: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        metrics: Option<Vec<MetricIn<'a>>>,
        #[serde(borrow, default)]
        params: Option<Vec<KeyValueIn<'a>>>,
        #[serde(borrow, default)]
        tags: Option<Vec<KeyValueIn<'a>>>,
    }

    /// Logs a batch read straight from the body; `None` when the body
    /// needs the general path (its errors name the field).
    pub fn log_batch(s: &State, body: &[u8]) -> Option<Result<Value, ApiError>> {
        let batch: BatchIn = serde_json::from_slice(body).ok()?;
        let run_id = batch.run_id.as_deref().or(batch.run_uuid.as_deref())?;
        let metrics = batch.metrics.unwrap_or_default();
        let params = batch.params.unwrap_or_default();
        let tags = batch.tags.unwrap_or_default();
        if let Err(e) = validate_batch_limits(metrics.len(), params.len(), tags.len()) {
            return Some(Err(e.into()));
        }
        let now = wall_clock_ms();
        let mut out = Batch::new();
        out.metrics.reserve(metrics.len());
        for m in metrics {
            out = out.metric_at(
                m.key.into_owned(),
                m.value.0,
                m.step.map_or(0, |s| s.0),
                m.timestamp.map_or(now, |t| t.0),
            );
        }
        for p in params {
            out = out.param(p.key.into_owned(), p.value.unwrap_or_default());
        }
        for t in tags {
            out = out.tag(t.key.into_owned(), t.value.unwrap_or_default().into_owned());
        }
        Some(
            s.client
                .log_batch(run_id, &out)
                .map(|()| json!({}))
                .map_err(ApiError::from),
        )
    }
}
