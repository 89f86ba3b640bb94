//! `experiments/*`: get, get-by-name, create, search, update (rename),
//! delete, restore, set-experiment-tag, delete-experiment-tag.

use serde_json::{json, Value};

use crate::server::error::ApiError;
use crate::server::request::Fields;
use crate::server::{view_type, State};
use crate::tracking::SearchExperiments;
use crate::tracking::{mlflow_json, NewExperiment};

/// `GET experiments/get?experiment_id=`.
pub fn get(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let e = s.client.get_experiment(f.string("experiment_id")?)?;
    Ok(json!({"experiment": s.experiment_json(&e)}))
}

/// `GET experiments/get-by-name?experiment_name=`: deleted ones included,
/// as in MLflow; a missing name is 404 (MLflow's client reads it as None).
pub fn get_by_name(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let name = f.string("experiment_name")?;
    match s.client.get_experiment_by_name(name)? {
        Some(e) => Ok(json!({"experiment": s.experiment_json(&e)})),
        None => Err(ApiError::not_found(format!(
            "Could not find experiment with name '{name}'"
        ))),
    }
}

/// `POST experiments/create {name, artifact_location?, tags?}`.
pub fn create(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let mut new = NewExperiment::new(f.string("name")?);
    if let Some(root) = &s.artifact_root {
        // New experiments' artifacts go through the server:
        // mlflow-artifacts:/<id>, under --artifacts-destination.
        new = new.artifact_root(root);
    }
    if let Some(location) = f.opt_string("artifact_location")?.filter(|l| !l.is_empty()) {
        new = new.artifact_location(s.stored_location(location)?);
    }
    for (k, v) in f.key_values("tags")? {
        new = new.tag(k, v);
    }
    let id = s.client.create_experiment(new)?;
    Ok(json!({"experiment_id": id}))
}

/// `POST experiments/search {max_results?, page_token?, filter?,
/// order_by?, view_type?}`.
pub fn search(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let query = SearchExperiments::new()
        .view(view_type(f, "view_type")?)
        .filter(f.opt_string("filter")?.unwrap_or_default());
    let query = crate::server::paged!(query, f);
    let page = s.client.search_experiments(query)?;
    let experiments = page.items.iter().map(|e| s.experiment_json(e)).collect();
    let token = page.next_page_token.as_deref();
    Ok(mlflow_json::page("experiments", experiments, token))
}

/// A `max_results` that fits a `usize` (the search checks its range).
pub fn max_results(n: i64) -> Result<usize, ApiError> {
    usize::try_from(n).map_err(|_| {
        ApiError::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied: it must be positive"
        ))
    })
}

/// `POST experiments/update {experiment_id, new_name}`.
pub fn update(s: &State, f: &Fields) -> Result<Value, ApiError> {
    let id = f.string("experiment_id")?;
    if let Some(name) = f.opt_string("new_name")? {
        s.client.rename_experiment(id, name)?;
    }
    Ok(json!({}))
}

/// `POST experiments/delete {experiment_id}`.
pub fn delete(s: &State, f: &Fields) -> Result<Value, ApiError> {
    s.client.delete_experiment(f.string("experiment_id")?)?;
    Ok(json!({}))
}

/// `POST experiments/restore {experiment_id}`.
pub fn restore(s: &State, f: &Fields) -> Result<Value, ApiError> {
    s.client.restore_experiment(f.string("experiment_id")?)?;
    Ok(json!({}))
}

/// `POST experiments/set-experiment-tag {experiment_id, key, value}`.
pub fn set_tag(s: &State, f: &Fields) -> Result<Value, ApiError> {
    s.client.set_experiment_tag(
        f.string("experiment_id")?,
        f.string("key")?,
        f.opt_string("value")?.unwrap_or_default(),
    )?;
    Ok(json!({}))
}

/// `POST experiments/delete-experiment-tag {experiment_id, key}`.
pub fn delete_tag(s: &State, f: &Fields) -> Result<Value, ApiError> {
    s.client
        .delete_experiment_tag(f.string("experiment_id")?, f.string("key")?)?;
    Ok(json!({}))
}
