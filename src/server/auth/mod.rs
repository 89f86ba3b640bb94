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
mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::server::error::ApiError;
use crate::server::request::Fields;
use crate::server::State;
use store::{AuthStore, Resource, User};

/// A permission, by MLflow's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read.
    Read,
    /// Read and change.
    Edit,
    /// Read, change, delete and manage others' permissions.
    Manage,
    /// Read and use (MLflow 3.17's tier for gateway resources; on an
    /// experiment it reads).
    Use,
    /// Nothing.
    NoPermissions,
    /// Nothing, said explicitly (MLflow 3.17).
    Deny,
}

impl Permission {
    /// From MLflow's name (`READ`, `EDIT`, `MANAGE`, `NO_PERMISSIONS`).
    pub fn parse(name: &str) -> Option<Permission> {
        Some(match name {
            "READ" => Permission::Read,
            "EDIT" => Permission::Edit,
            "MANAGE" => Permission::Manage,
            "USE" => Permission::Use,
            "NO_PERMISSIONS" => Permission::NoPermissions,
            "DENY" => Permission::Deny,
            _ => return None,
        })
    }

    /// MLflow's name.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Read => "READ",
            Permission::Edit => "EDIT",
            Permission::Manage => "MANAGE",
            Permission::Use => "USE",
            Permission::NoPermissions => "NO_PERMISSIONS",
            Permission::Deny => "DENY",
        }
    }

    fn can_read(self) -> bool {
        !matches!(self, Permission::NoPermissions | Permission::Deny)
    }

    fn can_use(self) -> bool {
        matches!(
            self,
            Permission::Use | Permission::Edit | Permission::Manage
        )
    }

    fn can_update(self) -> bool {
        matches!(self, Permission::Edit | Permission::Manage)
    }

    fn can_manage(self) -> bool {
        self == Permission::Manage
    }

    fn allows(self, need: Need) -> bool {
        match need {
            Need::Read => self.can_read(),
            Need::Edit => self.can_update(),
            Need::Manage => self.can_manage(),
        }
    }
}

/// The sign-in settings: MLflow's `basic_auth.ini` keys.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// The users database (default `<store>/basic_auth.db`).
    pub database: Option<PathBuf>,
    /// The admin created on first start (default `admin`).
    pub admin_username: String,
    /// Its password, needed to create it on first start (there is no
    /// default, as in MLflow 3.17: at least 12 characters, never the
    /// `password1234` older MLflow versions shipped). Given when the admin
    /// exists and still has that old password, it replaces it.
    pub admin_password: Option<String>,
    /// What a user may do on an experiment nobody granted it anything on.
    pub default_permission: Permission,
}

impl Default for AuthOptions {
    fn default() -> AuthOptions {
        AuthOptions {
            database: None,
            admin_username: "admin".into(),
            admin_password: None,
            default_permission: Permission::Read,
        }
    }
}

impl AuthOptions {
    /// MLflow's defaults, overridden by the `[mlflow]` section of the INI
    /// file `$MLFLOW_AUTH_CONFIG_PATH` names (`default_permission`,
    /// `database_uri` as `sqlite:///path`, `admin_username`,
    /// `admin_password`), then by `$MLFLOW_AUTH_ADMIN_USERNAME` and
    /// `$MLFLOW_AUTH_ADMIN_PASSWORD`.
    pub fn from_env() -> Result<AuthOptions> {
        let mut options = AuthOptions::default();
        if let Some(path) = std::env::var_os("MLFLOW_AUTH_CONFIG_PATH") {
            options.read_config(Path::new(&path))?;
        }
        if let Some(name) = std::env::var("MLFLOW_AUTH_ADMIN_USERNAME")
            .ok()
            .filter(|v| !v.is_empty())
        {
            options.admin_username = name;
        }
        if let Some(password) = std::env::var("MLFLOW_AUTH_ADMIN_PASSWORD")
            .ok()
            .filter(|v| !v.is_empty())
        {
            options.admin_password = Some(password);
        }
        Ok(options)
    }

    /// The `[mlflow]` section of an INI file in MLflow's `basic_auth.ini`
    /// shape.
    fn read_config(&mut self, path: &Path) -> Result<()> {
        let options = self;
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
        let mut in_mlflow = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_mlflow = line == "[mlflow]";
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if !in_mlflow || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            let value = value.trim().to_owned();
            match key.trim() {
                "default_permission" => {
                    options.default_permission = Permission::parse(&value).ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "{}: default_permission {value:?} is not READ, EDIT, MANAGE or \
                             NO_PERMISSIONS",
                            path.display()
                        ))
                    })?;
                }
                "database_uri" => {
                    let file = value.strip_prefix("sqlite:///").ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "{}: database_uri must be sqlite:///path, not {value:?}",
                            path.display()
                        ))
                    })?;
                    options.database = Some(PathBuf::from(file));
                }
                "admin_username" => options.admin_username = value,
                "admin_password" => options.admin_password = Some(value).filter(|v| !v.is_empty()),
                _ => {}
            }
        }
        Ok(())
    }
}

/// What a request needs on its experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Edit,
    Manage,
}

/// Where a request names what it acts on.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Any signed-in user.
    Anyone,
    /// Admins only.
    Admin,
    /// `experiment_id` (`default`: when absent).
    Experiment(Need, Option<&'static str>),
    /// `experiment_name`.
    ExperimentByName(Need),
    /// Every id of `experiment_ids`.
    Experiments(Need),
    /// `run_id` (or `run_uuid`).
    Run(Need),
    /// Every id of `run_ids`.
    Runs(Need),
    /// An `mlflow-artifacts` path, whose first part is an experiment id.
    ArtifactPath(Need),
    /// A new experiment: anyone, who then manages it.
    CreateExperiment,
    /// A list of experiments, cut to what the user may read.
    ExperimentList,
}

/// The rule of an API path (`None`: not an API path; pages are `Anyone`).
fn rule(method: &Method, path: &str) -> Rule {
    use Need::*;
    use Rule::*;
    let mlflow = ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"]
        .iter()
        .find_map(|p| path.strip_prefix(p));
    if let Some(rest) = mlflow {
        return match rest {
            "experiments/create" => CreateExperiment,
            "experiments/search" => ExperimentList,
            "experiments/get" => Experiment(Read, None),
            "experiments/get-by-name" => ExperimentByName(Read),
            "experiments/update"
            | "experiments/set-experiment-tag"
            | "experiments/delete-experiment-tag" => Experiment(Edit, None),
            "experiments/delete" | "experiments/restore" => Experiment(Manage, None),
            "runs/create" => Experiment(Edit, Some("0")),
            "runs/get" | "metrics/get-history" | "artifacts/list" => Run(Read),
            "metrics/get-history-bulk-interval" => Runs(Read),
            "runs/update" | "runs/log-metric" | "runs/log-parameter" | "runs/log-batch"
            | "runs/log-inputs" | "runs/set-tag" | "runs/delete-tag" => Run(Edit),
            "runs/delete" | "runs/restore" => Run(Manage),
            "runs/search" | "logged-models/search" => Experiments(Read),
            "health" => Anyone,
            _ => Admin,
        };
    }
    if let Some(rest) = path.strip_prefix("/ajax-api/2.0/runlog/") {
        return match rest {
            "experiments" => ExperimentList,
            "series" | "follow" => Runs(Read),
            "artifacts" | "artifact" => Run(Read),
            _ => Admin,
        };
    }
    for prefix in [
        "/api/2.0/mlflow-artifacts/artifacts",
        "/ajax-api/2.0/mlflow-artifacts/artifacts",
    ] {
        if path.starts_with(prefix) {
            let need = match *method {
                Method::GET | Method::HEAD => Read,
                Method::DELETE => Manage,
                _ => Edit,
            };
            return ArtifactPath(need);
        }
    }
    if path.starts_with("/api/3.0/mlflow/server-info")
        || path.starts_with("/ajax-api/3.0/mlflow/server-info")
    {
        return Anyone;
    }
    if path.starts_with("/api/") || path.starts_with("/ajax-api/") {
        return Admin;
    }
    Anyone // the dashboard's pages
}

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
        let run = self.state()?.client.get_run(run_id)?;
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
            Rule::Anyone | Rule::CreateExperiment | Rule::ExperimentList => Ok(()),
            Rule::Admin => Err(api::forbidden()),
            Rule::Experiment(need, default) => {
                let id = match (f.opt_string("experiment_id")?, default) {
                    (Some(id), _) => id,
                    (None, Some(id)) => id,
                    (None, None) => return Err(crate::server::request::missing("experiment_id")),
                };
                self.require(user, id, need)
            }
            Rule::ExperimentByName(need) => {
                let name = f.string("experiment_name")?;
                let e = self.state()?.client.get_experiment_by_name(name)?;
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
                    p => crate::server::request::percent_decode(p)?,
                };
                let first = path.split('/').next().unwrap_or("");
                let known = !first.is_empty() && self.state()?.client.get_experiment(first).is_ok();
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

    /// Leaves out of an answer's `experiments` those `user` may not read.
    fn filter_experiments(
        &self,
        user: &User,
        answer: &mut Value,
    ) -> std::result::Result<(), ApiError> {
        if user.is_admin {
            return Ok(());
        }
        if let Some(Value::Array(list)) = answer.get_mut("experiments") {
            let mut kept = Vec::with_capacity(list.len());
            for e in list.drain(..) {
                let id = e["experiment_id"].as_str().unwrap_or("");
                if self
                    .permission_of(user, Resource::Experiment, id)?
                    .can_read()
                {
                    kept.push(e);
                }
            }
            *list = kept;
        }
        Ok(())
    }
}

/// 401 with the header that makes a browser ask for a password.
fn unauthenticated() -> Response {
    let mut response = ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "UNAUTHENTICATED",
        message: "You are not signed in: send a user name and password (MLFLOW_TRACKING_USERNAME \
                  and MLFLOW_TRACKING_PASSWORD) or a token (MLFLOW_TRACKING_TOKEN)"
            .into(),
    }
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"runlog\", charset=\"UTF-8\""),
    );
    response
}

/// The sign-in middleware (see the module's documentation).
pub(crate) async fn check(
    AxumState(auth): AxumState<Arc<Auth>>,
    request: Request,
    next: Next,
) -> Response {
    match checked(auth, request, next).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn checked(
    auth: Arc<Auth>,
    request: Request,
    next: Next,
) -> std::result::Result<Response, ApiError> {
    let path = request.uri().path().to_owned();
    if matches!(path.as_str(), "/health" | "/version") {
        return Ok(next.run(request).await);
    }
    let credentials = request.headers().get(header::AUTHORIZATION).cloned();
    let known = credentials
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| auth.known(v));
    let user = match known {
        Some(user) => Some(user),
        None => {
            // A password to hash or a token to look up: off the runtime.
            let a = Arc::clone(&auth);
            crate::server::blocking(move || a.authenticate(credentials.as_ref())).await?
        }
    };
    let Some(user) = user else {
        return Ok(unauthenticated());
    };
    let method = request.method().clone();
    let auth_rest = [
        "/api/2.0/mlflow/",
        "/ajax-api/2.0/mlflow/",
        "/api/3.0/mlflow/",
        "/ajax-api/3.0/mlflow/",
        "/api/2.0/runlog/",
        "/ajax-api/2.0/runlog/",
    ]
    .iter()
    .find_map(|p| path.strip_prefix(p))
    .filter(|rest| api::is_auth_endpoint(rest))
    .map(str::to_owned);
    let rule = rule(&method, &path);
    if auth_rest.is_none() && user.is_admin && !matches!(rule, Rule::CreateExperiment) {
        return Ok(next.run(request).await); // admins may do anything
    }
    let needs_fields = auth_rest.is_some()
        || !matches!(
            rule,
            Rule::Anyone | Rule::Admin | Rule::CreateExperiment | Rule::ExperimentList
        );
    let (request, fields) = if needs_fields {
        fields_of(&auth, request, auth_rest.is_some()).await?
    } else {
        (request, Fields::default())
    };
    if let Some(rest) = auth_rest {
        let a = Arc::clone(&auth);
        let answer =
            crate::server::blocking(move || api::handle(&a, &user, &method, &rest, &fields))
                .await?;
        return Ok(axum::Json(answer).into_response());
    }
    let artifact = [
        "/api/2.0/mlflow-artifacts/artifacts",
        "/ajax-api/2.0/mlflow-artifacts/artifacts",
    ]
    .iter()
    .find_map(|p| path.strip_prefix(p))
    .unwrap_or("")
    .to_owned();
    let trivial = matches!(
        rule,
        Rule::Anyone | Rule::CreateExperiment | Rule::ExperimentList
    );
    if !trivial {
        match auth.authorize_from_memory(&user, rule, &fields) {
            Some(verdict) => verdict?,
            None => {
                // It may read the users database or the store: off the
                // runtime.
                let (a, u) = (Arc::clone(&auth), user.clone());
                crate::server::blocking(move || a.authorize(&u, rule, &fields, &artifact)).await?;
            }
        }
    }
    let response = next.run(request).await;
    match rule {
        Rule::CreateExperiment => after_create(auth, &user, response).await,
        Rule::ExperimentList if !user.is_admin => {
            rewrite_json(response, move |answer| {
                auth.filter_experiments(&user, answer)
            })
            .await
        }
        _ => Ok(response),
    }
}

/// The request's fields (query, or JSON body read and put back).
async fn fields_of(
    auth: &Auth,
    request: Request,
    whole: bool,
) -> std::result::Result<(Request, Fields), ApiError> {
    if request.method() == Method::GET
        || request.method() == Method::HEAD
        || request.method() == Method::DELETE && request.uri().query().is_some()
    {
        let f = Fields::from_query(request.uri().query().unwrap_or(""))?;
        return Ok((request, f));
    }
    let limit = auth.state()?.max_request_bytes;
    let (parts, body) = request.into_parts();
    if parts.uri.path().contains("/mlflow-artifacts/") {
        // An upload's bytes are the artifact, not fields.
        let f = Fields::from_query(parts.uri.query().unwrap_or(""))?;
        return Ok((Request::from_parts(parts, body), f));
    }
    let bytes = match crate::server::read_body(body, limit).await {
        Ok(bytes) => bytes,
        Err(crate::server::BodyError::TooLarge) => {
            return Err(ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "BAD_REQUEST",
                message: format!(
                    "the request body is larger than {limit} bytes (--max-request-bytes)"
                ),
            })
        }
        Err(crate::server::BodyError::CutShort) => {
            return Err(ApiError::bad_request(
                "the request body was cut short (the client stopped sending)",
            ))
        }
    };
    let f = match whole {
        true => Fields::from_body(&bytes)?,
        false => targets(&bytes)?,
    };
    Ok((Request::from_parts(parts, Body::from(bytes)), f))
}

/// The fields a permission check reads, and only those: a `log-batch` of
/// a thousand points is skimmed, not built into a tree.
fn targets(body: &[u8]) -> std::result::Result<Fields, ApiError> {
    #[derive(serde::Deserialize, Default)]
    struct Targets {
        experiment_id: Option<Value>,
        experiment_ids: Option<Value>,
        experiment_name: Option<Value>,
        run_id: Option<Value>,
        run_uuid: Option<Value>,
        run_ids: Option<Value>,
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields::default());
    }
    let t: Targets = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?;
    let pairs = [
        ("experiment_id", t.experiment_id),
        ("experiment_ids", t.experiment_ids),
        ("experiment_name", t.experiment_name),
        ("run_id", t.run_id),
        ("run_uuid", t.run_uuid),
        ("run_ids", t.run_ids),
    ];
    Ok(Fields::from_pairs(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))),
    ))
}

/// After a user created an experiment: it manages it.
async fn after_create(
    auth: Arc<Auth>,
    user: &User,
    response: Response,
) -> std::result::Result<Response, ApiError> {
    let user = user.clone();
    rewrite_json(response, move |answer| {
        if let Some(id) = answer["experiment_id"].as_str() {
            auth.store
                .grant(Resource::Experiment, id, user.id, Permission::Manage, false)
                .or_else(|_| {
                    auth.store
                        .grant(Resource::Experiment, id, user.id, Permission::Manage, true)
                })?;
        }
        Ok(())
    })
    .await
}

/// A successful JSON answer, changed by `f`; any other as it is.
async fn rewrite_json(
    response: Response,
    f: impl FnOnce(&mut Value) -> std::result::Result<(), ApiError> + Send + 'static,
) -> std::result::Result<Response, ApiError> {
    if response.status() != StatusCode::OK {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::internal(format!("reading an answer: {e}")))?;
    let mut answer: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::internal(format!("an answer is not JSON: {e}")))?;
    let answer = crate::server::blocking(move || {
        f(&mut answer)?;
        Ok(answer)
    })
    .await?;
    let mut response = axum::Json(answer).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_LENGTH {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_deny_what_they_do_not_know() {
        assert!(matches!(
            rule(&Method::POST, "/api/2.0/mlflow/runs/log-batch"),
            Rule::Run(Need::Edit)
        ));
        assert!(matches!(
            rule(&Method::POST, "/api/2.0/mlflow/registered-models/create"),
            Rule::Admin
        ));
        assert!(matches!(
            rule(&Method::GET, "/api/2.0/mlflow/new-thing"),
            Rule::Admin
        ));
        assert!(matches!(rule(&Method::GET, "/"), Rule::Anyone));
        assert!(matches!(
            rule(&Method::PUT, "/api/2.0/mlflow-artifacts/artifacts/1/x"),
            Rule::ArtifactPath(Need::Edit)
        ));
        assert!(matches!(
            rule(&Method::GET, "/ajax-api/2.0/runlog/follow"),
            Rule::Runs(Need::Read)
        ));
    }

    #[test]
    fn permissions() {
        assert!(Permission::Read.allows(Need::Read) && !Permission::Read.allows(Need::Edit));
        assert!(Permission::Edit.allows(Need::Edit) && !Permission::Edit.allows(Need::Manage));
        assert!(Permission::Manage.allows(Need::Manage));
        assert!(!Permission::NoPermissions.allows(Need::Read));
        assert!(Permission::Use.allows(Need::Read) && !Permission::Use.allows(Need::Edit));
        assert!(!Permission::Deny.allows(Need::Read));
        for p in ["READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS", "DENY"] {
            assert_eq!(Permission::parse(p).unwrap().name(), p);
        }
    }
}
