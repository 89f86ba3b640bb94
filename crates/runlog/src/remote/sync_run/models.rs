//! A run's links to logged models in a sync: the points it logged about
//! synced models (each with its run point, as MLflow's client sends them;
//! the server keeps one copy of a point, so a window sent again after a
//! kill adds nothing), its outputs and its model inputs.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::RunSync;
use crate::error::Result;
use crate::remote::state::{CountState, RunState};
use crate::remote::sync::{SyncReport, MAX_BATCH_METRICS};
use crate::remote::sync_models::RemoteModel;
use crate::tracking::model::json_number;
use crate::tracking::{ModelMetric, Run};

/// The logged models a sync has on the server: local id -> remote model,
/// and per local run the points it logged about them (local model id ->
/// points in log order).
#[derive(Debug, Default)]
pub(crate) struct SyncedModels {
    pub(crate) remote: HashMap<String, RemoteModel>,
    pub(crate) points_by_run: HashMap<String, BTreeMap<String, Vec<ModelMetric>>>,
    /// Every model the sync chose (synced, refused, or counted in a dry
    /// run), by local id.
    pub(crate) chosen: std::collections::HashSet<String>,
}

impl RunSync<'_> {
    /// The points the run logged about synced models that the server does
    /// not have, per model in log order, each with its run point (the
    /// server keeps one copy of a point, so a window sent again after a
    /// kill adds nothing).
    pub(super) fn model_metrics(
        &self,
        run: &Run,
        st: &mut RunState,
        summary: &mut SyncReport,
    ) -> Result<()> {
        let Some(by_model) = self.models.points_by_run.get(&run.info.run_id) else {
            return Ok(());
        };
        let mut batch: Vec<Value> = Vec::new();
        let mut sent: Vec<(&String, u64)> = Vec::new();
        for (local, points) in by_model {
            let Some(remote) = self.models.remote.get(local) else {
                continue;
            };
            let from = st.model_metrics.get(local).map_or(0, |c| c.sent) as usize;
            let new = points.get(from..).unwrap_or_default();
            if new.is_empty() {
                continue;
            }
            summary.model_metrics += new.len() as u64;
            sent.push((local, points.len() as u64));
            batch.extend(new.iter().map(|p| model_point_json(p, &remote.id)));
        }
        if self.dry_run || batch.is_empty() {
            return Ok(());
        }
        for (local, to) in &sent {
            let c = st.model_metrics.entry((*local).clone()).or_default();
            c.pending = Some(*to);
        }
        self.save(run, st)?;
        for part in batch.chunks(MAX_BATCH_METRICS) {
            self.server.post(
                "runs/log-batch",
                &json!({"run_id": st.remote_id, "metrics": part}),
            )?;
        }
        for (local, to) in sent {
            let c = st.model_metrics.entry(local.clone()).or_default();
            *c = CountState {
                sent: to,
                pending: None,
            };
        }
        self.save(run, st)
    }

    /// The run's outputs (models it produced) and model inputs (models it
    /// used) among the synced models, those the server lacks.
    pub(super) fn model_links(
        &self,
        run: &Run,
        st: &mut RunState,
        summary: &mut SyncReport,
    ) -> Result<()> {
        let remote_of = |local: &str| self.models.remote.get(local).map(|r| r.id.clone());
        let outputs: Vec<(String, i64)> = run
            .outputs
            .iter()
            .filter(|o| remote_of(&o.model_id).is_some())
            .map(|o| (o.model_id.clone(), o.step))
            .filter(|o| !st.outputs.contains(o))
            .collect();
        let inputs: Vec<String> = run
            .model_inputs
            .iter()
            .filter(|m| remote_of(m).is_some() && !st.model_inputs.contains(m))
            .cloned()
            .collect();
        summary.model_links += outputs.len() + inputs.len();
        if self.dry_run || (outputs.is_empty() && inputs.is_empty()) {
            return Ok(());
        }
        // What the server has (a state lost, or an answer lost) is not sent
        // again.
        let remote = self.server.get("runs/get", &[("run_id", &st.remote_id)])?;
        let has_output = |id: &str, step: i64| {
            remote["run"]["outputs"]["model_outputs"]
                .as_array()
                .is_some_and(|all| {
                    all.iter().any(|o| {
                        o["model_id"].as_str() == Some(id) && int64(&o["step"]) == Some(step)
                    })
                })
        };
        let has_input = |id: &str| {
            remote["run"]["inputs"]["model_inputs"]
                .as_array()
                .is_some_and(|all| all.iter().any(|i| i["model_id"].as_str() == Some(id)))
        };
        let send_outputs: Vec<Value> = outputs
            .iter()
            .filter_map(|(local, step)| {
                let id = remote_of(local)?;
                (!has_output(&id, *step)).then(|| json!({"model_id": id, "step": step}))
            })
            .collect();
        if !send_outputs.is_empty() {
            self.server.post(
                "runs/outputs",
                &json!({"run_id": st.remote_id, "models": send_outputs}),
            )?;
        }
        let send_inputs: Vec<Value> = inputs
            .iter()
            .filter_map(|local| {
                let id = remote_of(local)?;
                (!has_input(&id)).then(|| json!({"model_id": id}))
            })
            .collect();
        if !send_inputs.is_empty() {
            self.server.post(
                "runs/log-inputs",
                &json!({"run_id": st.remote_id, "models": send_inputs}),
            )?;
        }
        st.outputs.extend(outputs);
        st.model_inputs.extend(inputs);
        self.save(run, st)
    }
}

/// An int64 of a server's answer: a number, or a string of one.
fn int64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

/// A point about a model as a `log-batch` metric of MLflow 3.
fn model_point_json(p: &ModelMetric, remote_model: &str) -> Value {
    let value = match json_number::non_finite_name(p.value) {
        Some(name) => json!(name),
        None => json!(p.value),
    };
    let mut v = json!({"key": p.key, "value": value, "timestamp": p.timestamp,
                       "step": p.step, "model_id": remote_model});
    if let Some(name) = &p.dataset_name {
        v["dataset_name"] = json!(name);
    }
    if let Some(digest) = &p.dataset_digest {
        v["dataset_digest"] = json!(digest);
    }
    v
}
