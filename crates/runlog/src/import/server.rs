//! Reading an MLflow tracking server over its REST API (MLflow's own or
//! `runlog server`): experiments and runs of every lifecycle stage, paged,
//! each run's histories read with `metrics/get-history`; then MLflow 3's
//! logged models (those the server lists) and the model registry.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::Result;
use crate::format::ModelStatus;
use crate::import::models::{SourceModel, SourceModelLink, SourceRegisteredModel, SourceVersion};
use crate::import::{status, Sink, SourceExperiment, SourceRun};
use crate::remote::MlflowServer;
use crate::tracking::model::json_number;
use crate::tracking::{mlflow_json, Metric};

/// Reads the server into `sink`: its experiments, then their runs one at
/// a time; a run or point the server describes oddly is added to
/// `problems` and skipped.
pub(crate) fn read(
    server: &MlflowServer,
    problems: &mut Vec<String>,
    sink: &mut dyn Sink,
) -> Result<()> {
    let mut experiments = Vec::new();
    for e in paged(
        server,
        "experiments/search",
        json!({"view_type": "ALL"}),
        "experiments",
    )? {
        let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
        if text("experiment_id").is_empty() {
            problems.push(format!(
                "{}: an experiment without an id: {e}; skipped",
                server.uri()
            ));
            continue;
        }
        experiments.push(SourceExperiment {
            id: text("experiment_id"),
            name: text("name"),
            artifact_location: text("artifact_location"),
            creation_time: e["creation_time"].as_i64().unwrap_or(0),
            deleted: text("lifecycle_stage") == "deleted",
            tags: mlflow_json::key_value_map(&e["tags"]),
        });
    }
    sink.experiments(&experiments)?;
    for e in &experiments {
        let query = json!({"experiment_ids": [e.id], "run_view_type": "ALL"});
        for r in paged(server, "runs/search", query, "runs")? {
            let info = &r["info"];
            let text = |k: &str| info[k].as_str().unwrap_or_default().to_owned();
            let id = text("run_id");
            let Some(run_status) = status(&text("status")) else {
                problems.push(format!(
                    "{}: run {id:?} has status {:?}; skipped",
                    server.uri(),
                    text("status")
                ));
                continue;
            };
            let start_time = info["start_time"].as_i64().unwrap_or(0);
            let end_time = info["end_time"].as_i64();
            let mut metrics = BTreeMap::new();
            let keys: Vec<String> = r["data"]["metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["key"].as_str().map(str::to_owned))
                .collect();
            for key in keys {
                let mut points = Vec::new();
                let mut odd = 0;
                for p in server.metric_history(&id, &key)? {
                    let value = match &p["value"] {
                        Value::Number(n) => n.as_f64(),
                        Value::String(s) => json_number::from_name(s),
                        _ => None,
                    };
                    match (value, p["timestamp"].as_i64()) {
                        (Some(value), Some(timestamp)) => points.push(Metric {
                            value,
                            timestamp,
                            step: p["step"].as_i64().unwrap_or(0),
                        }),
                        _ => odd += 1,
                    }
                }
                if odd > 0 {
                    problems.push(format!(
                        "{}: run {id}, metric {key:?}: {odd} point(s) without a number or a timestamp; skipped",
                        server.uri()
                    ));
                }
                metrics.insert(key, points);
            }
            let inputs = r["inputs"]["dataset_inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(mlflow_json::dataset_input_from)
                .collect();
            sink.run(SourceRun {
                experiment_id: e.id.clone(),
                name: text("run_name"),
                user_id: text("user_id"),
                status: run_status,
                start_time,
                end_time: end_time.filter(|_| run_status != crate::RunStatus::Running),
                deleted: (text("lifecycle_stage") == "deleted")
                    .then(|| end_time.unwrap_or(start_time)),
                params: mlflow_json::key_value_map(&r["data"]["params"]),
                tags: mlflow_json::key_value_map(&r["data"]["tags"]),
                metrics,
                inputs,
                id,
            })?;
        }
    }
    let ids: Vec<&str> = experiments.iter().map(|e| e.id.as_str()).collect();
    let (models, links) = models(server, &ids, problems)?;
    sink.models(&models, &links)?;
    sink.registry(&registry(server)?)
}

/// The logged models of the experiments (those the server lists: deleted
/// ones are not), and the runs' links to them.
fn models(
    server: &MlflowServer,
    experiment_ids: &[&str],
    problems: &mut Vec<String>,
) -> Result<(Vec<SourceModel>, Vec<SourceModelLink>)> {
    let mut models = Vec::new();
    let mut links = Vec::new();
    for id in experiment_ids {
        let query = json!({"experiment_ids": [id]});
        for m in paged(server, "logged-models/search", query, "models")? {
            let info = &m["info"];
            let text = |k: &str| info[k].as_str().unwrap_or_default().to_owned();
            let model_id = text("model_id");
            let Some(status) = ModelStatus::parse(&text("status")) else {
                problems.push(format!(
                    "{}: logged model {model_id:?} has status {:?}; skipped",
                    server.uri(),
                    text("status")
                ));
                continue;
            };
            let optional = |k: &str| {
                info[k]
                    .as_str()
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
            };
            let metrics = m["data"]["metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    let value = match &p["value"] {
                        Value::Number(n) => n.as_f64(),
                        Value::String(s) => json_number::from_name(s),
                        _ => None,
                    }?;
                    Some(crate::tracking::ModelMetric {
                        run_id: p["run_id"].as_str().unwrap_or_default().to_owned(),
                        key: p["key"].as_str()?.to_owned(),
                        value,
                        timestamp: p["timestamp"].as_i64()?,
                        step: p["step"].as_i64().unwrap_or(0),
                        dataset_name: p["dataset_name"].as_str().map(str::to_owned),
                        dataset_digest: p["dataset_digest"].as_str().map(str::to_owned),
                    })
                })
                .collect();
            let created = info["creation_timestamp_ms"].as_i64().unwrap_or(0);
            models.push(SourceModel {
                experiment_id: text("experiment_id"),
                name: text("name"),
                artifact_location: text("artifact_uri"),
                model_type: optional("model_type"),
                source_run_id: optional("source_run_id"),
                creation_time: created,
                last_updated_time: info["last_updated_timestamp_ms"]
                    .as_i64()
                    .unwrap_or(created),
                status,
                deleted: false,
                params: mlflow_json::key_value_map(&m["data"]["params"]),
                tags: mlflow_json::key_value_map(&info["tags"]),
                metrics,
                id: model_id,
            });
        }
        let query = json!({"experiment_ids": [id], "run_view_type": "ALL"});
        for r in paged(server, "runs/search", query, "runs")? {
            let run_id = r["info"]["run_id"].as_str().unwrap_or_default();
            for o in r["outputs"]["model_outputs"]
                .as_array()
                .into_iter()
                .flatten()
            {
                links.push(SourceModelLink {
                    run_id: run_id.to_owned(),
                    model_id: o["model_id"].as_str().unwrap_or_default().to_owned(),
                    output_step: Some(o["step"].as_i64().unwrap_or(0)),
                });
            }
            for i in r["inputs"]["model_inputs"].as_array().into_iter().flatten() {
                links.push(SourceModelLink {
                    run_id: run_id.to_owned(),
                    model_id: i["model_id"].as_str().unwrap_or_default().to_owned(),
                    output_step: None,
                });
            }
        }
    }
    Ok((models, links))
}

/// The registered models and their versions (deleted versions are not
/// listed by a server: their numbers are not given again all the same,
/// since the versions listed keep theirs).
fn registry(server: &MlflowServer) -> Result<Vec<SourceRegisteredModel>> {
    let mut out = Vec::new();
    for r in paged_get(server, "registered-models/search", &[], "registered_models")? {
        let name = r["name"].as_str().unwrap_or_default().to_owned();
        let filter = format!("name = '{}'", name.replace('\'', "\\'"));
        let versions = paged_get(
            server,
            "model-versions/search",
            &[("filter", filter.as_str())],
            "model_versions",
        )?
        .into_iter()
        .filter_map(|v| {
            let text = |k: &str| v[k].as_str().filter(|t| !t.is_empty()).map(str::to_owned);
            let number = |k: &str| {
                v[k].as_i64()
                    .or_else(|| v[k].as_str().and_then(|t| t.parse().ok()))
            };
            Some(SourceVersion::from_fields(
                number("version")?,
                &text,
                &number,
                mlflow_json::key_value_map(&v["tags"]),
            ))
        })
        .collect();
        let aliases = r["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let version = a["version"]
                    .as_i64()
                    .or_else(|| a["version"].as_str()?.parse().ok())?;
                Some((a["alias"].as_str()?.to_owned(), version))
            })
            .collect();
        out.push(SourceRegisteredModel {
            description: r["description"]
                .as_str()
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            creation_time: r["creation_timestamp"].as_i64().unwrap_or(0),
            tags: mlflow_json::key_value_map(&r["tags"]),
            aliases,
            versions,
            name,
        });
    }
    Ok(out)
}

/// Every item of a paged GET search (the registry's).
fn paged_get(
    server: &MlflowServer,
    path: &str,
    query: &[(&str, &str)],
    field: &str,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("max_results", "1000"));
        if let Some(t) = &token {
            q.push(("page_token", t.as_str()));
        }
        let page = server.get(path, &q)?;
        out.extend(page[field].as_array().into_iter().flatten().cloned());
        match page["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

/// Every item of a paged search (`max_results` 1,000 a page).
fn paged(server: &MlflowServer, path: &str, query: Value, field: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = query.clone();
        body["max_results"] = json!(1000);
        if let Some(t) = &token {
            body["page_token"] = json!(t);
        }
        let page = server.post(path, &body)?;
        out.extend(page[field].as_array().into_iter().flatten().cloned());
        match page["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}
