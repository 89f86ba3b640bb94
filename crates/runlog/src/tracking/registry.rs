//! MLflow's model registry: registered models ([`RegisteredModel`]) and
//! their numbered versions ([`ModelVersion`]), with tags, aliases and
//! stages, and the part of the tracking state that holds them
//! ([`Registry`], built from the log's registry records).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::format::Record;

/// The stage a new version starts in.
pub const STAGE_NONE: &str = "None";
/// MLflow's stages, as it spells them.
pub const STAGES: &[&str] = &[STAGE_NONE, "Staging", "Production", "Archived"];

/// A registered model: a name, its versions, tags and aliases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredModel {
    /// Its name (its identity; unique).
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// The last change of it or of one of its versions.
    pub last_updated_timestamp: i64,
    /// Its description, if any.
    pub description: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Alias -> version.
    pub aliases: BTreeMap<String, i64>,
}

/// One version of a registered model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// 1, 2, ... (never reused while the model exists).
    pub version: i64,
    /// Milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// Its last change.
    pub last_updated_timestamp: i64,
    /// `None`, `Staging`, `Production` or `Archived`.
    pub current_stage: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// Where it was registered from (`runs:/...`, `models:/m-...`, a path).
    pub source: String,
    /// Where its files are.
    pub storage_location: String,
    /// The run that produced it, if known.
    pub run_id: Option<String>,
    /// A link to that run, if given.
    pub run_link: Option<String>,
    /// The logged model it promotes, if any (MLflow 3).
    pub model_id: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// The registry of a store, as its log says it is.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    models: BTreeMap<String, RegisteredModel>,
    /// Versions by model name, then version.
    versions: HashMap<String, BTreeMap<i64, ModelVersion>>,
    /// The highest version ever created per model (deleted ones included),
    /// so that a number is never given twice.
    highest: HashMap<String, i64>,
    /// Deleted versions per model: a creation of one read after its
    /// deletion (two lanes' records of the same millisecond are merged in
    /// either order) stays deleted.
    deleted: HashMap<String, std::collections::HashSet<i64>>,
}

impl Registry {
    /// Applies a registry record; `false` for any other record.
    pub(crate) fn apply(&mut self, record: &Record, resolve: &impl Fn(&str) -> String) -> bool {
        match record {
            Record::CreateRegisteredModel {
                name,
                description,
                time,
                tags,
            } => {
                if self.models.contains_key(name) {
                    return true;
                }
                self.models.insert(
                    name.clone(),
                    RegisteredModel {
                        name: name.clone(),
                        creation_timestamp: *time,
                        last_updated_timestamp: *time,
                        description: description.clone(),
                        tags: tags.iter().cloned().collect(),
                        aliases: BTreeMap::new(),
                    },
                );
            }
            Record::RenameRegisteredModel {
                name,
                new_name,
                time,
            } => {
                if self.models.contains_key(new_name) {
                    return true; // the first claim of a name stands
                }
                let Some(mut model) = self.models.remove(name) else {
                    return true;
                };
                model.name = new_name.clone();
                model.last_updated_timestamp = *time;
                self.models.insert(new_name.clone(), model);
                if let Some(mut versions) = self.versions.remove(name) {
                    for v in versions.values_mut() {
                        v.name = new_name.clone();
                    }
                    self.versions.insert(new_name.clone(), versions);
                }
                if let Some(h) = self.highest.remove(name) {
                    self.highest.insert(new_name.clone(), h);
                }
                if let Some(d) = self.deleted.remove(name) {
                    self.deleted.insert(new_name.clone(), d);
                }
            }
            Record::UpdateRegisteredModel {
                name,
                description,
                time,
            } => {
                if let Some(m) = self.models.get_mut(name) {
                    m.description = Some(description.clone());
                    m.last_updated_timestamp = *time;
                }
            }
            Record::DeleteRegisteredModel { name, .. } => {
                self.models.remove(name);
                self.versions.remove(name);
                self.highest.remove(name);
                self.deleted.remove(name);
            }
            Record::SetRegisteredModelTag { name, key, value } => {
                if let Some(m) = self.models.get_mut(name) {
                    m.tags.insert(key.clone(), value.clone());
                }
            }
            Record::DeleteRegisteredModelTag { name, key } => {
                if let Some(m) = self.models.get_mut(name) {
                    m.tags.remove(key);
                }
            }
            Record::SetRegisteredModelAlias {
                name,
                alias,
                version,
            } => {
                if let Some(m) = self.models.get_mut(name) {
                    m.aliases.insert(alias.clone(), *version);
                }
            }
            Record::DeleteRegisteredModelAlias { name, alias } => {
                if let Some(m) = self.models.get_mut(name) {
                    m.aliases.remove(alias);
                }
            }
            Record::CreateModelVersion {
                name,
                version,
                source,
                storage_location,
                run_id,
                run_link,
                description,
                model_id,
                time,
                tags,
            } => self.create_version(
                ModelVersion {
                    name: name.clone(),
                    version: *version,
                    creation_timestamp: *time,
                    last_updated_timestamp: *time,
                    current_stage: STAGE_NONE.to_owned(),
                    description: description.clone(),
                    source: source.clone(),
                    storage_location: resolve(storage_location),
                    run_id: run_id.clone(),
                    run_link: run_link.clone(),
                    model_id: model_id.clone(),
                    tags: tags.iter().cloned().collect(),
                },
                *time,
            ),
            Record::UpdateModelVersion {
                name,
                version,
                description,
                time,
            } => {
                if let Some(v) = self.version_mut(name, *version) {
                    v.description = Some(description.clone());
                    v.last_updated_timestamp = *time;
                }
            }
            Record::TransitionModelVersionStage {
                name,
                version,
                stage,
                time,
            } => {
                if let Some(v) = self.version_mut(name, *version) {
                    v.current_stage = stage.clone();
                    v.last_updated_timestamp = *time;
                }
                self.touch(name, *time);
            }
            Record::DeleteModelVersion {
                name,
                version,
                time,
            } => {
                if let Some(versions) = self.versions.get_mut(name) {
                    versions.remove(version);
                }
                if self.models.contains_key(name) {
                    self.deleted
                        .entry(name.clone())
                        .or_default()
                        .insert(*version);
                    let highest = self.highest.entry(name.clone()).or_insert(0);
                    *highest = (*highest).max(*version);
                }
                if let Some(m) = self.models.get_mut(name) {
                    m.aliases.retain(|_, v| v != version);
                    m.last_updated_timestamp = *time;
                }
            }
            Record::SetModelVersionTag {
                name,
                version,
                key,
                value,
            } => {
                if let Some(v) = self.version_mut(name, *version) {
                    v.tags.insert(key.clone(), value.clone());
                }
            }
            Record::DeleteModelVersionTag { name, version, key } => {
                if let Some(v) = self.version_mut(name, *version) {
                    v.tags.remove(key);
                }
            }
            _ => return false,
        }
        true
    }

    /// A new version: the first of its number stands, and a deleted
    /// number stays deleted. Records of other lanes are merged by time, not
    /// always in the order they were written: numbers are allotted under
    /// the tracking lock, so two creations never share one, and a version
    /// created after another (a higher number) may be read first.
    fn create_version(&mut self, version: ModelVersion, time: i64) {
        if !self.models.contains_key(&version.name) {
            return;
        }
        let name = version.name.clone();
        let number = version.version;
        let versions = self.versions.entry(name.clone()).or_default();
        let deleted = self.deleted.get(&name).is_some_and(|d| d.contains(&number));
        if versions.contains_key(&number) || deleted {
            return;
        }
        versions.insert(number, version);
        let highest = self.highest.entry(name.clone()).or_insert(0);
        *highest = (*highest).max(number);
        self.touch(&name, time);
    }

    fn touch(&mut self, name: &str, time: i64) {
        if let Some(m) = self.models.get_mut(name) {
            m.last_updated_timestamp = m.last_updated_timestamp.max(time);
        }
    }

    fn version_mut(&mut self, name: &str, version: i64) -> Option<&mut ModelVersion> {
        self.versions.get_mut(name)?.get_mut(&version)
    }

    /// The registered model of this name.
    pub fn model(&self, name: &str) -> Option<&RegisteredModel> {
        self.models.get(name)
    }

    /// Every registered model, by name.
    pub fn models(&self) -> impl Iterator<Item = &RegisteredModel> {
        self.models.values()
    }

    /// A version of a model.
    pub fn version(&self, name: &str, version: i64) -> Option<&ModelVersion> {
        self.versions.get(name)?.get(&version)
    }

    /// The versions of a model, by version.
    pub fn versions(&self, name: &str) -> impl Iterator<Item = &ModelVersion> {
        self.versions.get(name).into_iter().flat_map(|v| v.values())
    }

    /// Every version of every model.
    pub fn all_versions(&self) -> impl Iterator<Item = &ModelVersion> {
        self.versions.values().flat_map(|v| v.values())
    }

    /// The number the next version of a model gets.
    pub fn next_version(&self, name: &str) -> i64 {
        self.highest.get(name).copied().unwrap_or(0) + 1
    }

    /// The latest version in each stage (MLflow's `latest_versions`), by
    /// version; only the stages given, when any are.
    pub fn latest_versions(&self, name: &str, stages: &[String]) -> Vec<&ModelVersion> {
        let mut by_stage: BTreeMap<&str, &ModelVersion> = BTreeMap::new();
        for v in self.versions(name) {
            if !stages.is_empty()
                && !stages
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&v.current_stage))
            {
                continue;
            }
            by_stage.insert(v.current_stage.as_str(), v); // versions come in order
        }
        let mut latest: Vec<&ModelVersion> = by_stage.into_values().collect();
        latest.sort_by_key(|v| v.version);
        latest
    }

    /// The aliases pointing at a version.
    pub fn aliases_of(&self, name: &str, version: i64) -> Vec<String> {
        self.models
            .get(name)
            .map(|m| {
                m.aliases
                    .iter()
                    .filter(|(_, v)| **v == version)
                    .map(|(a, _)| a.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}
