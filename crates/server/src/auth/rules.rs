//! Which endpoint needs what, of which experiment: the rule of each path.
//! A path this table does not know is for admins only.

use axum::http::Method;

use crate::auth::Need;

/// Where a request names what it acts on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rule {
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
    /// A logged model named by the path (`logged-models/{model_id}...`):
    /// its experiment's permission.
    LoggedModel(Need),
    /// A registered model by its `name`: its own permission.
    RegisteredModel(Need),
    /// A new registered model: anyone, who then manages it.
    CreateRegisteredModel,
    /// A list of registered models or versions, cut to what the user may
    /// read.
    RegisteredModelList,
    /// A search of logged models, cut to those of experiments the user may
    /// read (as MLflow's server does, rather than refusing the search).
    LoggedModelList,
}

/// The rule of an API path (`None`: not an API path; pages are `Anyone`).
pub(crate) fn rule(method: &Method, path: &str) -> Rule {
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
            | "runs/log-inputs" | "runs/set-tag" | "runs/delete-tag" | "runs/outputs"
            | "runs/log-model" => Run(Edit),
            // A logged model is made in an experiment: EDIT on it; the
            // calls that name one by id need its experiment's permission.
            "logged-models" => Experiment(Edit, None),
            "registered-models/create" => CreateRegisteredModel,
            "registered-models/search" | "model-versions/search" => RegisteredModelList,
            "registered-models/get"
            | "registered-models/get-latest-versions"
            | "model-versions/get"
            | "model-versions/get-download-uri" => RegisteredModel(Read),
            "registered-models/alias" if *method == Method::GET => RegisteredModel(Read),
            "registered-models/rename"
            | "registered-models/update"
            | "registered-models/set-tag"
            | "registered-models/delete-tag"
            | "registered-models/alias"
            | "model-versions/create"
            | "model-versions/update"
            | "model-versions/transition-stage"
            | "model-versions/set-tag"
            | "model-versions/delete-tag" => RegisteredModel(Edit),
            "registered-models/delete" | "model-versions/delete" => RegisteredModel(Manage),
            "runs/search" | "experiments/search-datasets" => Experiments(Read),
            "logged-models/search" => LoggedModelList,
            // A model by id (`logged-models/search` is a list, above).
            rest if rest.starts_with("logged-models/") && rest != "logged-models/search" => {
                let need = match *method {
                    Method::GET | Method::HEAD => Read,
                    Method::DELETE if rest.matches('/').count() == 1 => Manage,
                    _ => Edit,
                };
                LoggedModel(need)
            }
            "runs/delete" | "runs/restore" => Run(Manage),
            // `run_uuid` from the query; the body is the file.
            "upload-artifact" => Run(Edit),
            // The AI gateway's endpoints: none (`absent.rs`).
            "health" | "gateway-proxy" => Anyone,
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
    if path == "/model-versions/get-artifact" {
        return RegisteredModel(Read);
    }
    if path == "/get-artifact" {
        return Run(Read);
    }
    let v3 = ["/api/3.0/mlflow/", "/ajax-api/3.0/mlflow/"]
        .iter()
        .find_map(|p| path.strip_prefix(p));
    if v3.is_some_and(|rest| rest == "server-info" || crate::absent::is_absent_read(rest)) {
        return Anyone;
    }
    if path.starts_with("/api/") || path.starts_with("/ajax-api/") {
        return Admin;
    }
    if path == "/graphql" {
        // Each root field is checked as its REST endpoint (`SignedIn`).
        return Anyone;
    }
    Anyone // the dashboard's pages
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
            Rule::CreateRegisteredModel
        ));
        assert!(matches!(
            rule(&Method::DELETE, "/api/2.0/mlflow/registered-models/delete"),
            Rule::RegisteredModel(Need::Manage)
        ));
        assert!(matches!(
            rule(&Method::DELETE, "/api/2.0/mlflow/logged-models/m-1"),
            Rule::LoggedModel(Need::Manage)
        ));
        assert!(matches!(
            rule(&Method::DELETE, "/api/2.0/mlflow/logged-models/m-1/tags/k"),
            Rule::LoggedModel(Need::Edit)
        ));
        assert!(matches!(
            rule(&Method::POST, "/api/2.0/mlflow/logged-models/search"),
            Rule::LoggedModelList
        ));
        assert!(matches!(
            rule(&Method::GET, "/api/2.0/mlflow/traces/search"),
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
}
