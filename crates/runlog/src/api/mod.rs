//! MLflow's REST API as plain functions over a [`Client`], without a
//! transport: each endpoint reads its typed message (`message.rs`) and
//! answers MLflow's JSON or MLflow's error (`error.rs`). The server puts
//! them on HTTP routes (`runlog server`); the Python package calls them in
//! process ([`Api::call`]), so that MLflow's own client code runs on the
//! engine with the server's exact answers and errors.
//!
//! ```
//! # fn main() -> runlog::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("runlog-api-doc-{}", std::process::id()));
//! let api = runlog::api::Api::new(runlog::Client::new(dir.to_str().unwrap())?);
//! let answer = api.call("POST", "/api/2.0/mlflow/experiments/create", br#"{"name": "sweep"}"#);
//! assert_eq!(answer.status, 200);
//! assert!(answer.body.contains("experiment_id"));
//! let missing = api.call("GET", "/api/2.0/mlflow/runs/get", br#"{"run_id": "nope"}"#);
//! assert_eq!(missing.status, 404);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(()) }
//! ```

mod artifact_path;
mod change;
mod dispatch;
mod endpoints;
// The endpoints' parts, public for the server crate (runlog-server), which
// puts them on HTTP routes: its extractors read `message`s and answer
// `error`s, and its GraphQL executor calls the endpoints' functions. Not a
// stable API; a program calls the endpoints through [`Api::call`].
#[doc(hidden)]
pub mod error;
#[doc(hidden)]
pub mod experiments;
#[doc(hidden)]
pub mod message;
#[doc(hidden)]
pub mod metrics;
#[doc(hidden)]
pub mod models;
#[doc(hidden)]
pub mod registry;
#[doc(hidden)]
pub mod request;
#[doc(hidden)]
pub mod runs;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

pub use artifact_path::{relative_path, UPLOADS_DIR};
pub use change::Change;
pub use dispatch::{unsupported, Answer};
pub use endpoints::{endpoints, Access, Endpoint, Reply, Verb};
pub use error::ApiError;

use crate::tracking::{mlflow_json, Client, Experiment, Run};

/// Hears of each change to the registry once it is made (the server's
/// webhooks).
pub trait Observer: Send + Sync {
    /// `change` was made through `client`.
    fn registry_changed(&self, client: &Client, change: &Change<'_>);
}

/// MLflow's API over one store: by default as MLflow's SQL store answers
/// through its client, [`as_server`](Api::as_server) as its server does.
pub struct Api {
    pub(crate) client: Client,
    /// Where `mlflow-artifacts:/` points, when artifacts are served.
    pub(crate) artifact_root: Option<PathBuf>,
    observer: Option<Arc<dyn Observer>>,
    /// Answers as MLflow's server, which does a little more than its
    /// stores (a new version of a logged model is added to the model's
    /// `mlflow.modelVersions` tag); otherwise as MLflow's SQL store.
    pub(crate) as_server: bool,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("store", &self.client.store_dir())
            .field("artifact_root", &self.artifact_root)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// The API over `client`'s store, artifact locations answered as
    /// stored.
    pub fn new(client: Client) -> Api {
        Api {
            client,
            artifact_root: None,
            observer: None,
            as_server: false,
        }
    }

    /// Answers as MLflow's server does, beyond what its stores do (see
    /// [`Api`]); `runlog server`'s.
    pub fn as_server(mut self) -> Api {
        self.as_server = true;
        self
    }

    /// Artifacts served from `root`: locations under it are answered as
    /// `mlflow-artifacts:/...`, and new experiments keep theirs there.
    pub fn serving_artifacts(mut self, root: Option<PathBuf>) -> Api {
        self.artifact_root = root;
        self
    }

    /// Tells `observer` of every registry change.
    pub fn observed_by(mut self, observer: Arc<dyn Observer>) -> Api {
        self.observer = Some(observer);
        self
    }

    /// The store's client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where served artifacts live, when they are served.
    pub fn artifact_root(&self) -> Option<&Path> {
        self.artifact_root.as_deref()
    }

    /// Tells the observer, if any, of a registry change.
    pub(crate) fn notify(&self, change: &Change<'_>) {
        if let Some(o) = &self.observer {
            o.registry_changed(&self.client, change);
        }
    }
}

impl Api {
    /// An experiment as JSON, its location as the client should use it.
    pub fn experiment_json(&self, e: &Experiment) -> Value {
        let mut v = mlflow_json::experiment(e);
        v["artifact_location"] = Value::from(self.presented(&e.artifact_location));
        v
    }

    /// A run as JSON, its artifact URI as the client should use it.
    pub(crate) fn run_json(&self, r: &Run) -> Value {
        let mut v = mlflow_json::run(r);
        v["info"]["artifact_uri"] = Value::from(self.presented(&r.info.artifact_uri));
        v
    }

    /// A stored location under the served artifact root as
    /// `mlflow-artifacts:/<rest>` (the client then uploads through the
    /// server); any other as stored.
    pub(crate) fn presented(&self, location: &str) -> String {
        if let Some(root) = &self.artifact_root {
            let path = location.strip_prefix("file://").unwrap_or(location);
            if let Ok(rest) = Path::new(path).strip_prefix(root) {
                let rest = rest.to_string_lossy();
                return format!("mlflow-artifacts:/{}", rest.trim_start_matches('/'));
            }
        }
        location.to_owned()
    }

    /// A location a client gave, as stored: `mlflow-artifacts:/<rest>`
    /// becomes the file under the served root.
    pub(crate) fn stored_location(&self, location: &str) -> std::result::Result<String, ApiError> {
        let Some(rest) = location.strip_prefix("mlflow-artifacts:") else {
            return Ok(location.to_owned());
        };
        let root = self.artifact_root.as_ref().ok_or_else(|| {
            ApiError::invalid(format!(
                "artifact_location {location:?} needs a server that serves artifacts \
                 (--serve-artifacts)"
            ))
        })?;
        let rel = artifact_path::relative_path(rest.trim_start_matches('/'))?;
        Ok(format!("file://{}", root.join(rel).display()))
    }
}

/// A search query with a message's `max_results`, `page_token` and
/// `order_by` applied (runs and experiments take them alike).
macro_rules! paged {
    ($query:expr, $message:expr) => {{
        let mut query = $query;
        if let Some($crate::api::message::Int(n)) = $message.max_results {
            query = query.max_results($crate::api::experiments::max_results(n)?);
        }
        if let Some(token) = $message.page_token.clone().filter(|t| !t.is_empty()) {
            query = query.page_token(token);
        }
        for item in &$message.order_by {
            query = query.order_by(item.clone());
        }
        query
    }};
}
pub(crate) use paged;
