//! The parts of MLflow runlog does not have (traces, GenAI datasets,
//! scorers, the AI gateway, the assistant, UI telemetry), read as a server
//! that holds none of them answers: an empty list, or MLflow's empty
//! message `{}`. MLflow's web UI asks for them on most pages and shows an
//! error for any answer but a 200; a client that tries to *make* one still
//! gets 501 (`runlog::api::unsupported`), so nothing is accepted and dropped.

use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

/// The routes, as nested under `3.0/mlflow` (`/api` and `/ajax-api`).
pub(crate) fn v3<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let empty = || async { axum::Json(json!({})) };
    Router::new()
        // Searches and lists: nothing stored, MLflow's empty message.
        .route("/traces/search", post(empty))
        .route("/traces/metrics", post(empty))
        .route("/datasets/search", post(empty))
        .route("/scorers/list", get(empty))
        .route("/gateway/endpoints/list", get(empty))
        .route("/gateway/endpoints/bindings/list", get(empty))
        .route("/gateway/secrets/list", get(empty))
        .route("/gateway/model-definitions/list", get(empty))
        .route(
            "/gateway/secrets/config",
            get(|| async { axum::Json(gateway_secrets()) }),
        )
        .route(
            "/assistant/config",
            get(|| async { axum::Json(assistant_config()) }),
        )
        .route(
            "/assistant/providers",
            get(|| async { axum::Json(json!({"providers": []})) }),
        )
        .route(
            "/ui-telemetry",
            get(|| async { axum::Json(telemetry_config()) })
                .post(|| async { axum::Json(json!({"status": "disabled"})) }),
        )
}

/// `GET 2.0/mlflow/gateway-proxy`: the gateway's endpoints (none).
pub(crate) async fn gateway_endpoints() -> axum::Json<Value> {
    axum::Json(json!({"endpoints": []}))
}

/// No secrets store: the gateway page says so.
fn gateway_secrets() -> Value {
    json!({"secrets_available": false, "using_default_passphrase": false})
}

/// No assistant provider is set up.
fn assistant_config() -> Value {
    json!({"providers": {}, "projects": {}, "remote_access_allowed": false})
}

/// runlog sends no telemetry: the UI is told to send none.
fn telemetry_config() -> Value {
    json!({"disable_ui_events": [], "disable_ui_telemetry": true, "ui_rollout_percentage": 0})
}

/// Whether `rest` (a path under `3.0/mlflow/`) is one of these reads:
/// any signed-in user may make them (they tell nothing).
pub(crate) fn is_absent_read(rest: &str) -> bool {
    matches!(
        rest,
        "traces/search"
            | "traces/metrics"
            | "datasets/search"
            | "scorers/list"
            | "gateway/endpoints/list"
            | "gateway/endpoints/bindings/list"
            | "gateway/secrets/list"
            | "gateway/model-definitions/list"
            | "gateway/secrets/config"
            | "assistant/config"
            | "assistant/providers"
            | "ui-telemetry"
    )
}
