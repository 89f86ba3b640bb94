//! Every endpoint of MLflow's API that [`Api`] answers, in one table: its
//! path under `2.0/mlflow` (axum's `{name}` for a path's parameters), the
//! methods it answers, whether it writes, and its function. The server
//! mounts the table on its router; [`Api::call`] looks a request up in it.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::error::ApiError;
use crate::api::message::Raw;
use crate::api::{experiments, metrics, models, registry, runs, Api};

/// An HTTP method an endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `GET` (its message in the query string).
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Verb {
    /// The method's name, as HTTP spells it.
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    /// The method named `name` (case as HTTP spells it), if an endpoint
    /// may answer it.
    pub fn from_name(name: &str) -> Option<Verb> {
        [Verb::Get, Verb::Post, Verb::Patch, Verb::Delete]
            .into_iter()
            .find(|v| v.name() == name)
    }
}

/// Whether an endpoint changes the store: a server answers a write only
/// once it is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only.
    Read,
    /// Writes.
    Write,
}

/// An endpoint's answer: a JSON tree, or JSON already written as text
/// (large answers, cheaper to write directly).
#[derive(Debug)]
pub enum Reply {
    /// A JSON tree.
    Json(Value),
    /// JSON text.
    Text(String),
}

impl Reply {
    /// The answer as JSON text.
    pub fn into_text(self) -> String {
        match self {
            Reply::Json(v) => v.to_string(),
            Reply::Text(t) => t,
        }
    }
}

impl From<Value> for Reply {
    fn from(v: Value) -> Reply {
        Reply::Json(v)
    }
}

/// An endpoint's function with its message type erased: the API, the
/// values of the path's parameters in order, and the request's message.
type Handler = Box<dyn Fn(&Api, Vec<String>, &Raw) -> Result<Reply, ApiError> + Send + Sync>;

/// One endpoint.
pub struct Endpoint {
    /// Its path under `2.0/mlflow`, axum's `{name}` for a parameter.
    pub path: &'static str,
    /// The methods it answers.
    pub verbs: &'static [Verb],
    /// Whether it writes.
    pub access: Access,
    handler: Handler,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("path", &self.path)
            .field("verbs", &self.verbs)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Answers a request: the values of the path's parameters, in order,
    /// and its message.
    pub fn answer(&self, api: &Api, params: Vec<String>, raw: &Raw) -> Result<Reply, ApiError> {
        (self.handler)(api, params, raw)
    }
}

/// A path's parameters as an endpoint function takes them.
trait PathArgs: Sized {
    fn from_values(values: Vec<String>) -> Result<Self, ApiError>;
}

fn wrong_params(n: usize) -> ApiError {
    ApiError::internal(format!("the route gave {n} path parameters"))
}

impl PathArgs for String {
    fn from_values(values: Vec<String>) -> Result<String, ApiError> {
        let n = values.len();
        let mut it = values.into_iter();
        match (it.next(), it.next()) {
            (Some(a), None) => Ok(a),
            _ => Err(wrong_params(n)),
        }
    }
}

impl PathArgs for (String, String) {
    fn from_values(values: Vec<String>) -> Result<(String, String), ApiError> {
        let n = values.len();
        let mut it = values.into_iter();
        match (it.next(), it.next(), it.next()) {
            (Some(a), Some(b), None) => Ok((a, b)),
            _ => Err(wrong_params(n)),
        }
    }
}

const GET: &[Verb] = &[Verb::Get];
const POST: &[Verb] = &[Verb::Post];
const PATCH: &[Verb] = &[Verb::Patch];
const DELETE: &[Verb] = &[Verb::Delete];
const POST_GET: &[Verb] = &[Verb::Post, Verb::Get];

fn plain<T, R>(
    path: &'static str,
    verbs: &'static [Verb],
    access: Access,
    f: fn(&Api, T) -> Result<R, ApiError>,
) -> Endpoint
where
    T: DeserializeOwned + 'static,
    R: Into<Reply> + 'static,
{
    Endpoint {
        path,
        verbs,
        access,
        handler: Box::new(move |api, _, raw| f(api, raw.parse()?).map(Into::into)),
    }
}

fn read<T: DeserializeOwned + 'static, R: Into<Reply> + 'static>(
    path: &'static str,
    verbs: &'static [Verb],
    f: fn(&Api, T) -> Result<R, ApiError>,
) -> Endpoint {
    plain(path, verbs, Access::Read, f)
}

fn write<T: DeserializeOwned + 'static, R: Into<Reply> + 'static>(
    path: &'static str,
    verbs: &'static [Verb],
    f: fn(&Api, T) -> Result<R, ApiError>,
) -> Endpoint {
    plain(path, verbs, Access::Write, f)
}

/// An endpoint of a path with parameters.
fn at<P, T>(
    path: &'static str,
    verbs: &'static [Verb],
    access: Access,
    f: fn(&Api, P, T) -> Result<Value, ApiError>,
) -> Endpoint
where
    P: PathArgs + 'static,
    T: DeserializeOwned + 'static,
{
    Endpoint {
        path,
        verbs,
        access,
        handler: Box::new(move |api, params, raw| {
            f(api, P::from_values(params)?, raw.parse()?).map(Reply::Json)
        }),
    }
}

/// A writing endpoint that reads its message itself from the request as
/// it came (`runs/log-batch`, whose message borrows from the body).
fn write_raw(path: &'static str, f: fn(&Api, &Raw) -> Result<Value, ApiError>) -> Endpoint {
    Endpoint {
        path,
        verbs: POST,
        access: Access::Write,
        handler: Box::new(move |api, _, raw| f(api, raw).map(Reply::Json)),
    }
}

/// The table: MLflow's tracking API, logged models and the registry.
pub fn endpoints() -> Vec<Endpoint> {
    use experiments as e;
    use models as m;
    use registry as r;
    use Access::{Read, Write};
    vec![
        read("/experiments/get", GET, e::get),
        read("/experiments/get-by-name", GET, e::get_by_name),
        write("/experiments/create", POST, e::create),
        read("/experiments/search", POST_GET, e::search),
        write("/experiments/update", POST, e::update),
        write("/experiments/delete", POST, e::delete),
        write("/experiments/restore", POST, e::restore),
        write("/experiments/set-experiment-tag", POST, e::set_tag),
        write("/experiments/delete-experiment-tag", POST, e::delete_tag),
        read("/experiments/search-datasets", POST, e::search_datasets),
        write("/runs/create", POST, runs::create),
        read("/runs/get", GET, runs::get),
        write("/runs/update", POST, runs::update),
        write("/runs/delete", POST, runs::delete),
        write("/runs/restore", POST, runs::restore),
        read("/runs/search", POST, runs::search),
        write("/runs/log-metric", POST, runs::log_metric),
        write("/runs/log-parameter", POST, runs::log_param),
        write_raw("/runs/log-batch", runs::log_batch),
        write("/runs/log-inputs", POST, runs::log_inputs),
        write("/runs/set-tag", POST, runs::set_tag),
        write("/runs/delete-tag", POST, runs::delete_tag),
        write("/runs/outputs", POST, m::log_outputs),
        write("/runs/log-model", POST, m::log_model),
        read("/artifacts/list", GET, runs::list_artifacts),
        read("/metrics/get-history", GET, metrics::history),
        read("/metrics/get-history-bulk", GET, metrics::history_bulk),
        read(
            "/metrics/get-history-bulk-interval",
            GET,
            metrics::history_bulk_interval,
        ),
        write("/logged-models", POST, m::create),
        read("/logged-models/search", POST, m::search),
        at("/logged-models/{model_id}", GET, Read, m::get),
        at("/logged-models/{model_id}", PATCH, Write, m::finalize),
        at("/logged-models/{model_id}", DELETE, Write, m::delete),
        at("/logged-models/{model_id}/tags", PATCH, Write, m::set_tags),
        at(
            "/logged-models/{model_id}/tags/{tag_key}",
            DELETE,
            Write,
            m::delete_tag,
        ),
        at(
            "/logged-models/{model_id}/params",
            POST,
            Write,
            m::log_params,
        ),
        at(
            "/logged-models/{model_id}/artifacts/directories",
            GET,
            Read,
            m::list_artifacts,
        ),
        write("/registered-models/create", POST, r::create),
        write("/registered-models/rename", POST, r::rename),
        write("/registered-models/update", PATCH, r::update),
        write("/registered-models/delete", DELETE, r::delete),
        read("/registered-models/get", GET, r::get),
        read("/registered-models/search", GET, r::search),
        read(
            "/registered-models/get-latest-versions",
            POST_GET,
            r::latest_versions,
        ),
        write("/registered-models/set-tag", POST, r::set_tag),
        write("/registered-models/delete-tag", DELETE, r::delete_tag),
        write("/registered-models/alias", POST, r::set_alias),
        write("/registered-models/alias", DELETE, r::delete_alias),
        read("/registered-models/alias", GET, r::get_by_alias),
        write("/model-versions/create", POST, r::create_version),
        write("/model-versions/update", PATCH, r::update_version),
        write(
            "/model-versions/transition-stage",
            POST,
            r::transition_stage,
        ),
        write("/model-versions/delete", DELETE, r::delete_version),
        read("/model-versions/get", GET, r::get_version),
        read("/model-versions/search", GET, r::search_versions),
        read("/model-versions/get-download-uri", GET, r::download_uri),
        write("/model-versions/set-tag", POST, r::set_version_tag),
        write("/model-versions/delete-tag", DELETE, r::delete_version_tag),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_path_answers_one_method_twice() {
        let table = endpoints();
        for (i, a) in table.iter().enumerate() {
            for b in &table[i + 1..] {
                if a.path == b.path {
                    assert!(
                        a.verbs.iter().all(|v| !b.verbs.contains(v)),
                        "{} answers a method twice",
                        a.path
                    );
                }
            }
        }
    }
}
