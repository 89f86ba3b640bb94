//! Sign-in and permissions (`runlog server --app-name basic-auth`), as
//! MLflow's basic-auth app has them, so MLflow's clients work unchanged:
//! they send `MLFLOW_TRACKING_USERNAME`/`PASSWORD` as HTTP Basic
//! credentials, or `MLFLOW_TRACKING_TOKEN` as a bearer token, and
//! `mlflow.server.get_app_client("basic-auth", uri)` manages users and
//! permissions through the endpoints of `api.rs`.
//!
//! Every request but `/health` and `/version` must be signed in (401 with
//! `WWW-Authenticate: Basic`, so a browser asks). Admins may do anything;
//! another user gets, per experiment, the permission granted to it or else
//! the default one (`READ` unless configured), and the creator of an
//! experiment gets `MANAGE` on it:
//!
//! | permission | read | log, update | delete, restore, manage permissions |
//! | --- | --- | --- | --- |
//! | `READ` | yes | no | no |
//! | `EDIT` | yes | yes | no |
//! | `MANAGE` | yes | yes | yes |
//! | `USE` (MLflow 3.17) | yes | no | no |
//! | `NO_PERMISSIONS`, `DENY` | no | no | no |
//!
//! Experiment lists (`experiments/search`, the dashboard's) leave out what
//! the user may not read; a request naming an experiment or a run it may
//! not use is a 403. An endpoint this module does not know is for admins
//! only, so a new endpoint is never open by mistake.

mod api;
mod layer;
mod options;
mod permission;
mod rules;
mod store;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::HeaderValue;
use base64::Engine;
use serde_json::Value;

use crate::State;
pub(crate) use layer::check;
pub use options::AuthOptions;
pub(crate) use permission::Need;
pub use permission::Permission;
use rules::Rule;
use runlog::api::error::ApiError;
use runlog::api::request::Fields;
use runlog::{Error, Result};
use store::{AuthStore, Resource, User};

/// Sign-in's state: the users database, and caches that keep a request
/// from hashing a password or reading a run more than once.
pub(crate) struct Auth {
    store: AuthStore,
    default_permission: Permission,
    /// `Authorization` header values already verified -> their user.
    verified: Mutex<HashMap<String, User>>,
    /// Run id -> its experiment id (runs never move).
    run_experiment: Mutex<HashMap<String, String>>,
    state: OnceLock<Arc<State>>,
}

/// Who signed a request in, for an endpoint that checks permissions
/// itself: GraphQL, whose root fields each need what their REST endpoint
/// needs. The sign-in layer puts it in the request's extensions.
#[derive(Clone)]
pub(crate) struct SignedIn {
    auth: Arc<Auth>,
    user: User,
}

impl SignedIn {
    /// Whether the user may call MLflow's REST endpoint `rest`
    /// (`runs/get`) with the message `input` (blocking).
    pub(crate) fn allow(&self, rest: &str, input: &Value) -> std::result::Result<(), ApiError> {
        if self.user.is_admin {
            return Ok(());
        }
        let path = format!("/ajax-api/2.0/mlflow/{rest}");
        let rule = rules::rule(&axum::http::Method::GET, &path);
        let body = serde_json::to_vec(input).map_err(|e| ApiError::invalid(e.to_string()))?;
        let fields = layer::targets(&body)?;
        self.auth.authorize(&self.user, rule, &fields, "")
    }

    /// Leaves out of a list of registered models or versions those the user
    /// may not read.
    pub(crate) fn keep_readable_versions(
        &self,
        answer: &mut Value,
    ) -> std::result::Result<(), ApiError> {
        if self.user.is_admin {
            return Ok(());
        }
        self.auth.filter_registered(&self.user, answer)
    }
}

/// The admin password older MLflow versions shipped: never accepted for
/// an admin, as in MLflow 3.17.
const LEGACY_ADMIN_PASSWORD: &str = "password1234";

/// Most verified credentials kept; the cache is emptied past it.
const MAX_VERIFIED: usize = 4096;

impl Auth {
    /// Opens the users database (creating the admin on first start).
    pub(crate) fn open(options: &AuthOptions, store_dir: &Path) -> Result<Auth> {
        let path = options
            .database
            .clone()
            .unwrap_or_else(|| store_dir.join("basic_auth.db"));
        let store = AuthStore::open(&path)?;
        let fail =
            |e: ApiError| Error::InvalidArgument(format!("{}: {}", path.display(), e.message));
        let admin = &options.admin_username;
        let bootstrap = |password: Option<&String>| -> Result<String> {
            let password = password.ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "sign-in needs a password to create the admin user {admin:?}: set \
                     MLFLOW_AUTH_ADMIN_PASSWORD (or admin_password in the file \
                     $MLFLOW_AUTH_CONFIG_PATH names); there is no default"
                ))
            })?;
            if password == LEGACY_ADMIN_PASSWORD {
                return Err(Error::InvalidArgument(format!(
                    "refusing {LEGACY_ADMIN_PASSWORD:?}, the default password older MLflow \
                     versions shipped, for the admin user {admin:?}: set another in \
                     MLFLOW_AUTH_ADMIN_PASSWORD"
                )));
            }
            store::check_password(password).map_err(|e| {
                Error::InvalidArgument(format!(
                    "the password of the admin user {admin:?} (MLFLOW_AUTH_ADMIN_PASSWORD): {}",
                    e.message
                ))
            })?;
            Ok(password.clone())
        };
        match store.user(admin).map_err(fail)? {
            None => {
                let password = bootstrap(options.admin_password.as_ref())?;
                store.create_user(admin, &password, true).map_err(fail)?;
            }
            Some(user)
                if options.admin_password.is_some()
                    && AuthStore::password_matches(&user, LEGACY_ADMIN_PASSWORD) =>
            {
                // The way out of the old default that needs no admin login.
                let password = bootstrap(options.admin_password.as_ref())?;
                store.set_password(admin, &password).map_err(fail)?;
            }
            Some(_) => {}
        }
        Ok(Auth {
            store,
            default_permission: options.default_permission,
            verified: Mutex::new(HashMap::new()),
            run_experiment: Mutex::new(HashMap::new()),
            state: OnceLock::new(),
        })
    }

    /// Gives it the server's state (to find runs' experiments).
    pub(crate) fn attach(&self, state: Arc<State>) {
        let _ = self.state.set(state);
    }

    /// Forgets verified credentials (a password, admin flag, token or user
    /// changed).
    fn forget_credentials(&self) {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// The user an `Authorization` header signs in, if any.
    fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> std::result::Result<Option<User>, ApiError> {
        let Some(value) = authorization.and_then(|v| v.to_str().ok()) else {
            return Ok(None);
        };
        if let Some(user) = self.known(value) {
            return Ok(Some(user));
        }
        let user = if let Some(token) = value.strip_prefix("Bearer ") {
            self.store.token_user(token.trim())?
        } else if let Some(encoded) = value.strip_prefix("Basic ") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some((name, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return Ok(None);
            };
            self.store.user(name)?.filter(|u| {
                AuthStore::password_matches(u, password)
                    && !(u.is_admin && password == LEGACY_ADMIN_PASSWORD)
            })
        } else {
            None
        };
        if let Some(user) = &user {
            let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
            verified.insert(value.to_owned(), user.clone());
        }
        Ok(user)
    }

    /// The user of an `Authorization` value verified before (no hashing,
    /// no database: what most requests take).
    fn known(&self, authorization: &str) -> Option<User> {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(authorization)
            .cloned()
    }

    /// A user's permission on a resource: granted, else the default.
    fn permission_of(
        &self,
        user: &User,
        resource: Resource,
        key: &str,
    ) -> std::result::Result<Permission, ApiError> {
        if user.is_admin {
            return Ok(Permission::Manage);
        }
        Ok(self
            .store
            .permission(resource, key, user.id)?
            .unwrap_or(self.default_permission))
    }

    fn state(&self) -> std::result::Result<&Arc<State>, ApiError> {
        self.state
            .get()
            .ok_or_else(|| ApiError::internal("sign-in is not attached to a server"))
    }

    /// The experiment of a run.
    fn experiment_of_run(&self, run_id: &str) -> std::result::Result<String, ApiError> {
        if let Some(id) = self
            .run_experiment
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(run_id)
        {
            return Ok(id.clone());
        }
        let run = self.state()?.api.client().get_run(run_id)?;
        let id = run.info.experiment_id.clone();
        self.run_experiment
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(run_id.to_owned(), id.clone());
        Ok(id)
    }

    /// Whether `user` may do `need` on experiment `id`; a 403 if not.
    fn require(&self, user: &User, id: &str, need: Need) -> std::result::Result<(), ApiError> {
        if self
            .permission_of(user, Resource::Experiment, id)?
            .allows(need)
        {
            Ok(())
        } else {
            Err(api::forbidden())
        }
    }

    /// Checks a request by its rule and fields (blocking: it may read the
    /// store and the users database).
    fn authorize(
        &self,
        user: &User,
        rule: Rule,
        f: &Fields,
        artifact: &str,
    ) -> std::result::Result<(), ApiError> {
        match rule {
            Rule::Anyone
            | Rule::CreateExperiment
            | Rule::ExperimentList
            | Rule::CreateRegisteredModel
            | Rule::RegisteredModelList
            | Rule::LoggedModelList => Ok(()),
            Rule::Admin => Err(api::forbidden()),
            Rule::LoggedModel(need) => {
                // The model's id is the path's part after `logged-models/`.
                let id = artifact.split('/').next().unwrap_or("");
                match self.state()?.api.client().get_logged_model(id) {
                    Ok(model) => self.require(user, &model.experiment_id, need),
                    Err(_) => Ok(()), // the handler answers 404
                }
            }
            Rule::RegisteredModel(need) => {
                let name = f.string("name")?;
                match self
                    .permission_of(user, Resource::RegisteredModel, name)?
                    .allows(need)
                {
                    true => Ok(()),
                    false => Err(api::forbidden()),
                }
            }
            Rule::Experiment(need, default) => {
                let id = match (f.opt_string("experiment_id")?, default) {
                    (Some(id), _) => id,
                    (None, Some(id)) => id,
                    (None, None) => return Err(runlog::api::request::missing("experiment_id")),
                };
                self.require(user, id, need)
            }
            Rule::ExperimentByName(need) => {
                let name = f.string("experiment_name")?;
                let e = self.state()?.api.client().get_experiment_by_name(name)?;
                match e {
                    Some(e) => self.require(user, &e.experiment_id, need),
                    None => Ok(()), // the handler answers 404
                }
            }
            Rule::Experiments(need) => {
                for id in f.strings("experiment_ids")? {
                    self.require(user, &id, need)?;
                }
                Ok(())
            }
            Rule::Run(need) => {
                let id = self.experiment_of_run(f.run_id()?)?;
                self.require(user, &id, need)
            }
            Rule::Runs(need) => {
                for run in f.strings("run_ids")? {
                    let id = self.experiment_of_run(&run)?;
                    self.require(user, &id, need)?;
                }
                Ok(())
            }
            Rule::ArtifactPath(need) => {
                let path = match artifact.trim_start_matches('/') {
                    "" => f.opt_string("path")?.unwrap_or("").to_owned(),
                    p => runlog::api::request::percent_decode(p)?,
                };
                let first = path.split('/').next().unwrap_or("");
                let known =
                    !first.is_empty() && self.state()?.api.client().get_experiment(first).is_ok();
                if !known {
                    return match user.is_admin {
                        true => Ok(()),
                        false => Err(api::forbidden()),
                    };
                }
                self.require(user, first, need)
            }
        }
    }

    /// [`authorize`](Auth::authorize) for a request about one run or one
    /// experiment whose answers are all in memory already (the run's
    /// experiment, the user's permission on it): what a training loop's
    /// stream of log calls takes, with no thread hop. `None` when
    /// something must be read.
    fn authorize_from_memory(
        &self,
        user: &User,
        rule: Rule,
        f: &Fields,
    ) -> Option<std::result::Result<(), ApiError>> {
        let (experiment, need) = match rule {
            Rule::Run(need) => {
                let run = f.run_id().ok()?;
                let id = self
                    .run_experiment
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(run)?
                    .clone();
                (id, need)
            }
            Rule::Experiment(need, _) => (f.opt_string("experiment_id").ok()??.to_owned(), need),
            _ => return None,
        };
        let permission = self
            .store
            .cached_permission(Resource::Experiment, &experiment, user.id)?
            .unwrap_or(self.default_permission);
        Some(match permission.allows(need) {
            true => Ok(()),
            false => Err(api::forbidden()),
        })
    }

    /// Leaves out of an answer's `registered_models` or `model_versions`
    /// those `user` may not read.
    fn filter_registered(
        &self,
        user: &User,
        answer: &mut Value,
    ) -> std::result::Result<(), ApiError> {
        for field in ["registered_models", "model_versions"] {
            self.keep_readable(user, answer, field, Resource::RegisteredModel, "/name")?;
        }
        Ok(())
    }

    /// Leaves out of an answer's `experiments` those `user` may not read.
    fn filter_experiments(
        &self,
        user: &User,
        answer: &mut Value,
    ) -> std::result::Result<(), ApiError> {
        let r = Resource::Experiment;
        self.keep_readable(user, answer, "experiments", r, "/experiment_id")
    }

    /// Leaves out of an answer's `models` (logged models) those of
    /// experiments `user` may not read, as MLflow's server does.
    fn filter_logged_models(
        &self,
        user: &User,
        answer: &mut Value,
    ) -> std::result::Result<(), ApiError> {
        let r = Resource::Experiment;
        self.keep_readable(user, answer, "models", r, "/info/experiment_id")
    }

    /// Leaves out of the list `field` of an answer the items whose
    /// `resource` (named at the JSON pointer `key` of each) `user` may not
    /// read; admins read everything.
    fn keep_readable(
        &self,
        user: &User,
        answer: &mut Value,
        field: &str,
        resource: Resource,
        key: &str,
    ) -> std::result::Result<(), ApiError> {
        if user.is_admin {
            return Ok(());
        }
        if let Some(Value::Array(list)) = answer.get_mut(field) {
            let mut kept = Vec::with_capacity(list.len());
            for item in list.drain(..) {
                let name = item.pointer(key).and_then(Value::as_str).unwrap_or("");
                if self.permission_of(user, resource, name)?.can_read() {
                    kept.push(item);
                }
            }
            *list = kept;
        }
        Ok(())
    }
}
