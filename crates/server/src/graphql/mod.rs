//! `POST /graphql`: the GraphQL queries MLflow's web UI sends (an
//! experiment's header, a run's page, the runs table, sampled metric
//! histories), answered as MLflow's server answers them.
//!
//! A query is parsed by `graphql-parser`, checked against [`schema`]
//! (unknown fields, depth, size, root fields and aliases, with MLflow's
//! limits) and then run: each root field calls the REST endpoint it
//! mirrors with its `input` (keys in snake case), and the REST answer is
//! cut to the fields the query selects, in camel case, int64s as text.
//! A root field that fails answers null and its message goes to `errors`
//! (a list of texts, as MLflow's server writes it); a query that does not
//! parse or check answers `{"data": null, "errors": [...]}`.
//!
//! With sign-in, each root field needs what its REST endpoint needs, and
//! the registered versions it lists are cut to those the user may read.

mod check;
mod project;
mod schema;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State as AxumState;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use graphql_parser::query::{
    Definition, Document, Field, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
    TypeCondition, Value as GqlValue,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::SignedIn;
use crate::extract::{ErrorResponse, RawMsg};
use crate::{blocking, State};
use check::{nesting, MAX_DEPTH, MAX_NESTING};
use runlog::api::error::ApiError;
use runlog::api::{experiments, metrics, registry, runs};
use schema::Object;

type Text = String;
type Doc<'a> = Document<'a, Text>;
type Set<'a> = SelectionSet<'a, Text>;

/// A GraphQL request, by POST body or GET query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GraphqlRequest {
    query: Option<String>,
    /// An object, or (in a query string) its JSON text.
    variables: Option<Value>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
}

/// `POST /graphql` (and GET).
pub(crate) async fn endpoint(
    AxumState(state): AxumState<Arc<State>>,
    signed_in: Option<Extension<SignedIn>>,
    RawMsg(raw): RawMsg,
) -> Response {
    let signed_in = signed_in.map(|Extension(s)| s);
    let answer = blocking(move || {
        let request: GraphqlRequest = raw.parse()?;
        Ok(execute(&state, signed_in.as_ref(), request))
    })
    .await;
    match answer {
        Ok(answer) => axum::Json(answer).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The answer to one request: `{"data": ..., "errors": [...] or null}`.
pub(crate) fn execute(state: &State, signed_in: Option<&SignedIn>, r: GraphqlRequest) -> Value {
    let refused = |message: String| json!({"data": null, "errors": [message]});
    let Some(query) = r.query.filter(|q| !q.trim().is_empty()) else {
        return refused("Must provide query string.".into());
    };
    let variables = match r.variables {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(Value::String(text)) if text.trim().is_empty() => Map::new(),
        Some(Value::String(text)) => match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => map,
            _ => return refused("Variables are invalid JSON.".into()),
        },
        Some(_) => return refused("Variables must be an object.".into()),
    };
    if nesting(&query) > MAX_NESTING {
        return refused(format!("Query exceeds maximum depth of {MAX_DEPTH}"));
    }
    let document: Doc = match graphql_parser::parse_query::<Text>(&query) {
        Ok(d) => d,
        Err(e) => return refused(format!("Syntax Error: {}", e.to_string().trim())),
    };
    let mut run = Execution {
        state,
        signed_in,
        variables,
        fragments: HashMap::new(),
        errors: Vec::new(),
        experiments: HashMap::new(),
    };
    for d in &document.definitions {
        if let Definition::Fragment(f) = d {
            run.fragments.insert(f.name.as_str(), f);
        }
    }
    let (root, selection) = match operation(&document, r.operation_name.as_deref()) {
        Ok(op) => op,
        Err(message) => return refused(message),
    };
    if let Err(message) = run.check(root, selection) {
        return refused(message);
    }
    let data = run.root(root, selection);
    let errors = (!run.errors.is_empty()).then_some(run.errors);
    json!({"data": data, "errors": errors})
}

/// Which root an operation reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Query,
    Mutation,
}

impl Root {
    fn name(self) -> &'static str {
        match self {
            Root::Query => "Query",
            Root::Mutation => "Mutation",
        }
    }
}

/// The operation to run: the one named, or the only one.
fn operation<'d, 'a>(
    document: &'d Doc<'a>,
    name: Option<&str>,
) -> Result<(Root, &'d Set<'a>), String> {
    let operations: Vec<_> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Operation(o) => Some(o),
            Definition::Fragment(_) => None,
        })
        .collect();
    let named = |o: &&OperationDefinition<'a, Text>| {
        let own = match o {
            OperationDefinition::Query(q) => q.name.as_deref(),
            OperationDefinition::Mutation(m) => m.name.as_deref(),
            OperationDefinition::Subscription(s) => s.name.as_deref(),
            OperationDefinition::SelectionSet(_) => None,
        };
        name.is_none() || own == name
    };
    let chosen: Vec<_> = operations.into_iter().filter(named).collect();
    let op = match (chosen.as_slice(), name) {
        ([one], _) => *one,
        ([], Some(n)) => return Err(format!("Unknown operation named '{n}'.")),
        ([], None) => return Err("Must provide an operation.".into()),
        (_, _) => {
            return Err("Must provide operation name if query contains multiple operations.".into())
        }
    };
    match op {
        OperationDefinition::Query(q) => Ok((Root::Query, &q.selection_set)),
        OperationDefinition::SelectionSet(s) => Ok((Root::Query, s)),
        OperationDefinition::Mutation(m) => Ok((Root::Mutation, &m.selection_set)),
        OperationDefinition::Subscription(_) => {
            Err("Schema is not configured to execute subscription operation.".into())
        }
    }
}

/// The root fields of each root type: the object they answer.
fn root_type(root: Root, name: &str) -> Option<&'static Object> {
    use schema::*;
    Some(match (root, name) {
        (Root::Query, "mlflowGetExperiment") => &GET_EXPERIMENT,
        (Root::Query, "mlflowGetRun") => &GET_RUN,
        (Root::Query, "mlflowGetMetricHistoryBulkInterval") => &HISTORY_BULK_INTERVAL,
        (Root::Query, "mlflowListArtifacts") => &LIST_ARTIFACTS,
        (Root::Query, "mlflowSearchModelVersions") => &SEARCH_MODEL_VERSIONS,
        (_, "mlflowSearchRuns") => &SEARCH_RUNS,
        (Root::Mutation, "mlflowSearchDatasets") => &SEARCH_DATASETS,
        (Root::Query, "test") => &ECHO,
        (Root::Mutation, "testMutation") => &ECHO_MUTATION,
        _ => return None,
    })
}

/// One request's run: its variables, fragments, the errors of its fields,
/// and the experiments already read (a page of runs shares a few).
struct Execution<'r, 'a> {
    state: &'r State,
    signed_in: Option<&'r SignedIn>,
    variables: Map<String, Value>,
    fragments: HashMap<&'r str, &'r FragmentDefinition<'a, Text>>,
    errors: Vec<String>,
    experiments: HashMap<String, Value>,
}

impl<'r, 'a: 'r> Execution<'r, 'a> {
    /// The fields of a selection set on a type, fragments spread in.
    fn fields(&self, set: &'r Set<'a>, on: &str) -> Vec<&'r Field<'a, Text>> {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        self.collect(set, on, &mut out, &mut seen);
        out
    }

    fn collect(
        &self,
        set: &'r Set<'a>,
        on: &str,
        out: &mut Vec<&'r Field<'a, Text>>,
        seen: &mut Vec<&'r str>,
    ) {
        for item in &set.items {
            match item {
                Selection::Field(f) => out.push(f),
                Selection::InlineFragment(i) => {
                    let applies = match &i.type_condition {
                        None => true,
                        Some(TypeCondition::On(t)) => t == on,
                    };
                    if applies {
                        self.collect(&i.selection_set, on, out, seen);
                    }
                }
                Selection::FragmentSpread(s) => {
                    let name = s.fragment_name.as_str();
                    if seen.contains(&name) {
                        continue; // a cycle
                    }
                    let Some(fragment) = self.fragments.get(name) else {
                        continue; // refused by `check`
                    };
                    seen.push(name);
                    let TypeCondition::On(t) = &fragment.type_condition;
                    if t == on {
                        self.collect(&fragment.selection_set, on, out, seen);
                    }
                }
            }
        }
    }

    /// The root fields' answers; a failed one answers null and notes its
    /// error.
    fn root(&mut self, root: Root, set: &'r Set<'a>) -> Value {
        let mut data = Map::new();
        for f in self.fields(set, root.name()) {
            let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
            if f.name == "__typename" {
                data.insert(key, Value::from(root.name()));
                continue;
            }
            let Some(ty) = root_type(root, &f.name) else {
                continue; // refused by `check`
            };
            let value = match self.resolve(f) {
                Ok(answer) => self.project(&answer, ty, &f.selection_set),
                Err(e) => {
                    self.errors.push(e.message);
                    Value::Null
                }
            };
            data.insert(key, value);
        }
        Value::Object(data)
    }

    /// A root field's REST answer.
    fn resolve(&mut self, f: &Field<'a, Text>) -> Result<Value, ApiError> {
        let mut input = Value::Object(Map::new());
        for (name, value) in &f.arguments {
            let value = self.argument(value)?;
            match name.as_str() {
                "input" => input = snake_keys(value),
                "inputString" => input = json!({"output": value}),
                other => {
                    return Err(ApiError::invalid(format!(
                        "Unknown argument '{other}' on field '{}'.",
                        f.name
                    )))
                }
            }
        }
        let s = self.state;
        match f.name.as_str() {
            "test" | "testMutation" => Ok(input),
            "mlflowGetExperiment" => {
                self.allow("experiments/get", &input)?;
                experiments::get(&s.api, message(input)?)
            }
            "mlflowGetRun" => {
                self.allow("runs/get", &input)?;
                let mut answer = runs::get(&s.api, message(input)?)?;
                self.add_run_extensions(&mut answer)?;
                Ok(answer)
            }
            "mlflowSearchRuns" => {
                self.allow("runs/search", &input)?;
                let mut answer = runs::search(&s.api, message(input)?)?;
                self.add_run_extensions(&mut answer)?;
                Ok(answer)
            }
            "mlflowListArtifacts" => {
                self.allow("artifacts/list", &input)?;
                runs::list_artifacts(&s.api, message(input)?)
            }
            "mlflowGetMetricHistoryBulkInterval" => {
                self.allow("metrics/get-history-bulk-interval", &input)?;
                metrics::history_bulk_interval(&s.api, message(input)?)
            }
            "mlflowSearchModelVersions" => {
                self.allow("model-versions/search", &input)?;
                let mut answer = registry::search_versions(&s.api, message(input)?)?;
                if let Some(user) = self.signed_in {
                    user.keep_readable_versions(&mut answer)?;
                }
                Ok(answer)
            }
            "mlflowSearchDatasets" => {
                self.allow("experiments/search-datasets", &input)?;
                experiments::search_datasets(&s.api, message(input)?)
            }
            other => Err(ApiError::invalid(format!("Cannot query field '{other}'."))),
        }
    }

    /// With sign-in: what the REST endpoint `rest` would need.
    fn allow(&self, rest: &str, input: &Value) -> Result<(), ApiError> {
        match self.signed_in {
            Some(user) => user.allow(rest, input),
            None => Ok(()),
        }
    }

    /// Each run of a `runs/get` or `runs/search` answer gets its
    /// experiment and the registered versions made from it, under the
    /// keys [`From::RunExperiment`] and [`From::RunModelVersions`] read.
    fn add_run_extensions(&mut self, answer: &mut Value) -> Result<(), ApiError> {
        let runs: Vec<&mut Value> = match answer {
            Value::Object(m) if m.contains_key("run") => m.get_mut("run").into_iter().collect(),
            Value::Object(m) => match m.get_mut("runs") {
                Some(Value::Array(runs)) => runs.iter_mut().collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        for run in runs {
            let id = run["info"]["experiment_id"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let run_id = run["info"]["run_id"].as_str().unwrap_or("").to_owned();
            if !self.experiments.contains_key(&id) {
                let found =
                    experiments::get(&self.state.api, message(json!({"experiment_id": id}))?)
                        .map(|mut a| a["experiment"].take())
                        .unwrap_or(Value::Null);
                self.experiments.insert(id.clone(), found);
            }
            run[EXPERIMENT_KEY] = self.experiments[&id].clone();
            let filter = format!("run_id = '{}'", run_id.replace('\'', ""));
            let mut versions =
                registry::search_versions(&self.state.api, message(json!({"filter": filter}))?)?;
            if let Some(user) = self.signed_in {
                user.keep_readable_versions(&mut versions)?;
            }
            run[VERSIONS_KEY] = versions["model_versions"].take();
        }
        Ok(())
    }

    /// A GraphQL argument as JSON, its variables given.
    fn argument(&self, v: &GqlValue<'a, Text>) -> Result<Value, ApiError> {
        Ok(match v {
            GqlValue::Variable(name) => self.variables.get(name).cloned().unwrap_or(Value::Null),
            GqlValue::Int(n) => n.as_i64().map(Value::from).unwrap_or(Value::Null),
            GqlValue::Float(x) => json!(x),
            GqlValue::String(s) => Value::from(s.as_str()),
            GqlValue::Boolean(b) => Value::from(*b),
            GqlValue::Null => Value::Null,
            GqlValue::Enum(e) => Value::from(e.as_str()),
            GqlValue::List(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.argument(i))
                    .collect::<Result<_, _>>()?,
            ),
            GqlValue::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.argument(v)?)))
                    .collect::<Result<_, ApiError>>()?,
            ),
        })
    }
}

/// A REST message from a root field's input.
fn message<T: DeserializeOwned>(input: Value) -> Result<T, ApiError> {
    serde_json::from_value(input).map_err(|e| ApiError::invalid(format!("Invalid input: {e}")))
}

/// Where a run's experiment and versions are put in its REST answer
/// (names no REST field has).
const EXPERIMENT_KEY: &str = "\u{0}experiment";
const VERSIONS_KEY: &str = "\u{0}model_versions";

/// An input object with its keys in snake case (`runIds` -> `run_ids`),
/// as the REST message names them; nested objects too.
fn snake_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (schema::snake(&k), snake_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_skips_strings_and_comments() {
        assert_eq!(nesting("{ a { b } }"), 2);
        assert_eq!(nesting("{ a(x: \"{{{{\\\"{{\") # {{{{\n { b } }"), 2);
        assert_eq!(nesting(&"{".repeat(100_000)), 100_000);
    }

    #[test]
    fn input_keys_in_snake_case() {
        let v = snake_keys(json!({"runIds": ["a"], "maxResults": 3, "startStep": 0}));
        assert_eq!(
            v,
            json!({"run_ids": ["a"], "max_results": 3, "start_step": 0})
        );
    }
}
