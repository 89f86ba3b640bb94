//! `order_by` for runs and experiments: values to sort by, missing values
//! last whatever the direction.

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::tracking::filter::eval::{
    run_attribute, NUMERIC_EXPERIMENT_ATTRIBUTES, NUMERIC_RUN_ATTRIBUTES, RUN_NAME_ALIASES,
    STRING_RUN_ATTRIBUTES,
};
use crate::tracking::filter::parse::{parse_order_by, Entity};
use crate::tracking::model::{Experiment, Run};

/// A parsed `order_by` item.
#[derive(Debug, Clone)]
pub(crate) struct OrderKey {
    entity: Entity,
    ascending: bool,
}

/// A value sorted on.
#[derive(Debug, PartialEq, PartialOrd)]
enum SortValue<'a> {
    Number(f64),
    Text(&'a str),
}

fn order_error(item: &str, message: String) -> Error {
    Error::InvalidFilter {
        position: 1,
        message: format!("order_by '{item}': {message}"),
    }
}

/// Parses `order_by` items; `name` gives an entity its usual name (or says
/// why it cannot be sorted on). A field named twice is refused, as in
/// MLflow.
fn parse_order(
    items: &[String],
    name: impl Fn(Entity) -> std::result::Result<Entity, String>,
) -> Result<Vec<OrderKey>> {
    let mut keys: Vec<OrderKey> = Vec::with_capacity(items.len());
    for item in items {
        let (entity, ascending) = parse_order_by(item)?;
        let entity = name(entity).map_err(|why| order_error(item, why))?;
        if keys.iter().any(|k| k.entity == entity) {
            return Err(order_error(
                item,
                "the same field is named twice in order_by".into(),
            ));
        }
        keys.push(OrderKey { entity, ascending });
    }
    Ok(keys)
}

/// Parses run `order_by` items.
pub(crate) fn run_order(items: &[String]) -> Result<Vec<OrderKey>> {
    parse_order(items, |entity| {
        let entity = match entity {
            Entity::Attribute(a) if RUN_NAME_ALIASES.contains(&a.as_str()) => {
                return Err(format!(
                    "'{a}' names run_name in filters only; order by run_name"
                ))
            }
            Entity::Attribute(a) => Entity::Attribute(run_attribute(&a).to_owned()),
            other => other,
        };
        match run_refusal(&entity) {
            Some(why) => Err(why),
            None => Ok(entity),
        }
    })
}

/// Why runs cannot be ordered by an entity, if they cannot.
fn run_refusal(entity: &Entity) -> Option<String> {
    match entity {
        Entity::Attribute(a)
            if !NUMERIC_RUN_ATTRIBUTES.contains(&a.as_str())
                && !STRING_RUN_ATTRIBUTES.contains(&a.as_str()) =>
        {
            Some(format!("unknown run attribute '{a}'"))
        }
        Entity::Dataset(_) => Some("runs cannot be ordered by datasets".into()),
        _ => None,
    }
}

/// Parses experiment `order_by` items (`name`, `experiment_id`,
/// `creation_time`, `last_update_time`).
pub(crate) fn experiment_order(items: &[String]) -> Result<Vec<OrderKey>> {
    parse_order(items, |entity| match &entity {
        Entity::Attribute(a)
            if a == "name"
                || a == "experiment_id"
                || NUMERIC_EXPERIMENT_ATTRIBUTES.contains(&a.as_str()) =>
        {
            Ok(entity)
        }
        _ => Err(
            "experiments are ordered by name, experiment_id, creation_time or last_update_time"
                .into(),
        ),
    })
}

fn run_value<'a>(run: &'a Run, entity: &Entity) -> Option<SortValue<'a>> {
    match entity {
        Entity::Metric(k) => run.data.metrics.get(k).map(|m| SortValue::Number(m.value)),
        Entity::Param(k) => run.data.params.get(k).map(|v| SortValue::Text(v)),
        Entity::Tag(k) => run.data.tags.get(k).map(|v| SortValue::Text(v)),
        Entity::Attribute(a) => match a.as_str() {
            "start_time" => Some(SortValue::Number(run.info.start_time as f64)),
            "end_time" => run.info.end_time.map(|t| SortValue::Number(t as f64)),
            "run_id" => Some(SortValue::Text(&run.info.run_id)),
            "run_name" => Some(SortValue::Text(&run.info.run_name)),
            "status" => Some(SortValue::Text(run.info.status.as_str())),
            "user_id" => Some(SortValue::Text(&run.info.user_id)),
            "artifact_uri" => Some(SortValue::Text(&run.info.artifact_uri)),
            _ => None,
        },
        Entity::Dataset(_) => None,
    }
}

fn experiment_value<'a>(e: &'a Experiment, entity: &Entity) -> Option<SortValue<'a>> {
    match entity {
        Entity::Attribute(a) => match a.as_str() {
            "name" => Some(SortValue::Text(&e.name)),
            "experiment_id" => Some(SortValue::Text(&e.experiment_id)),
            "creation_time" => Some(SortValue::Number(e.creation_time as f64)),
            "last_update_time" => Some(SortValue::Number(e.last_update_time as f64)),
            _ => None,
        },
        _ => None,
    }
}

/// Compares two optional values as MLflow orders them, in either
/// direction: values first (in the direction asked), then NaN, then
/// missing ones.
fn compare(a: Option<SortValue>, b: Option<SortValue>, ascending: bool) -> Ordering {
    let rank = |v: &Option<SortValue>| match v {
        None => 2,
        Some(SortValue::Number(x)) if x.is_nan() => 1,
        Some(_) => 0,
    };
    match (rank(&a), rank(&b)) {
        (ra, rb) if ra != rb || ra > 0 => ra.cmp(&rb),
        _ => {
            let o = match (a, b) {
                (Some(SortValue::Number(x)), Some(SortValue::Number(y))) => x.total_cmp(&y),
                (Some(SortValue::Text(x)), Some(SortValue::Text(y))) => x.cmp(y),
                _ => Ordering::Equal,
            };
            if ascending {
                o
            } else {
                o.reverse()
            }
        }
    }
}

/// Sorts by the keys (values from `value`), then by `default`.
fn sort_by_keys<T>(
    list: &mut [T],
    keys: &[OrderKey],
    value: impl for<'a> Fn(&'a T, &Entity) -> Option<SortValue<'a>>,
    default: impl Fn(&T, &T) -> Ordering,
) {
    list.sort_by(|a, b| {
        keys.iter()
            .map(|k| compare(value(a, &k.entity), value(b, &k.entity), k.ascending))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
            .then_with(|| default(a, b))
    });
}

/// Sorts runs by the keys, then MLflow's default: newest start first, then
/// run id.
pub(crate) fn sort_runs(runs: &mut [Run], keys: &[OrderKey]) {
    sort_by_keys(runs, keys, run_value, |a, b| {
        b.info
            .start_time
            .cmp(&a.info.start_time)
            .then_with(|| a.info.run_id.cmp(&b.info.run_id))
    });
}

/// Sorts experiments by the keys, then MLflow's default: newest first
/// (creation time), then id.
pub(crate) fn sort_experiments(list: &mut [Experiment], keys: &[OrderKey]) {
    sort_by_keys(list, keys, experiment_value, |a, b| {
        b.creation_time
            .cmp(&a.creation_time)
            .then_with(|| a.experiment_id.cmp(&b.experiment_id))
    });
}
