//! What a delivery says of each registry change a webhook hears of
//! ([`Change`]): MLflow's payloads, a prompt's when the registered model
//! is one.

use serde_json::{json, Map, Value};

use crate::webhooks::event::{Action, Entity, Event};
use runlog::api::Change;
use runlog::tracking::Client;

/// The tag that makes a registered model a prompt.
const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
/// A prompt's tags that a delivery leaves out (they say what it is).
const PROMPT_TYPE_TAG: &str = "_mlflow_prompt_type";
/// A prompt version's template, sent as `template`.
const PROMPT_TEXT_TAG: &str = "mlflow.prompt.text";

fn tags_say_prompt(tags: &[(String, String)]) -> bool {
    // As MLflow: the last value of the tag wins; only "true" counts.
    tags.iter()
        .rev()
        .find(|(k, _)| k == IS_PROMPT_TAG)
        .is_some_and(|(_, v)| v.eq_ignore_ascii_case("true"))
}

fn tag_map(tags: &[(String, String)], leave_out: &[&str]) -> Map<String, Value> {
    let mut map = Map::new();
    for (k, v) in tags
        .iter()
        .filter(|(k, _)| !leave_out.contains(&k.as_str()))
    {
        map.insert(k.clone(), Value::from(v.as_str()));
    }
    map
}

/// What a delivery reads off a registry change.
pub(super) trait Delivered {
    /// The event it is for a registered model (none for a registered
    /// model's tag), and for a prompt.
    fn events(&self) -> (Option<Event>, Event);
    /// Whether the change is to a prompt.
    fn is_prompt(&self, client: &Client) -> bool;
    /// The delivery's `data`, as a prompt's when `prompt`.
    fn data(&self, prompt: bool) -> Value;
}

impl Delivered for Change<'_> {
    /// The event it is for a registered model (none for a registered
    /// model's tag), and for a prompt.
    fn events(&self) -> (Option<Event>, Event) {
        use Action::*;
        use Entity::*;
        let (plain, prompt) = match self {
            Change::ModelCreated { .. } => (Some((RegisteredModel, Created)), (Prompt, Created)),
            Change::VersionCreated { .. } => {
                (Some((ModelVersion, Created)), (PromptVersion, Created))
            }
            Change::ModelTagSet { .. } => (None, (PromptTag, Set)),
            Change::ModelTagDeleted { .. } => (None, (PromptTag, Deleted)),
            Change::VersionTagSet { .. } => (Some((ModelVersionTag, Set)), (PromptVersionTag, Set)),
            Change::VersionTagDeleted { .. } => (
                Some((ModelVersionTag, Deleted)),
                (PromptVersionTag, Deleted),
            ),
            Change::AliasSet { .. } => (Some((ModelVersionAlias, Created)), (PromptAlias, Created)),
            Change::AliasDeleted { .. } => {
                (Some((ModelVersionAlias, Deleted)), (PromptAlias, Deleted))
            }
        };
        let event = |(entity, action)| Event { entity, action };
        (plain.map(event), event(prompt))
    }

    /// Whether it is about a prompt: by the request's tags for a creation,
    /// else by the registered model's tags.
    fn is_prompt(&self, client: &Client) -> bool {
        let name = match self {
            Change::ModelCreated { tags, .. } | Change::VersionCreated { tags, .. } => {
                return tags_say_prompt(tags)
            }
            Change::ModelTagSet { name, .. }
            | Change::ModelTagDeleted { name, .. }
            | Change::VersionTagSet { name, .. }
            | Change::VersionTagDeleted { name, .. }
            | Change::AliasSet { name, .. }
            | Change::AliasDeleted { name, .. } => name,
        };
        client.get_registered_model(name).is_ok_and(|m| {
            m.tags
                .get(IS_PROMPT_TAG)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        })
    }

    /// The delivery's `data`, as MLflow's server writes it.
    fn data(&self, prompt: bool) -> Value {
        match *self {
            Change::ModelCreated {
                name,
                tags,
                description,
            } => {
                let leave_out: &[&str] = if prompt {
                    &[IS_PROMPT_TAG, PROMPT_TYPE_TAG]
                } else {
                    &[]
                };
                json!({"name": name, "tags": tag_map(tags, leave_out),
                       "description": description.unwrap_or_default()})
            }
            Change::VersionCreated {
                name,
                version,
                source,
                run_id,
                tags,
                description,
            } => {
                let description = description.filter(|d| !d.is_empty());
                if prompt {
                    let template = tags
                        .iter()
                        .rev()
                        .find(|(k, _)| k == PROMPT_TEXT_TAG)
                        .map(|(_, v)| v.as_str());
                    let tags = tag_map(tags, &[IS_PROMPT_TAG, PROMPT_TYPE_TAG, PROMPT_TEXT_TAG]);
                    json!({"name": name, "version": version.to_string(), "template": template,
                           "tags": tags, "description": description})
                } else {
                    json!({"name": name, "version": version.to_string(), "source": source,
                           "run_id": run_id.filter(|r| !r.is_empty()),
                           "tags": tag_map(tags, &[]), "description": description})
                }
            }
            Change::ModelTagSet { name, key, value } => {
                json!({"name": name, "key": key, "value": value})
            }
            Change::ModelTagDeleted { name, key } => json!({"name": name, "key": key}),
            Change::VersionTagSet {
                name,
                version,
                key,
                value,
            } => json!({"name": name, "version": version.to_string(), "key": key, "value": value}),
            Change::VersionTagDeleted { name, version, key } => {
                json!({"name": name, "version": version.to_string(), "key": key})
            }
            Change::AliasSet {
                name,
                alias,
                version,
            } => json!({"name": name, "alias": alias, "version": version.to_string()}),
            Change::AliasDeleted { name, alias } => json!({"name": name, "alias": alias}),
        }
    }
}
