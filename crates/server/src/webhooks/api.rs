//! The webhook endpoints: create, list, get, update, delete and test.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::webhooks::address;
use crate::webhooks::delivery::{self, Outcome};
use crate::webhooks::event::{self, EventIn};
use crate::webhooks::store::{Changes, Webhook};
use crate::State;
use runlog::api::error::ApiError;
use runlog::api::message::{required_str, Int};
use runlog::api::request::missing;

/// A webhook as the API answers it (never its secret).
fn webhook_json(w: &Webhook) -> Value {
    let mut o = Map::new();
    o.insert("webhook_id".into(), w.id.clone().into());
    o.insert("name".into(), w.name.clone().into());
    if let Some(d) = w.description.as_deref().filter(|d| !d.is_empty()) {
        o.insert("description".into(), d.into());
    }
    o.insert("url".into(), w.url.clone().into());
    o.insert(
        "events".into(),
        w.events
            .iter()
            .map(|e| e.to_json())
            .collect::<Vec<_>>()
            .into(),
    );
    o.insert(
        "status".into(),
        if w.active { "ACTIVE" } else { "DISABLED" }.into(),
    );
    o.insert("creation_timestamp".into(), w.creation_timestamp.into());
    o.insert(
        "last_updated_timestamp".into(),
        w.last_updated_timestamp.into(),
    );
    Value::Object(o)
}

/// A webhook's name as MLflow allows it: 1 to 63 letters, digits, dots,
/// underscores and hyphens, beginning and ending with a letter or digit.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok_end = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let ok = (1..=63).contains(&name.len())
        && ok_end(name.chars().next())
        && ok_end(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "Webhook name {name:?} is invalid. It must start and end with a letter or digit, be \
         less than 63 characters long, and contain only letters, digits, dots (.), \
         underscores (_), and hyphens (-)."
    )))
}

/// `ACTIVE` / `DISABLED` (any case) or protobuf's 1 / 2.
fn status(text: &str) -> Result<bool, ApiError> {
    match text.to_ascii_uppercase().as_str() {
        "ACTIVE" | "#1" => Ok(true),
        "DISABLED" | "#2" => Ok(false),
        _ => Err(ApiError::invalid(format!(
            "Invalid webhook status: {text:?}"
        ))),
    }
}

/// A create or update message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WebhookMsg {
    name: Option<String>,
    description: Option<String>,
    url: Option<String>,
    events: Option<Vec<EventIn>>,
    secret: Option<String>,
    #[serde(deserialize_with = "event::enum_text")]
    status: Option<String>,
}

impl WebhookMsg {
    fn check_url(&self, s: &State, url: &str) -> Result<(), ApiError> {
        let o = &s.webhooks.options;
        address::check_url(url, &o.allowed_schemes, o.allow_private_ips)
    }
}

/// `POST webhooks {name, url, events, description?, secret?, status?}`.
pub fn create(s: &State, m: WebhookMsg) -> Result<Value, ApiError> {
    let name = required_str("name", &m.name)?;
    let url = required_str("url", &m.url)?;
    let events = m.events.as_deref().ok_or_else(|| missing("events"))?;
    check_name(name)?;
    m.check_url(s, url)?;
    let events = event::events(events)?;
    let now = runlog::clock::wall_clock_ms();
    let webhook = Webhook {
        id: delivery::uuid4(),
        name: name.to_owned(),
        description: m.description.clone().filter(|d| !d.is_empty()),
        url: url.to_owned(),
        secret: m.secret.clone().filter(|s| !s.is_empty()),
        active: m.status.as_deref().map(status).transpose()?.unwrap_or(true),
        events,
        creation_timestamp: now,
        last_updated_timestamp: now,
    };
    s.webhooks.store.insert(&webhook)?;
    s.webhooks.changed();
    Ok(json!({"webhook": webhook_json(&webhook)}))
}

/// `list`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListMsg {
    max_results: Option<Int>,
    page_token: Option<String>,
}

/// `GET webhooks?max_results=&page_token=`: newest first.
pub fn list(s: &State, m: ListMsg) -> Result<Value, ApiError> {
    let max = match m.max_results {
        None | Some(Int(0)) => 100,
        Some(Int(n)) if (1..=1000).contains(&n) => n as usize,
        Some(_) => {
            return Err(ApiError::invalid("max_results must be between 1 and 1000."));
        }
    };
    let token = m.page_token.as_deref().filter(|t| !t.is_empty());
    let offset = runlog::tracking::search::parse_token(token)?;
    let page = runlog::tracking::search::page(s.webhooks.store.list()?, offset, max);
    let mut o = Map::new();
    if !page.items.is_empty() {
        o.insert(
            "webhooks".into(),
            page.items
                .iter()
                .map(webhook_json)
                .collect::<Vec<_>>()
                .into(),
        );
    }
    if let Some(t) = page.next_page_token {
        o.insert("next_page_token".into(), t.into());
    }
    Ok(Value::Object(o))
}

/// The webhook `id`, or MLflow's 404.
fn found(s: &State, id: &str) -> Result<Webhook, ApiError> {
    s.webhooks
        .store
        .get(id)?
        .ok_or_else(|| ApiError::not_found(format!("Webhook with ID {id} not found.")))
}

/// A message with nothing in it (`get`, `delete`).
#[derive(Debug, Default, Deserialize)]
pub struct NoMsg {}

/// `GET webhooks/{webhook_id}`.
pub fn get(s: &State, id: String, _: NoMsg) -> Result<Value, ApiError> {
    Ok(json!({"webhook": webhook_json(&found(s, &id)?)}))
}

/// `PATCH webhooks/{webhook_id} {name?, description?, url?, events?,
/// secret?, status?}`: an empty name, URL or event list leaves it as it
/// is; an empty description or secret clears it.
pub fn update(s: &State, id: String, m: WebhookMsg) -> Result<Value, ApiError> {
    let name = m.name.clone().filter(|n| !n.is_empty());
    if let Some(n) = &name {
        check_name(n)?;
    }
    let url = m.url.clone().filter(|u| !u.is_empty());
    if let Some(u) = &url {
        m.check_url(s, u)?;
    }
    let events = match m.events.as_deref() {
        Some(list) if !list.is_empty() => Some(event::events(list)?),
        _ => None,
    };
    let changes = Changes {
        name,
        description: m.description.clone(),
        url,
        events,
        secret: m.secret.clone(),
        active: m.status.as_deref().map(status).transpose()?,
    };
    if !s
        .webhooks
        .store
        .update(&id, &changes, runlog::clock::wall_clock_ms())?
    {
        return Err(ApiError::not_found(format!(
            "Webhook with ID {id} not found."
        )));
    }
    s.webhooks.changed();
    get(s, id, NoMsg {})
}

/// `DELETE webhooks/{webhook_id}`.
pub fn delete(s: &State, id: String, _: NoMsg) -> Result<Value, ApiError> {
    if !s
        .webhooks
        .store
        .delete(&id, runlog::clock::wall_clock_ms())?
    {
        return Err(ApiError::not_found(format!(
            "Webhook with ID {id} not found."
        )));
    }
    s.webhooks.changed();
    Ok(json!({}))
}

/// `test`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TestMsg {
    event: Option<EventIn>,
}

/// `POST webhooks/{webhook_id}/test {event?}`: sends the event's example
/// (the webhook's first event by default) now, and answers how the
/// receiver answered.
pub fn test(s: &State, id: String, m: TestMsg) -> Result<Value, ApiError> {
    let webhook = found(s, &id)?;
    let event = match &m.event {
        Some(e) => e.event()?,
        None => *webhook
            .events
            .first()
            .ok_or_else(|| ApiError::invalid("the webhook listens to no event"))?,
    };
    // Checked again: the URL's name may resolve elsewhere now.
    let o = &s.webhooks.options;
    let checked = address::check_url(&webhook.url, &o.allowed_schemes, o.allow_private_ips);
    let outcome = match checked {
        Err(e) => Outcome::Failed(e.message),
        Ok(()) => s.webhooks.sender.send(&delivery::Job {
            url: webhook.url.clone(),
            secret: webhook.secret.clone(),
            event,
            data: event.example(),
        }),
    };
    let mut result = Map::new();
    match outcome {
        Outcome::Answered { status, body } => {
            if status < 400 {
                result.insert("success".into(), true.into());
            }
            result.insert("response_status".into(), status.into());
            result.insert("response_body".into(), body.into());
        }
        Outcome::Failed(why) => {
            result.insert(
                "error_message".into(),
                format!("Failed to test webhook: {why}").into(),
            );
        }
    }
    Ok(json!({"result": result}))
}
