//! `registered-models/*` and `model-versions/*`: MLflow's model registry,
//! its messages and its JSON (`model_registry.proto`: a version's number is
//! a string, aliases are listed on both the model and the version).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::error::ApiError;
use crate::api::message::{key_values, required, required_str, strings, Int, KeyValue};
use crate::api::Api;
use crate::api::Change;
use crate::tracking::{
    mlflow_json, ModelVersion, NewModelVersion, RegisteredModel, SearchRegistry,
};

impl Api {
    /// A version as MLflow's JSON, its files' location as the client
    /// should use it.
    fn version_json(&self, v: &ModelVersion) -> Result<Value, ApiError> {
        self.version_json_with(v, true)
    }

    /// A version as MLflow's JSON; without its aliases for a search, as
    /// MLflow's store answers one.
    fn version_json_with(&self, v: &ModelVersion, aliases: bool) -> Result<Value, ApiError> {
        let mut o = Map::new();
        o.insert("name".into(), v.name.clone().into());
        o.insert("version".into(), v.version.to_string().into());
        o.insert("creation_timestamp".into(), v.creation_timestamp.into());
        o.insert(
            "last_updated_timestamp".into(),
            v.last_updated_timestamp.into(),
        );
        o.insert("current_stage".into(), v.current_stage.clone().into());
        // MLflow's store keeps an absent description as empty.
        o.insert(
            "description".into(),
            v.description.clone().unwrap_or_default().into(),
        );
        o.insert("source".into(), self.presented(&v.source).into());
        if let Some(r) = &v.run_id {
            o.insert("run_id".into(), r.clone().into());
        }
        if let Some(l) = &v.run_link {
            o.insert("run_link".into(), l.clone().into());
        }
        o.insert("status".into(), "READY".into());
        if !v.tags.is_empty() {
            o.insert("tags".into(), key_value_list(&v.tags));
        }
        let aliases = match aliases {
            true => self.client.model_version_aliases(&v.name, v.version)?,
            false => Vec::new(),
        };
        if !aliases.is_empty() {
            o.insert("aliases".into(), aliases.into());
        }
        if let Some(m) = &v.model_id {
            o.insert("model_id".into(), m.clone().into());
        }
        Ok(Value::Object(o))
    }

    /// A registered model as MLflow's JSON, with its latest version of each
    /// stage.
    fn registered_json(&self, m: &RegisteredModel) -> Result<Value, ApiError> {
        let mut o = Map::new();
        o.insert("name".into(), m.name.clone().into());
        o.insert("creation_timestamp".into(), m.creation_timestamp.into());
        o.insert(
            "last_updated_timestamp".into(),
            m.last_updated_timestamp.into(),
        );
        if let Some(d) = &m.description {
            o.insert("description".into(), d.clone().into());
        }
        let latest = self.client.get_latest_versions(&m.name, &[])?;
        if !latest.is_empty() {
            let list = latest
                .iter()
                .map(|v| self.version_json(v))
                .collect::<Result<Vec<_>, _>>()?;
            o.insert("latest_versions".into(), list.into());
        }
        if !m.tags.is_empty() {
            o.insert("tags".into(), key_value_list(&m.tags));
        }
        if !m.aliases.is_empty() {
            let aliases: Vec<Value> = m
                .aliases
                .iter()
                .map(|(a, v)| json!({"alias": a, "version": v.to_string()}))
                .collect();
            o.insert("aliases".into(), aliases.into());
        }
        Ok(Value::Object(o))
    }
}

fn key_value_list(map: &std::collections::BTreeMap<String, String>) -> Value {
    map.iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect::<Vec<_>>()
        .into()
}

/// Any registry message: the fields each endpoint takes (each optional,
/// required where the endpoint says).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegistryMsg {
    name: Option<String>,
    new_name: Option<String>,
    description: Option<String>,
    tags: Vec<KeyValue>,
    version: Option<Int>,
    key: Option<String>,
    value: Option<String>,
    alias: Option<String>,
    source: Option<String>,
    run_id: Option<String>,
    run_link: Option<String>,
    model_id: Option<String>,
    stage: Option<String>,
    archive_existing_versions: Option<BoolIn>,
    #[serde(deserialize_with = "strings")]
    stages: Vec<String>,
    filter: Option<String>,
    max_results: Option<Int>,
    #[serde(deserialize_with = "strings")]
    order_by: Vec<String>,
    page_token: Option<String>,
}

/// A boolean as JSON gives it, or as a query string's text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum BoolIn {
    /// `true` / `false`.
    Bool(bool),
    /// `"true"` / `"false"`.
    Text(String),
}

impl RegistryMsg {
    fn name(&self) -> Result<&str, ApiError> {
        required_str("name", &self.name)
    }

    fn version(&self) -> Result<i64, ApiError> {
        required("version", &self.version).map(|Int(v)| *v)
    }

    fn search(&self) -> Result<SearchRegistry, ApiError> {
        Ok(SearchRegistry {
            filter: self.filter.clone().unwrap_or_default(),
            max_results: match self.max_results {
                None => None,
                Some(Int(n)) => Some(crate::api::experiments::max_results(n)?),
            },
            order_by: self.order_by.clone(),
            page_token: self.page_token.clone().filter(|t| !t.is_empty()),
        })
    }
}

/// `POST registered-models/create {name, tags?, description?}`.
pub fn create(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let name = m.name()?.to_owned();
    let tags = key_values("tags", m.tags)?;
    let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let model = s
        .client
        .create_registered_model(&name, &pairs, m.description.as_deref())?;
    s.notify(&Change::ModelCreated {
        name: &name,
        tags: &tags,
        description: m.description.as_deref(),
    });
    Ok(json!({"registered_model": s.registered_json(&model)?}))
}

/// `GET registered-models/get?name=`.
pub fn get(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let model = s.client.get_registered_model(m.name()?)?;
    Ok(json!({"registered_model": s.registered_json(&model)?}))
}

/// `POST registered-models/rename {name, new_name}`.
pub fn rename(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let model = s
        .client
        .rename_registered_model(m.name()?, required_str("new_name", &m.new_name)?)?;
    Ok(json!({"registered_model": s.registered_json(&model)?}))
}

/// `PATCH registered-models/update {name, description}`.
pub fn update(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let model = s
        .client
        .update_registered_model(m.name()?, m.description.as_deref().unwrap_or_default())?;
    Ok(json!({"registered_model": s.registered_json(&model)?}))
}

/// `DELETE registered-models/delete {name}`.
pub fn delete(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    s.client.delete_registered_model(m.name()?)?;
    Ok(json!({}))
}

/// `GET registered-models/search?filter=&max_results=&order_by=&page_token=`.
pub fn search(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let page = s.client.search_registered_models(&m.search()?)?;
    let list = page
        .items
        .iter()
        .map(|r| s.registered_json(r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(mlflow_json::page(
        "registered_models",
        list,
        page.next_page_token.as_deref(),
    ))
}

/// `POST registered-models/get-latest-versions {name, stages?}`.
pub fn latest_versions(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let versions = s.client.get_latest_versions(m.name()?, &m.stages)?;
    versions_answer(s, &versions)
}

fn versions_answer(s: &Api, versions: &[ModelVersion]) -> Result<Value, ApiError> {
    let list = versions
        .iter()
        .map(|v| s.version_json(v))
        .collect::<Result<Vec<_>, _>>()?;
    let mut o = Map::new();
    if !list.is_empty() {
        o.insert("model_versions".into(), list.into());
    }
    Ok(Value::Object(o))
}

/// `POST registered-models/set-tag {name, key, value}`.
pub fn set_tag(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let (name, key) = (m.name()?, required_str("key", &m.key)?);
    let value = m.value.as_deref().unwrap_or_default();
    s.client.set_registered_model_tag(name, key, value)?;
    s.notify(&Change::ModelTagSet { name, key, value });
    Ok(json!({}))
}

/// `DELETE registered-models/delete-tag {name, key}`.
pub fn delete_tag(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let (name, key) = (m.name()?, required_str("key", &m.key)?);
    s.client.delete_registered_model_tag(name, key)?;
    s.notify(&Change::ModelTagDeleted { name, key });
    Ok(json!({}))
}

/// `POST registered-models/alias {name, alias, version}`.
pub fn set_alias(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let (name, alias) = (m.name()?, required_str("alias", &m.alias)?);
    let version = m.version()?;
    s.client.set_registered_model_alias(name, alias, version)?;
    s.notify(&Change::AliasSet {
        name,
        alias,
        version,
    });
    Ok(json!({}))
}

/// `DELETE registered-models/alias {name, alias}`.
pub fn delete_alias(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let (name, alias) = (m.name()?, required_str("alias", &m.alias)?);
    s.client.delete_registered_model_alias(name, alias)?;
    s.notify(&Change::AliasDeleted { name, alias });
    Ok(json!({}))
}

/// `GET registered-models/alias?name=&alias=`.
pub fn get_by_alias(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let v = s
        .client
        .get_model_version_by_alias(m.name()?, required_str("alias", &m.alias)?)?;
    Ok(json!({"model_version": s.version_json(&v)?}))
}

/// `POST model-versions/create {name, source, run_id?, tags?, run_link?,
/// description?, model_id?}`.
pub fn create_version(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let source = required_str("source", &m.source)?;
    let new = NewModelVersion {
        name: m.name()?.to_owned(),
        source: s.stored_location(source)?,
        run_id: m.run_id.clone(),
        run_link: m.run_link.clone().filter(|l| !l.is_empty()),
        description: m.description.clone().filter(|d| !d.is_empty()),
        model_id: m.model_id.clone(),
        tags: key_values("tags", m.tags)?,
    };
    let v = s.client.create_model_version(&new)?;
    if let Some(model_id) = v.model_id.as_ref().filter(|_| s.as_server) {
        // As MLflow's server (not its stores): the logged model lists its
        // versions.
        s.client.note_model_version(model_id, &v.name, v.version)?;
    }
    s.notify(&Change::VersionCreated {
        name: &v.name,
        version: v.version,
        source,
        run_id: m.run_id.as_deref(),
        tags: &new.tags,
        description: m.description.as_deref(),
    });
    Ok(json!({"model_version": s.version_json(&v)?}))
}

/// `GET model-versions/get?name=&version=`.
pub fn get_version(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let v = s.client.get_model_version(m.name()?, m.version()?)?;
    Ok(json!({"model_version": s.version_json(&v)?}))
}

/// `PATCH model-versions/update {name, version, description}`.
pub fn update_version(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let v = s.client.update_model_version(
        m.name()?,
        m.version()?,
        m.description.as_deref().unwrap_or_default(),
    )?;
    Ok(json!({"model_version": s.version_json(&v)?}))
}

/// `POST model-versions/transition-stage {name, version, stage,
/// archive_existing_versions}`.
pub fn transition_stage(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let archive = match &m.archive_existing_versions {
        None => false,
        Some(BoolIn::Bool(b)) => *b,
        Some(BoolIn::Text(t)) => t.eq_ignore_ascii_case("true"),
    };
    let v = s.client.transition_model_version_stage(
        m.name()?,
        m.version()?,
        required_str("stage", &m.stage)?,
        archive,
    )?;
    Ok(json!({"model_version": s.version_json(&v)?}))
}

/// `DELETE model-versions/delete {name, version}`.
pub fn delete_version(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    s.client.delete_model_version(m.name()?, m.version()?)?;
    Ok(json!({}))
}

/// `GET model-versions/search?filter=&max_results=&order_by=&page_token=`.
pub fn search_versions(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let page = s.client.search_model_versions(&m.search()?)?;
    let list = page
        .items
        .iter()
        .map(|v| s.version_json_with(v, false))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(mlflow_json::page(
        "model_versions",
        list,
        page.next_page_token.as_deref(),
    ))
}

/// `GET model-versions/get-download-uri?name=&version=` -> `{artifact_uri}`.
pub fn download_uri(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let v = s.client.get_model_version(m.name()?, m.version()?)?;
    Ok(json!({"artifact_uri": s.presented(&v.storage_location)}))
}

/// `POST model-versions/set-tag {name, version, key, value}`.
pub fn set_version_tag(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let (name, version, key) = (m.name()?, m.version()?, required_str("key", &m.key)?);
    let value = m.value.as_deref().unwrap_or_default();
    s.client.set_model_version_tag(name, version, key, value)?;
    s.notify(&Change::VersionTagSet {
        name,
        version,
        key,
        value,
    });
    Ok(json!({}))
}

/// `DELETE model-versions/delete-tag {name, version, key}`.
pub fn delete_version_tag(s: &Api, m: RegistryMsg) -> Result<Value, ApiError> {
    let (name, version, key) = (m.name()?, m.version()?, required_str("key", &m.key)?);
    s.client.delete_model_version_tag(name, version, key)?;
    s.notify(&Change::VersionTagDeleted { name, version, key });
    Ok(json!({}))
}
