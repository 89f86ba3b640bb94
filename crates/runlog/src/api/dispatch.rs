//! [`Api::call`]: a request answered in process, looked up in the endpoint
//! table by method and path (matchit, the router axum is built on).

use std::cell::OnceCell;
use std::sync::OnceLock;

use crate::api::endpoints::{endpoints, Endpoint, Verb};
use crate::api::error::ApiError;
use crate::api::message::Raw;
use crate::api::Api;

/// The prefixes a path may carry (MLflow's clients', its UI's; MLflow 3's
/// `3.0` paths are all parts runlog does not have, answered 501).
const PREFIXES: [&str; 4] = [
    "/api/2.0/mlflow",
    "/ajax-api/2.0/mlflow",
    "/api/3.0/mlflow",
    "/ajax-api/3.0/mlflow",
];

/// An answer: the HTTP status a server would give, and its JSON body
/// (MLflow's `{"error_code", "message"}` for an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// 200, or the error's status.
    pub status: u16,
    /// The JSON body.
    pub body: String,
}

/// The table and its router: path to the endpoints of that path.
struct Table {
    endpoints: Vec<Endpoint>,
    router: matchit::Router<Vec<usize>>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let endpoints = endpoints();
        let mut by_path: Vec<(&'static str, Vec<usize>)> = Vec::new();
        for (i, e) in endpoints.iter().enumerate() {
            match by_path.iter_mut().find(|(p, _)| *p == e.path) {
                Some((_, ids)) => ids.push(i),
                None => by_path.push((e.path, vec![i])),
            }
        }
        let mut router = matchit::Router::new();
        for (path, ids) in by_path {
            // The table's paths are fixed and distinct (a test below
            // inserts them all): a failure is a mistake in the table.
            if let Err(e) = router.insert(path, ids) {
                panic!("the endpoint table's path {path} does not route: {e}");
            }
        }
        Table { endpoints, router }
    })
}

impl Api {
    /// Answers a request as `runlog server` would, in process: `method`
    /// (`GET`, `POST`, `PATCH`, `DELETE`), `path` (with or without
    /// `/api/2.0/mlflow`), and its message as a JSON object (a GET's too,
    /// in place of a query string). Writes are not flushed: call
    /// [`Client::flush`](crate::Client::flush) for that.
    pub fn call(&self, method: &str, path: &str, body: &[u8]) -> Answer {
        let answer = self.answer(method, path, body);
        match answer {
            Ok(text) => Answer {
                status: 200,
                body: text,
            },
            Err(e) => Answer {
                status: e.status,
                body: e.body().to_string(),
            },
        }
    }

    fn answer(&self, method: &str, path: &str, body: &[u8]) -> Result<String, ApiError> {
        let inner = PREFIXES
            .iter()
            .find_map(|p| path.strip_prefix(p).filter(|rest| rest.starts_with('/')))
            .unwrap_or(path);
        let table = table();
        let found = match table.router.at(inner) {
            Ok(found) => found,
            Err(_) => {
                return Err(match unsupported(inner.trim_start_matches('/')) {
                    Some(what) => ApiError::not_implemented(what),
                    None => ApiError::no_endpoint(method, path),
                })
            }
        };
        let verb = Verb::from_name(method);
        let endpoint = found
            .value
            .iter()
            .map(|&i| &table.endpoints[i])
            .find(|e| verb.is_some_and(|v| e.verbs.contains(&v)));
        let Some(endpoint) = endpoint else {
            let allowed: Vec<&str> = found
                .value
                .iter()
                .flat_map(|&i| table.endpoints[i].verbs.iter().map(|v| v.name()))
                .collect();
            return Err(ApiError::wrong_method(method, path, &allowed.join(", ")));
        };
        let params = found.params.iter().map(|(_, v)| v.to_owned()).collect();
        let raw = Raw::Body(body.to_vec(), OnceCell::new());
        endpoint.answer(self, params, &raw).map(|r| r.into_text())
    }
}

/// Parts of MLflow's API that runlog does not have, answered 501 rather
/// than 404 so that a client says what is missing.
pub fn unsupported(path: &str) -> Option<&'static str> {
    const PARTS: &[(&str, &str)] = &[
        ("traces", "tracing"),
        ("prompts", "prompts"),
        ("gateway", "the AI gateway"),
        ("scorers", "scorers"),
        ("datasets", "evaluation datasets"),
        ("unified-traces", "tracing"),
        ("get-online-trace-details", "tracing"),
        ("issues", "GenAI issues"),
        ("label-schemas", "label schemas"),
        ("workspaces", "workspaces"),
        ("artifacts/presigned", "presigned artifact URLs"),
    ];
    PARTS
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_of_the_table_routes() {
        let t = table();
        for e in &t.endpoints {
            let concrete = e
                .path
                .replace("{model_id}", "m-1")
                .replace("{tag_key}", "k");
            let found = t.router.at(&concrete).unwrap();
            assert!(found.value.iter().any(|&i| t.endpoints[i].path == e.path));
        }
    }
}
