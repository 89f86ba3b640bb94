//! One run's sync: found or created on the server, then its params and
//! tags, metric histories (in windows recorded as pending before they are
//! sent and as sent once acknowledged), dataset inputs, artifacts and
//! status, each recorded in the run's sync state as the server
//! acknowledges it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::fs_util::{files_under, TreeFile};
use crate::remote::http::MlflowServer;
use crate::remote::state::{point_bytes, points_crc, CountState, KeyState, RunState, SyncState};
use crate::remote::sync::{
    count_new_run, string_field, SyncEvent, SyncSummary, MAX_BATCH_METRICS,
    MAX_BATCH_PARAMS_OR_TAGS, PARENT_TAG, SOURCE_RUN_TAG,
};
use crate::remote::sync_models::RemoteModel;
use crate::tracking::model::json_number;
use crate::tracking::{mlflow_json, Client, Metric, ModelMetric, Run};
use crate::RunStatus;

/// Points sent between two saves of a run's state: a kill costs at most
/// this many points checked against the server's history on resume.
const WINDOW_POINTS: usize = 100_000;

/// How local ids relate to the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ids {
    /// `runlog sync`: runs and experiments get the server's own ids, kept
    /// in the sync state (runs tagged with their source id).
    Mapped,
    /// A spool's outbox: its runs were created on the server first, under
    /// the same ids; a refused param or tag is reported and skipped.
    Same,
}

/// The sync of runs, one at a time.
pub(crate) struct RunSync<'a> {
    client: &'a Client,
    server: &'a MlflowServer,
    state: &'a SyncState,
    dry_run: bool,
    ids: Ids,
    /// Local run id -> remote run id, for translating parent tags.
    remote_runs: HashMap<String, String>,
    /// Runs this sync created (by [`ensure`](RunSync::ensure)).
    created: HashSet<String>,
    /// The logged models synced, and their points by run.
    models: SyncedModels,
}

/// The logged models a sync has on the server: local id -> remote model,
/// and per local run the points it logged about them (local model id ->
/// points in log order).
#[derive(Debug, Default)]
pub(crate) struct SyncedModels {
    pub(crate) remote: HashMap<String, RemoteModel>,
    pub(crate) points_by_run: HashMap<String, BTreeMap<String, Vec<ModelMetric>>>,
}

impl<'a> RunSync<'a> {
    pub(crate) fn new(
        client: &'a Client,
        server: &'a MlflowServer,
        state: &'a SyncState,
        dry_run: bool,
        ids: Ids,
    ) -> RunSync<'a> {
        RunSync {
            client,
            server,
            state,
            dry_run,
            ids,
            remote_runs: HashMap::new(),
            created: HashSet::new(),
            models: SyncedModels::default(),
        }
    }

    /// Local run id -> remote run id of the runs found or created so far.
    pub(crate) fn remote_runs(&self) -> &HashMap<String, String> {
        &self.remote_runs
    }

    /// The logged models the runs' model metrics, outputs and inputs refer
    /// to (those of other models are left out).
    pub(crate) fn set_models(&mut self, models: SyncedModels) {
        self.models = models;
    }

    /// Finds or creates `run` on the server (nothing in a dry run of a run
    /// to create), so that models can name it before its data is sent.
    pub(crate) fn ensure(&mut self, run: &Run, remote_experiment: &str) -> Result<()> {
        let id = &run.info.run_id;
        let st = match self.state.run(id)? {
            Some(st) => st,
            None if self.ids == Ids::Same => return Ok(()),
            None => match self.find_remote(run, remote_experiment)? {
                Some(st) => st,
                None if self.dry_run => return Ok(()),
                None => {
                    self.created.insert(id.clone());
                    self.create(run, remote_experiment)?
                }
            },
        };
        self.remote_runs.insert(id.clone(), st.remote_id);
        Ok(())
    }

    /// Creates or continues `run` in `remote_experiment`, adding what it
    /// sent to `summary`.
    pub(crate) fn run(
        &mut self,
        run: &Run,
        remote_experiment: &str,
        summary: &mut SyncSummary,
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        let id = &run.info.run_id;
        let before = summary.clone();
        let (mut st, created) = match self.state.run(id)? {
            Some(st) => (st, self.created.remove(id)),
            None if self.ids == Ids::Same => {
                let remote = self.server.get("runs/get", &[("run_id", id)])?;
                (self.state_from_remote(run, &remote["run"])?, false)
            }
            None => match self.find_remote(run, remote_experiment)? {
                Some(st) => (st, false),
                None if self.dry_run => {
                    count_new_run(self.client, run, summary)?;
                    return Ok(());
                }
                None => (self.create(run, remote_experiment)?, true),
            },
        };
        if created {
            summary.tags += st.tags.len(); // sent with the run
        }
        self.remote_runs.insert(id.clone(), st.remote_id.clone());
        self.params_and_tags(run, &mut st, summary)?;
        self.metrics(run, &mut st, summary, progress)?;
        self.model_metrics(run, &mut st, summary)?;
        self.inputs(run, &mut st, summary)?;
        self.model_links(run, &mut st, summary)?;
        self.artifacts(run, &mut st, summary)?;
        self.status(run, &mut st)?;
        if created {
            summary.runs_created += 1;
        } else if *summary == before {
            summary.runs_unchanged += 1;
        } else {
            summary.runs_continued += 1;
        }
        Ok(())
    }

    fn save(&self, run: &Run, st: &RunState) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.state.save_run(&run.info.run_id, st)
    }

    /// The run's tags as the server should have them: the parent's id
    /// translated (dropped when the parent is not synced), and the source
    /// tag.
    fn remote_tags(&self, run: &Run) -> BTreeMap<String, String> {
        let mut tags = run.data.tags.clone();
        if self.ids == Ids::Same {
            return tags;
        }
        if let Some(parent) = tags.remove(PARENT_TAG) {
            let mapped = self
                .remote_runs
                .get(&parent)
                .cloned()
                .or_else(|| self.state.run(&parent).ok().flatten().map(|s| s.remote_id));
            if let Some(remote) = mapped {
                tags.insert(PARENT_TAG.to_owned(), remote);
            }
        }
        tags.insert(SOURCE_RUN_TAG.to_owned(), run.info.run_id.clone());
        tags
    }

    /// A run synced before whose local state is lost (or never saved: a
    /// kill right after its creation), found by its source tag; what the
    /// server has of it counts as sent, its histories are compared.
    fn find_remote(&self, run: &Run, remote_experiment: &str) -> Result<Option<RunState>> {
        let filter = format!("tags.`{SOURCE_RUN_TAG}` = '{}'", run.info.run_id);
        let found = self.server.post(
            "runs/search",
            &json!({"experiment_ids": [remote_experiment], "filter": filter,
                    "run_view_type": "ALL", "max_results": 1}),
        )?;
        let Some(remote) = found.get("runs").and_then(|r| r.get(0)) else {
            return Ok(None);
        };
        self.state_from_remote(run, remote).map(Some)
    }

    /// The state of a run the server has (`remote`, its JSON) whose local
    /// state is lost: its params, tags and inputs count as sent, its
    /// histories are compared with the server's.
    fn state_from_remote(&self, run: &Run, remote: &Value) -> Result<RunState> {
        let remote_id = string_field(&remote["info"], "run_id")?;
        let pairs = |field: &str| mlflow_json::key_value_map(&remote["data"][field]);
        let inputs = remote["inputs"]["dataset_inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| {
                let d = &i["dataset"];
                Some((
                    d["name"].as_str()?.to_owned(),
                    d["digest"].as_str()?.to_owned(),
                ))
            })
            .collect();
        let metrics = run
            .data
            .metrics
            .keys()
            .map(|k| {
                let unknown = KeyState {
                    sent: 0,
                    crc: 0,
                    pending: Some(u64::MAX),
                };
                (k.clone(), unknown)
            })
            .collect();
        let st = RunState {
            remote_id,
            params: pairs("params"),
            tags: pairs("tags"),
            status: None,
            inputs,
            artifacts: BTreeMap::new(),
            metrics,
            // Sent again: the server keeps one copy of each (outputs and
            // model inputs are compared with the server's run first).
            ..RunState::default()
        };
        self.save(run, &st)?;
        Ok(st)
    }

    fn create(&self, run: &Run, remote_experiment: &str) -> Result<RunState> {
        let tags = self.remote_tags(run);
        let body = json!({
            "experiment_id": remote_experiment,
            "user_id": run.info.user_id,
            "start_time": run.info.start_time,
            "run_name": run.info.run_name,
            "tags": tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        });
        // Sent once at a time: a create whose answer was lost may have
        // made the run, so it is looked for (by its source tag; the search
        // waits for the server) before another create.
        let body = body.to_string();
        let mut last = None;
        for _ in 0..3 {
            match self
                .server
                .post_json_text_once("runs/create", body.as_bytes())
            {
                Ok(created) => {
                    let st = RunState {
                        remote_id: string_field(&created["run"]["info"], "run_id")?,
                        tags,
                        ..RunState::default()
                    };
                    self.save(run, &st)?;
                    return Ok(st);
                }
                Err(e @ Error::Remote(_)) => {
                    if let Some(st) = self.find_remote(run, remote_experiment)? {
                        return Ok(st);
                    }
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Remote("runs/create: no attempt made".into())))
    }

    fn params_and_tags(
        &self,
        run: &Run,
        st: &mut RunState,
        summary: &mut SyncSummary,
    ) -> Result<()> {
        let params: Vec<(&String, &String)> = run
            .data
            .params
            .iter()
            .filter(|(k, v)| st.params.get(*k) != Some(*v))
            .collect();
        let tags = self.remote_tags(run);
        let set: Vec<(&String, &String)> = tags
            .iter()
            .filter(|(k, v)| st.tags.get(*k) != Some(*v))
            .collect();
        let deleted: Vec<String> = st
            .tags
            .keys()
            .filter(|k| !tags.contains_key(*k))
            .cloned()
            .collect();
        summary.params += params.len();
        summary.tags += set.len() + deleted.len();
        if self.dry_run || (params.is_empty() && set.is_empty() && deleted.is_empty()) {
            return Ok(());
        }
        let kv = |list: &[(&String, &String)]| -> Vec<Value> {
            list.iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect()
        };
        let rounds = params
            .len()
            .max(set.len())
            .div_ceil(MAX_BATCH_PARAMS_OR_TAGS);
        for i in 0..rounds {
            let part = |list: &[(&String, &String)]| {
                let from = (i * MAX_BATCH_PARAMS_OR_TAGS).min(list.len());
                let to = ((i + 1) * MAX_BATCH_PARAMS_OR_TAGS).min(list.len());
                kv(&list[from..to])
            };
            let body = json!({"run_id": st.remote_id, "params": part(&params), "tags": part(&set)});
            match self.server.post("runs/log-batch", &body) {
                Ok(_) => {}
                Err(e) if self.ids == Ids::Same && is_refusal(&e) => {
                    let from = i * MAX_BATCH_PARAMS_OR_TAGS;
                    let to = (i + 1) * MAX_BATCH_PARAMS_OR_TAGS;
                    let params = &params[from.min(params.len())..to.min(params.len())];
                    let tags = &set[from.min(set.len())..to.min(set.len())];
                    self.one_by_one(run, &st.remote_id, params, tags, summary)?;
                }
                Err(e) => return Err(e),
            }
        }
        for key in &deleted {
            match self.server.post(
                "runs/delete-tag",
                &json!({"run_id": st.remote_id, "key": key}),
            ) {
                Ok(_) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        st.params = run.data.params.clone();
        st.tags = tags;
        self.save(run, st)
    }

    /// Params and tags of a batch the server refused, sent one at a time:
    /// those it refuses again are reported (and not sent again), the rest
    /// are logged.
    fn one_by_one(
        &self,
        run: &Run,
        remote_id: &str,
        params: &[(&String, &String)],
        tags: &[(&String, &String)],
        summary: &mut SyncSummary,
    ) -> Result<()> {
        let calls = params
            .iter()
            .map(|p| ("param", "runs/log-parameter", p))
            .chain(tags.iter().map(|t| ("tag", "runs/set-tag", t)));
        for (what, endpoint, (key, value)) in calls {
            let body = json!({"run_id": remote_id, "key": key, "value": value});
            match self.server.post(endpoint, &body) {
                Ok(_) => {}
                Err(e) if is_refusal(&e) => summary.failures.push(format!(
                    "run {} ({}): {what} {key:?} = {value:?} refused: {e}",
                    run.info.run_id, run.info.run_name
                )),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The points of `key` in history order, streamed (memory stays at a
    /// few chunks, whatever the history's length).
    fn history(&self, run: &Run, key: &str) -> Result<impl Iterator<Item = Result<Metric>>> {
        self.client.metric_history_iter(
            &run.info.run_id,
            key,
            &crate::tracking::HistoryQuery::new(),
        )
    }

    fn metrics(
        &self,
        run: &Run,
        st: &mut RunState,
        summary: &mut SyncSummary,
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        // First, per key: is what was sent still the history's prefix, and
        // what of a window sent but not acknowledged reached the server?
        for key in run.data.metrics.keys() {
            let ks = st.metrics.entry(key.clone()).or_default();
            let (mut n, mut crc) = (0u64, 0u32);
            let mut hasher = crc32fast::Hasher::new();
            for m in self.history(run, key)? {
                if n < ks.sent {
                    hasher.update(&point_bytes(&m?));
                }
                n += 1;
            }
            if ks.sent <= n {
                crc = hasher.finalize();
            }
            if ks.sent > n || crc != ks.crc {
                // Points were added inside what was sent (a late point
                // with an earlier step): compare it all with the server.
                *ks = KeyState {
                    sent: 0,
                    crc: 0,
                    pending: Some(n),
                };
            }
            if let Some(p) = ks.pending.filter(|&p| p > ks.sent) {
                let end = p.min(n);
                let (missing, crc) = if self.dry_run {
                    let all: Vec<Metric> = self
                        .history(run, key)?
                        .take(end as usize)
                        .collect::<Result<_>>()?;
                    (all[ks.sent as usize..].to_vec(), 0)
                } else {
                    self.missing_on_server(run, &st.remote_id, key, ks.sent, end)?
                };
                summary.points += missing.len() as u64;
                if !self.dry_run {
                    self.send_key_points(&st.remote_id, &[(key.clone(), missing)], progress)?;
                }
                ks.sent = end;
                ks.crc = crc;
            }
            ks.pending = None;
        }
        // Then the rest of every key, streamed into windows of points of
        // any keys: each window recorded as pending, sent in batches, then
        // recorded as sent.
        let mut window = Window::default();
        for key in run.data.metrics.keys() {
            let sent = st.metrics.get(key).map_or(0, |k| k.sent);
            for m in self.history(run, key)?.skip(sent as usize) {
                window.push(key, m?);
                if window.points == WINDOW_POINTS {
                    self.send_window(run, st, &mut window, summary, progress)?;
                }
            }
        }
        self.send_window(run, st, &mut window, summary, progress)?;
        self.save(run, st)
    }

    /// Records the window's keys as pending up to its end, sends its
    /// points, records them as sent, and empties it.
    fn send_window(
        &self,
        run: &Run,
        st: &mut RunState,
        window: &mut Window,
        summary: &mut SyncSummary,
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        if window.points == 0 {
            return Ok(());
        }
        summary.points += window.points as u64;
        let parts = std::mem::take(&mut window.keys);
        window.points = 0;
        if self.dry_run {
            for (key, points) in &parts {
                if let Some(ks) = st.metrics.get_mut(key) {
                    ks.sent += points.len() as u64;
                }
            }
            return Ok(());
        }
        for (key, points) in &parts {
            if let Some(ks) = st.metrics.get_mut(key) {
                ks.pending = Some(ks.sent + points.len() as u64);
            }
        }
        self.save(run, st)?;
        match self.send_key_points(&st.remote_id, &parts, progress) {
            Ok(()) => {}
            Err(Error::Remote(_)) => self.recover_window(run, st, &parts, progress)?,
            Err(e) => return Err(e),
        }
        for (key, points) in &parts {
            if let Some(ks) = st.metrics.get_mut(key) {
                ks.crc = points_crc(ks.crc, points);
                ks.sent += points.len() as u64;
                ks.pending = None;
            }
        }
        self.save(run, st)
    }

    /// Sends the points of each key in batches of at most
    /// [`MAX_BATCH_METRICS`] (points of several keys share a batch).
    fn send_key_points(
        &self,
        remote_id: &str,
        parts: &[(String, Vec<Metric>)],
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        let mut batch = PointsBatch::new(remote_id);
        for (key, points) in parts {
            let key_json = Value::from(key.as_str()).to_string();
            for m in points {
                batch.push(&key_json, m);
                if batch.len() == MAX_BATCH_METRICS {
                    self.send_points(&mut batch, progress)?;
                }
            }
        }
        self.send_points(&mut batch, progress)
    }

    /// Sends the batch's points (if any) and starts it again.
    fn send_points(
        &self,
        batch: &mut PointsBatch,
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        if batch.len() == 0 {
            return Ok(());
        }
        let n = batch.len() as u64;
        // Once: a batch the server stored before the connection broke
        // must not be stored twice (the caller compares with the server's
        // history instead).
        self.server
            .post_json_text_once("runs/log-batch", &batch.take())?;
        progress(SyncEvent::Points(n));
        Ok(())
    }

    /// After a window's batch failed without the server's answer: waits
    /// for the server (the retries of a read), then sends what of the
    /// window it does not have (compared with its histories), so that no
    /// point is stored twice. A second failure stops the sync; the window
    /// stays pending for the next one.
    fn recover_window(
        &self,
        run: &Run,
        st: &RunState,
        parts: &[(String, Vec<Metric>)],
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        self.server.get("runs/get", &[("run_id", &st.remote_id)])?;
        for (key, points) in parts {
            let from = st.metrics.get(key).map_or(0, |k| k.sent);
            let to = from + points.len() as u64;
            let (missing, _) = self.missing_on_server(run, &st.remote_id, key, from, to)?;
            self.send_key_points(&st.remote_id, &[(key.clone(), missing)], progress)?;
        }
        Ok(())
    }

    /// The points `from..to` of `key`'s history the server does not have:
    /// its history read back, less the points before `from` (acknowledged
    /// before), as multisets of (step, timestamp, value); and the CRC of
    /// the points before `to`.
    fn missing_on_server(
        &self,
        run: &Run,
        remote_id: &str,
        key: &str,
        from: u64,
        to: u64,
    ) -> Result<(Vec<Metric>, u32)> {
        let mut remote: HashMap<(i64, i64, u64), usize> = HashMap::new();
        for p in self.server.metric_history(remote_id, key)? {
            let value = match &p["value"] {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => json_number::from_name(s),
                _ => None,
            };
            if let (Some(v), Some(step), Some(ts)) =
                (value, p["step"].as_i64(), p["timestamp"].as_i64())
            {
                *remote.entry((step, ts, point_bits(v))).or_default() += 1;
            }
        }
        let mut on_server =
            |m: &Metric| match remote.get_mut(&(m.step, m.timestamp, point_bits(m.value))) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            };
        let mut missing = Vec::new();
        let mut crc = crc32fast::Hasher::new();
        for (i, m) in self.history(run, key)?.take(to as usize).enumerate() {
            let m = m?;
            crc.update(&point_bytes(&m));
            if !on_server(&m) && i as u64 >= from {
                missing.push(m);
            }
        }
        Ok((missing, crc.finalize()))
    }

    /// The points the run logged about synced models that the server does
    /// not have, per model in log order, each with its run point (the
    /// server keeps one copy of a point, so a window sent again after a
    /// kill adds nothing).
    fn model_metrics(&self, run: &Run, st: &mut RunState, summary: &mut SyncSummary) -> Result<()> {
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
    fn model_links(&self, run: &Run, st: &mut RunState, summary: &mut SyncSummary) -> Result<()> {
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

    fn inputs(&self, run: &Run, st: &mut RunState, summary: &mut SyncSummary) -> Result<()> {
        let new: Vec<&crate::DatasetInput> = run
            .inputs
            .iter()
            .filter(|i| {
                !st.inputs
                    .iter()
                    .any(|(n, d)| *n == i.name && *d == i.digest)
            })
            .collect();
        summary.inputs += new.len();
        if self.dry_run || new.is_empty() {
            return Ok(());
        }
        let datasets: Vec<Value> = new.iter().map(|i| mlflow_json::dataset_input(i)).collect();
        self.server.post(
            "runs/log-inputs",
            &json!({"run_id": st.remote_id, "datasets": datasets}),
        )?;
        st.inputs
            .extend(new.iter().map(|i| (i.name.clone(), i.digest.clone())));
        self.save(run, st)
    }

    fn artifacts(&self, run: &Run, st: &mut RunState, summary: &mut SyncSummary) -> Result<()> {
        let root = self.client.artifact_root(&run.info.run_id)?;
        let changed: Vec<TreeFile> = files_under(&root)?
            .into_iter()
            .filter(|f| st.artifacts.get(&f.rel) != Some(&(f.len, f.modified_ms)))
            .collect();
        if changed.is_empty() {
            return Ok(());
        }
        summary.artifacts += changed.len();
        summary.artifact_bytes += changed.iter().map(|f| f.len).sum::<u64>();
        if self.dry_run {
            return Ok(());
        }
        let remote = self.server.get("runs/get", &[("run_id", &st.remote_id)])?;
        let uri = string_field(&remote["run"]["info"], "artifact_uri")?;
        for TreeFile {
            rel,
            path,
            len,
            modified_ms,
        } in changed
        {
            let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            send_file(self.server, &uri, &rel, &bytes)?;
            st.artifacts.insert(rel, (len, modified_ms));
        }
        self.save(run, st)
    }

    fn status(&self, run: &Run, st: &mut RunState) -> Result<()> {
        let now = (
            run.info.status.as_str().to_owned(),
            run.info.end_time,
            run.info.run_name.clone(),
        );
        let fresh_running = st.status.is_none() && run.info.status == RunStatus::Running;
        if st.status.as_ref() == Some(&now) || fresh_running || self.dry_run {
            return Ok(());
        }
        let mut body = json!({"run_id": st.remote_id, "status": now.0, "run_name": now.2});
        if let Some(end) = now.1 {
            body["end_time"] = json!(end);
        }
        self.server.post("runs/update", &body)?;
        st.status = Some(now);
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

/// Whether the server refused a request for what it holds (a 4xx answer),
/// as opposed to being unreachable or failing.
pub(crate) fn is_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::InvalidArgument(_)
            | Error::InvalidState(_)
            | Error::AlreadyExists(_)
            | Error::NotFound(_)
    )
}

/// The value bits a point is matched by: infinities as MLflow's SQL store
/// gives them back (the largest finite doubles), every NaN as one.
fn point_bits(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else if v == f64::INFINITY {
        f64::MAX.to_bits()
    } else if v == f64::NEG_INFINITY {
        f64::MIN.to_bits()
    } else {
        v.to_bits()
    }
}

/// Writes `bytes` as the artifact `rel` under the server's artifact URI
/// `uri`: through its proxy for `mlflow-artifacts:`, into the directory
/// for a local path (a server on this machine).
pub(crate) fn send_file(server: &MlflowServer, uri: &str, rel: &str, bytes: &[u8]) -> Result<()> {
    if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
        // mlflow-artifacts:/path or mlflow-artifacts://host:port/path
        let rest = match rest.strip_prefix("//") {
            Some(after) => after.find('/').map_or("", |i| &after[i..]),
            None => rest,
        };
        let base = rest.trim_matches('/');
        return server.put_artifact(&format!("{base}/{rel}"), bytes);
    }
    let Some(dir) = local_dir(uri) else {
        return Err(Error::InvalidArgument(format!(
            "the server's artifact URI {uri:?} is neither mlflow-artifacts: nor a local \
             path; upload the artifacts with MLflow's client"
        )));
    };
    let target = dir.join(rel);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    std::fs::write(&target, bytes).map_err(|e| Error::io("write", &target, e))
}

/// A local directory an artifact URI names (`file://` or a plain path).
fn local_dir(uri: &str) -> Option<PathBuf> {
    if let Some(rest) = uri.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    uri.starts_with('/').then(|| PathBuf::from(uri))
}

/// Points of several keys waiting to be sent, in key order.
#[derive(Default)]
struct Window {
    keys: Vec<(String, Vec<Metric>)>,
    points: usize,
}

impl Window {
    fn push(&mut self, key: &str, m: Metric) {
        match self.keys.last_mut() {
            Some((k, points)) if k == key => points.push(m),
            _ => self.keys.push((key.to_owned(), vec![m])),
        }
        self.points += 1;
    }
}

/// The body of a `runs/log-batch` request of metric points, written as
/// JSON text point by point (a JSON tree per point cost more than the
/// request itself).
struct PointsBatch {
    head: String,
    body: Vec<u8>,
    count: usize,
}

impl PointsBatch {
    fn new(remote_id: &str) -> PointsBatch {
        let head = format!("{{\"run_id\":{},\"metrics\":[", Value::from(remote_id));
        PointsBatch {
            body: head.clone().into_bytes(),
            head,
            count: 0,
        }
    }

    fn len(&self) -> usize {
        self.count
    }

    /// Adds a point of the key written as the JSON string `key_json`.
    fn push(&mut self, key_json: &str, m: &Metric) {
        use std::io::Write;
        if self.count > 0 {
            self.body.push(b',');
        }
        self.body.extend_from_slice(b"{\"key\":");
        self.body.extend_from_slice(key_json.as_bytes());
        self.body.extend_from_slice(b",\"value\":");
        match json_number::non_finite_name(m.value) {
            Some(name) => {
                let _ = write!(self.body, "\"{name}\"");
            }
            // A finite f64 always serializes (shortest round-trip form).
            None => {
                let _ = serde_json::to_writer(&mut self.body, &m.value);
            }
        }
        let _ = write!(
            self.body,
            ",\"timestamp\":{},\"step\":{}}}",
            m.timestamp, m.step
        );
        self.count += 1;
    }

    /// The request body, the batch started again empty.
    fn take(&mut self) -> Vec<u8> {
        let mut body = std::mem::replace(&mut self.body, self.head.clone().into_bytes());
        body.extend_from_slice(b"]}");
        self.count = 0;
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_points_batch_is_the_json_of_mlflow_json() {
        let points = [
            Metric {
                value: 0.1 + 0.2,
                timestamp: 7,
                step: -3,
            },
            Metric {
                value: f64::NAN,
                timestamp: 0,
                step: 0,
            },
            Metric {
                value: f64::NEG_INFINITY,
                timestamp: 1,
                step: 1 << 40,
            },
        ];
        let mut batch = PointsBatch::new("r\"1");
        for m in &points {
            batch.push(&Value::from("lo\\ss").to_string(), m);
        }
        let got: Value = serde_json::from_slice(&batch.take()).unwrap_or(Value::Null);
        let want = json!({"run_id": "r\"1", "metrics": points
            .iter()
            .map(|m| mlflow_json::metric("lo\\ss", m))
            .collect::<Vec<_>>()});
        assert_eq!(got, want);
        assert_eq!(batch.len(), 0);
    }
}
