//! Searches of the model registry: registered models and model versions by
//! MLflow's filter (`name`, `tags.<key>`; for versions also `run_id`,
//! `source_path`, `version_number`, `model_id`), `order_by` and pages.

use crate::error::{Error, Result};
use crate::tracking::client::{Client, Fresh};
use crate::tracking::filter::eval::compare_text;
use crate::tracking::filter::{parse_filter, parse_order_by, Clause, Comparator, Entity, Value};
use crate::tracking::registered_models::{
    SearchRegistry, MODEL_VERSIONS_PAGE, REGISTERED_MODELS_PAGE,
};
use crate::tracking::registry::{ModelVersion, RegisteredModel};
use crate::tracking::search::{page, parse_token, Page};

/// Refuses a clause on anything but tags and the `attributes` given.
fn only_attributes(clauses: &[Clause], attributes: &[&str], message: &str) -> Result<()> {
    for c in clauses {
        match &c.entity {
            Entity::Tag(_) => {}
            Entity::Attribute(a) if attributes.contains(&a.as_str()) => {}
            _ => {
                return Err(Error::InvalidFilter {
                    position: c.position,
                    message: message.into(),
                })
            }
        }
    }
    Ok(())
}

impl Client {
    /// Registered models matching the filter, by name unless ordered.
    pub fn search_registered_models(
        &self,
        query: &SearchRegistry,
    ) -> Result<Page<RegisteredModel>> {
        self.check_models_reachable()?;
        let clauses = parse_filter(&query.filter)?;
        only_attributes(
            &clauses,
            &["name"],
            "a registered model filter compares name or tags.<key>",
        )?;
        let max = page_size(query.max_results, REGISTERED_MODELS_PAGE)?;
        let order = registry_order(
            &query.order_by,
            &[
                "name",
                "timestamp",
                "last_updated_timestamp",
                "creation_timestamp",
            ],
        )?;
        let offset = parse_token(query.page_token.as_deref())?;
        let view = self.view(Fresh::Now)?;
        let mut found: Vec<RegisteredModel> = view
            .state
            .registry()
            .models()
            .filter(|m| {
                clauses.iter().all(|c| match &c.entity {
                    Entity::Tag(k) => tag_matches(m.tags.get(k), c),
                    _ => compare_text(&m.name, c),
                })
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            for (field, asc) in &order {
                let o = match field.as_str() {
                    "name" => a.name.cmp(&b.name),
                    "creation_timestamp" => a.creation_timestamp.cmp(&b.creation_timestamp),
                    _ => a.last_updated_timestamp.cmp(&b.last_updated_timestamp),
                };
                let o = if *asc { o } else { o.reverse() };
                if o.is_ne() {
                    return o;
                }
            }
            a.name.cmp(&b.name)
        });
        Ok(page(found, offset, max))
    }

    /// Versions matching the filter, by name then newest version first
    /// unless ordered.
    pub fn search_model_versions(&self, query: &SearchRegistry) -> Result<Page<ModelVersion>> {
        self.check_models_reachable()?;
        let clauses = parse_filter(&query.filter)?;
        only_attributes(
            &clauses,
            &[
                "name",
                "run_id",
                "source_path",
                "version_number",
                "model_id",
            ],
            "a model version filter compares name, run_id, source_path, version_number, \
             model_id or tags.<key>",
        )?;
        let max = page_size(query.max_results, MODEL_VERSIONS_PAGE)?;
        let order = registry_order(
            &query.order_by,
            &[
                "name",
                "version_number",
                "creation_timestamp",
                "last_updated_timestamp",
                "timestamp",
            ],
        )?;
        let offset = parse_token(query.page_token.as_deref())?;
        let view = self.view(Fresh::Now)?;
        let mut found: Vec<ModelVersion> = view
            .state
            .registry()
            .all_versions()
            .filter(|v| clauses.iter().all(|c| version_matches(v, c)))
            .cloned()
            .collect();
        found.sort_by(|a, b| {
            let mut named = false;
            let mut numbered = false;
            for (field, asc) in &order {
                let o = match field.as_str() {
                    "name" => {
                        named = true;
                        a.name.cmp(&b.name)
                    }
                    "version_number" => {
                        numbered = true;
                        a.version.cmp(&b.version)
                    }
                    "creation_timestamp" => a.creation_timestamp.cmp(&b.creation_timestamp),
                    _ => a.last_updated_timestamp.cmp(&b.last_updated_timestamp),
                };
                let o = if *asc { o } else { o.reverse() };
                if o.is_ne() {
                    return o;
                }
            }
            let by_name = if named {
                std::cmp::Ordering::Equal
            } else {
                a.name.cmp(&b.name)
            };
            let by_version = if numbered {
                std::cmp::Ordering::Equal
            } else {
                b.version.cmp(&a.version)
            };
            by_name.then(by_version)
        });
        Ok(page(found, offset, max))
    }
}

fn page_size(max: Option<usize>, (default, most): (usize, usize)) -> Result<usize> {
    let n = max.unwrap_or(default);
    if n == 0 || n > most {
        return Err(Error::InvalidArgument(format!(
            "Invalid value for max_results. It must be at most {most}, but got value {n}"
        )));
    }
    Ok(n)
}

fn registry_order(items: &[String], fields: &[&str]) -> Result<Vec<(String, bool)>> {
    items
        .iter()
        .map(|item| {
            let (entity, ascending) = parse_order_by(item)?;
            match entity {
                Entity::Attribute(a) if fields.contains(&a.as_str()) => {
                    let a = if a == "timestamp" {
                        "last_updated_timestamp".to_owned()
                    } else {
                        a
                    };
                    Ok((a, ascending))
                }
                _ => Err(Error::InvalidArgument(format!(
                    "Invalid order by key '{item}' specified. Valid keys are {fields:?}"
                ))),
            }
        })
        .collect()
}

/// A registry tag against a clause: as MLflow's registry store compares
/// them, an absent tag is `!=` any value (MLflow's clients leave prompts
/// out with ``tags.`mlflow.prompt.is_prompt` != 'true'``).
fn tag_matches(value: Option<&String>, c: &Clause) -> bool {
    match (value, c.comparator) {
        (None, Comparator::Ne | Comparator::NotIn) => true,
        (None, _) => false,
        (Some(v), _) => compare_text(v, c),
    }
}

fn version_matches(v: &ModelVersion, c: &Clause) -> bool {
    match &c.entity {
        Entity::Tag(k) => tag_matches(v.tags.get(k), c),
        Entity::Attribute(a) => match a.as_str() {
            "name" => compare_text(&v.name, c),
            "run_id" => v.run_id.as_deref().is_some_and(|r| compare_text(r, c)),
            "model_id" => v.model_id.as_deref().is_some_and(|m| compare_text(m, c)),
            "source_path" => compare_text(&v.source, c),
            "version_number" => match (&c.value, c.comparator) {
                (Value::Number(n), cmp) => {
                    let x = v.version as f64;
                    match cmp {
                        Comparator::Eq => x == *n,
                        Comparator::Ne => x != *n,
                        Comparator::Lt => x < *n,
                        Comparator::Le => x <= *n,
                        Comparator::Gt => x > *n,
                        Comparator::Ge => x >= *n,
                        _ => false,
                    }
                }
                _ => compare_text(&v.version.to_string(), c),
            },
            _ => false,
        },
        _ => false,
    }
}
