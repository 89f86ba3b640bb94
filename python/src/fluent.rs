//! The fluent API (`mlflow.*`) over runlog's: a process-wide tracking URI
//! and experiment, a per-thread stack of active runs (a Python thread is an
//! OS thread, so runlog's per-thread stacks are Python's), and the log
//! calls, the hot ones without allocation.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

use runlog::tracking::mlflow_json;
use runlog::{Dataset, Metric, RunStatus, StartRun};

use crate::client::Client;
use crate::errors::IntoPy;
use crate::values::{integer, metric_value, text};

/// A handle for logging one metric of the active run from a hot loop:
/// `h = runlog.metric_handle("loss"); h.log(value, step)`.
#[pyclass(frozen, module = "runlog._runlog")]
pub struct MetricHandle {
    key: String,
    handle: runlog::engine::MetricHandle,
}

#[pymethods]
impl MetricHandle {
    /// Logs `value` at `step` (default 0), timestamped now. `value`: a
    /// float, an int or anything with `__float__` (a `TypeError` else);
    /// `step`: any integer type.
    #[pyo3(signature = (value, step=None))]
    #[inline]
    fn log(&self, py: Python<'_>, value: f64, step: Option<i64>) -> PyResult<()> {
        let step = step.unwrap_or(0);
        if self.handle.try_log(value, step).py()? {
            return Ok(());
        }
        // The writer is behind: wait for it without the GIL.
        py.detach(|| self.handle.log(value, step)).py()
    }

    /// Logs `value` at `step` with a timestamp (ms since the epoch).
    fn log_at(
        &self,
        value: &Bound<'_, PyAny>,
        step: &Bound<'_, PyAny>,
        timestamp: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let point = Metric {
            value: metric_value(&self.key, value)?,
            step: integer("step", Some(step), 0)?,
            timestamp: integer("timestamp", Some(timestamp), 0)?,
        };
        self.handle.log_at(point).py()
    }

    /// The metric's key.
    #[getter]
    fn key(&self) -> &str {
        &self.key
    }
}

#[pyfunction]
fn set_tracking_uri(uri: &str) -> PyResult<()> {
    runlog::set_tracking_uri(uri).py()
}

#[pyfunction]
fn get_tracking_uri() -> String {
    runlog::get_tracking_uri()
}

/// The experiment made active, as JSON.
#[pyfunction]
#[pyo3(signature = (experiment_name=None, experiment_id=None))]
fn set_experiment(
    py: Python<'_>,
    experiment_name: Option<String>,
    experiment_id: Option<String>,
) -> PyResult<String> {
    let e = py.detach(|| match (experiment_name, experiment_id) {
        (Some(name), None) => runlog::set_experiment(&name),
        (None, Some(id)) => runlog::set_experiment_by_id(&id),
        _ => Err(runlog::Error::InvalidArgument(
            "set_experiment takes exactly one of experiment_name and experiment_id".into(),
        )),
    });
    Ok(mlflow_json::experiment(&e.py()?).to_string())
}

/// Starts a run (see `runlog.start_run`); returns its id. It stays active
/// on this thread until `end_run`.
#[pyfunction]
#[pyo3(signature = (run_id=None, experiment_id=None, run_name=None, nested=false,
                    parent_run_id=None, tags=None, description=None, log_system_metrics=None))]
#[allow(clippy::too_many_arguments, reason = "MLflow's arguments")]
fn start_run(
    py: Python<'_>,
    run_id: Option<String>,
    experiment_id: Option<String>,
    run_name: Option<String>,
    nested: bool,
    parent_run_id: Option<String>,
    tags: Option<&Bound<'_, PyDict>>,
    description: Option<String>,
    log_system_metrics: Option<bool>,
) -> PyResult<String> {
    let mut options = StartRun::new().nested(nested);
    if let Some(on) = log_system_metrics {
        options = options.log_system_metrics(on);
    }
    if let Some(v) = run_id {
        options = options.run_id(v);
    }
    if let Some(v) = experiment_id {
        options = options.experiment_id(v);
    }
    if let Some(v) = run_name {
        options = options.run_name(v);
    }
    if let Some(v) = parent_run_id {
        options = options.parent_run_id(v);
    }
    if let Some(v) = description {
        options = options.description(v);
    }
    for (k, v) in tags.into_iter().flatten() {
        options = options.tag(text(&k)?, text(&v)?);
    }
    // Detached from the interpreter, still on this thread (whose stack
    // the run joins).
    py.detach(|| runlog::start_run_with(options).map(|run| run.keep_active()))
        .py()
}

/// Ends this thread's active run (and the runs nested in it).
#[pyfunction]
#[pyo3(signature = (status="FINISHED"))]
fn end_run(py: Python<'_>, status: &str) -> PyResult<()> {
    let status = run_status(status)?;
    // Waits for the disk, and for a tracking server's acknowledgement.
    py.detach(|| runlog::end_run_with_status(status)).py()
}

pub fn run_status(name: &str) -> PyResult<RunStatus> {
    mlflow_json::status_from(name).ok_or_else(|| {
        crate::errors::to_py(runlog::Error::InvalidArgument(format!(
            "unknown run status {name:?}: RUNNING, SCHEDULED, FINISHED, FAILED or KILLED"
        )))
    })
}

/// This thread's active run as JSON, or `None`.
#[pyfunction]
fn active_run() -> PyResult<Option<String>> {
    Ok(runlog::active_run()
        .py()?
        .map(|r| mlflow_json::run(&r).to_string()))
}

/// The active run, else the run that ended last, as JSON.
#[pyfunction]
fn last_active_run() -> PyResult<Option<String>> {
    Ok(runlog::last_active_run()
        .py()?
        .map(|r| mlflow_json::run(&r).to_string()))
}

/// `mlflow.log_metric(key, value, step=None, timestamp=None, ...)`:
/// `value` a float, an int or anything with `__float__` (a `TypeError`
/// else, before anything is logged), `step` and `timestamp` any integer
/// type.
#[pyfunction]
#[pyo3(signature = (key, value, step=None, timestamp=None, synchronous=None, run_id=None))]
fn log_metric(
    py: Python<'_>,
    key: &str,
    value: f64,
    step: Option<i64>,
    timestamp: Option<i64>,
    synchronous: Option<bool>,
    run_id: Option<&str>,
) -> PyResult<()> {
    let _ = synchronous; // every call is asynchronous until flush()
    let step = step.unwrap_or(0);
    match (timestamp, run_id) {
        (None, None) => {
            if runlog::fluent::try_log_metric(key, value, step).py()? {
                return Ok(());
            }
            // The writer is behind: wait for it without the GIL, on this
            // thread (whose active run it is).
            py.detach(|| runlog::log_metric(key, value, step)).py()
        }
        (timestamp, run_id) => {
            let point = Metric {
                value,
                step,
                timestamp: timestamp.unwrap_or_else(runlog::clock::wall_clock_ms),
            };
            match run_id {
                None => runlog::log_metric_at(key, point).py(),
                Some(id) => runlog::client().py()?.log_metric_at(id, key, point).py(),
            }
        }
    }
}

/// `mlflow.log_metrics(metrics, step=None, ...)`: every value is checked
/// before any is logged.
#[pyfunction]
#[pyo3(signature = (metrics, step=None, synchronous=None, run_id=None, timestamp=None))]
fn log_metrics(
    metrics: &Bound<'_, PyDict>,
    step: Option<&Bound<'_, PyAny>>,
    synchronous: Option<bool>,
    run_id: Option<&str>,
    timestamp: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let _ = synchronous;
    let step = integer("step", step, 0)?;
    let mut pairs = Vec::with_capacity(metrics.len());
    for (k, v) in metrics.iter() {
        let key: String = k.extract()?;
        let value = metric_value(&key, &v)?;
        pairs.push((key, value));
    }
    match (timestamp.filter(|t| !t.is_none()), run_id) {
        (None, None) => runlog::log_metrics(pairs, step).py(),
        (timestamp, run_id) => {
            let ts = integer("timestamp", timestamp, runlog::clock::wall_clock_ms())?;
            let client = runlog::client().py()?;
            let id = match run_id {
                Some(id) => id.to_owned(),
                None => active_run_id()?,
            };
            let batch = pairs.into_iter().fold(runlog::Batch::new(), |b, (k, v)| {
                b.metric_at(k, v, step, ts)
            });
            client.log_batch(&id, &batch).py()
        }
    }
}

fn active_run_id() -> PyResult<String> {
    match runlog::active_run().py()? {
        Some(r) => Ok(r.info.run_id),
        None => Err(crate::errors::to_py(runlog::Error::InvalidState(
            "no active run: start one with start_run()".into(),
        ))),
    }
}

/// `mlflow.log_param(key, value)`: returns the value, as MLflow does.
#[pyfunction]
#[pyo3(signature = (key, value, synchronous=None))]
fn log_param<'py>(
    key: &str,
    value: Bound<'py, PyAny>,
    synchronous: Option<bool>,
) -> PyResult<Bound<'py, PyAny>> {
    let _ = synchronous;
    runlog::log_param(key, text(&value)?).py()?;
    Ok(value)
}

#[pyfunction]
#[pyo3(signature = (params, synchronous=None))]
fn log_params(params: &Bound<'_, PyDict>, synchronous: Option<bool>) -> PyResult<()> {
    let _ = synchronous;
    let pairs = pairs_of(params)?;
    runlog::log_params(pairs).py()
}

#[pyfunction]
#[pyo3(signature = (key, value, synchronous=None))]
fn set_tag(key: &str, value: &Bound<'_, PyAny>, synchronous: Option<bool>) -> PyResult<()> {
    let _ = synchronous;
    runlog::set_tag(key, text(value)?).py()
}

#[pyfunction]
#[pyo3(signature = (tags, synchronous=None))]
fn set_tags(tags: &Bound<'_, PyDict>, synchronous: Option<bool>) -> PyResult<()> {
    let _ = synchronous;
    runlog::set_tags(pairs_of(tags)?).py()
}

fn pairs_of(d: &Bound<'_, PyDict>) -> PyResult<Vec<(String, String)>> {
    d.iter().map(|(k, v)| Ok((text(&k)?, text(&v)?))).collect()
}

#[pyfunction]
fn delete_tag(key: &str) -> PyResult<()> {
    runlog::delete_tag(key).py()
}

#[pyfunction]
#[pyo3(signature = (local_path, artifact_path=None))]
fn log_artifact(py: Python<'_>, local_path: String, artifact_path: Option<String>) -> PyResult<()> {
    let client = runlog::client().py()?;
    let id = active_run_id()?;
    py.detach(|| client.log_artifact(&id, &local_path, artifact_path.as_deref()))
        .py()
}

#[pyfunction]
#[pyo3(signature = (local_dir, artifact_path=None))]
fn log_artifacts(py: Python<'_>, local_dir: String, artifact_path: Option<String>) -> PyResult<()> {
    let client = runlog::client().py()?;
    let id = active_run_id()?;
    py.detach(|| client.log_artifacts(&id, &local_dir, artifact_path.as_deref()))
        .py()
}

#[pyfunction]
fn log_text(text: &str, artifact_file: &str) -> PyResult<()> {
    runlog::log_text(text, artifact_file).py()
}

#[pyfunction]
#[pyo3(signature = (artifact_path=None))]
fn get_artifact_uri(artifact_path: Option<&str>) -> PyResult<String> {
    runlog::get_artifact_uri(artifact_path).py()
}

/// A dataset input of the active run.
#[pyfunction]
#[pyo3(signature = (name, digest, source_type, source, schema=None, profile=None, context=None, tags=None))]
#[allow(clippy::too_many_arguments, reason = "a dataset's fields")]
fn log_input(
    name: &str,
    digest: &str,
    source_type: &str,
    source: &str,
    schema: Option<String>,
    profile: Option<String>,
    context: Option<&str>,
    tags: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let mut dataset = Dataset::new(name, digest, source_type, source);
    if let Some(s) = schema {
        dataset = dataset.with_schema(s);
    }
    if let Some(p) = profile {
        dataset = dataset.with_profile(p);
    }
    let tags = match tags {
        Some(t) => pairs_of(t)?,
        None => Vec::new(),
    };
    let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    runlog::log_input(&dataset, context, &tags).py()
}

/// Everything logged so far on disk (and nothing else waited for).
#[pyfunction]
fn flush(py: Python<'_>) -> PyResult<()> {
    py.detach(runlog::flush).py()
}

/// A metric handle of the active run.
#[pyfunction]
fn metric_handle(key: &str) -> PyResult<MetricHandle> {
    Ok(MetricHandle {
        key: key.to_owned(),
        handle: runlog::metric_handle(key).py()?,
    })
}

/// `os.register_at_fork(before=...)`: see `runlog::fluent::before_fork`.
#[pyfunction]
fn _before_fork() {
    runlog::fluent::before_fork();
}

#[pyfunction]
fn _after_fork_in_parent() {
    runlog::fluent::after_fork_in_parent();
}

/// In a forked child: the parent's writer threads are not here; the
/// stores are opened again (lanes of the child's own), the active runs
/// kept.
#[pyfunction]
fn _after_fork_in_child() {
    runlog::fluent::after_fork_in_child();
}

/// The active experiment's id (set_experiment, the environment, else "0").
#[pyfunction]
fn active_experiment_id() -> PyResult<String> {
    runlog::active_experiment_id().py()
}

/// The fluent API's client (its tracking URI's).
#[pyfunction]
fn client() -> PyResult<Client> {
    Ok(Client::from(runlog::client().py()?))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(set_tracking_uri, m)?)?;
    m.add_function(wrap_pyfunction!(get_tracking_uri, m)?)?;
    m.add_function(wrap_pyfunction!(set_experiment, m)?)?;
    m.add_function(wrap_pyfunction!(start_run, m)?)?;
    m.add_function(wrap_pyfunction!(end_run, m)?)?;
    m.add_function(wrap_pyfunction!(active_run, m)?)?;
    m.add_function(wrap_pyfunction!(last_active_run, m)?)?;
    m.add_function(wrap_pyfunction!(log_metric, m)?)?;
    m.add_function(wrap_pyfunction!(log_metrics, m)?)?;
    m.add_function(wrap_pyfunction!(log_param, m)?)?;
    m.add_function(wrap_pyfunction!(log_params, m)?)?;
    m.add_function(wrap_pyfunction!(set_tag, m)?)?;
    m.add_function(wrap_pyfunction!(set_tags, m)?)?;
    m.add_function(wrap_pyfunction!(delete_tag, m)?)?;
    m.add_function(wrap_pyfunction!(log_artifact, m)?)?;
    m.add_function(wrap_pyfunction!(log_artifacts, m)?)?;
    m.add_function(wrap_pyfunction!(log_text, m)?)?;
    m.add_function(wrap_pyfunction!(get_artifact_uri, m)?)?;
    m.add_function(wrap_pyfunction!(log_input, m)?)?;
    m.add_function(wrap_pyfunction!(flush, m)?)?;
    m.add_function(wrap_pyfunction!(metric_handle, m)?)?;
    m.add_function(wrap_pyfunction!(client, m)?)?;
    m.add_function(wrap_pyfunction!(active_experiment_id, m)?)?;
    m.add_function(wrap_pyfunction!(_before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_in_parent, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_in_child, m)?)?;
    Ok(())
}
