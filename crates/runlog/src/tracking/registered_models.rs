//! The model registry through the client, as MLflow's `MlflowClient` has
//! it: registered models (create, get, rename, update, delete, latest
//! versions, tags, aliases) and model versions (create from a `runs:/` or
//! `models:/m-...` source, get, update, stage transitions, delete, tags,
//! download URI); their searches are in `registry_search.rs`. Names and
//! version numbers are allotted under the store's tracking lock, so that
//! two processes never take the same.

use crate::clock::wall_clock_ms;
use crate::error::{Error, Result};
use crate::format::Record;
use crate::tracking::client::{Client, Fresh};
use crate::tracking::registry::{ModelVersion, RegisteredModel, STAGES};

/// Most registered models in a page by default, and at most (MLflow's).
pub const REGISTERED_MODELS_PAGE: (usize, usize) = (100, 1000);
/// Most model versions in a page by default, and at most (MLflow's).
pub const MODEL_VERSIONS_PAGE: (usize, usize) = (10_000, 200_000);

/// What [`Client::create_model_version`] registers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewModelVersion {
    /// The registered model (created by `register_model` when missing).
    pub name: String,
    /// `runs:/<run_id>/<path>`, `models:/m-...`, or a location.
    pub source: String,
    /// The run that made it.
    pub run_id: Option<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// A link to the run.
    pub run_link: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The logged model it promotes (MLflow 3).
    pub model_id: Option<String>,
}

/// A registry search: MLflow's filter (`name`, `tags.<key>`; for versions
/// also `run_id`, `source_path`, `version_number`), `order_by`, paging.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchRegistry {
    /// The filter.
    pub filter: String,
    /// Page size (MLflow's default when `None`).
    pub max_results: Option<usize>,
    /// Order clauses (`name`, `last_updated_timestamp`, ... `ASC|DESC`).
    pub order_by: Vec<String>,
    /// A previous page's `next_page_token`.
    pub page_token: Option<String>,
}

impl Client {
    /// Creates a registered model; its name must be new.
    pub fn create_registered_model(
        &self,
        name: &str,
        tags: &[(&str, &str)],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        check_model_name(name)?;
        for (k, v) in tags {
            check_tag(k, v)?;
        }
        {
            let _lock = self.lock_tracking()?;
            if self
                .view(Fresh::Now)?
                .state
                .registry()
                .model(name)
                .is_some()
            {
                return Err(Error::AlreadyExists(format!(
                    "Registered Model (name={name}) already exists."
                )));
            }
            // One record: a crash leaves the model whole or not at all.
            self.append_registry(&Record::CreateRegisteredModel {
                name,
                description,
                time: wall_clock_ms(),
                tags: tags.to_vec(),
            })?;
            self.flush()?;
        }
        self.get_registered_model(name)
    }

    /// The registered model of this name.
    pub fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        self.check_models_reachable()?;
        self.view(Fresh::Now)?
            .state
            .registry()
            .model(name)
            .cloned()
            .ok_or_else(|| registered_model_not_found(name))
    }

    /// Renames a registered model, with its versions; the new name must be
    /// free.
    pub fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        check_model_name(new_name)?;
        {
            let _lock = self.lock_tracking()?;
            let view = self.view(Fresh::Now)?;
            let registry = view.state.registry();
            registry
                .model(name)
                .ok_or_else(|| registered_model_not_found(name))?;
            if registry.model(new_name).is_some() {
                return Err(Error::AlreadyExists(format!(
                    "Registered Model (name={new_name}) already exists."
                )));
            }
            drop(view);
            self.append_registry(&Record::RenameRegisteredModel {
                name,
                new_name,
                time: wall_clock_ms(),
            })?;
            self.flush()?;
        }
        self.get_registered_model(new_name)
    }

    /// Sets a registered model's description.
    pub fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        self.get_registered_model(name)?;
        self.append_registry(&Record::UpdateRegisteredModel {
            name,
            description,
            time: wall_clock_ms(),
        })?;
        self.get_registered_model(name)
    }

    /// Deletes a registered model with its versions.
    pub fn delete_registered_model(&self, name: &str) -> Result<()> {
        self.get_registered_model(name)?;
        self.append_registry(&Record::DeleteRegisteredModel {
            name,
            time: wall_clock_ms(),
        })
    }

    /// Sets a tag of a registered model.
    pub fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        check_tag(key, value)?;
        self.get_registered_model(name)?;
        self.append_registry(&Record::SetRegisteredModelTag { name, key, value })
    }

    /// Removes a tag of a registered model (an absent one: nothing to do).
    pub fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        self.get_registered_model(name)?;
        self.append_registry(&Record::DeleteRegisteredModelTag { name, key })
    }

    /// Points an alias at a version (moving it from any other).
    pub fn set_registered_model_alias(&self, name: &str, alias: &str, version: i64) -> Result<()> {
        check_alias(alias)?;
        self.get_model_version(name, version)?;
        self.append_registry(&Record::SetRegisteredModelAlias {
            name,
            alias,
            version,
        })
    }

    /// Removes an alias.
    pub fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        self.get_registered_model(name)?;
        self.append_registry(&Record::DeleteRegisteredModelAlias { name, alias })
    }

    /// The version an alias points at.
    pub fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        self.check_models_reachable()?;
        let model = self.get_registered_model(name)?;
        let version = model
            .aliases
            .get(alias)
            .ok_or_else(|| Error::NotFound(format!("Registered model alias {alias} not found.")))?;
        self.get_model_version(name, *version)
    }

    /// The latest version of each stage (only those stages, when given).
    pub fn get_latest_versions(&self, name: &str, stages: &[String]) -> Result<Vec<ModelVersion>> {
        self.check_models_reachable()?;
        for stage in stages {
            canonical_stage(stage)?;
        }
        let view = self.view(Fresh::Now)?;
        let registry = view.state.registry();
        registry
            .model(name)
            .ok_or_else(|| registered_model_not_found(name))?;
        Ok(registry
            .latest_versions(name, stages)
            .into_iter()
            .cloned()
            .collect())
    }

    /// Registers a new version: `runs:/<run_id>/<path>` is stored at the
    /// run's artifacts, `models:/m-...` at the logged model's (whose run
    /// it takes), anything else as given.
    pub fn create_model_version(&self, new: &NewModelVersion) -> Result<ModelVersion> {
        for (k, v) in &new.tags {
            check_tag(k, v)?;
        }
        let (storage, run_id, model_id) = self.resolve_source(new)?;
        let version = {
            let _lock = self.lock_tracking()?;
            let view = self.view(Fresh::Now)?;
            let registry = view.state.registry();
            registry
                .model(&new.name)
                .ok_or_else(|| registered_model_not_found(&new.name))?;
            let version = registry.next_version(&new.name);
            drop(view);
            self.append_registry(&Record::CreateModelVersion {
                name: &new.name,
                version,
                source: &new.source,
                storage_location: &storage,
                run_id: run_id.as_deref(),
                run_link: new.run_link.as_deref(),
                description: new.description.as_deref(),
                model_id: model_id.as_deref(),
                time: wall_clock_ms(),
                tags: new
                    .tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
            })?;
            self.flush()?;
            version
        };
        self.get_model_version(&new.name, version)
    }

    /// Where a new version's files are, and its run and logged model.
    fn resolve_source(
        &self,
        new: &NewModelVersion,
    ) -> Result<(String, Option<String>, Option<String>)> {
        let mut run_id = new.run_id.clone().filter(|r| !r.is_empty());
        let mut model_id = new.model_id.clone().filter(|m| !m.is_empty());
        let storage = if let Some(id) = new.source.strip_prefix("models:/m-") {
            let id = format!("m-{}", id.split('/').next().unwrap_or(""));
            let model = self.get_logged_model(&id)?;
            run_id = run_id.or(model.source_run_id.clone());
            model_id = model_id.or(Some(id));
            model.artifact_location
        } else if let Some(rest) = new.source.strip_prefix("runs:/") {
            let (run, path) = rest.split_once('/').unwrap_or((rest, ""));
            let run = self.get_run(run)?;
            run_id = run_id.or(Some(run.info.run_id.clone()));
            let base = run.info.artifact_uri.trim_end_matches('/').to_owned();
            match path.trim_matches('/') {
                "" => base,
                path => format!("{base}/{path}"),
            }
        } else {
            if let Some(id) = &model_id {
                let model = self.get_logged_model(id)?;
                run_id = run_id.or(model.source_run_id);
            }
            new.source.clone()
        };
        Ok((storage, run_id, model_id))
    }

    /// A version of a registered model.
    pub fn get_model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        self.check_models_reachable()?;
        self.view(Fresh::Now)?
            .state
            .registry()
            .version(name, version)
            .cloned()
            .ok_or_else(|| version_not_found(name, version))
    }

    /// The aliases pointing at a version.
    pub fn model_version_aliases(&self, name: &str, version: i64) -> Result<Vec<String>> {
        self.check_models_reachable()?;
        Ok(self
            .view(Fresh::OwnWrites)?
            .state
            .registry()
            .aliases_of(name, version))
    }

    /// Sets a version's description.
    pub fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: &str,
    ) -> Result<ModelVersion> {
        self.get_model_version(name, version)?;
        self.append_registry(&Record::UpdateModelVersion {
            name,
            version,
            description,
            time: wall_clock_ms(),
        })?;
        self.get_model_version(name, version)
    }

    /// Moves a version to a stage; with `archive_existing`, the model's
    /// other versions in that stage (Staging or Production) are archived.
    pub fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
    ) -> Result<ModelVersion> {
        let stage = canonical_stage(stage)?;
        self.get_model_version(name, version)?;
        let others: Vec<i64> = if archive_existing && matches!(stage, "Staging" | "Production") {
            self.view(Fresh::Now)?
                .state
                .registry()
                .versions(name)
                .filter(|v| v.version != version && v.current_stage == stage)
                .map(|v| v.version)
                .collect()
        } else {
            Vec::new()
        };
        let time = wall_clock_ms();
        for other in others {
            self.append_registry(&Record::TransitionModelVersionStage {
                name,
                version: other,
                stage: "Archived",
                time,
            })?;
        }
        self.append_registry(&Record::TransitionModelVersionStage {
            name,
            version,
            stage,
            time,
        })?;
        self.get_model_version(name, version)
    }

    /// Deletes a version (its number is not given again).
    pub fn delete_model_version(&self, name: &str, version: i64) -> Result<()> {
        self.get_model_version(name, version)?;
        self.append_registry(&Record::DeleteModelVersion {
            name,
            version,
            time: wall_clock_ms(),
        })
    }

    /// Sets a tag of a version.
    pub fn set_model_version_tag(
        &self,
        name: &str,
        version: i64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        check_tag(key, value)?;
        self.get_model_version(name, version)?;
        self.append_registry(&Record::SetModelVersionTag {
            name,
            version,
            key,
            value,
        })
    }

    /// Removes a tag of a version.
    pub fn delete_model_version_tag(&self, name: &str, version: i64, key: &str) -> Result<()> {
        self.get_model_version(name, version)?;
        self.append_registry(&Record::DeleteModelVersionTag { name, version, key })
    }

    /// Appends a registry record (format version 5: see `append_model`).
    fn append_registry(&self, record: &Record<&str>) -> Result<()> {
        self.check_models_reachable()?;
        self.append(record)
    }
}

fn registered_model_not_found(name: &str) -> Error {
    Error::NotFound(format!("Registered Model with name={name} not found"))
}

fn version_not_found(name: &str, version: i64) -> Error {
    Error::NotFound(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

/// MLflow's stage names, whatever the case given.
fn canonical_stage(stage: &str) -> Result<&'static str> {
    STAGES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(stage))
        .copied()
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "Invalid Model Version stage: {stage}. Value must be one of None, Staging, \
                 Production, Archived."
            ))
        })
}

fn check_model_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::InvalidArgument(
            "Registered model name cannot be empty.".into(),
        ));
    }
    if name.contains('/') || name.contains(':') {
        return Err(Error::InvalidArgument(format!(
            "Invalid name: '{name}'. Registered model name cannot contain '/' or ':'."
        )));
    }
    Ok(())
}

fn check_tag(key: &str, value: &str) -> Result<()> {
    crate::validation::validate_key(crate::validation::KeyKind::Tag, key)?;
    crate::validation::validate_tag_value(key, value)
}

/// MLflow's rule for aliases: letters, digits, `_` and `-`, not `latest`,
/// not a version (`v1`).
fn check_alias(alias: &str) -> Result<()> {
    let ok = !alias.is_empty()
        && alias.len() <= 255
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let version_like = alias
        .strip_prefix(['v', 'V'])
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if !ok || version_like || alias.eq_ignore_ascii_case("latest") {
        return Err(Error::InvalidArgument(format!(
            "Invalid alias name: '{alias}'. Aliases may only contain alphanumerics, \
             underscores and dashes, and cannot be 'latest' or a version ('v1')."
        )));
    }
    Ok(())
}
