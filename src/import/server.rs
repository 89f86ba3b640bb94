//! Reading an MLflow tracking server over its REST API (MLflow's own or
//! `runlog server`): experiments and runs of every lifecycle stage, paged,
//! each run's histories read with `metrics/get-history`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::error::Result;
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
    Ok(())
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
