//! What a webhook listens to: MLflow's events (an entity and an action,
//! `model_version_tag.set`), as its REST API names them
//! (`{"entity": "MODEL_VERSION_TAG", "action": "SET"}`) and as a delivery
//! names them (`"entity": "model_version_tag", "action": "set"`).

use serde::de::Deserializer;
use serde::Deserialize;
use serde_json::{json, Value};

use runlog::api::error::ApiError;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    /// A registered model.
    RegisteredModel,
    /// A model version.
    ModelVersion,
    /// A model version's tag.
    ModelVersionTag,
    /// A registered model's alias of a version.
    ModelVersionAlias,
    /// A prompt (a registered model tagged `mlflow.prompt.is_prompt`).
    Prompt,
    /// A prompt's version.
    PromptVersion,
    /// A prompt's tag.
    PromptTag,
    /// A prompt version's tag.
    PromptVersionTag,
    /// A prompt's alias of a version.
    PromptAlias,
    /// An AI gateway budget (MLflow's gateway; runlog has none, so this
    /// event is accepted and tested but never fires).
    BudgetPolicy,
}

/// What happened to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Made.
    Created,
    /// Changed (no event has it yet; MLflow's API names it).
    Updated,
    /// Removed.
    Deleted,
    /// A tag set.
    Set,
    /// A budget passed.
    Exceeded,
}

const ENTITIES: [(Entity, &str); 10] = [
    (Entity::RegisteredModel, "registered_model"),
    (Entity::ModelVersion, "model_version"),
    (Entity::ModelVersionTag, "model_version_tag"),
    (Entity::ModelVersionAlias, "model_version_alias"),
    (Entity::Prompt, "prompt"),
    (Entity::PromptVersion, "prompt_version"),
    (Entity::PromptTag, "prompt_tag"),
    (Entity::PromptVersionTag, "prompt_version_tag"),
    (Entity::PromptAlias, "prompt_alias"),
    (Entity::BudgetPolicy, "budget_policy"),
];

const ACTIONS: [(Action, &str); 5] = [
    (Action::Created, "created"),
    (Action::Updated, "updated"),
    (Action::Deleted, "deleted"),
    (Action::Set, "set"),
    (Action::Exceeded, "exceeded"),
];

/// The name `value` has in `table`.
fn name_in<T: PartialEq + Copy>(table: &[(T, &'static str)], value: T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("", |(_, n)| n)
}

/// The value `text` names in `table`, in any case.
fn parse_in<T: Copy>(table: &[(T, &'static str)], text: &str) -> Option<T> {
    table
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(text))
        .map(|(v, _)| *v)
}

impl Entity {
    /// Its name in a delivery (`model_version_tag`).
    pub fn name(self) -> &'static str {
        name_in(&ENTITIES, self)
    }

    /// The actions it has.
    fn actions(self) -> &'static [Action] {
        match self {
            Entity::RegisteredModel
            | Entity::ModelVersion
            | Entity::Prompt
            | Entity::PromptVersion => &[Action::Created],
            Entity::ModelVersionTag | Entity::PromptTag | Entity::PromptVersionTag => {
                &[Action::Deleted, Action::Set]
            }
            Entity::ModelVersionAlias | Entity::PromptAlias => &[Action::Created, Action::Deleted],
            Entity::BudgetPolicy => &[Action::Exceeded],
        }
    }
}

impl Action {
    /// Its name in a delivery (`set`).
    pub fn name(self) -> &'static str {
        name_in(&ACTIONS, self)
    }
}

/// An event: an entity and one of its actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Event {
    /// What it is about.
    pub entity: Entity,
    /// What happened.
    pub action: Action,
}

impl Event {
    /// The event, if the entity has that action; else MLflow's message.
    pub fn new(entity: Entity, action: Action) -> Result<Event, ApiError> {
        if entity.actions().contains(&action) {
            return Ok(Event { entity, action });
        }
        let valid: Vec<String> = entity
            .actions()
            .iter()
            .map(|a| format!("'{}'", a.name()))
            .collect();
        Err(ApiError::invalid(format!(
            "Invalid action '{}' for entity '{}'. Valid actions are: [{}]",
            action.name(),
            entity.name(),
            valid.join(", ")
        )))
    }

    /// The event `entity.action` names (as the database keeps it).
    pub fn from_names(entity: &str, action: &str) -> Option<Event> {
        Event::new(parse_in(&ENTITIES, entity)?, parse_in(&ACTIONS, action)?).ok()
    }

    /// As the REST API answers it.
    pub fn to_json(self) -> Value {
        json!({
            "entity": self.entity.name().to_ascii_uppercase(),
            "action": self.action.name().to_ascii_uppercase(),
        })
    }

    /// The example data `webhooks/{id}/test` sends for it (MLflow's
    /// examples, so that a receiver tested against either server sees the
    /// same data).
    pub fn example(self) -> Value {
        let tags = json!({"example_key": "example_value"});
        match self.entity {
            Entity::RegisteredModel => json!({
                "name": "example_model", "tags": tags,
                "description": "An example registered model",
            }),
            Entity::ModelVersion => json!({
                "name": "example_model", "version": "1", "source": "models:/123",
                "run_id": "abcd1234abcd5678", "tags": tags,
                "description": "An example model version",
            }),
            Entity::ModelVersionTag | Entity::PromptVersionTag => {
                let name = self.example_name();
                match self.action {
                    Action::Set => json!({
                        "name": name, "version": "1", "key": "example_key",
                        "value": "example_value",
                    }),
                    _ => json!({"name": name, "version": "1", "key": "example_key"}),
                }
            }
            Entity::ModelVersionAlias | Entity::PromptAlias => {
                let name = self.example_name();
                match self.action {
                    Action::Created => {
                        json!({"name": name, "alias": "example_alias", "version": "1"})
                    }
                    _ => json!({"name": name, "alias": "example_alias"}),
                }
            }
            Entity::Prompt => json!({
                "name": "example_prompt", "tags": tags, "description": "An example prompt",
            }),
            Entity::PromptVersion => json!({
                "name": "example_prompt", "version": "1", "template": "Hello {{name}}!",
                "tags": tags, "description": "An example prompt version",
            }),
            Entity::PromptTag => match self.action {
                Action::Set => json!({
                    "name": "example_prompt", "key": "example_key", "value": "example_value",
                }),
                _ => json!({"name": "example_prompt", "key": "example_key"}),
            },
            Entity::BudgetPolicy => json!({
                "budget_policy_id": "bp-abc123", "budget_unit": "USD", "budget_amount": 100.0,
                "current_spend": 105.5, "duration_unit": "MONTHS", "duration_value": 1,
                "target_scope": "ENDPOINT", "workspace": "default", "target_value": "ep-abc123",
                "window_start": 1_704_067_200_000_i64,
            }),
        }
    }

    fn example_name(self) -> &'static str {
        match self.entity {
            Entity::PromptVersionTag | Entity::PromptAlias => "example_prompt",
            _ => "example_model",
        }
    }
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.entity.name(), self.action.name())
    }
}

/// An event as a request gives it: `{"entity", "action"}`, each a name
/// (`"MODEL_VERSION"`, any case) or protobuf's enum number.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventIn {
    #[serde(deserialize_with = "enum_text")]
    entity: Option<String>,
    #[serde(deserialize_with = "enum_text")]
    action: Option<String>,
}

/// An enum field as text: a name, or protobuf's number turned into its
/// name.
pub(super) fn enum_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NameOrNumber {
        Name(String),
        Number(u64),
    }
    Ok(match Option::<NameOrNumber>::deserialize(d)? {
        None => None,
        Some(NameOrNumber::Name(n)) => Some(n),
        Some(NameOrNumber::Number(n)) => Some(format!("#{n}")),
    })
}

impl EventIn {
    /// The event it names, or a 400 naming what is wrong.
    pub fn event(&self) -> Result<Event, ApiError> {
        let entity = self.entity.as_deref().unwrap_or("");
        let action = self.action.as_deref().unwrap_or("");
        let entity = by_number(entity, ENTITIES.map(|(e, _)| e).as_slice())
            .or_else(|| parse_in(&ENTITIES, entity))
            .ok_or_else(|| ApiError::invalid(format!("Invalid webhook entity: {entity:?}")))?;
        let action = by_number(action, ACTIONS.map(|(a, _)| a).as_slice())
            .or_else(|| parse_in(&ACTIONS, action))
            .ok_or_else(|| ApiError::invalid(format!("Invalid webhook action: {action:?}")))?;
        Event::new(entity, action)
    }
}

/// The value protobuf's number `#n` names (1 is the first; 0 is
/// "unspecified").
fn by_number<T: Copy>(text: &str, values: &[T]) -> Option<T> {
    let n: usize = text.strip_prefix('#')?.parse().ok()?;
    values.get(n.checked_sub(1)?).copied()
}

/// A list of events from a request: not empty, each valid, sorted and
/// without repeats (as MLflow's store answers them).
pub fn events(items: &[EventIn]) -> Result<Vec<Event>, ApiError> {
    let mut events = items
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.event().map_err(|mut err| {
                err.message = format!("in events[{i}]: {}", err.message);
                err
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if events.is_empty() {
        return Err(ApiError::invalid(
            "Webhook events must be a non-empty list of events.",
        ));
    }
    events.sort_by_key(|e| (e.entity.name(), e.action.name()));
    events.dedup();
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(entity: &str, action: &str) -> EventIn {
        EventIn {
            entity: Some(entity.into()),
            action: Some(action.into()),
        }
    }

    #[test]
    fn names_numbers_and_case_are_read_and_bad_pairs_refused() {
        let got = events(&[
            ev("MODEL_VERSION_TAG", "SET"),
            ev("#1", "#1"),
            ev("prompt", "created"),
        ])
        .unwrap();
        let names: Vec<String> = got.iter().map(Event::to_string).collect();
        assert_eq!(
            names,
            [
                "model_version_tag.set",
                "prompt.created",
                "registered_model.created"
            ]
        );
        let e = events(&[ev("REGISTERED_MODEL", "SET")]).unwrap_err();
        assert_eq!(
            e.message,
            "in events[0]: Invalid action 'set' for entity 'registered_model'. \
             Valid actions are: ['created']"
        );
        assert!(events(&[]).is_err());
        assert!(events(&[ev("NOPE", "SET")]).is_err());
        assert!(events(&[ev("#0", "#1")]).is_err());
        assert!(events(&[ev("#99", "#1")]).is_err());
    }

    #[test]
    fn every_event_has_an_example() {
        for (entity, _) in ENTITIES {
            for action in entity.actions() {
                let e = Event::new(entity, *action).unwrap();
                assert!(e.example().is_object(), "{e}");
                assert_eq!(Event::from_names(entity.name(), action.name()), Some(e));
            }
        }
    }
}
