//! Logged models through the client (MLflow 3's `create_logged_model`,
//! `finalize_logged_model`, `search_logged_models`, ...), and the links
//! between runs and models: outputs, model inputs, and metrics about a
//! model.

use std::cmp::Ordering;

use crate::clock::wall_clock_ms;
use crate::error::{Error, Result};
use crate::format::{ModelStatus, Record};
use crate::tracking::client::{Client, Fresh};
use crate::tracking::filter::eval::model_matches;
use crate::tracking::filter::{parse_order_by, Entity, ModelFilter};
use crate::tracking::model::{LifecycleStage, Metric};
use crate::tracking::model::{LoggedModel, ModelOutput};
use crate::tracking::search::{check_max_results, page, parse_token, Page};

/// The folder of an experiment's location that holds its models, as in
/// MLflow: `<location>/models/<model_id>/artifacts`.
pub const MODELS_DIR: &str = "models";

/// Most models in one page of [`Client::search_logged_models`] when the
/// query does not say (MLflow's default).
pub const DEFAULT_MODELS_PAGE: usize = 100;

/// What [`Client::create_logged_model`] creates.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use runlog::{Client, NewLoggedModel, ModelStatus};
/// let client = Client::builder().store(dir.path()).open()?;
/// let model = client.create_logged_model(NewLoggedModel::new("0").name("forest").param("n", "100"))?;
/// assert!(model.model_id.starts_with("m-"));
/// let ready = client.finalize_logged_model(&model.model_id, ModelStatus::Ready)?;
/// assert_eq!(ready.params["n"], "100");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLoggedModel {
    pub(crate) experiment_id: String,
    pub(crate) name: Option<String>,
    pub(crate) source_run_id: Option<String>,
    pub(crate) model_type: Option<String>,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) params: Vec<(String, String)>,
}

impl NewLoggedModel {
    /// A model of this experiment, with a generated name.
    pub fn new(experiment_id: impl Into<String>) -> NewLoggedModel {
        NewLoggedModel {
            experiment_id: experiment_id.into(),
            ..NewLoggedModel::default()
        }
    }

    /// Its name.
    pub fn name(mut self, name: impl Into<String>) -> NewLoggedModel {
        self.name = Some(name.into());
        self
    }

    /// The run that made it.
    pub fn source_run_id(mut self, run_id: impl Into<String>) -> NewLoggedModel {
        self.source_run_id = Some(run_id.into());
        self
    }

    /// A free-form type.
    pub fn model_type(mut self, model_type: impl Into<String>) -> NewLoggedModel {
        self.model_type = Some(model_type.into());
        self
    }

    /// With a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> NewLoggedModel {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// With a param.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> NewLoggedModel {
        self.params.push((key.into(), value.into()));
        self
    }
}

/// A metric point about a logged model, as MLflow 3's clients log it (a
/// `log-batch` metric with `model_id`, and optionally the dataset).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPoint {
    /// Metric key.
    pub key: String,
    /// The point.
    pub metric: Metric,
    /// The model it is about.
    pub model_id: String,
    /// The dataset it was measured on.
    pub dataset_name: Option<String>,
    /// That dataset's digest.
    pub dataset_digest: Option<String>,
}

/// A dataset a model search restricts metrics to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetFilter {
    /// Its name (required).
    pub name: String,
    /// Its digest, when only that version counts.
    pub digest: Option<String>,
}

/// One `order_by` item of a model search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelOrder {
    /// An attribute (`creation_timestamp`, `name`, ...) or `metrics.<key>`.
    pub field: String,
    /// Ascending (MLflow's default) or not.
    pub ascending: bool,
    /// For a metric: only its points on this dataset.
    pub dataset: Option<DatasetFilter>,
}

/// A logged-model search (MLflow's `search_logged_models`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchModels {
    /// Experiments to search (at least one).
    pub experiment_ids: Vec<String>,
    /// MLflow's filter for models ([`ModelFilter`]).
    pub filter: String,
    /// Metrics in the filter count only on these datasets.
    pub datasets: Vec<DatasetFilter>,
    /// Order; creation time (newest first), then id, breaks ties.
    pub order_by: Vec<ModelOrder>,
    /// Page size (default 100).
    pub max_results: Option<usize>,
    /// A previous page's `next_page_token`.
    pub page_token: Option<String>,
}

impl Client {
    /// Creates a logged model (PENDING until
    /// [`finalize_logged_model`](Client::finalize_logged_model)); its
    /// artifacts go under `<experiment location>/models/<model_id>/artifacts`.
    pub fn create_logged_model(&self, new: NewLoggedModel) -> Result<LoggedModel> {
        if let Some(name) = &new.name {
            check_model_name(name)?;
        }
        for (key, value) in &new.params {
            crate::validation::validate_key(crate::validation::KeyKind::Param, key)?;
            crate::validation::validate_param_value(key, value)?;
        }
        for (key, value) in &new.tags {
            crate::validation::validate_key(crate::validation::KeyKind::Tag, key)?;
            crate::validation::validate_tag_value(key, value)?;
        }
        let experiment = self.get_experiment(&new.experiment_id)?;
        if experiment.lifecycle_stage == LifecycleStage::Deleted {
            return Err(Error::InvalidArgument(format!(
                "The experiment {} must be in the 'active' state. Current state is deleted.",
                new.experiment_id
            )));
        }
        let model_id = format!("m-{}", crate::identity::new_run_id()?);
        let name = match new.name {
            Some(name) => name,
            None => crate::identity::random_run_name()?,
        };
        let location = self.recorded_location(&format!(
            "{}/{MODELS_DIR}/{model_id}/artifacts",
            experiment.artifact_location.trim_end_matches('/')
        ));
        // One record: a crash leaves the model whole or not at all.
        self.append_model(&Record::CreateLoggedModel {
            model_id: &model_id,
            experiment_id: &new.experiment_id,
            name: &name,
            artifact_location: &location,
            model_type: new.model_type.as_deref(),
            source_run_id: new.source_run_id.as_deref(),
            creation_time: wall_clock_ms(),
            params: borrowed(&new.params),
            tags: borrowed(&new.tags),
        })?;
        self.get_logged_model(&model_id)
    }

    /// The logged model with this id (not a deleted one), as the log has
    /// it now (another process may have made or changed it).
    pub fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        self.check_models_reachable()?;
        let view = self.view(Fresh::Now)?;
        match view.state.models().get(model_id) {
            Some(m) if m.lifecycle_stage == LifecycleStage::Active => Ok(m.clone()),
            _ => Err(model_not_found(model_id)),
        }
    }

    /// Sets a logged model's status (READY once its artifacts are complete).
    pub fn finalize_logged_model(
        &self,
        model_id: &str,
        status: ModelStatus,
    ) -> Result<LoggedModel> {
        self.existing_model(model_id)?;
        self.append_model(&Record::FinalizeLoggedModel {
            model_id,
            status,
            time: wall_clock_ms(),
        })?;
        self.get_logged_model(model_id)
    }

    /// Moves a logged model to the deleted stage.
    pub fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        self.existing_model(model_id)?;
        self.append_model(&Record::DeleteLoggedModel {
            model_id,
            time: wall_clock_ms(),
        })
    }

    /// Sets tags of a logged model (a key given twice keeps its last value).
    pub fn set_logged_model_tags(&self, model_id: &str, tags: &[(&str, &str)]) -> Result<()> {
        self.existing_model(model_id)?;
        for (key, value) in tags {
            crate::validation::validate_key(crate::validation::KeyKind::Tag, key)?;
            crate::validation::validate_tag_value(key, value)?;
        }
        for (key, value) in tags {
            self.append_model(&Record::SetLoggedModelTag {
                model_id,
                key,
                value,
            })?;
        }
        Ok(())
    }

    /// Removes a tag of a logged model; an absent tag is an error, as in
    /// MLflow.
    pub fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        let model = self.existing_model(model_id)?;
        if !model.tags.contains_key(key) {
            return Err(Error::NotFound(format!(
                "No tag with key {key:?} found for model with ID {model_id:?}."
            )));
        }
        self.append_model(&Record::DeleteLoggedModelTag { model_id, key })
    }

    /// Logs params of a logged model.
    pub fn log_logged_model_params(&self, model_id: &str, params: &[(&str, &str)]) -> Result<()> {
        self.existing_model(model_id)?;
        for (key, value) in params {
            crate::validation::validate_key(crate::validation::KeyKind::Param, key)?;
            crate::validation::validate_param_value(key, value)?;
        }
        for (key, value) in params {
            self.append_model(&Record::LoggedModelParam {
                model_id,
                key,
                value,
            })?;
        }
        Ok(())
    }

    /// Records models a run produced (MLflow's `log_outputs`).
    pub fn log_outputs(&self, run_id: &str, outputs: &[ModelOutput]) -> Result<()> {
        self.with_writable_run(run_id, |_| ())?;
        for output in outputs {
            self.append_model(&Record::LogModelOutput {
                run_id,
                model_id: &output.model_id,
                step: output.step,
            })?;
        }
        Ok(())
    }

    /// Records models a run used (the `models` of MLflow's `log_inputs`).
    pub fn log_model_inputs(&self, run_id: &str, model_ids: &[&str]) -> Result<()> {
        self.with_writable_run(run_id, |_| ())?;
        for model_id in model_ids {
            self.append_model(&Record::LogModelInput { run_id, model_id })?;
        }
        Ok(())
    }

    /// Records metric points about logged models, logged by a run (the
    /// run's own points are logged apart, as any point): what MLflow's
    /// `log_batch` does with a metric that names a `model_id`. Points about
    /// a model this store does not have are left out, as MLflow's store
    /// leaves them (their run's points are kept); so is a point the model
    /// already has from this run (same key, step and timestamp: MLflow's
    /// SQL store keeps one row per such key, the first), which makes
    /// sending a point again harmless. The check is one hash lookup per
    /// point, however many points the model has.
    pub fn log_model_metrics(&self, run_id: &str, points: &[ModelPoint]) -> Result<()> {
        self.check_models_reachable()?;
        if points.is_empty() {
            return Ok(());
        }
        // What this client has seen first; the log as it is now only when
        // a model is not among it (another process may have made it). A
        // point the model already has by MLflow's key (metric key,
        // timestamp, step, run), or one the batch repeats, is not written:
        // the state would drop it.
        let mut new: Vec<bool> = Vec::new();
        for fresh in [Fresh::OwnWrites, Fresh::Now] {
            let view = self.view(fresh)?;
            let models = view.state.models();
            let mut known = true;
            let mut seen = std::collections::HashSet::new();
            new = points
                .iter()
                .map(|p| {
                    if models.get(&p.model_id).is_none() {
                        known = false;
                        return false;
                    }
                    let (ts, step) = (p.metric.timestamp, p.metric.step);
                    seen.insert((&p.model_id, &p.key, step, ts))
                        && !models.has_point(&p.model_id, &p.key, ts, step, run_id)
                })
                .collect();
            if known {
                break;
            }
        }
        for (p, _) in points.iter().zip(new).filter(|(_, new)| *new) {
            self.append_model(&Record::LoggedModelMetric {
                model_id: &p.model_id,
                run_id,
                key: &p.key,
                value: p.metric.value,
                timestamp: p.metric.timestamp,
                step: p.metric.step,
                dataset_name: p.dataset_name.as_deref(),
                dataset_digest: p.dataset_digest.as_deref(),
            })?;
        }
        Ok(())
    }

    /// For each point about a model, whether run `run_id` already has the
    /// same point of its key (step, timestamp and value; every NaN one
    /// value): a point logged again with its `model_id` is not added to the
    /// run a second time, as in MLflow's SQL store. One history read per
    /// key, over the steps the points span.
    pub fn run_has_points(&self, run_id: &str, points: &[ModelPoint]) -> Result<Vec<bool>> {
        let mut by_key: std::collections::BTreeMap<&str, (i64, i64)> = Default::default();
        for p in points {
            let span = by_key
                .entry(&p.key)
                .or_insert((p.metric.step, p.metric.step));
            span.0 = span.0.min(p.metric.step);
            span.1 = span.1.max(p.metric.step);
        }
        let mut present = std::collections::HashSet::new();
        for (key, (first, last)) in by_key {
            let query = crate::index::query::HistoryQuery::new().steps(first..=last);
            for m in self.metric_history(run_id, key, &query)? {
                present.insert((key, m.step, m.timestamp, same_value_bits(m.value)));
            }
        }
        Ok(points
            .iter()
            .map(|p| {
                let m = &p.metric;
                present.contains(&(
                    p.key.as_str(),
                    m.step,
                    m.timestamp,
                    same_value_bits(m.value),
                ))
            })
            .collect())
    }

    /// Active logged models of the experiments that match the filter, in
    /// the query's order, a page at a time.
    pub fn search_logged_models(&self, query: &SearchModels) -> Result<Page<LoggedModel>> {
        self.check_models_reachable()?;
        if query.experiment_ids.is_empty() {
            return Err(Error::InvalidArgument(
                "search_logged_models needs at least one experiment id".into(),
            ));
        }
        if query.datasets.iter().any(|d| d.name.is_empty()) {
            return Err(Error::InvalidArgument(
                "`dataset_name` in the `datasets` clause must be specified.".into(),
            ));
        }
        let filter = ModelFilter::parse(&query.filter)?;
        let order = model_order(&query.order_by)?;
        let max = query.max_results.unwrap_or(DEFAULT_MODELS_PAGE);
        check_max_results(max)?;
        let offset = parse_token(query.page_token.as_deref())?;
        let view = self.view(Fresh::Now)?;
        let models = view.state.models();
        let mut found: Vec<LoggedModel> = query
            .experiment_ids
            .iter()
            .flat_map(|id| models.of_experiment(id))
            .filter(|m| m.lifecycle_stage == LifecycleStage::Active)
            .filter(|m| {
                model_matches(m, filter.clauses(), |m, key| {
                    latest_metric(m, key, &query.datasets)
                })
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| compare_models(a, b, &order));
        Ok(page(found, offset, max))
    }

    /// Notes on a logged model that a registered version was made from it:
    /// its `mlflow.modelVersions` tag, a JSON list of `{"name", "version"}`
    /// that grows by one entry per new version, written as MLflow's server
    /// writes it (Python's `json.dumps`), so that its clients read it back.
    pub fn note_model_version(&self, model_id: &str, name: &str, version: i64) -> Result<()> {
        let model = self.existing_model(model_id)?;
        let entry = serde_json::json!({"name": name, "version": version});
        let mut list: Vec<serde_json::Value> = model
            .tags
            .get(MODEL_VERSIONS_TAG)
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        if !list.contains(&entry) {
            list.push(entry);
        }
        let text = python_json(&serde_json::Value::Array(list));
        self.set_logged_model_tags(model_id, &[(MODEL_VERSIONS_TAG, &text)])
    }

    /// A model that exists and is not deleted.
    fn existing_model(&self, model_id: &str) -> Result<LoggedModel> {
        self.get_logged_model(model_id)
    }

    /// Appends a logged-model record (format version 5; the writer marked
    /// the store version 6 as it opened it, so older readers refuse the
    /// store rather than read the record as damage).
    fn append_model(&self, record: &Record<&str>) -> Result<()> {
        self.check_models_reachable()?;
        self.append(record)
    }

    /// A location under the store directory recorded relative to it (so
    /// that a moved store keeps finding it), any other as given.
    fn recorded_location(&self, location: &str) -> String {
        let root = format!("file://{}/", self.store_dir().display());
        match location.strip_prefix(&root) {
            Some(rest) if crate::tracking::state::is_store_relative(rest) => rest.to_owned(),
            _ => location.to_owned(),
        }
    }
}

/// The tag listing the registered versions made from a logged model.
pub const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

/// JSON as Python's `json.dumps` writes it: `", "` and `": "` between
/// items, non-ASCII escaped as `\uXXXX`.
fn python_json(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_json).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", python_string(k), python_json(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::String(s) => python_string(s),
        other => other.to_string(),
    }
}

fn python_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for unit in serde_json::Value::from(s).to_string().chars() {
        if unit.is_ascii() {
            out.push(unit);
        } else {
            let mut buf = [0u16; 2];
            for u in unit.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// Pairs of owned strings as borrowed ones (a record's fields).
fn borrowed(list: &[(String, String)]) -> Vec<(&str, &str)> {
    list.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// MLflow's error for an unknown (or deleted) model.
fn model_not_found(model_id: &str) -> Error {
    Error::NotFound(format!("Logged model with ID '{model_id}' not found."))
}

/// MLflow's rule for a model's name: no slash or colon (they would break
/// `models:/` URIs), at most 500 characters.
fn check_model_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name.contains(':') || name.chars().count() > 500 {
        return Err(Error::InvalidArgument(format!(
            "Invalid model name ({name:?}) provided. Model name must be a non-empty string of \
             at most 500 characters and must not contain '/' or ':'."
        )));
    }
    Ok(())
}

/// A model's value of a metric: its latest point (by timestamp, then step,
/// then the first run id) among those on the given datasets (any, when
/// none is given).
fn latest_metric(m: &LoggedModel, key: &str, datasets: &[DatasetFilter]) -> Option<f64> {
    m.metrics
        .iter()
        .filter(|p| p.key == key)
        .filter(|p| datasets.is_empty() || datasets.iter().any(|d| on_dataset(p, d)))
        .max_by(|a, b| {
            (a.timestamp, a.step)
                .cmp(&(b.timestamp, b.step))
                .then_with(|| b.run_id.cmp(&a.run_id))
        })
        .map(|p| p.value)
}

fn on_dataset(p: &crate::tracking::model::ModelMetric, d: &DatasetFilter) -> bool {
    p.dataset_name.as_deref() == Some(d.name.as_str())
        && d.digest
            .as_deref()
            .is_none_or(|digest| p.dataset_digest.as_deref() == Some(digest))
}

/// An order item, checked.
#[derive(Debug)]
enum OrderKey {
    Attribute(String, bool),
    Metric(String, bool, Vec<DatasetFilter>),
}

fn model_order(items: &[ModelOrder]) -> Result<Vec<OrderKey>> {
    items
        .iter()
        .map(|item| {
            let (entity, _) = parse_order_by(&item.field)?;
            Ok(match entity {
                Entity::Metric(key) => OrderKey::Metric(
                    key,
                    item.ascending,
                    item.dataset.clone().into_iter().collect(),
                ),
                Entity::Attribute(name)
                    if crate::tracking::filter::eval::STRING_MODEL_ATTRIBUTES
                        .contains(&name.as_str())
                        || crate::tracking::filter::eval::NUMERIC_MODEL_ATTRIBUTES
                            .contains(&name.as_str()) =>
                {
                    OrderKey::Attribute(name, item.ascending)
                }
                _ => {
                    return Err(Error::InvalidArgument(format!(
                        "Invalid order by field name: {}. Only metrics and model attributes \
                         are supported.",
                        item.field
                    )))
                }
            })
        })
        .collect()
}

/// The query's order, then newest first, then by id (MLflow's tie-break);
/// a model without the ordered value comes last.
fn compare_models(a: &LoggedModel, b: &LoggedModel, order: &[OrderKey]) -> Ordering {
    for key in order {
        let o = match key {
            OrderKey::Metric(k, asc, datasets) => nulls_last(
                latest_metric(a, k, datasets),
                latest_metric(b, k, datasets),
                *asc,
                |x, y| x.total_cmp(y),
            ),
            OrderKey::Attribute(name, asc) => {
                nulls_last(attribute(a, name), attribute(b, name), *asc, Ord::cmp)
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    b.creation_timestamp
        .cmp(&a.creation_timestamp)
        .then_with(|| a.model_id.cmp(&b.model_id))
}

/// An attribute's value for ordering.
fn attribute(m: &LoggedModel, name: &str) -> Option<AttributeValue> {
    Some(match name {
        "creation_timestamp" | "creation_time" => AttributeValue::Number(m.creation_timestamp),
        "last_updated_timestamp" => AttributeValue::Number(m.last_updated_timestamp),
        "name" => AttributeValue::Text(m.name.clone()),
        "model_id" => AttributeValue::Text(m.model_id.clone()),
        "model_type" => AttributeValue::Text(m.model_type.clone()?),
        "status" => AttributeValue::Text(m.status.as_str().to_owned()),
        "source_run_id" => AttributeValue::Text(m.source_run_id.clone()?),
        _ => return None,
    })
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum AttributeValue {
    Number(i64),
    Text(String),
}

fn nulls_last<T>(
    a: Option<T>,
    b: Option<T>,
    ascending: bool,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) if ascending => cmp(&x, &y),
        (Some(x), Some(y)) => cmp(&y, &x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A value's bits for telling points apart: every NaN is one value.
fn same_value_bits(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        v.to_bits()
    }
}
