//! Logging through the client: params, metrics, batches, dataset inputs,
//! metric handles for hot loops, and metric history.

use std::collections::HashMap;
use std::fmt::Display;

use crate::error::{Error, Result};
use crate::format::{DatasetInput, Record};
use crate::store::MetricHandle;
use crate::tracking::client::Client;
use crate::tracking::model::{Metric, Run};
use crate::tracking::tags::check_user_tag;
use std::borrow::Cow;

use crate::clock::wall_clock_ms;
use crate::validation::{fit_param_value, validate_key, validate_metric_timestamp, KeyKind};

/// Metrics, params and tags logged together by [`Client::log_batch`]
/// (MLflow's limits: 1000 metrics, 100 params, 100 tags, 1000 in all).
///
/// ```
/// let batch = runlog::Batch::new()
///     .metric("loss", 0.25, 3)
///     .param("lr", 0.01)
///     .tag("phase", "warmup");
/// assert_eq!(batch.metrics.len(), 1);
/// assert_eq!(batch.params[0].1, "0.01");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Metric points by key.
    pub metrics: Vec<(String, Metric)>,
    /// Params.
    pub params: Vec<(String, String)>,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a metric point timestamped now.
    pub fn metric(self, key: impl Into<String>, value: f64, step: i64) -> Batch {
        self.metric_at(key, value, step, wall_clock_ms())
    }

    /// Adds a metric point with an explicit timestamp (ms since the epoch).
    pub fn metric_at(
        mut self,
        key: impl Into<String>,
        value: f64,
        step: i64,
        timestamp: i64,
    ) -> Batch {
        self.metrics.push((
            key.into(),
            Metric {
                value,
                timestamp,
                step,
            },
        ));
        self
    }

    /// Adds a param (any `Display` value, stored as its string).
    pub fn param(mut self, key: impl Into<String>, value: impl Display) -> Batch {
        self.params.push((key.into(), value.to_string()));
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Batch {
        self.tags.push((key.into(), value.into()));
        self
    }
}

impl Client {
    /// Logs a param (any `Display` value, stored as its string). Params are
    /// write-once: the same value again is accepted (and not stored twice),
    /// another value is an error.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::builder().store(dir.path()).open()?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// client.log_param(&run_id, "lr", 0.01)?;
    /// client.log_param(&run_id, "lr", "0.01")?; // the same value
    /// assert!(client.log_param(&run_id, "lr", 0.02).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log_param(&self, run_id: &str, key: &str, value: impl Display) -> Result<()> {
        let value = value.to_string();
        validate_key(KeyKind::Param, key)?;
        let value = fit_param_value(key, &value)?;
        let logged = self.with_writable_run(run_id, |run| run.data.params.get(key).cloned())?;
        match logged {
            Some(old) if old == *value => Ok(()),
            Some(old) => Err(param_changed(run_id, key, &old, &value)),
            None => self.append(&Record::Param {
                run_id,
                key,
                value: &value,
            }),
        }
    }

    /// Logs a metric point at `step` (MLflow's `step=`), timestamped now.
    /// For hot loops, a [`metric_handle`](Client::metric_handle) skips the
    /// per-call lookups.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::builder().store(dir.path()).open()?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// for step in 0..100 {
    ///     client.log_metric(&run_id, "loss", 1.0 / (step + 1) as f64, step)?;
    /// }
    /// assert_eq!(client.get_run(&run_id)?.data.metrics["loss"].step, 99);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log_metric(&self, run_id: &str, key: &str, value: f64, step: i64) -> Result<()> {
        let now = self.writer("log_metric")?.now_ms();
        self.log_metric_at(
            run_id,
            key,
            Metric {
                value,
                timestamp: now,
                step,
            },
        )
    }

    /// Logs a metric point with an explicit timestamp (ms since the epoch).
    /// Any value is kept exactly, NaN and infinities included; steps may be
    /// negative, repeated, out of order.
    pub fn log_metric_at(&self, run_id: &str, key: &str, point: Metric) -> Result<()> {
        let writer = self.writer("log_metric")?;
        validate_key(KeyKind::Metric, key)?;
        validate_metric_timestamp(key, point.timestamp)?;
        self.with_writable_run(run_id, |_| ())?;
        Ok(writer.log_metric(run_id, key, point)?)
    }

    /// A handle that logs metric `key` of a run from a hot loop: the run and
    /// key are checked once here, each call then costs a channel send (no
    /// allocation, no hashing).
    ///
    /// ```
    /// # fn main() -> runlog::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// let client = runlog::Client::builder().store(dir.path()).open()?;
    /// let run = client.create_run("0")?;
    /// let loss = client.metric_handle(&run.info.run_id, "loss")?;
    /// for step in 0..1000 {
    ///     loss.log(1.0 / (step + 1) as f64, step)?;
    /// }
    /// assert_eq!(client.get_run(&run.info.run_id)?.data.metrics["loss"].step, 999);
    /// # Ok(()) }
    /// ```
    pub fn metric_handle(&self, run_id: &str, key: &str) -> Result<MetricHandle> {
        validate_key(KeyKind::Metric, key)?;
        self.with_writable_run(run_id, |_| ())?;
        Ok(self.writer("metric_handle")?.metric_handle(run_id, key)?)
    }

    /// Logs metrics, params and tags at once.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::builder().store(dir.path()).open()?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// use runlog::Batch;
    /// client.log_batch(&run_id, &Batch::new().metric("loss", 0.5, 1).param("seed", 7).tag("team", "cv"))?;
    /// assert_eq!(client.get_run(&run_id)?.data.params["seed"], "7");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Everything is checked before
    /// anything is written: one bad item refuses the whole batch. A batch
    /// may be of any size: MLflow's per-request limits (1,000 metrics, 100
    /// params, 100 tags) are its REST API's, which its client meets by
    /// splitting a larger call, as [`validate_batch_limits`] checks for one
    /// request. A param key twice in one batch is refused, even with equal
    /// values, as in MLflow.
    ///
    /// [`validate_batch_limits`]: crate::validation::validate_batch_limits
    pub fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
        self.log_batch_of(run_id, &batch.metrics, &batch.params, &batch.tags)
    }

    /// [`log_batch`](Client::log_batch) of its parts, the points' keys
    /// of any string type: the server's `log-batch` passes keys borrowed
    /// from the request's body, without a copy of each.
    pub(crate) fn log_batch_of<K: AsRef<str>>(
        &self,
        run_id: &str,
        metrics: &[(K, Metric)],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<()> {
        let mut checked: Option<&str> = None;
        for (key, m) in metrics {
            let key = key.as_ref();
            // A batch is often one key's history: check each key once a run.
            if checked != Some(key) {
                validate_key(KeyKind::Metric, key)?;
                checked = Some(key);
            }
            validate_metric_timestamp(key, m.timestamp)?;
        }
        // Values as stored: cut to MLflow's limits, or refused.
        let params = params
            .iter()
            .map(|(key, value)| {
                validate_key(KeyKind::Param, key)?;
                Ok((key.as_str(), fit_param_value(key, value)?))
            })
            .collect::<Result<Vec<_>>>()?;
        let tags = tags
            .iter()
            .map(|(key, value)| Ok((key.as_str(), check_user_tag(key, value)?)))
            .collect::<Result<Vec<_>>>()?;
        let writer = self.writer("log_batch")?;
        let new_params = self.with_writable_run(run_id, |run| new_params(run, &params))??;
        for (key, value) in new_params {
            self.append(&Record::Param { run_id, key, value })?;
        }
        for (key, value) in &tags {
            self.append_tag(run_id, key, value)?;
        }
        // From a key's second point in a row on, its points go through a
        // handle: no series lookup under the store's lock.
        let mut last: Option<&str> = None;
        let mut handle: Option<MetricHandle> = None;
        for (key, m) in metrics {
            let key = key.as_ref();
            if last != Some(key) {
                writer.log_metric(run_id, key, *m)?;
                last = Some(key);
                handle = None;
                continue;
            }
            let h = match &handle {
                Some(h) => h,
                None => handle.insert(writer.metric_handle(run_id, key)?),
            };
            h.log_at(*m)?;
        }
        Ok(())
    }

    /// Records datasets a run used (each with its input tags, such as
    /// `mlflow.data.context`). A dataset input logged twice is kept once.
    pub fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        for input in inputs {
            check_dataset(input)?;
        }
        self.with_writable_run(run_id, |_| ())?;
        for input in inputs {
            let borrowed = DatasetInput {
                name: input.name.as_str(),
                digest: input.digest.as_str(),
                source_type: input.source_type.as_str(),
                source: input.source.as_str(),
                schema: input.schema.as_deref(),
                profile: input.profile.as_deref(),
                tags: input
                    .tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect(),
            };
            self.append(&Record::LogInput {
                run_id,
                input: Box::new(borrowed),
            })?;
        }
        Ok(())
    }
}

/// The params of a batch that the run does not have yet; an error when one
/// changes a logged value or two in the batch disagree.
fn new_params<'b>(
    run: &Run,
    params: &'b [(&'b str, Cow<'b, str>)],
) -> Result<Vec<(&'b str, &'b str)>> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let mut fresh = Vec::new();
    for (key, value) in params {
        let (key, value) = (*key, value.as_ref());
        if let Some(old) = seen.insert(key, value) {
            return Err(Error::InvalidArgument(format!(
                "the batch logs param '{key}' twice ('{old}' and '{value}'): a param key may \
                 appear once in a batch"
            )));
        }
        match run.data.params.get(key) {
            Some(old) if old == value => {}
            Some(old) => return Err(param_changed(&run.info.run_id, key, old, value)),
            None => fresh.push((key, value)),
        }
    }
    Ok(fresh)
}

/// MLflow's INVALID_PARAMETER_VALUE for a param logged again with another
/// value.
fn param_changed(run_id: &str, key: &str, old: &str, new: &str) -> Error {
    Error::InvalidArgument(format!(
        "changing param values is not allowed: param '{key}' of run {run_id} was logged with \
         value '{old}'; attempted to log '{new}'"
    ))
}

fn check_dataset(input: &DatasetInput) -> Result<()> {
    for (what, value) in [
        ("name", &input.name),
        ("digest", &input.digest),
        ("source type", &input.source_type),
    ] {
        if value.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "a dataset input needs a {what}"
            )));
        }
    }
    for (key, value) in &input.tags {
        validate_key(KeyKind::Tag, key)?;
        crate::validation::validate_tag_value(key, value)?;
    }
    Ok(())
}
