//! The server's routes: every endpoint on axum's [`Router`], MLflow's API
//! nested once under both of its prefixes (`/api/2.0/mlflow` for clients,
//! `/ajax-api/2.0/mlflow` for the UI), the dashboard's under
//! `/ajax-api/2.0/runlog`, the artifacts API under both
//! `.../2.0/mlflow-artifacts`.
//!
//! A tracking endpoint is a plain function from its typed message to its
//! answer ([`read`], [`write`]): the adapters read the message, run the
//! function on a blocking thread (store work may wait on an fsync) and, for
//! a write, flush the store before answering, so that a 200 survives a
//! kill.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State as AxumState};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, on, MethodFilter, MethodRouter};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::extract::{ErrorResponse, RawMsg};
use crate::{
    absent, artifacts, blocking, dashboard, downloads, drain, follow, graphql, mlflow_ui, ui,
    webhooks, State,
};
use runlog::api::error::ApiError;
use runlog::api::{Access, Endpoint, Verb};

/// What an endpoint's function answers: a JSON tree, or JSON already
/// written as text (large answers, cheaper to write directly).
pub trait Reply: Send + 'static {
    /// The HTTP answer.
    fn into_answer(self) -> Response;
}

impl Reply for Value {
    fn into_answer(self) -> Response {
        axum::Json(self).into_response()
    }
}

/// JSON written as text.
#[derive(Debug)]
pub struct JsonText(pub String);

impl Reply for JsonText {
    fn into_answer(self) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

impl Reply for runlog::api::Reply {
    fn into_answer(self) -> Response {
        match self {
            runlog::api::Reply::Json(v) => v.into_answer(),
            runlog::api::Reply::Text(t) => JsonText(t).into_answer(),
        }
    }
}

/// An endpoint's function: the shared state and its message in, its answer
/// out.
type StateEndpoint<T, R> = fn(&State, T) -> Result<R, ApiError>;

/// An endpoint that only reads, for the methods of `filter`.
fn read<T, R>(filter: MethodFilter, endpoint: StateEndpoint<T, R>) -> MethodRouter<Arc<State>>
where
    T: DeserializeOwned + Send + 'static,
    R: Reply,
{
    on(
        filter,
        move |AxumState(s): AxumState<Arc<State>>, RawMsg(raw): RawMsg| async move {
            match blocking(move || endpoint(&s, raw.parse()?)).await {
                Ok(reply) => reply.into_answer(),
                Err(e) => e.into_response(),
            }
        },
    )
}

/// An endpoint of a path with parameters (`logged-models/{model_id}`):
/// the path's parameters and the message in, its answer out.
type AtEndpoint<P, T, R> = fn(&State, P, T) -> Result<R, ApiError>;

/// The parameters of a request's path, or MLflow's error for a path that
/// does not decode.
fn path_params<P>(path: Result<Path<P>, PathRejection>) -> Result<P, ApiError> {
    path.map(|Path(p)| p)
        .map_err(|e| ApiError::invalid(format!("Invalid path: {}", e.body_text())))
}

/// An endpoint of a path with parameters that only reads.
fn read_at<P, T, R>(filter: MethodFilter, endpoint: AtEndpoint<P, T, R>) -> MethodRouter<Arc<State>>
where
    P: DeserializeOwned + Send + 'static,
    T: DeserializeOwned + Send + 'static,
    R: Reply,
{
    on(
        filter,
        move |AxumState(s): AxumState<Arc<State>>,
              path: Result<Path<P>, PathRejection>,
              RawMsg(raw): RawMsg| async move {
            let answer = match path_params(path) {
                Ok(p) => blocking(move || endpoint(&s, p, raw.parse()?)).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(reply) => reply.into_answer(),
                Err(e) => e.into_response(),
            }
        },
    )
}

/// Runs a write on a blocking thread and answers once it is on disk: a
/// 200 survives a kill.
async fn flushed<R: Reply>(
    state: Arc<State>,
    work: impl FnOnce(&State) -> Result<R, ApiError> + Send + 'static,
) -> Response {
    let answer = blocking(move || {
        let reply = work(&state)?;
        state.api.client().flush()?;
        state.followers.nudge();
        Ok(reply)
    })
    .await;
    match answer {
        Ok(reply) => reply.into_answer(),
        Err(e) => e.into_response(),
    }
}

const GET: MethodFilter = MethodFilter::GET;
const POST: MethodFilter = MethodFilter::POST;
const PATCH: MethodFilter = MethodFilter::PATCH;
const DELETE: MethodFilter = MethodFilter::DELETE;

/// MLflow's API, as nested under `2.0/mlflow`: the endpoint table of
/// [`runlog::api`] (each path's methods on one route), and what only a
/// server has (artifact uploads, the gateway's list, webhooks).
fn mlflow() -> Router<Arc<State>> {
    let mut routes: Vec<(&'static str, MethodRouter<Arc<State>>)> = Vec::new();
    for endpoint in runlog::api::endpoints() {
        let path = endpoint.path;
        let route = api_route(Arc::new(endpoint));
        match routes.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(route),
            None => routes.push((path, route)),
        }
    }
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/gateway-proxy", get(absent::gateway_endpoints))
        .route(
            "/upload-artifact",
            axum::routing::post(artifacts::upload_artifact),
        );
    for (path, route) in routes {
        router = router.route(path, route);
    }
    router
        .merge(webhook_routes())
        .method_not_allowed_fallback(wrong_method)
}

/// The axum method filter of an endpoint's methods.
fn method_filter(verbs: &[Verb]) -> MethodFilter {
    verbs
        .iter()
        .map(|v| match v {
            Verb::Get => GET,
            Verb::Post => POST,
            Verb::Patch => PATCH,
            Verb::Delete => DELETE,
        })
        .reduce(MethodFilter::or)
        .unwrap_or(GET)
}

/// One endpoint of the table on a route: its message read, its function
/// run on a blocking thread, a write answered once flushed.
fn api_route(endpoint: Arc<Endpoint>) -> MethodRouter<Arc<State>> {
    let has_params = endpoint.path.contains('{');
    on(
        method_filter(endpoint.verbs),
        move |AxumState(s): AxumState<Arc<State>>,
              path: Result<Path<Vec<(String, String)>>, PathRejection>,
              RawMsg(raw): RawMsg| async move {
            let params = match path_params(path) {
                Ok(p) => p.into_iter().map(|(_, v)| v).collect(),
                Err(e) if has_params => return e.into_response(),
                Err(_) => Vec::new(),
            };
            match endpoint.access {
                Access::Read => {
                    match blocking(move || endpoint.answer(&s.api, params, &raw)).await {
                        Ok(reply) => reply.into_answer(),
                        Err(e) => e.into_response(),
                    }
                }
                Access::Write => flushed(s, move |s| endpoint.answer(&s.api, params, &raw)).await,
            }
        },
    )
}

/// The registry's webhooks, as nested under `2.0/mlflow`. They live in
/// their own database, which commits each change itself: no endpoint here
/// waits on the store's flush, so the plain adapters serve them all.
fn webhook_routes() -> Router<Arc<State>> {
    use webhooks as w;
    Router::new()
        .route("/webhooks", read(POST, w::create).merge(read(GET, w::list)))
        .route(
            "/webhooks/{webhook_id}",
            read_at(GET, w::get)
                .merge(read_at(PATCH, w::update))
                .merge(read_at(DELETE, w::delete)),
        )
        .route("/webhooks/{webhook_id}/test", read_at(POST, w::test))
}

/// MLflow 3's API, as nested under `3.0/mlflow`: what its clients ask
/// first, and the parts runlog does not have, read as empty.
fn mlflow_v3() -> Router<Arc<State>> {
    absent::v3()
        .route("/server-info", get(server_info))
        .method_not_allowed_fallback(wrong_method)
}

/// The dashboard's own API, as nested under `ajax-api/2.0/runlog`.
fn runlog() -> Router<Arc<State>> {
    Router::new()
        .route("/experiments", read(GET, ui::experiments))
        .route("/series", read(POST, ui::series))
        .route("/artifacts", get(artifacts::run_artifacts_list))
        .route("/artifact", get(artifacts::run_artifact_file))
        .route("/follow", get(follow::follow))
        .method_not_allowed_fallback(wrong_method)
}

/// The `mlflow-artifacts` API, as nested under `2.0/mlflow-artifacts`.
fn mlflow_artifacts() -> Router<Arc<State>> {
    let file = get(artifacts::file_route)
        .put(artifacts::file_route)
        .delete(artifacts::file_route);
    Router::new()
        .route("/artifacts", get(artifacts::list_route))
        .route("/artifacts/", file.clone())
        .route("/artifacts/{*path}", file)
        .method_not_allowed_fallback(wrong_method)
}

/// Every route of the server, with its state. What wraps it (the 405
/// rewriting here, sign-in and browser safety in `Server::run_until`)
/// wraps the whole router as one service, so it sees every request with
/// its full path, before routing.
pub(crate) fn router(state: Arc<State>) -> Router {
    let mlflow = mlflow();
    let artifacts = mlflow_artifacts();
    let routes = Router::new()
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/get-artifact", get(downloads::run_file))
        .route("/model-versions/get-artifact", get(downloads::version_file))
        .route("/graphql", get(graphql::endpoint).post(graphql::endpoint))
        .nest("/api/3.0/mlflow", mlflow_v3())
        .nest("/ajax-api/3.0/mlflow", mlflow_v3())
        .nest("/api/2.0/mlflow", mlflow.clone())
        .nest("/ajax-api/2.0/mlflow", mlflow)
        .nest("/ajax-api/2.0/runlog", runlog())
        .nest("/api/2.0/mlflow-artifacts", artifacts.clone())
        .nest("/ajax-api/2.0/mlflow-artifacts", artifacts)
        .method_not_allowed_fallback(wrong_method)
        .fallback(fallback);
    // MLflow's UI at the root; runlog's dashboard under /runlog/.
    let routes = if state.mlflow_ui.is_some() {
        routes
            .route("/", get(mlflow_ui::index))
            .route("/index.html", get(mlflow_ui::index))
            .route("/static-files/{*path}", get(mlflow_ui::static_file))
            .route(
                "/runlog",
                get(|| async { axum::response::Redirect::permanent("/runlog/") }),
            )
            .route("/runlog/", get(|| async { dashboard::index() }))
    } else {
        routes
    };
    let routes = routes.with_state(state);
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(name_allowed_methods))
}

async fn health() -> &'static str {
    "OK"
}

async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// `GET /api/3.0/mlflow/server-info`: what MLflow 3's clients ask first.
async fn server_info() -> Response {
    axum::Json(json!({
        "store_type": null,
        "workspaces_enabled": false,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
    }))
    .into_response()
}

/// A path no route has: a dashboard page or asset for a GET, else 501 for
/// a part of MLflow's API runlog does not have, else 404. The body, if
/// any, is read and dropped first, so that a client still sending reads
/// the answer instead of a reset connection.
async fn fallback(method: Method, uri: Uri, body: Body) -> Response {
    drain(body).await;
    let path = uri.path();
    if method == Method::GET || method == Method::HEAD {
        if let Some(page) = dashboard::asset(path) {
            return page;
        }
    }
    if path.starts_with("/api/") || path.starts_with("/ajax-api/") {
        if let Some(what) = path
            .split("/mlflow/")
            .nth(1)
            .and_then(runlog::api::unsupported)
        {
            return ApiError::not_implemented(what).into_response();
        }
    }
    ApiError::no_endpoint(method.as_str(), path).into_response()
}

/// A known path with a method it does not take: the body is drained, the
/// answer is 405 ([`name_allowed_methods`] names the methods it takes).
async fn wrong_method(method: Method, uri: Uri, body: Body) -> Response {
    drain(body).await;
    ApiError::wrong_method(method.as_str(), uri.path(), "another method").into_response()
}

/// A 405 names the methods the path takes, from the `Allow` header the
/// router sets on it.
async fn name_allowed_methods(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if response.status() != StatusCode::METHOD_NOT_ALLOWED {
        return response;
    }
    let Some(allow) = response.headers().get(header::ALLOW).cloned() else {
        return response;
    };
    let allowed = allow
        .to_str()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty() && *m != "HEAD")
        .collect::<Vec<_>>()
        .join(" or ");
    let mut answer = ApiError::wrong_method(method.as_str(), &path, &allowed).into_response();
    answer.headers_mut().insert(header::ALLOW, allow);
    answer
}
