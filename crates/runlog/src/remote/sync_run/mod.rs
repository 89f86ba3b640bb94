//! One run's sync: found or created on the server, then its params and
//! tags, metric histories ([`points`]), the points about logged models,
//! outputs and model inputs ([`models`]), dataset inputs, artifacts and
//! status, each recorded in the run's sync state as the server
//! acknowledges it.

mod models;
mod points;

pub(crate) use models::SyncedModels;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::fs_util::{files_under, TreeFile};
use crate::remote::http::MlflowServer;
use crate::remote::state::{KeyState, RunState, SyncState};
use crate::remote::sync::{
    count_new_run, create_once, string_field, SyncEvent, SyncReport, MAX_BATCH_PARAMS_OR_TAGS,
    PARENT_TAG, SOURCE_RUN_TAG,
};
use crate::tracking::{mlflow_json, Client, Run};
use crate::RunStatus;

/// How local ids relate to the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ids {
    /// `runlog sync`: runs and experiments get the server's own ids, kept
    /// in the sync state (runs tagged with their source id).
    Mapped,
    /// A spool's background sync: its runs were created on the server first, under
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
        summary: &mut SyncReport,
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
        let made = |created: Value| {
            let st = RunState {
                remote_id: string_field(&created["run"]["info"], "run_id")?,
                tags,
                ..RunState::default()
            };
            self.save(run, &st)?;
            Ok(st)
        };
        create_once(self.server, "runs/create", &body, made, || {
            self.find_remote(run, remote_experiment)
        })
    }

    fn params_and_tags(
        &self,
        run: &Run,
        st: &mut RunState,
        summary: &mut SyncReport,
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
                Ok(_) => {}
                Err(err) if err.is_not_found() => {}
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
        summary: &mut SyncReport,
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

    fn inputs(&self, run: &Run, st: &mut RunState, summary: &mut SyncReport) -> Result<()> {
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

    fn artifacts(&self, run: &Run, st: &mut RunState, summary: &mut SyncReport) -> Result<()> {
        let root = self.client.artifact_root(&run.info.run_id)?;
        let changed = changed_files(&root, &st.artifacts, summary)?;
        if changed.is_empty() || self.dry_run {
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

/// Whether the server refused a request for what it holds (a 4xx answer),
/// as opposed to being unreachable or failing.
pub(crate) fn is_refusal(e: &Error) -> bool {
    match e {
        Error::Refused(r) => matches!(
            r.error_code.as_str(),
            "INVALID_PARAMETER_VALUE"
                | "BAD_REQUEST"
                | "INVALID_STATE"
                | "RESOURCE_ALREADY_EXISTS"
                | "RESOURCE_DOES_NOT_EXIST"
        ),
        Error::InvalidArgument(_)
        | Error::InvalidState(_)
        | Error::AlreadyExists(_)
        | Error::NotFound(_) => true,
        _ => false,
    }
}

/// The files under `root` new or changed since they were sent (`sent`:
/// relative path -> size and modification time), counted in `summary`.
pub(crate) fn changed_files(
    root: &std::path::Path,
    sent: &BTreeMap<String, (u64, i64)>,
    summary: &mut SyncReport,
) -> Result<Vec<TreeFile>> {
    let changed: Vec<TreeFile> = files_under(root)?
        .into_iter()
        .filter(|f| sent.get(&f.rel) != Some(&(f.len, f.modified_ms)))
        .collect();
    summary.artifacts += changed.len();
    summary.artifact_bytes += changed.iter().map(|f| f.len).sum::<u64>();
    Ok(changed)
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
