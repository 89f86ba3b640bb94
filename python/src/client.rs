//! `runlog._runlog.Client`: runlog's `Client` for `runlog.MlflowClient`
//! (which gives it MLflow's method names and entity classes). Entities
//! cross as MLflow's REST JSON; everything that waits releases the GIL.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use runlog::tracking::mlflow_json;
use runlog::{Batch, HistoryQuery, Metric, NewExperiment, NewRun, SearchExperiments, SearchRuns};

use crate::errors::IntoPy;
use crate::fluent::run_status;
use crate::values::{integer, metric_value, text};

/// A tracking client bound to one store or server.
#[pyclass(frozen, module = "runlog._runlog")]
pub struct Client {
    inner: runlog::Client,
    /// MLflow's REST API over it, answered in process ([`Client::call`]).
    api: runlog::api::Api,
}

impl From<runlog::Client> for Client {
    fn from(inner: runlog::Client) -> Client {
        let api = runlog::api::Api::new(inner.clone());
        Client { inner, api }
    }
}

/// A metric of `log_batch`: (key, value, timestamp, step).
type MetricTuple<'py> = (
    String,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
);

fn view_type(code: i64) -> PyResult<runlog::ViewType> {
    Ok(match code {
        1 => runlog::ViewType::ActiveOnly,
        2 => runlog::ViewType::DeletedOnly,
        3 => runlog::ViewType::All,
        other => {
            return Err(crate::errors::to_py(runlog::Error::InvalidArgument(
                format!("view type {other}: 1 (ACTIVE_ONLY), 2 (DELETED_ONLY) or 3 (ALL)"),
            )))
        }
    })
}

fn pairs(d: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    d.into_iter()
        .flatten()
        .map(|(k, v)| Ok((text(&k)?, text(&v)?)))
        .collect()
}

#[pymethods]
impl Client {
    /// The client of a tracking URI (a store directory, a `file:` URI, or
    /// an `http(s)://` server); `None`: the fluent API's.
    #[new]
    #[pyo3(signature = (tracking_uri=None))]
    fn new(py: Python<'_>, tracking_uri: Option<String>) -> PyResult<Client> {
        let inner = py.detach(|| match tracking_uri {
            Some(uri) => runlog::Client::new(&uri),
            None => runlog::client(),
        });
        Ok(Client::from(inner.py()?))
    }

    /// The client the fluent API uses for `tracking_uri` (one per store
    /// and process, made on first use): what MLflow's store plugin and
    /// `import runlog as mlflow` share.
    #[staticmethod]
    fn shared(py: Python<'_>, tracking_uri: String) -> PyResult<Client> {
        let inner = py.detach(|| runlog::fluent::client_for(&tracking_uri));
        Ok(Client::from(inner.py()?))
    }

    /// A request to MLflow's REST API answered in process, as `runlog
    /// server` answers it: `(status, JSON body)`. `body` is the message as
    /// a JSON object, a GET's too. Writes are not flushed (see `flush`).
    fn call(&self, py: Python<'_>, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let answer = py.detach(|| self.api.call(method, path, body));
        (answer.status, answer.body)
    }

    #[getter]
    fn tracking_uri(&self) -> String {
        self.inner.tracking_uri().to_owned()
    }

    #[pyo3(signature = (name, artifact_location=None, tags=None))]
    fn create_experiment(
        &self,
        py: Python<'_>,
        name: String,
        artifact_location: Option<String>,
        tags: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<String> {
        let mut e = NewExperiment::new(name);
        if let Some(l) = artifact_location {
            e = e.artifact_location(l);
        }
        let e = pairs(tags)?.into_iter().fold(e, |e, (k, v)| e.tag(k, v));
        py.detach(|| self.inner.create_experiment(e)).py()
    }

    fn get_experiment(&self, py: Python<'_>, experiment_id: &str) -> PyResult<String> {
        let e = py
            .detach(|| self.inner.get_experiment(experiment_id))
            .py()?;
        Ok(mlflow_json::experiment(&e).to_string())
    }

    fn get_experiment_by_name(&self, py: Python<'_>, name: &str) -> PyResult<Option<String>> {
        let e = py.detach(|| self.inner.get_experiment_by_name(name)).py()?;
        Ok(e.map(|e| mlflow_json::experiment(&e).to_string()))
    }

    /// A page of experiments as JSON (`experiments/search`'s answer).
    #[pyo3(signature = (view_type=1, max_results=1000, filter_string=None, order_by=None, page_token=None))]
    fn search_experiments(
        &self,
        py: Python<'_>,
        view_type: i64,
        max_results: usize,
        filter_string: Option<String>,
        order_by: Option<Vec<String>>,
        page_token: Option<String>,
    ) -> PyResult<String> {
        let mut q = SearchExperiments::new()
            .view(self::view_type(view_type)?)
            .max_results(max_results);
        if let Some(f) = filter_string {
            q = q.filter(f);
        }
        for o in order_by.into_iter().flatten() {
            q = q.order_by(o);
        }
        if let Some(t) = page_token {
            q = q.page_token(t);
        }
        let page = py.detach(|| self.inner.search_experiments(q)).py()?;
        Ok(mlflow_json::experiments_page(&page.items, page.next_page_token.as_deref()).to_string())
    }

    fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.inner
            .set_experiment_tag(experiment_id, key, &text(value)?)
            .py()
    }

    fn rename_experiment(
        &self,
        py: Python<'_>,
        experiment_id: &str,
        new_name: &str,
    ) -> PyResult<()> {
        py.detach(|| self.inner.rename_experiment(experiment_id, new_name))
            .py()
    }

    fn delete_experiment(&self, py: Python<'_>, experiment_id: &str) -> PyResult<()> {
        py.detach(|| self.inner.delete_experiment(experiment_id))
            .py()
    }

    fn restore_experiment(&self, py: Python<'_>, experiment_id: &str) -> PyResult<()> {
        py.detach(|| self.inner.restore_experiment(experiment_id))
            .py()
    }

    /// A new run as JSON.
    #[pyo3(signature = (experiment_id, start_time=None, tags=None, run_name=None))]
    fn create_run(
        &self,
        py: Python<'_>,
        experiment_id: String,
        start_time: Option<i64>,
        tags: Option<&Bound<'_, PyDict>>,
        run_name: Option<String>,
    ) -> PyResult<String> {
        let mut r = pairs(tags)?
            .into_iter()
            .fold(NewRun::new(experiment_id), |r, (k, v)| r.tag(k, v));
        if let Some(t) = start_time {
            r = r.start_time(t);
        }
        if let Some(n) = run_name {
            r = r.run_name(n);
        }
        let run = py.detach(|| self.inner.create_run(r)).py()?;
        Ok(mlflow_json::run(&run).to_string())
    }

    fn get_run(&self, py: Python<'_>, run_id: &str) -> PyResult<String> {
        let run = py.detach(|| self.inner.get_run(run_id)).py()?;
        Ok(mlflow_json::run(&run).to_string())
    }

    /// A page of runs as JSON (`runs/search`'s answer).
    #[pyo3(signature = (experiment_ids, filter_string="", run_view_type=1, max_results=1000, order_by=None, page_token=None))]
    #[allow(clippy::too_many_arguments, reason = "MLflow's arguments")]
    fn search_runs(
        &self,
        py: Python<'_>,
        experiment_ids: Vec<String>,
        filter_string: &str,
        run_view_type: i64,
        max_results: usize,
        order_by: Option<Vec<String>>,
        page_token: Option<String>,
    ) -> PyResult<String> {
        let mut q = SearchRuns::new(&experiment_ids)
            .filter(filter_string)
            .view(view_type(run_view_type)?)
            .max_results(max_results);
        for o in order_by.into_iter().flatten() {
            q = q.order_by(o);
        }
        if let Some(t) = page_token {
            q = q.page_token(t);
        }
        let page = py.detach(|| self.inner.search_runs(&q)).py()?;
        Ok(mlflow_json::runs_page(&page.items, page.next_page_token.as_deref()).to_string())
    }

    #[pyo3(signature = (run_id, key, value, timestamp=None, step=None))]
    fn log_metric(
        &self,
        run_id: &str,
        key: &str,
        value: &Bound<'_, PyAny>,
        timestamp: Option<&Bound<'_, PyAny>>,
        step: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let point = Metric {
            value: metric_value(key, value)?,
            step: integer("step", step, 0)?,
            timestamp: integer("timestamp", timestamp, runlog::clock::wall_clock_ms())?,
        };
        self.inner.log_metric_at(run_id, key, point).py()
    }

    fn log_param(&self, run_id: &str, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.log_param(run_id, key, text(value)?).py()
    }

    fn set_tag(&self, run_id: &str, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.set_tag(run_id, key, &text(value)?).py()
    }

    fn delete_tag(&self, run_id: &str, key: &str) -> PyResult<()> {
        self.inner.delete_tag(run_id, key).py()
    }

    /// `metrics`: (key, value, timestamp, step) tuples; `params`, `tags`:
    /// (key, value) pairs. Every value is checked before any is logged.
    #[pyo3(signature = (run_id, metrics=Vec::new(), params=Vec::new(), tags=Vec::new()))]
    fn log_batch(
        &self,
        run_id: &str,
        metrics: Vec<MetricTuple<'_>>,
        params: Vec<(String, Bound<'_, PyAny>)>,
        tags: Vec<(String, Bound<'_, PyAny>)>,
    ) -> PyResult<()> {
        let mut batch = Batch::new();
        // A point without a timestamp gets the batch's time, read once.
        let now = runlog::clock::wall_clock_ms();
        for (key, value, timestamp, step) in metrics {
            let v = metric_value(&key, &value)?;
            let step = integer("step", Some(&step), 0)?;
            let ts = integer("timestamp", Some(&timestamp), now)?;
            batch = batch.metric_at(key, v, step, ts);
        }
        for (key, value) in &params {
            batch = batch.param(key.clone(), text(value)?);
        }
        for (key, value) in &tags {
            batch = batch.tag(key.clone(), text(value)?);
        }
        self.inner.log_batch(run_id, &batch).py()
    }

    /// [`log_batch`](Client::log_batch) of MLflow's own entities
    /// (`mlflow.entities.Metric`, `Param`, `RunTag`), read from their
    /// attributes in one pass, for the store plugin. `False`, nothing
    /// logged, when a metric names a logged model or a dataset: those links
    /// go through MLflow's REST message instead. An object without MLflow's
    /// attributes raises `AttributeError`, nothing logged.
    fn log_mlflow_batch(
        &self,
        run_id: &str,
        metrics: &Bound<'_, PyAny>,
        params: &Bound<'_, PyAny>,
        tags: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let py = metrics.py();
        let mut batch = Batch::new();
        let now = runlog::clock::wall_clock_ms();
        let links = [
            intern!(py, "_model_id"),
            intern!(py, "_dataset_name"),
            intern!(py, "_dataset_digest"),
        ];
        for m in metrics.try_iter()? {
            let m = m?;
            for link in links {
                if m.getattr(link)?.is_truthy()? {
                    return Ok(false);
                }
            }
            let key: String = m.getattr(intern!(py, "_key"))?.extract()?;
            let value = metric_value(&key, &m.getattr(intern!(py, "_value"))?)?;
            let step = integer("step", Some(&m.getattr(intern!(py, "_step"))?), 0)?;
            let ts = integer(
                "timestamp",
                Some(&m.getattr(intern!(py, "_timestamp"))?),
                now,
            )?;
            batch = batch.metric_at(key, value, step, ts);
        }
        let pair = |entity: Bound<'_, PyAny>| -> PyResult<(String, String)> {
            Ok((
                entity.getattr(intern!(py, "_key"))?.extract()?,
                text(&entity.getattr(intern!(py, "_value"))?)?,
            ))
        };
        for p in params.try_iter()? {
            let (key, value) = pair(p?)?;
            batch = batch.param(key, value);
        }
        for t in tags.try_iter()? {
            let (key, value) = pair(t?)?;
            batch = batch.tag(key, value);
        }
        self.inner.log_batch(run_id, &batch).py()?;
        Ok(true)
    }

    /// Ends a run (`FINISHED` by default) at `end_time` (default now).
    #[pyo3(signature = (run_id, status=None, end_time=None))]
    fn set_terminated(
        &self,
        py: Python<'_>,
        run_id: &str,
        status: Option<&str>,
        end_time: Option<i64>,
    ) -> PyResult<()> {
        let status = run_status(status.unwrap_or("FINISHED"))?;
        let end = end_time.unwrap_or_else(runlog::clock::wall_clock_ms);
        py.detach(|| self.inner.set_terminated_at(run_id, status, end))
            .py()
    }

    #[pyo3(signature = (run_id, status=None, name=None))]
    fn update_run(
        &self,
        py: Python<'_>,
        run_id: &str,
        status: Option<&str>,
        name: Option<&str>,
    ) -> PyResult<()> {
        let status = status.map(run_status).transpose()?;
        py.detach(|| self.inner.update_run(run_id, status, name))
            .py()
    }

    fn delete_run(&self, py: Python<'_>, run_id: &str) -> PyResult<()> {
        py.detach(|| self.inner.delete_run(run_id)).py()
    }

    fn restore_run(&self, py: Python<'_>, run_id: &str) -> PyResult<()> {
        py.detach(|| self.inner.restore_run(run_id)).py()
    }

    /// Every point of a metric, as (value, timestamp, step) tuples in step
    /// order.
    fn get_metric_history(
        &self,
        py: Python<'_>,
        run_id: &str,
        key: &str,
    ) -> PyResult<Vec<(f64, i64, i64)>> {
        let points = py
            .detach(|| self.inner.metric_history(run_id, key, &HistoryQuery::new()))
            .py()?;
        Ok(points
            .into_iter()
            .map(|m| (m.value, m.timestamp, m.step))
            .collect())
    }

    #[pyo3(signature = (run_id, local_path, artifact_path=None))]
    fn log_artifact(
        &self,
        py: Python<'_>,
        run_id: &str,
        local_path: String,
        artifact_path: Option<String>,
    ) -> PyResult<()> {
        py.detach(|| {
            self.inner
                .log_artifact(run_id, &local_path, artifact_path.as_deref())
        })
        .py()
    }

    #[pyo3(signature = (run_id, local_dir, artifact_path=None))]
    fn log_artifacts(
        &self,
        py: Python<'_>,
        run_id: &str,
        local_dir: String,
        artifact_path: Option<String>,
    ) -> PyResult<()> {
        py.detach(|| {
            self.inner
                .log_artifacts(run_id, &local_dir, artifact_path.as_deref())
        })
        .py()
    }

    fn log_text(
        &self,
        py: Python<'_>,
        run_id: &str,
        text: &str,
        artifact_file: &str,
    ) -> PyResult<()> {
        py.detach(|| self.inner.log_text(run_id, text, artifact_file))
            .py()
    }

    /// (path, is_dir, file_size) of what lies directly under `path`.
    #[pyo3(signature = (run_id, path=None))]
    fn list_artifacts(
        &self,
        py: Python<'_>,
        run_id: &str,
        path: Option<String>,
    ) -> PyResult<Vec<(String, bool, Option<u64>)>> {
        let files = py
            .detach(|| self.inner.list_artifacts(run_id, path.as_deref()))
            .py()?;
        Ok(files
            .into_iter()
            .map(|f| (f.path, f.is_dir, f.file_size))
            .collect())
    }

    #[pyo3(signature = (run_id, path, dst_path))]
    fn download_artifacts(
        &self,
        py: Python<'_>,
        run_id: &str,
        path: Option<String>,
        dst_path: String,
    ) -> PyResult<String> {
        let local = py
            .detach(|| {
                self.inner
                    .download_artifacts(run_id, path.as_deref(), &dst_path)
            })
            .py()?;
        Ok(local.display().to_string())
    }

    #[pyo3(signature = (run_id, artifact_path=None))]
    fn get_artifact_uri(&self, run_id: &str, artifact_path: Option<&str>) -> PyResult<String> {
        self.inner.get_artifact_uri(run_id, artifact_path).py()
    }

    /// Everything this client logged on disk.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.flush()).py()
    }

    /// The store directory (a server's client: its spool).
    #[getter]
    fn store_dir(&self) -> String {
        self.inner.store_dir().display().to_string()
    }
}
