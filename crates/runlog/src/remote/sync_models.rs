//! Logged models in `runlog sync`: each active model of a synced
//! experiment is created once on the server (tagged
//! `runlog.source_model_id`, so that it is found again when the local
//! state is lost), then continued: params, tags, artifacts (the `MLmodel`
//! file's `model_id` and `run_id` rewritten to the server's ids) and its
//! final status, each recorded in the model's sync state
//! ([`ModelState`]) as the server acknowledges it. Its metric points go
//! with the runs that logged them ([`sync_run`](super::sync_run)).

use std::collections::BTreeMap;
use std::collections::HashMap;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::format::ModelStatus;
use crate::remote::http::{percent_encode, MlflowServer};
use crate::remote::state::{ModelState, SyncState};
use crate::remote::sync::{create_once, string_field, SyncReport};
use crate::remote::sync_run::{changed_files, is_refusal, send_file, SyncedModels};
use crate::tracking::{mlflow_json, Client, LoggedModel, SearchModels};

/// The tag that names a synced logged model's local id on the server.
pub const SOURCE_MODEL_TAG: &str = "runlog.source_model_id";

/// The file of a model's artifacts that names its model and run.
const MLMODEL_FILE: &str = "MLmodel";

/// A synced logged model: its id on the server and where its artifacts
/// are there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteModel {
    pub(crate) id: String,
    pub(crate) artifact_uri: String,
}

/// The sync of the logged models of some experiments.
pub(crate) struct ModelSync<'a> {
    pub(crate) client: &'a Client,
    pub(crate) server: &'a MlflowServer,
    pub(crate) state: &'a SyncState,
    pub(crate) dry_run: bool,
    /// Local run id -> remote run id, for source runs and `MLmodel`.
    pub(crate) remote_runs: &'a HashMap<String, String>,
}

impl ModelSync<'_> {
    /// Syncs the active logged models of each `(local, remote)`
    /// experiment (with `only_runs`, those whose source run is one of
    /// them); returns the synced ones and their points by run. A model the
    /// server refuses is listed in the summary's failures and the others
    /// go on.
    pub(crate) fn experiments(
        &self,
        experiments: &[(String, Option<String>)],
        only_runs: Option<&[String]>,
        summary: &mut SyncReport,
    ) -> Result<SyncedModels> {
        let mut synced = SyncedModels::default();
        for (local, remote) in experiments {
            for model in self.models_of(local)? {
                if let Some(runs) = only_runs {
                    if !model
                        .source_run_id
                        .as_ref()
                        .is_some_and(|r| runs.contains(r))
                    {
                        continue;
                    }
                }
                synced.chosen.insert(model.model_id.clone());
                match self.model(&model, remote.as_deref(), summary) {
                    Ok(Some(r)) => {
                        for p in &model.metrics {
                            synced
                                .points_by_run
                                .entry(p.run_id.clone())
                                .or_default()
                                .entry(model.model_id.clone())
                                .or_default()
                                .push(p.clone());
                        }
                        synced.remote.insert(model.model_id.clone(), r);
                    }
                    Ok(None) => summary.model_metrics += model.metrics.len() as u64,
                    Err(e) if is_refusal(&e) => summary.failures.push(format!(
                        "logged model {} ({}): {e}",
                        model.model_id, model.name
                    )),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(synced)
    }

    /// The active logged models of a local experiment, oldest first.
    fn models_of(&self, experiment_id: &str) -> Result<Vec<LoggedModel>> {
        let mut query = SearchModels {
            experiment_ids: vec![experiment_id.to_owned()],
            max_results: Some(1000),
            ..SearchModels::default()
        };
        let mut all = Vec::new();
        loop {
            let page = self.client.search_logged_models(&query)?;
            all.extend(page.items);
            match page.next_page_token {
                Some(t) => query.page_token = Some(t),
                None => break,
            }
        }
        all.sort_by(|a, b| {
            (a.creation_timestamp, &a.model_id).cmp(&(b.creation_timestamp, &b.model_id))
        });
        Ok(all)
    }

    /// Creates or continues one model (`None`: a dry run of a model to
    /// create, counted).
    fn model(
        &self,
        model: &LoggedModel,
        remote_experiment: Option<&str>,
        summary: &mut SyncReport,
    ) -> Result<Option<RemoteModel>> {
        let id = &model.model_id;
        let found = match (self.state.model(id)?, remote_experiment) {
            (Some(st), _) => Some(st),
            (None, Some(remote)) => self.find_remote(model, remote)?,
            (None, None) => None,
        };
        let mut st = match found {
            Some(st) => st,
            None => match remote_experiment {
                None | Some(_) if self.dry_run => {
                    summary.logged_models += 1;
                    let root = self.client.logged_model_artifact_root(id)?;
                    changed_files(&root, &BTreeMap::new(), summary)?;
                    return Ok(None);
                }
                None => return Ok(None), // its experiment failed, reported
                Some(remote) => {
                    summary.logged_models += 1;
                    self.create(model, remote)?
                }
            },
        };
        self.params(model, &mut st)?;
        self.tags(model, &mut st)?;
        self.artifacts(model, &mut st, summary)?;
        self.status(model, &mut st)?;
        Ok(Some(RemoteModel {
            id: st.remote_id.clone(),
            artifact_uri: st.artifact_uri.clone(),
        }))
    }

    fn save(&self, model: &LoggedModel, st: &ModelState) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.state.save_model(&model.model_id, st)
    }

    /// The model's tags as the server should have them.
    fn remote_tags(model: &LoggedModel) -> BTreeMap<String, String> {
        let mut tags = model.tags.clone();
        tags.insert(SOURCE_MODEL_TAG.to_owned(), model.model_id.clone());
        tags
    }

    /// A model synced before whose state is lost, found by its source tag:
    /// its params, tags and status count as sent; its artifacts are sent
    /// again.
    fn find_remote(
        &self,
        model: &LoggedModel,
        remote_experiment: &str,
    ) -> Result<Option<ModelState>> {
        let filter = format!("tags.`{SOURCE_MODEL_TAG}` = '{}'", model.model_id);
        let found = self.server.post(
            "logged-models/search",
            &json!({"experiment_ids": [remote_experiment], "filter": filter, "max_results": 1}),
        )?;
        let Some(remote) = found.get("models").and_then(|m| m.get(0)) else {
            return Ok(None);
        };
        let st = state_of(model, remote)?;
        self.save(model, &st)?;
        Ok(Some(st))
    }

    fn create(&self, model: &LoggedModel, remote_experiment: &str) -> Result<ModelState> {
        let kv = |m: &BTreeMap<String, String>| -> Vec<Value> {
            m.iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect()
        };
        let tags = Self::remote_tags(model);
        let mut body = json!({
            "experiment_id": remote_experiment,
            "name": model.name,
            "params": kv(&model.params),
            "tags": kv(&tags),
        });
        if let Some(t) = &model.model_type {
            body["model_type"] = json!(t);
        }
        if let Some(run) = model
            .source_run_id
            .as_ref()
            .and_then(|r| self.remote_runs.get(r))
        {
            body["source_run_id"] = json!(run);
        }
        let made = |created: Value| {
            let st = state_of(model, &created["model"])?;
            self.save(model, &st)?;
            Ok(st)
        };
        create_once(self.server, "logged-models", &body, made, || {
            self.find_remote(model, remote_experiment)
        })
    }

    /// Params logged since the last sync (a model's params never change).
    fn params(&self, model: &LoggedModel, st: &mut ModelState) -> Result<()> {
        let new: Vec<Value> = model
            .params
            .iter()
            .filter(|(k, _)| !st.params.contains_key(*k))
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        if new.is_empty() || self.dry_run {
            return Ok(());
        }
        let path = format!("logged-models/{}/params", percent_encode(&st.remote_id));
        self.server
            .post(&path, &json!({"model_id": st.remote_id, "params": new}))?;
        st.params = model.params.clone();
        self.save(model, st)
    }

    /// Tags set, changed or deleted since the last sync.
    fn tags(&self, model: &LoggedModel, st: &mut ModelState) -> Result<()> {
        let tags = Self::remote_tags(model);
        let set: Vec<Value> = tags
            .iter()
            .filter(|(k, v)| st.tags.get(*k) != Some(*v))
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        let deleted: Vec<&String> = st.tags.keys().filter(|k| !tags.contains_key(*k)).collect();
        if (set.is_empty() && deleted.is_empty()) || self.dry_run {
            return Ok(());
        }
        let base = format!("logged-models/{}/tags", percent_encode(&st.remote_id));
        if !set.is_empty() {
            self.server
                .patch(&base, &json!({"model_id": st.remote_id, "tags": set}))?;
        }
        for key in deleted {
            let path = format!("{base}/{}", percent_encode(key));
            match self
                .server
                .delete(&path, &json!({"model_id": st.remote_id, "tag_key": key}))
            {
                Ok(_) => {}
                Err(err) if err.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        st.tags = tags;
        self.save(model, st)
    }

    /// Artifact files new or changed since the last sync.
    fn artifacts(
        &self,
        model: &LoggedModel,
        st: &mut ModelState,
        summary: &mut SyncReport,
    ) -> Result<()> {
        let root = self.client.logged_model_artifact_root(&model.model_id)?;
        let changed = changed_files(&root, &st.artifacts, summary)?;
        if changed.is_empty() || self.dry_run {
            return Ok(());
        }
        let uri = st.artifact_uri.clone();
        for f in changed {
            let mut bytes = std::fs::read(&f.path).map_err(|e| Error::io("read", &f.path, e))?;
            if f.rel == MLMODEL_FILE {
                bytes = self.mlmodel_for_server(model, &st.remote_id, bytes);
            }
            send_file(self.server, &uri, &f.rel, &bytes)?;
            st.artifacts.insert(f.rel, (f.len, f.modified_ms));
        }
        self.save(model, st)
    }

    /// An `MLmodel` file with the server's ids in its top-level `model_id`
    /// and `run_id` lines (the lines that name the local ones; anything
    /// else is left as it is).
    fn mlmodel_for_server(&self, model: &LoggedModel, remote_id: &str, bytes: Vec<u8>) -> Vec<u8> {
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(not_text) => return not_text.into_bytes(),
        };
        let mut ids = vec![("model_id", model.model_id.as_str(), remote_id)];
        if let Some((local, remote)) = model
            .source_run_id
            .as_ref()
            .and_then(|r| Some((r.as_str(), self.remote_runs.get(r)?.as_str())))
        {
            ids.push(("run_id", local, remote));
        }
        rewrite_ids(&text, &ids).into_bytes()
    }

    /// Finalizes the model on the server once it is final here.
    fn status(&self, model: &LoggedModel, st: &mut ModelState) -> Result<()> {
        if model.status == ModelStatus::Pending
            || st.status.as_deref() == Some(model.status.as_str())
            || self.dry_run
        {
            return Ok(());
        }
        let path = format!("logged-models/{}", percent_encode(&st.remote_id));
        self.server.patch(
            &path,
            &json!({"model_id": st.remote_id, "status": model.status.as_str()}),
        )?;
        st.status = Some(model.status.as_str().to_owned());
        self.save(model, st)
    }
}

/// The state of `model` on the server, from its answer (`{info, data}`):
/// what it has counts as sent; of its tags, those the local model has (a
/// tag the server added is not the sync's to delete).
fn state_of(model: &LoggedModel, remote: &Value) -> Result<ModelState> {
    let info = &remote["info"];
    let status = info["status"]
        .as_str()
        .filter(|s| *s != ModelStatus::Pending.as_str())
        .map(str::to_owned);
    let wanted = ModelSync::remote_tags(model);
    let mut tags = mlflow_json::key_value_map(&info["tags"]);
    tags.retain(|k, _| wanted.contains_key(k));
    Ok(ModelState {
        remote_id: string_field(info, "model_id")?,
        params: mlflow_json::key_value_map(&remote["data"]["params"]),
        tags,
        status,
        artifacts: BTreeMap::new(),
        artifact_uri: string_field(info, "artifact_uri")?,
    })
}

/// `text` with each top-level line `<key>: <local>` (the value bare or
/// quoted) given `<remote>` instead, for each `(key, local, remote)`.
fn rewrite_ids(text: &str, ids: &[(&str, &str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let end = &line[body.len()..];
        let replaced = ids.iter().find_map(|(key, local, remote)| {
            let value = body.strip_prefix(key)?.strip_prefix(':')?.trim();
            let bare = value.trim_matches(|c| c == '\'' || c == '"');
            (bare == *local).then(|| format!("{key}: {remote}"))
        });
        match replaced {
            Some(new) => {
                out.push_str(&new);
                out.push_str(end);
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlmodel_ids_are_rewritten_only_where_they_name_the_local_ones() {
        let text = "artifact_path: model\nmodel_id: m-local\nrun_id: 'r1'\nflavors:\n  x:\n    run_id: r1\nsaved: m-local\n";
        let got = rewrite_ids(
            text,
            &[("model_id", "m-local", "m-far"), ("run_id", "r1", "r9")],
        );
        assert_eq!(
            got,
            "artifact_path: model\nmodel_id: m-far\nrun_id: r9\nflavors:\n  x:\n    run_id: r1\nsaved: m-local\n"
        );
        let crlf = "model_id: m-local\r\nrun_id: other\r\n";
        assert_eq!(
            rewrite_ids(
                crlf,
                &[("model_id", "m-local", "m-far"), ("run_id", "r1", "r9")]
            ),
            "model_id: m-far\r\nrun_id: other\r\n"
        );
    }
}
