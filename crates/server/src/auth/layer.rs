//! The sign-in middleware: who is signed in, whether the request's rule
//! allows it, and the answers it changes (a new experiment's creator
//! manages it; experiment lists are cut to what the user may read).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::auth::rules::{rule, Rule};
use crate::auth::store::{Resource, User};
use crate::auth::{api, Auth, Permission, SignedIn};
use crate::extract::ErrorResponse;
use runlog::api::error::ApiError;
use runlog::api::request::Fields;

/// 401 with the header that makes a browser ask for a password.
fn unauthenticated() -> Response {
    let mut response = ApiError {
        status: StatusCode::UNAUTHORIZED.as_u16(),
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
    // A registered model renamed or deleted (by anyone allowed, admins
    // included): its permissions follow it, or go with it, as MLflow's do.
    let path = request.uri().path().to_owned();
    let (request, moved) = match path_rest(&path) {
        Some(rest @ ("registered-models/rename" | "registered-models/delete")) => {
            let (request, f) = fields_of(&auth, request, false).await?;
            let old = f.opt_string("name")?.map(str::to_owned);
            let new = f.opt_string("new_name")?.map(str::to_owned);
            let to = (rest == "registered-models/rename")
                .then_some(new)
                .flatten();
            (request, old.map(|old| (old, to)))
        }
        _ => (request, None),
    };
    let response = checked_request(Arc::clone(&auth), request, next).await?;
    if let (Some((old, to)), StatusCode::OK) = (moved, response.status()) {
        crate::blocking(move || auth.store.move_registered_model(&old, to.as_deref())).await?;
    }
    Ok(response)
}

async fn checked_request(
    auth: Arc<Auth>,
    mut request: Request,
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
            crate::blocking(move || a.authenticate(credentials.as_ref())).await?
        }
    };
    let Some(user) = user else {
        // Read what the client is still sending, so that it reads the 401
        // instead of a reset connection.
        crate::drain(request.into_body()).await;
        return Ok(unauthenticated());
    };
    if path == "/graphql" {
        // Checked field by field by the GraphQL endpoint.
        request.extensions_mut().insert(SignedIn {
            auth: Arc::clone(&auth),
            user: user.clone(),
        });
    }
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
    if auth_rest.is_none()
        && user.is_admin
        && !matches!(rule, Rule::CreateExperiment | Rule::CreateRegisteredModel)
    {
        return Ok(next.run(request).await); // admins may do anything
    }
    let needs_fields = auth_rest.is_some()
        || !matches!(
            rule,
            Rule::Anyone
                | Rule::Admin
                | Rule::CreateExperiment
                | Rule::ExperimentList
                | Rule::CreateRegisteredModel
                | Rule::RegisteredModelList
                | Rule::LoggedModelList
        );
    let (request, fields) = if needs_fields {
        fields_of(&auth, request, auth_rest.is_some()).await?
    } else {
        (request, Fields::default())
    };
    if let Some(rest) = auth_rest {
        let a = Arc::clone(&auth);
        let answer =
            crate::blocking(move || api::handle(&a, &user, &method, &rest, &fields)).await?;
        return Ok(axum::Json(answer).into_response());
    }
    // What the path names: an artifact's path, or a logged model's id.
    let artifact = [
        "/api/2.0/mlflow-artifacts/artifacts",
        "/ajax-api/2.0/mlflow-artifacts/artifacts",
        "/api/2.0/mlflow/logged-models/",
        "/ajax-api/2.0/mlflow/logged-models/",
    ]
    .iter()
    .find_map(|p| path.strip_prefix(p))
    .unwrap_or("")
    .to_owned();
    let trivial = matches!(
        rule,
        Rule::Anyone
            | Rule::CreateExperiment
            | Rule::ExperimentList
            | Rule::CreateRegisteredModel
            | Rule::RegisteredModelList
            | Rule::LoggedModelList
    );
    if !trivial {
        let verdict = match auth.authorize_from_memory(&user, rule, &fields) {
            Some(verdict) => verdict,
            None => {
                // It may read the users database or the store: off the
                // runtime.
                let (a, u) = (Arc::clone(&auth), user.clone());
                crate::blocking(move || a.authorize(&u, rule, &fields, &artifact)).await
            }
        };
        if let Err(refused) = verdict {
            // An upload's bytes are still coming: read them first.
            crate::drain(request.into_body()).await;
            return Err(refused);
        }
    }
    let response = next.run(request).await;
    match rule {
        Rule::CreateExperiment => {
            grant_creator(
                auth,
                &user,
                response,
                Resource::Experiment,
                "/experiment_id",
            )
            .await
        }
        Rule::CreateRegisteredModel => {
            let (r, at) = (Resource::RegisteredModel, "/registered_model/name");
            grant_creator(auth, &user, response, r, at).await
        }

        Rule::LoggedModelList if !user.is_admin => {
            rewrite_json(response, move |answer| {
                auth.filter_logged_models(&user, answer)
            })
            .await
        }
        Rule::RegisteredModelList if !user.is_admin => {
            rewrite_json(response, move |answer| {
                auth.filter_registered(&user, answer)
            })
            .await
        }
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
    if parts.uri.path().contains("/mlflow-artifacts/")
        || parts.uri.path().ends_with("/mlflow/upload-artifact")
    {
        // An upload's bytes are the artifact, not fields.
        let f = Fields::from_query(parts.uri.query().unwrap_or(""))?;
        return Ok((Request::from_parts(parts, body), f));
    }
    let bytes = match crate::read_body(body, limit).await {
        Ok(bytes) => bytes,
        Err(crate::BodyError::TooLarge) => {
            return Err(ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE.as_u16(),
                code: "BAD_REQUEST",
                message: format!(
                    "the request body is larger than {limit} bytes (--max-request-bytes)"
                ),
            })
        }
        Err(crate::BodyError::CutShort) => {
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
pub(super) fn targets(body: &[u8]) -> std::result::Result<Fields, ApiError> {
    #[derive(serde::Deserialize, Default)]
    struct Targets {
        experiment_id: Option<Value>,
        experiment_ids: Option<Value>,
        experiment_name: Option<Value>,
        run_id: Option<Value>,
        run_uuid: Option<Value>,
        run_ids: Option<Value>,
        /// A registered model's, and its new one.
        name: Option<Value>,
        new_name: Option<Value>,
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
        ("name", t.name),
        ("new_name", t.new_name),
    ];
    Ok(Fields::from_pairs(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))),
    ))
}

/// After a user created an experiment (`/experiment_id` of the answer) or a
/// registered model (`/registered_model/name`): the user manages it, as in
/// MLflow.
async fn grant_creator(
    auth: Arc<Auth>,
    user: &User,
    response: Response,
    resource: Resource,
    pointer: &'static str,
) -> std::result::Result<Response, ApiError> {
    let user = user.clone();
    rewrite_json(response, move |answer| {
        if let Some(key) = answer.pointer(pointer).and_then(Value::as_str) {
            auth.store
                .grant(resource, key, user.id, Permission::Manage, false)
                .or_else(|_| {
                    auth.store
                        .grant(resource, key, user.id, Permission::Manage, true)
                })?;
        }
        Ok(())
    })
    .await
}

/// A path's part after MLflow's API prefix.
fn path_rest(path: &str) -> Option<&str> {
    ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"]
        .iter()
        .find_map(|p| path.strip_prefix(p))
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
    let answer = crate::blocking(move || {
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
