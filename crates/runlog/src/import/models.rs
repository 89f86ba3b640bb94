//! MLflow 3's logged models and the model registry, as a source holds them,
//! and how an import writes them into the store (ids, names and version
//! numbers kept; what the store already has is left as it is).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::format::{ModelStatus, Record};
use crate::import::ImportReport;
use crate::tracking::Client;

/// A logged model as the source holds it.
#[derive(Debug, Clone)]
pub(crate) struct SourceModel {
    pub(crate) id: String,
    pub(crate) experiment_id: String,
    pub(crate) name: String,
    pub(crate) artifact_location: String,
    pub(crate) model_type: Option<String>,
    pub(crate) source_run_id: Option<String>,
    pub(crate) creation_time: i64,
    pub(crate) last_updated_time: i64,
    pub(crate) status: ModelStatus,
    pub(crate) deleted: bool,
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) tags: BTreeMap<String, String>,
    /// Its metric points, as the tracking layer keeps them.
    pub(crate) metrics: Vec<crate::tracking::ModelMetric>,
}

/// A model a run made (an output, at a step) or used (an input).
#[derive(Debug, Clone)]
pub(crate) struct SourceModelLink {
    pub(crate) run_id: String,
    pub(crate) model_id: String,
    /// The step of an output; `None`: an input.
    pub(crate) output_step: Option<i64>,
}

/// A registered model and its versions.
#[derive(Debug, Clone)]
pub(crate) struct SourceRegisteredModel {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) creation_time: i64,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) aliases: BTreeMap<String, i64>,
    pub(crate) versions: Vec<SourceVersion>,
}

/// A model version.
#[derive(Debug, Clone)]
pub(crate) struct SourceVersion {
    pub(crate) version: i64,
    pub(crate) source: String,
    pub(crate) storage_location: String,
    pub(crate) run_id: Option<String>,
    pub(crate) run_link: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) creation_time: i64,
    pub(crate) last_updated_time: i64,
    /// `None`, `Staging`, `Production`, `Archived`.
    pub(crate) stage: String,
    /// Deleted in the source (MLflow's SQL store keeps the row).
    pub(crate) deleted: bool,
    pub(crate) tags: BTreeMap<String, String>,
}

/// MLflow's stage of a deleted version that a store keeps (its SQL and
/// file stores do).
pub(crate) const DELETED_STAGE: &str = "Deleted_Internal";

impl SourceVersion {
    /// A version from MLflow's field names (`source`, `current_stage`,
    /// `creation_timestamp`, ...), as a file store's `meta.yaml` and a
    /// server's JSON name them: `text` and `number` read one field.
    pub(crate) fn from_fields(
        version: i64,
        text: &dyn Fn(&str) -> Option<String>,
        number: &dyn Fn(&str) -> Option<i64>,
        tags: BTreeMap<String, String>,
    ) -> SourceVersion {
        let created = number("creation_timestamp").unwrap_or(0);
        let stage = text("current_stage").unwrap_or_else(|| "None".into());
        SourceVersion {
            version,
            source: text("source").unwrap_or_default(),
            storage_location: text("storage_location").unwrap_or_default(),
            run_id: text("run_id"),
            run_link: text("run_link"),
            description: text("description"),
            creation_time: created,
            last_updated_time: number("last_updated_timestamp").unwrap_or(created),
            deleted: stage == DELETED_STAGE,
            stage,
            tags,
        }
    }
}

/// The logged model id a version's source names (`models:/m-...`).
fn model_id_of(source: &str) -> Option<&str> {
    let id = source.strip_prefix("models:/")?;
    let id = id.split('/').next()?;
    id.starts_with("m-").then_some(id)
}

/// Writes the logged models of usable experiments that the store does not
/// have yet, then the links of runs to them.
pub(crate) fn write_models(
    client: &Client,
    usable: &dyn Fn(&str) -> bool,
    models: &[SourceModel],
    links: &[SourceModelLink],
    summary: &mut ImportReport,
) -> Result<()> {
    let store = client.store()?;
    for m in models {
        if !usable(&m.experiment_id) {
            continue;
        }
        match client.get_logged_model(&m.id) {
            Ok(_) => {
                summary.logged_models_present += 1;
                continue;
            }
            Err(err) if err.is_not_found() => {}
            Err(e) => return Err(e),
        }
        // A server's client writes no models (said before any is written).
        client.check_models_reachable()?;
        let pairs = |map: &BTreeMap<String, String>| -> Vec<(String, String)> {
            map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        store.append(&Record::CreateLoggedModel {
            model_id: m.id.clone(),
            experiment_id: m.experiment_id.clone(),
            name: m.name.clone(),
            artifact_location: m.artifact_location.clone(),
            model_type: m.model_type.clone(),
            source_run_id: m.source_run_id.clone(),
            creation_time: m.creation_time,
            params: pairs(&m.params),
            tags: pairs(&m.tags),
        })?;
        for p in &m.metrics {
            store.append(&Record::LoggedModelMetric {
                model_id: m.id.as_str(),
                run_id: p.run_id.as_str(),
                key: p.key.as_str(),
                value: p.value,
                timestamp: p.timestamp,
                step: p.step,
                dataset_name: p.dataset_name.as_deref(),
                dataset_digest: p.dataset_digest.as_deref(),
            })?;
        }
        if m.status != ModelStatus::Pending {
            store.append(&Record::FinalizeLoggedModel {
                model_id: m.id.as_str(),
                status: m.status,
                time: m.last_updated_time,
            })?;
        }
        if m.deleted {
            store.append(&Record::DeleteLoggedModel {
                model_id: m.id.as_str(),
                time: m.last_updated_time,
            })?;
        }
        summary.logged_models += 1;
    }
    for link in links {
        // Both ends must be in the store (imported now or before).
        let run = client.get_run(&link.run_id);
        let model = client.get_logged_model(&link.model_id);
        let (Ok(run), Ok(_)) = (run, model) else {
            continue;
        };
        let known = match link.output_step {
            Some(_) => run.outputs.iter().any(|o| o.model_id == link.model_id),
            None => run.model_inputs.contains(&link.model_id),
        };
        if known {
            continue;
        }
        match link.output_step {
            Some(step) => store.append(&Record::LogModelOutput {
                run_id: link.run_id.as_str(),
                model_id: link.model_id.as_str(),
                step,
            })?,
            None => store.append(&Record::LogModelInput {
                run_id: link.run_id.as_str(),
                model_id: link.model_id.as_str(),
            })?,
        }
    }
    Ok(store.flush()?)
}

/// Writes the registered models the store does not have yet, with their
/// versions (numbers kept, deleted ones deleted), stages and aliases.
pub(crate) fn write_registry(
    client: &Client,
    registered: &[SourceRegisteredModel],
    summary: &mut ImportReport,
) -> Result<()> {
    let store = client.store()?;
    for r in registered {
        match client.get_registered_model(&r.name) {
            Ok(_) => {
                summary.registered_models_present += 1;
                continue;
            }
            Err(err) if err.is_not_found() => {}
            Err(e) => return Err(e),
        }
        // A server's client writes no models (said before any is written).
        client.check_models_reachable()?;
        store.append(&Record::CreateRegisteredModel {
            name: r.name.as_str(),
            description: r.description.as_deref(),
            time: r.creation_time,
            tags: r
                .tags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        })?;
        let mut versions: Vec<&SourceVersion> = r.versions.iter().collect();
        versions.sort_by_key(|v| v.version);
        for v in versions {
            store.append(&Record::CreateModelVersion {
                name: r.name.as_str(),
                version: v.version,
                source: v.source.as_str(),
                storage_location: v.storage_location.as_str(),
                run_id: v.run_id.as_deref(),
                run_link: v.run_link.as_deref(),
                description: v.description.as_deref(),
                model_id: model_id_of(&v.source),
                time: v.creation_time,
                tags: v
                    .tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
            })?;
            if v.deleted {
                store.append(&Record::DeleteModelVersion {
                    name: r.name.as_str(),
                    version: v.version,
                    time: v.last_updated_time,
                })?;
                continue;
            }
            if v.stage != "None" && !v.stage.is_empty() {
                store.append(&Record::TransitionModelVersionStage {
                    name: r.name.as_str(),
                    version: v.version,
                    stage: v.stage.as_str(),
                    time: v.last_updated_time,
                })?;
            }
            summary.model_versions += 1;
        }
        for (alias, version) in &r.aliases {
            store.append(&Record::SetRegisteredModelAlias {
                name: r.name.as_str(),
                alias: alias.as_str(),
                version: *version,
            })?;
        }
        summary.registered_models += 1;
    }
    Ok(store.flush()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_versions_model_id_comes_from_its_source() {
        assert_eq!(model_id_of("models:/m-abc"), Some("m-abc"));
        assert_eq!(model_id_of("models:/m-abc/sub"), Some("m-abc"));
        assert_eq!(model_id_of("models:/iris/1"), None);
        assert_eq!(model_id_of("runs:/r/model"), None);
    }
}
