//! Which clauses fit which entity (MLflow's rules), and whether a run or an
//! experiment matches a clause.

use crate::error::{Error, Result};
use crate::tracking::filter::parse::{Clause, Comparator, Entity, Value};
use crate::tracking::model::LoggedModel;
use crate::tracking::model::{Experiment, Run, TAG_DATASET_CONTEXT};

/// Run attributes compared as numbers.
pub(crate) const NUMERIC_RUN_ATTRIBUTES: &[&str] = &["start_time", "end_time"];
/// MLflow's other names for `start_time`, in filters and `order_by`.
const START_TIME_ALIASES: &[&str] = &["created", "Created"];
/// MLflow's other names for `run_name`, in filters only.
pub(crate) const RUN_NAME_ALIASES: &[&str] = &["run name", "Run name", "Run Name"];

/// The run attribute an alias of MLflow's stands for (`Created` is
/// `start_time`, `` `Run name` `` is `run_name`), or the name itself.
pub(crate) fn run_attribute(name: &str) -> &str {
    if START_TIME_ALIASES.contains(&name) {
        "start_time"
    } else if RUN_NAME_ALIASES.contains(&name) {
        "run_name"
    } else {
        name
    }
}
/// Run attributes compared as strings.
pub(crate) const STRING_RUN_ATTRIBUTES: &[&str] =
    &["run_id", "run_name", "status", "user_id", "artifact_uri"];
/// Dataset fields a filter can compare.
const DATASET_FIELDS: &[&str] = &["name", "digest", "context"];
/// Experiment attributes compared as numbers.
pub(crate) const NUMERIC_EXPERIMENT_ATTRIBUTES: &[&str] = &["creation_time", "last_update_time"];

const NUMERIC: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Lt,
    Comparator::Le,
    Comparator::Gt,
    Comparator::Ge,
];
const TEXT: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
];
/// Params and tags: text, or whether they are there at all.
const TEXT_OR_NULL: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::IsNull,
    Comparator::IsNotNull,
];
/// `run_id` (the one attribute MLflow compares with a list) and datasets.
const TEXT_OR_LIST: &[Comparator] = &[
    Comparator::Eq,
    Comparator::Ne,
    Comparator::Like,
    Comparator::ILike,
    Comparator::In,
    Comparator::NotIn,
];

/// The kind of value an entity compares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Text,
}

fn check(clause: &Clause, what: &str, kind: Kind, allowed: &[Comparator]) -> Result<()> {
    let fail = |message: String| {
        Err(Error::InvalidFilter {
            position: clause.position,
            message,
        })
    };
    if !allowed.contains(&clause.comparator) {
        let list: Vec<&str> = allowed.iter().map(|c| c.as_str()).collect();
        return fail(format!(
            "{what} takes the comparators {}, not {}",
            list.join(", "),
            clause.comparator.as_str()
        ));
    }
    match (&clause.value, kind) {
        (Value::Number(_), Kind::Number)
        | (Value::Text(_) | Value::List(_), Kind::Text)
        | (Value::Null, _) => Ok(()),
        (_, Kind::Number) => fail(format!("{what} is compared with a number")),
        (_, Kind::Text) => fail(format!("{what} is compared with a string in single quotes")),
    }
}

fn unknown(clause: &Clause, what: &str, name: &str, valid: &[&str]) -> Error {
    Error::InvalidFilter {
        position: clause.position,
        message: format!(
            "unknown {what} '{name}'; expected one of: {}",
            valid.join(", ")
        ),
    }
}

/// Checks that each clause of a run filter compares what MLflow allows.
pub(crate) fn check_run_clauses(clauses: &[Clause]) -> Result<()> {
    for c in clauses {
        match &c.entity {
            Entity::Metric(_) => check(c, "a metric", Kind::Number, NUMERIC)?,
            Entity::Param(_) => check(c, "a param", Kind::Text, TEXT_OR_NULL)?,
            Entity::Tag(_) => check(c, "a tag", Kind::Text, TEXT_OR_NULL)?,
            Entity::Attribute(a) if NUMERIC_RUN_ATTRIBUTES.contains(&a.as_str()) => {
                check(c, &format!("attribute {a}"), Kind::Number, NUMERIC)?
            }
            Entity::Attribute(a) if a == "run_id" => {
                check(c, "attribute run_id", Kind::Text, TEXT_OR_LIST)?
            }
            Entity::Attribute(a) if STRING_RUN_ATTRIBUTES.contains(&a.as_str()) => {
                // Only run_id is compared with a list, as in MLflow.
                check(c, &format!("attribute {a}"), Kind::Text, TEXT)?
            }
            Entity::Attribute(a) => {
                let valid: Vec<&str> = STRING_RUN_ATTRIBUTES
                    .iter()
                    .chain(NUMERIC_RUN_ATTRIBUTES)
                    .copied()
                    .collect();
                return Err(unknown(c, "run attribute", a, &valid));
            }
            Entity::Dataset(f) if DATASET_FIELDS.contains(&f.as_str()) => {
                check(c, &format!("datasets.{f}"), Kind::Text, TEXT_OR_LIST)?
            }
            Entity::Dataset(f) => return Err(unknown(c, "dataset field", f, DATASET_FIELDS)),
        }
    }
    Ok(())
}

/// Checks that each clause of an experiment filter compares what MLflow
/// allows: `name`, `creation_time`, `last_update_time`, `tags.<key>` (a
/// tag also `IS NULL` / `IS NOT NULL`, as MLflow's UI asks).
pub(crate) fn check_experiment_clauses(clauses: &[Clause]) -> Result<()> {
    for c in clauses {
        match &c.entity {
            Entity::Tag(_) => check(c, "a tag", Kind::Text, TEXT_OR_NULL)?,
            Entity::Attribute(a) if a == "name" => check(c, "attribute name", Kind::Text, TEXT)?,
            Entity::Attribute(a) if NUMERIC_EXPERIMENT_ATTRIBUTES.contains(&a.as_str()) => {
                check(c, &format!("attribute {a}"), Kind::Number, NUMERIC)?
            }
            Entity::Attribute(a) => {
                return Err(unknown(
                    c,
                    "experiment attribute",
                    a,
                    &["name", "creation_time", "last_update_time"],
                ))
            }
            _ => {
                return Err(Error::InvalidFilter {
                    position: c.position,
                    message: "an experiment filter compares name, creation_time, \
                              last_update_time or tags.<key>"
                        .into(),
                })
            }
        }
    }
    Ok(())
}

/// Whether a run matches every clause (checked by [`check_run_clauses`]).
/// A missing metric, param, tag or end time never matches, `!=` included.
pub(crate) fn run_matches(run: &Run, clauses: &[Clause]) -> bool {
    clauses.iter().all(|c| run_matches_clause(run, c))
}

fn run_matches_clause(run: &Run, c: &Clause) -> bool {
    match &c.entity {
        Entity::Metric(key) => run
            .data
            .metrics
            .get(key)
            .is_some_and(|m| compare_number(m.value, c)),
        Entity::Param(key) => present_and(run.data.params.get(key), c),
        Entity::Tag(key) => present_and(run.data.tags.get(key), c),
        Entity::Attribute(a) => match a.as_str() {
            "start_time" => compare_number(run.info.start_time as f64, c),
            "end_time" => run
                .info
                .end_time
                .is_some_and(|t| compare_number(t as f64, c)),
            "run_id" => compare_text(&run.info.run_id, c),
            "run_name" => compare_text(&run.info.run_name, c),
            "status" => compare_text(run.info.status.as_str(), c),
            "user_id" => compare_text(&run.info.user_id, c),
            "artifact_uri" => compare_text(&run.info.artifact_uri, c),
            _ => false,
        },
        Entity::Dataset(field) => run.inputs.iter().any(|input| {
            let value = match field.as_str() {
                "name" => Some(input.name.as_str()),
                "digest" => Some(input.digest.as_str()),
                "context" => input
                    .tags
                    .iter()
                    .find(|(k, _)| k == TAG_DATASET_CONTEXT)
                    .map(|(_, v)| v.as_str()),
                _ => None,
            };
            value.is_some_and(|v| compare_text(v, c))
        }),
    }
}

/// Whether an experiment matches every clause (checked by
/// [`check_experiment_clauses`]).
pub(crate) fn experiment_matches(e: &Experiment, clauses: &[Clause]) -> bool {
    clauses.iter().all(|c| match &c.entity {
        Entity::Tag(key) => present_and(e.tags.get(key), c),
        Entity::Attribute(a) => match a.as_str() {
            "name" => compare_text(&e.name, c),
            "creation_time" => compare_number(e.creation_time as f64, c),
            "last_update_time" => compare_number(e.last_update_time as f64, c),
            _ => false,
        },
        _ => false,
    })
}

/// A param or tag against a clause: `IS NULL` / `IS NOT NULL` ask whether
/// it is there; any other comparator needs it there and matching.
fn present_and(value: Option<&String>, c: &Clause) -> bool {
    match c.comparator {
        Comparator::IsNull => value.is_none(),
        Comparator::IsNotNull => value.is_some(),
        _ => value.is_some_and(|v| compare_text(v, c)),
    }
}

fn compare_number(x: f64, c: &Clause) -> bool {
    let Value::Number(y) = c.value else {
        return false;
    };
    match c.comparator {
        Comparator::Eq => x == y,
        Comparator::Ne => x != y,
        Comparator::Lt => x < y,
        Comparator::Le => x <= y,
        Comparator::Gt => x > y,
        Comparator::Ge => x >= y,
        _ => false,
    }
}

/// A text against a clause's value (`=`, `!=`, `LIKE`, `ILIKE`, `IN`,
/// `NOT IN`); any other comparator does not match.
pub(crate) fn compare_text(x: &str, c: &Clause) -> bool {
    match (&c.value, c.comparator) {
        (Value::Text(y), Comparator::Eq) => x == y,
        (Value::Text(y), Comparator::Ne) => x != y,
        (Value::Text(y), Comparator::Like) => like(x, y),
        (Value::Text(y), Comparator::ILike) => like(&x.to_lowercase(), &y.to_lowercase()),
        (Value::List(ys), Comparator::In) => ys.iter().any(|y| x == y),
        (Value::List(ys), Comparator::NotIn) => ys.iter().all(|y| x != y),
        _ => false,
    }
}

/// SQL `LIKE`: `%` matches any run of characters, `_` exactly one.
pub(crate) fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Greedy matching with backtracking to the last `%`: linear in
    // practice, O(len(t) * len(p)) at worst.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('%') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '_' || c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

/// Logged-model attributes compared as numbers (MLflow's names and their
/// aliases).
pub(crate) const NUMERIC_MODEL_ATTRIBUTES: &[&str] = &[
    "creation_timestamp",
    "creation_time",
    "last_updated_timestamp",
];
/// Logged-model attributes compared as strings.
pub(crate) const STRING_MODEL_ATTRIBUTES: &[&str] =
    &["name", "model_id", "model_type", "status", "source_run_id"];

/// Checks that each clause of a logged-model filter compares what MLflow
/// allows: its attributes, `metrics.<key>`, `params.<key>`, `tags.<key>`.
pub(crate) fn check_model_clauses(clauses: &[Clause]) -> Result<()> {
    for c in clauses {
        match &c.entity {
            Entity::Metric(_) => check(c, "a metric", Kind::Number, NUMERIC)?,
            Entity::Param(_) => check(c, "a param", Kind::Text, TEXT_OR_NULL)?,
            Entity::Tag(_) => check(c, "a tag", Kind::Text, TEXT_OR_NULL)?,
            Entity::Attribute(a) if NUMERIC_MODEL_ATTRIBUTES.contains(&a.as_str()) => {
                check(c, &format!("attribute {a}"), Kind::Number, NUMERIC)?
            }
            Entity::Attribute(a) if STRING_MODEL_ATTRIBUTES.contains(&a.as_str()) => {
                check(c, &format!("attribute {a}"), Kind::Text, TEXT_OR_LIST)?
            }
            Entity::Attribute(a) => {
                let mut valid = STRING_MODEL_ATTRIBUTES.to_vec();
                valid.extend_from_slice(NUMERIC_MODEL_ATTRIBUTES);
                return Err(unknown(c, "logged model attribute", a, &valid));
            }
            Entity::Dataset(_) => {
                return Err(Error::InvalidFilter {
                    position: c.position,
                    message: "a logged model filter compares attributes, metrics.<key>, \
                              params.<key> or tags.<key>; datasets are given apart"
                        .into(),
                })
            }
        }
    }
    Ok(())
}

/// Whether a logged model matches every clause (checked by
/// [`check_model_clauses`]); `metric` gives a model's value of a metric
/// (its latest point on the datasets the search names).
pub(crate) fn model_matches(
    m: &LoggedModel,
    clauses: &[Clause],
    metric: impl Fn(&LoggedModel, &str) -> Option<f64>,
) -> bool {
    clauses.iter().all(|c| match &c.entity {
        Entity::Metric(key) => metric(m, key).is_some_and(|v| compare_number(v, c)),
        Entity::Param(key) => present_and(m.params.get(key), c),
        Entity::Tag(key) => present_and(m.tags.get(key), c),
        Entity::Attribute(a) => match a.as_str() {
            "creation_timestamp" | "creation_time" => {
                compare_number(m.creation_timestamp as f64, c)
            }
            "last_updated_timestamp" => compare_number(m.last_updated_timestamp as f64, c),
            "name" => compare_text(&m.name, c),
            "model_id" => compare_text(&m.model_id, c),
            "model_type" => m.model_type.as_deref().is_some_and(|t| compare_text(t, c)),
            "status" => {
                let status = m.status.as_str();
                // MLflow's filter names statuses without the prefix.
                let short = status.strip_prefix("LOGGED_MODEL_").unwrap_or(status);
                let short = if short == "UPLOAD_FAILED" {
                    "FAILED"
                } else {
                    short
                };
                compare_text(short, c) || compare_text(status, c)
            }
            "source_run_id" => m
                .source_run_id
                .as_deref()
                .is_some_and(|r| compare_text(r, c)),
            _ => false,
        },
        Entity::Dataset(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_follows_sql() {
        assert!(like("train-loss", "train%"));
        assert!(like("train-loss", "%loss"));
        assert!(like("train-loss", "%-%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("aaa", "%a%a%a%"));
        assert!(!like("aa", "%a%a%a%"));
        assert!(like("a%b", "a%b"));
        assert!(!like("ABC", "abc"));
    }
}
