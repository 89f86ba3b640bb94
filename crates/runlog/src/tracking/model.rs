//! MLflow's tracking entities, as the tracking state materialises them from
//! the log: experiments, runs (info, data, inputs, outputs), metric points,
//! and MLflow 3's logged models.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::format::{DatasetInput, RunStatus};

/// A metric value in JSON as MLflow's REST API writes it: a number, or the
/// strings `"NaN"`, `"Infinity"` and `"-Infinity"` (JSON has no
/// non-finite numbers). The one mapping runlog's JSON uses everywhere.
///
/// ```
/// let m = runlog::Metric { value: f64::NAN, timestamp: 1, step: 2 };
/// let text = serde_json::to_string(&m).unwrap();
/// assert_eq!(text, r#"{"value":"NaN","timestamp":1,"step":2}"#);
/// let back: runlog::Metric = serde_json::from_str(&text).unwrap();
/// assert!(back.value.is_nan());
/// ```
pub mod json_number {
    use serde::{Deserialize, Deserializer, Serializer};

    /// MLflow's name of a non-finite value; `None` for a finite one.
    pub fn non_finite_name(v: f64) -> Option<&'static str> {
        if v.is_nan() {
            Some("NaN")
        } else if v == f64::INFINITY {
            Some("Infinity")
        } else if v == f64::NEG_INFINITY {
            Some("-Infinity")
        } else {
            None
        }
    }

    /// The value a non-finite name stands for: MLflow's `"NaN"`,
    /// `"Infinity"`, `"-Infinity"`, or Python's `str()` of them (`"nan"`,
    /// `"inf"`, `"-inf"`); `None` for any other text.
    pub fn from_name(name: &str) -> Option<f64> {
        match name {
            "NaN" | "nan" => Some(f64::NAN),
            "Infinity" | "inf" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        }
    }

    /// Serializes a number, or MLflow's string for a non-finite one.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        match non_finite_name(*v) {
            Some(name) => s.serialize_str(name),
            None => s.serialize_f64(*v),
        }
    }

    /// Reads a number, or one of MLflow's strings for non-finite values.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(f64),
            Text(String),
        }
        match Either::deserialize(d)? {
            Either::Number(v) => Ok(v),
            Either::Text(t) => from_name(&t).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "a metric value is a number, \"NaN\", \"Infinity\" or \"-Infinity\", \
                     not {t:?}"
                ))
            }),
        }
    }
}

/// Whether an experiment or a run is live or in the trash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    /// Live.
    Active,
    /// Deleted (restorable).
    Deleted,
}

/// Which experiments or runs a listing includes (MLflow's `ViewType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ViewType {
    /// Only active ones (the default).
    #[default]
    ActiveOnly,
    /// Only deleted ones.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// Whether an entity in `stage` is in this view.
    pub fn includes(self, stage: LifecycleStage) -> bool {
        match self {
            ViewType::ActiveOnly => stage == LifecycleStage::Active,
            ViewType::DeletedOnly => stage == LifecycleStage::Deleted,
            ViewType::All => true,
        }
    }
}

/// An experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experiment {
    /// Decimal id; `"0"` is the default experiment.
    pub experiment_id: String,
    /// Unique name.
    pub name: String,
    /// Where its runs' artifacts go.
    pub artifact_location: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Creation time, ms since the epoch.
    pub creation_time: i64,
    /// Time of the last change, ms since the epoch.
    pub last_update_time: i64,
    /// Experiment tags.
    pub tags: BTreeMap<String, String>,
}

pub use crate::format::Metric;

/// [`Metric`] in JSON: MLflow's field names, non-finite values as strings.
#[derive(Serialize, Deserialize)]
#[serde(rename = "Metric")]
struct MetricJson {
    #[serde(with = "json_number")]
    value: f64,
    timestamp: i64,
    step: i64,
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Metric {
            value,
            timestamp,
            step,
        } = *self;
        MetricJson {
            value,
            timestamp,
            step,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Metric, D::Error> {
        let MetricJson {
            value,
            timestamp,
            step,
        } = MetricJson::deserialize(d)?;
        Ok(Metric {
            value,
            timestamp,
            step,
        })
    }
}

/// A run's metadata (MLflow's `RunInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// 32 hex digits.
    pub run_id: String,
    /// The run's name (also tag `mlflow.runName`).
    pub run_name: String,
    /// Its experiment.
    pub experiment_id: String,
    /// Who ran it.
    pub user_id: String,
    /// Its status.
    pub status: RunStatus,
    /// Start time, ms since the epoch.
    pub start_time: i64,
    /// End time, once it ended.
    pub end_time: Option<i64>,
    /// Where its artifacts go: `<experiment artifact location>/<run id>/artifacts`.
    pub artifact_uri: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
}

/// A run's logged data (MLflow's `RunData`): the latest value of each metric,
/// params and tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Latest value per key, by [`Metric::is_later_than`].
    pub metrics: BTreeMap<String, Metric>,
    /// Params (write-once).
    pub params: BTreeMap<String, String>,
    /// Tags (last write wins).
    pub tags: BTreeMap<String, String>,
}

/// A run: info, data and dataset inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Latest metrics, params, tags.
    pub data: RunData,
    /// Datasets the run used, in the order they were logged.
    pub inputs: Vec<DatasetInput>,
    /// Logged models the run used (MLflow's model inputs), by id.
    #[serde(default)]
    pub model_inputs: Vec<String>,
    /// Logged models the run produced (MLflow's run outputs).
    #[serde(default)]
    pub outputs: Vec<crate::tracking::ModelOutput>,
}

/// A dataset as a run's input (MLflow's `Dataset`): what it is called, a
/// digest of its content, where it came from, and optionally its schema
/// and profile (JSON documents, kept as strings).
///
/// ```
/// let data = runlog::Dataset::new("wine-quality", "3f2a91c0", "local", r#"{"uri": "data/wine.csv"}"#)
///     .with_schema(r#"{"columns": ["alcohol", "quality"]}"#);
/// assert_eq!(data.name, "wine-quality");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// Dataset name.
    pub name: String,
    /// Digest of the content (any stable hash).
    pub digest: String,
    /// Kind of source (`"local"`, `"http"`, `"s3"`, ...).
    pub source_type: String,
    /// Where the data came from (a JSON document in MLflow).
    pub source: String,
    /// Schema (a JSON document), if known.
    pub schema: Option<String>,
    /// Profile (a JSON document: row counts, ...), if known.
    pub profile: Option<String>,
}

impl Dataset {
    /// A dataset without schema or profile.
    pub fn new(
        name: impl Into<String>,
        digest: impl Into<String>,
        source_type: impl Into<String>,
        source: impl Into<String>,
    ) -> Dataset {
        Dataset {
            name: name.into(),
            digest: digest.into(),
            source_type: source_type.into(),
            source: source.into(),
            schema: None,
            profile: None,
        }
    }

    /// With a schema.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Dataset {
        self.schema = Some(schema.into());
        self
    }

    /// With a profile.
    pub fn with_profile(mut self, profile: impl Into<String>) -> Dataset {
        self.profile = Some(profile.into());
        self
    }

    /// This dataset as a run input with its context (`"training"`,
    /// `"validation"`, ...: input tag `mlflow.data.context`) and input tags.
    pub fn as_input(&self, context: Option<&str>, tags: &[(&str, &str)]) -> DatasetInput {
        let mut input_tags: Vec<(String, String)> = Vec::new();
        if let Some(context) = context {
            input_tags.push((TAG_DATASET_CONTEXT.to_owned(), context.to_owned()));
        }
        input_tags.extend(tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        DatasetInput {
            name: self.name.clone(),
            digest: self.digest.clone(),
            source_type: self.source_type.clone(),
            source: self.source.clone(),
            schema: self.schema.clone(),
            profile: self.profile.clone(),
            tags: input_tags,
        }
    }
}

/// Input tag naming the role of a dataset in a run (`training`, ...).
pub const TAG_DATASET_CONTEXT: &str = "mlflow.data.context";

/// A model a run produced, at a step (MLflow's `LoggedModelOutput`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// The model's id (`m-...`).
    pub model_id: String,
    /// The step at which the run produced it.
    pub step: i64,
}

/// A metric point about a logged model (MLflow's `Metric` with its
/// `model_id`, and the dataset it was measured on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetric {
    /// Metric key.
    pub key: String,
    /// Value.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Step.
    pub step: i64,
    /// The run that logged it.
    pub run_id: String,
    /// The dataset it was measured on, if any.
    pub dataset_name: Option<String>,
    /// That dataset's digest, if any.
    pub dataset_digest: Option<String>,
}

/// A logged model (MLflow 3's `LoggedModel`): a model's artifacts, params,
/// tags and metrics, made by a run or on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedModel {
    /// `m-` and 32 hex digits, as MLflow makes them.
    pub model_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Its name (generated when none is given, as a run's).
    pub name: String,
    /// Where its artifacts live: `<experiment location>/models/<id>/artifacts`.
    pub artifact_location: String,
    /// Milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// The last change of its status or lifecycle.
    pub last_updated_timestamp: i64,
    /// A free-form type (`"Agent"`, ...), if given.
    pub model_type: Option<String>,
    /// The run that made it, if any.
    pub source_run_id: Option<String>,
    /// PENDING until finalized.
    pub status: crate::format::ModelStatus,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Tags (last write wins).
    pub tags: BTreeMap<String, String>,
    /// Params (the first value of a key stands).
    pub params: BTreeMap<String, String>,
    /// Metric points, in log order.
    pub metrics: Vec<ModelMetric>,
}

impl LoggedModel {
    /// `models:/<model_id>`: how MLflow's clients name it.
    pub fn model_uri(&self) -> String {
        format!("models:/{}", self.model_id)
    }
}

impl RunStatus {
    /// Whether a run in this status has not ended (`RUNNING`, `SCHEDULED`).
    pub fn is_running(self) -> bool {
        matches!(self, RunStatus::Running | RunStatus::Scheduled)
    }
}
