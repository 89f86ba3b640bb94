//! The model registry in `runlog sync`: registered models are matched by
//! name (created when missing), then their description, tags, versions
//! and aliases are brought to what the store has. Versions get the
//! server's next numbers (kept in the sync state, local number -> remote
//! number; each tagged `runlog.source_version` so that it is found again
//! when the state is lost or a create's answer is), their source, run and
//! logged model translated to the server's ids. What was deleted locally
//! after a sync stays on the server, as for runs.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::remote::http::MlflowServer;
use crate::remote::state::{RegisteredModelState, RegistryState, SyncState, VersionState};
use crate::remote::sync::{create_once, string_field, SyncReport};
use crate::remote::sync_models::RemoteModel;
use crate::remote::sync_run::is_refusal;
use crate::tracking::registry::STAGE_NONE;
use crate::tracking::{mlflow_json, Client, ModelVersion, RegisteredModel, SearchRegistry};

/// The tag that names a synced version's local number and creation time
/// on the server (`<version>@<creation ms>`).
pub const SOURCE_VERSION_TAG: &str = "runlog.source_version";

/// The sync of a store's registry.
pub(crate) struct RegistrySync<'a> {
    pub(crate) client: &'a Client,
    pub(crate) server: &'a MlflowServer,
    pub(crate) state: &'a SyncState,
    pub(crate) dry_run: bool,
    /// Local run id -> remote run id of the synced runs.
    pub(crate) remote_runs: &'a HashMap<String, String>,
    /// The synced logged models.
    pub(crate) models: &'a HashMap<String, RemoteModel>,
    /// Whether the whole store is synced: then every version is; else only
    /// versions of a chosen run or logged model (and their models).
    pub(crate) whole_store: bool,
    /// The runs chosen, by local id.
    pub(crate) chosen_runs: &'a std::collections::HashSet<String>,
    /// The logged models chosen, by local id.
    pub(crate) chosen_models: &'a std::collections::HashSet<String>,
}

impl RegistrySync<'_> {
    /// Syncs the registry; a registered model or version the server
    /// refuses is listed in the summary's failures and the others go on.
    pub(crate) fn sync(&self, summary: &mut SyncReport) -> Result<()> {
        let mut versions: BTreeMap<String, Vec<ModelVersion>> = BTreeMap::new();
        for v in self.all_versions()? {
            if self.chosen(&v) {
                versions.entry(v.name.clone()).or_default().push(v);
            }
        }
        let mut reg = self.state.registry()?;
        for model in self.all_models()? {
            let mut chosen = versions.remove(&model.name).unwrap_or_default();
            if chosen.is_empty() && !self.whole_store {
                continue;
            }
            chosen.sort_by_key(|v| v.version);
            match self.model(&model, &chosen, &mut reg, summary) {
                Ok(()) => {}
                Err(e) if is_refusal(&e) => summary
                    .failures
                    .push(format!("registered model {:?}: {e}", model.name)),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Whether version `v` is part of this sync: all are when the whole
    /// store is; else those of a chosen run or logged model (whether or
    /// not it reached the server: a dry run counts what a sync sends).
    fn chosen(&self, v: &ModelVersion) -> bool {
        self.whole_store
            || v.model_id
                .as_ref()
                .is_some_and(|m| self.chosen_models.contains(m))
            || v.run_id
                .as_ref()
                .is_some_and(|r| self.chosen_runs.contains(r))
    }

    fn all_models(&self) -> Result<Vec<RegisteredModel>> {
        let mut query = SearchRegistry {
            max_results: Some(1000),
            ..SearchRegistry::default()
        };
        let mut all = Vec::new();
        loop {
            let page = self.client.search_registered_models(&query)?;
            all.extend(page.items);
            match page.next_page_token {
                Some(t) => query.page_token = Some(t),
                None => return Ok(all),
            }
        }
    }

    fn all_versions(&self) -> Result<Vec<ModelVersion>> {
        let mut query = SearchRegistry {
            max_results: Some(200_000),
            ..SearchRegistry::default()
        };
        let mut all = Vec::new();
        loop {
            let page = self.client.search_model_versions(&query)?;
            all.extend(page.items);
            match page.next_page_token {
                Some(t) => query.page_token = Some(t),
                None => return Ok(all),
            }
        }
    }

    fn save(&self, reg: &RegistryState) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        self.state.save_registry(reg)
    }

    /// One registered model: found or created, then its description, tags,
    /// chosen versions and aliases.
    fn model(
        &self,
        model: &RegisteredModel,
        versions: &[ModelVersion],
        reg: &mut RegistryState,
        summary: &mut SyncReport,
    ) -> Result<()> {
        let name = &model.name;
        let mut st = match reg.models.get(name) {
            Some(st) => st.clone(),
            None => {
                let Some(st) = self.found_or_created(model, versions.len(), summary)? else {
                    return Ok(()); // a dry run of a model to create, counted
                };
                st
            }
        };
        self.description_and_tags(model, &mut st)?;
        for v in versions {
            match self.version(v, &mut st, summary) {
                Ok(()) => {}
                Err(e) if is_refusal(&e) => summary
                    .failures
                    .push(format!("model version {name:?} {}: {e}", v.version)),
                Err(e) => return Err(e),
            }
            reg.models.insert(name.clone(), st.clone());
            self.save(reg)?;
        }
        self.aliases(model, &mut st)?;
        reg.models.insert(name.clone(), st);
        self.save(reg)
    }

    /// The state of a registered model not synced before: the server's
    /// model of that name (what it has counts as sent), or one created
    /// (`None` in a dry run).
    fn found_or_created(
        &self,
        model: &RegisteredModel,
        versions: usize,
        summary: &mut SyncReport,
    ) -> Result<Option<RegisteredModelState>> {
        let found = match self
            .server
            .get("registered-models/get", &[("name", &model.name)])
        {
            Ok(v) => Some(v["registered_model"].clone()),
            Err(err) if err.is_not_found() => None,
            Err(e) => return Err(e),
        };
        if let Some(remote) = found {
            let mut tags = mlflow_json::key_value_map(&remote["tags"]);
            tags.retain(|k, _| model.tags.contains_key(k));
            return Ok(Some(RegisteredModelState {
                description: remote["description"]
                    .as_str()
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
                tags,
                ..RegisteredModelState::default()
            }));
        }
        summary.registered_models += 1;
        if self.dry_run {
            summary.model_versions += versions;
            return Ok(None);
        }
        self.create_model(model)?;
        Ok(Some(RegisteredModelState {
            description: model.description.clone(),
            tags: model.tags.clone(),
            ..RegisteredModelState::default()
        }))
    }

    fn create_model(&self, model: &RegisteredModel) -> Result<()> {
        let tags: Vec<Value> = model
            .tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        let mut body = json!({"name": model.name, "tags": tags});
        if let Some(d) = &model.description {
            body["description"] = json!(d);
        }
        match self.server.post("registered-models/create", &body) {
            // A retried create whose first attempt made it.
            Ok(_) => Ok(()),
            Err(err) if err.is_already_exists() => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn description_and_tags(
        &self,
        model: &RegisteredModel,
        st: &mut RegisteredModelState,
    ) -> Result<()> {
        let name = &model.name;
        if model.description != st.description && !self.dry_run {
            let description = model.description.clone().unwrap_or_default();
            self.server.patch(
                "registered-models/update",
                &json!({"name": name, "description": description}),
            )?;
            st.description = model.description.clone();
        }
        for (k, v) in &model.tags {
            if st.tags.get(k) != Some(v) && !self.dry_run {
                self.server.post(
                    "registered-models/set-tag",
                    &json!({"name": name, "key": k, "value": v}),
                )?;
                st.tags.insert(k.clone(), v.clone());
            }
        }
        let gone: Vec<String> = st
            .tags
            .keys()
            .filter(|k| !model.tags.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            if self.dry_run {
                break;
            }
            match self.server.delete(
                "registered-models/delete-tag",
                &json!({"name": name, "key": k}),
            ) {
                Ok(_) => {}
                Err(err) if err.is_not_found() => {}
                Err(e) => return Err(e),
            }
            st.tags.remove(&k);
        }
        Ok(())
    }

    /// One version: found or created, then its description, tags and
    /// stage.
    fn version(
        &self,
        v: &ModelVersion,
        st: &mut RegisteredModelState,
        summary: &mut SyncReport,
    ) -> Result<()> {
        let wanted = wanted_tags(v);
        let vs = match st.versions.entry(v.version) {
            std::collections::btree_map::Entry::Occupied(known) => known.into_mut(),
            std::collections::btree_map::Entry::Vacant(new) => {
                let found = match self.find_version(v)? {
                    Some(found) => found,
                    None if self.dry_run => {
                        summary.model_versions += 1;
                        return Ok(());
                    }
                    None => {
                        summary.model_versions += 1;
                        self.create_version(v, &wanted)?
                    }
                };
                new.insert(found)
            }
        };
        if self.dry_run {
            return Ok(());
        }
        let remote = vs.remote.to_string();
        let (name, version) = (&v.name, remote.as_str());
        if v.description != vs.description {
            let description = v.description.clone().unwrap_or_default();
            self.server.patch(
                "model-versions/update",
                &json!({"name": name, "version": version, "description": description}),
            )?;
            vs.description = v.description.clone();
        }
        for (k, value) in &wanted {
            if vs.tags.get(k) != Some(value) {
                self.server.post(
                    "model-versions/set-tag",
                    &json!({"name": name, "version": version, "key": k, "value": value}),
                )?;
                vs.tags.insert(k.clone(), value.clone());
            }
        }
        let gone: Vec<String> = vs
            .tags
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            match self.server.delete(
                "model-versions/delete-tag",
                &json!({"name": name, "version": version, "key": k}),
            ) {
                Ok(_) => {}
                Err(err) if err.is_not_found() => {}
                Err(e) => return Err(e),
            }
            vs.tags.remove(&k);
        }
        if v.current_stage != vs.stage {
            self.server.post(
                "model-versions/transition-stage",
                &json!({"name": name, "version": version, "stage": v.current_stage,
                        "archive_existing_versions": false}),
            )?;
            vs.stage = v.current_stage.clone();
        }
        Ok(())
    }

    /// The server's version of `v`, found by its source tag.
    fn find_version(&self, v: &ModelVersion) -> Result<Option<VersionState>> {
        let filter = format!("tags.`{SOURCE_VERSION_TAG}` = '{}'", source_version(v));
        let found = self.server.get(
            "model-versions/search",
            &[("filter", filter.as_str()), ("max_results", "1000")],
        )?;
        let remote = found["model_versions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"].as_str() == Some(v.name.as_str()));
        let Some(remote) = remote else {
            return Ok(None);
        };
        let wanted = wanted_tags(v);
        version_state(remote, &wanted).map(Some)
    }

    fn create_version(
        &self,
        v: &ModelVersion,
        tags: &BTreeMap<String, String>,
    ) -> Result<VersionState> {
        let tag_list: Vec<Value> = tags
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        let mut body = json!({"name": v.name, "source": self.source(v)?, "tags": tag_list});
        if let Some(run) = v.run_id.as_ref().and_then(|r| self.remote_runs.get(r)) {
            body["run_id"] = json!(run);
        }
        if let Some(model) = v.model_id.as_ref().and_then(|m| self.models.get(m)) {
            body["model_id"] = json!(model.id);
        }
        if let Some(d) = &v.description {
            body["description"] = json!(d);
        }
        let made = |created: Value| {
            let mut st = version_state(&created["model_version"], tags)?;
            // Created with the tags and description asked for.
            st.tags = tags.clone();
            st.description = v.description.clone();
            Ok(st)
        };
        create_once(self.server, "model-versions/create", &body, made, || {
            self.find_version(v)
        })
    }

    /// The version's source with the server's ids: `models:/<id>` of its
    /// synced logged model, `runs:/<id>/...` of its synced run, a path in
    /// a synced run's artifacts as that run's artifact URI on the server;
    /// any other source as it is.
    fn source(&self, v: &ModelVersion) -> Result<String> {
        let source = v.source.as_str();
        if let Some(rest) = source.strip_prefix("models:/") {
            let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
            if let Some(m) = self.models.get(id) {
                let tail = if tail.is_empty() {
                    String::new()
                } else {
                    format!("/{tail}")
                };
                return Ok(format!("models:/{}{tail}", m.id));
            }
        }
        if let Some(rest) = source.strip_prefix("runs:/") {
            let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
            if let Some(remote) = self.remote_runs.get(id) {
                return Ok(format!("runs:/{remote}/{tail}"));
            }
        }
        if let Some((local, remote)) = v
            .model_id
            .as_ref()
            .and_then(|m| Some((m, self.models.get(m)?)))
        {
            let root = self.client.logged_model_artifact_root(local)?;
            if under(source, &root).is_some() {
                return Ok(format!("models:/{}", remote.id));
            }
        }
        if let Some((local_run, remote_run)) = v
            .run_id
            .as_ref()
            .and_then(|r| Some((r, self.remote_runs.get(r)?)))
        {
            let root = self.client.artifact_root(local_run)?;
            if let Some(rel) = under(source, &root) {
                let remote = self.server.get("runs/get", &[("run_id", remote_run)])?;
                let uri = string_field(&remote["run"]["info"], "artifact_uri")?;
                let uri = uri.trim_end_matches('/');
                return Ok(if rel.is_empty() {
                    uri.to_owned()
                } else {
                    format!("{uri}/{rel}")
                });
            }
        }
        Ok(source.to_owned())
    }

    /// Aliases set or moved since the last sync, and those removed.
    fn aliases(&self, model: &RegisteredModel, st: &mut RegisteredModelState) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let name = &model.name;
        for (alias, local) in &model.aliases {
            let Some(remote) = st.versions.get(local).map(|v| v.remote) else {
                continue; // its version is not synced
            };
            if st.aliases.get(alias) != Some(local) {
                self.server.post(
                    "registered-models/alias",
                    &json!({"name": name, "alias": alias, "version": remote.to_string()}),
                )?;
                st.aliases.insert(alias.clone(), *local);
            }
        }
        let gone: Vec<String> = st
            .aliases
            .keys()
            .filter(|a| !model.aliases.contains_key(*a))
            .cloned()
            .collect();
        for alias in gone {
            match self.server.delete(
                "registered-models/alias",
                &json!({"name": name, "alias": alias}),
            ) {
                Ok(_) => {}
                Err(err) if err.is_not_found() => {}
                Err(e) => return Err(e),
            }
            st.aliases.remove(&alias);
        }
        Ok(())
    }
}

/// `<version>@<creation ms>`: which local version a server's version is.
fn source_version(v: &ModelVersion) -> String {
    format!("{}@{}", v.version, v.creation_timestamp)
}

/// The version's tags as the server should have them.
fn wanted_tags(v: &ModelVersion) -> BTreeMap<String, String> {
    let mut tags = v.tags.clone();
    tags.insert(SOURCE_VERSION_TAG.to_owned(), source_version(v));
    tags
}

/// The state of a server's version (`model_version` JSON): its number,
/// and what it has (of the tags, those wanted) counts as sent.
fn version_state(remote: &Value, wanted: &BTreeMap<String, String>) -> Result<VersionState> {
    let number = string_field(remote, "version")?;
    let remote_number = number
        .parse::<i64>()
        .map_err(|_| Error::Remote(format!("the server's version {number:?} is not a number")))?;
    let mut tags = mlflow_json::key_value_map(&remote["tags"]);
    tags.retain(|k, _| wanted.contains_key(k));
    Ok(VersionState {
        remote: remote_number,
        description: remote["description"]
            .as_str()
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
        tags,
        stage: remote["current_stage"]
            .as_str()
            .unwrap_or(STAGE_NONE)
            .to_owned(),
    })
}

/// The path of `source` (a path or `file://` URI) relative to `dir`, when
/// it is inside it (`""` for `dir` itself).
fn under(source: &str, dir: &std::path::Path) -> Option<String> {
    let path = source.strip_prefix("file://").unwrap_or(source);
    let rel = std::path::Path::new(path).strip_prefix(dir).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    )
}
