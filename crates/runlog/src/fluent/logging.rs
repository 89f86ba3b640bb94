//! The fluent logging functions: each writes to this thread's active run,
//! starting one when none is (as MLflow's do).

use std::fmt::Display;
use std::path::Path;

use serde::Serialize;

use super::{client, start_run, HandleMap, HANDLES, STACK};
use crate::error::{Error, Result};
use crate::store::MetricHandle;
use crate::tracking::client::Client;
use crate::tracking::logging::Batch;
use crate::tracking::model::{Dataset, Metric};

/// Runs `f` with the active run, starting one when none is (as MLflow's
/// logging functions do; end it with [`end_run`]).
fn with_run<T>(f: impl FnOnce(&Client, &str) -> Result<T>) -> Result<T> {
    // Borrowed, not cloned: no allocation per log call. `f` is a client
    // call, which never touches the run stack.
    let mut f = Some(f);
    let done = STACK.with(|s| {
        let stack = s.borrow();
        let top = stack.last()?;
        let call = f.take()?;
        Some(call(&top.client, &top.run_id))
    });
    match (done, f) {
        (Some(result), _) => result,
        (None, Some(call)) => {
            let mut run = start_run()?;
            run.detached = true; // stays active until end_run
            call(&run.client, &run.run_id)
        }
        (None, None) => Err(Error::InvalidState("no active run".into())),
    }
}

/// Logs a param to the active run (write-once; see [`Client::log_param`]).
pub fn log_param(key: &str, value: impl Display) -> Result<()> {
    with_run(|c, id| c.log_param(id, key, value))
}

/// Logs params to the active run, all checked before any is written.
pub fn log_params<K: AsRef<str>, V: Display>(
    params: impl IntoIterator<Item = (K, V)>,
) -> Result<()> {
    let batch = params
        .into_iter()
        .fold(Batch::new(), |b, (k, v)| b.param(k.as_ref(), v));
    with_run(|c, id| c.log_batch(id, &batch))
}

/// Logs a metric point of the active run at `step`, timestamped now.
///
/// The first call with a key checks it and the run; later calls reuse a
/// metric handle kept per thread (until the active run changes or a run is
/// deleted), so a call costs a hash lookup and a channel send.
pub fn log_metric(key: &str, value: f64, step: i64) -> Result<()> {
    let logged = with_handles(|handles, client, run_id| {
        if let Some(handle) = handles.get(key) {
            return Ok(handle.log(value, step)?);
        }
        let handle = client.metric_handle(run_id, key)?;
        handle.log(value, step)?;
        handles.insert(key.into(), handle);
        Ok(())
    });
    match logged {
        Some(result) => result,
        None => with_run(|c, id| c.log_metric(id, key, value, step)),
    }
}

/// [`log_metric`] that never waits for the writer: `Ok(false)`, nothing
/// logged, when its channel is full (then call [`log_metric`], which
/// waits, after letting go of what must not be held meanwhile, such as
/// Python's GIL). The first call with a key may wait, as it checks the
/// run.
pub fn try_log_metric(key: &str, value: f64, step: i64) -> Result<bool> {
    let logged = with_handles(|handles, client, run_id| {
        if let Some(handle) = handles.get(key) {
            return Ok(handle.try_log(value, step)?);
        }
        let handle = client.metric_handle(run_id, key)?;
        handle.log(value, step)?;
        handles.insert(key.into(), handle);
        Ok(true)
    });
    match logged {
        Some(result) => result,
        None => with_run(|c, id| c.log_metric(id, key, value, step)).map(|()| true),
    }
}

/// Runs `f` with this thread's metric handles for the active run (cleared
/// when the active run changes or a run was deleted), its client and its
/// run id; `None` when no run is active.
fn with_handles<T>(
    f: impl FnOnce(&mut HandleMap, &Client, &str) -> Result<T>,
) -> Option<Result<T>> {
    STACK.with(|s| {
        let stack = s.borrow();
        let top = stack.last()?;
        Some(HANDLES.with(|h| {
            let mut cache = h.borrow_mut();
            let client_id = top.client.identity();
            let epoch = top.client.deletion_epoch();
            let same_owner =
                matches!(&cache.owner, Some((c, r)) if *c == client_id && *r == top.run_id);
            if !same_owner || cache.epoch != epoch {
                cache.handles.clear();
                cache.owner = Some((client_id, top.run_id.clone()));
                cache.epoch = epoch;
            }
            f(&mut cache.handles, &top.client, &top.run_id)
        }))
    })
}

/// Logs a metric point of the active run with an explicit timestamp.
pub fn log_metric_at(key: &str, point: Metric) -> Result<()> {
    with_run(|c, id| c.log_metric_at(id, key, point))
}

/// Logs several metrics of the active run at one step.
pub fn log_metrics<K: AsRef<str>>(
    metrics: impl IntoIterator<Item = (K, f64)>,
    step: i64,
) -> Result<()> {
    let metrics: Vec<(K, f64)> = metrics.into_iter().collect();
    // Through the thread's metric handles, as log_metric: every key gets
    // its handle (and is checked) before any point is logged.
    let logged = with_handles(|handles, client, run_id| {
        for (key, _) in &metrics {
            let key = key.as_ref();
            if !handles.contains_key(key) {
                let handle = client.metric_handle(run_id, key)?;
                handles.insert(key.into(), handle);
            }
        }
        for (key, value) in &metrics {
            if let Some(handle) = handles.get(key.as_ref()) {
                handle.log(*value, step)?;
            }
        }
        Ok(())
    });
    match logged {
        Some(result) => result,
        None => {
            let batch = metrics
                .iter()
                .fold(Batch::new(), |b, (k, v)| b.metric(k.as_ref(), *v, step));
            with_run(|c, id| c.log_batch(id, &batch))
        }
    }
}

/// A handle logging metric `key` of the active run from a hot loop (see
/// [`Client::metric_handle`]).
pub fn metric_handle(key: &str) -> Result<MetricHandle> {
    with_run(|c, id| c.metric_handle(id, key))
}

/// Sets a tag on the active run.
pub fn set_tag(key: &str, value: impl Display) -> Result<()> {
    let value = value.to_string();
    with_run(|c, id| c.set_tag(id, key, &value))
}

/// Sets tags on the active run, all checked before any is written.
pub fn set_tags<K: AsRef<str>, V: Display>(tags: impl IntoIterator<Item = (K, V)>) -> Result<()> {
    let batch = tags
        .into_iter()
        .fold(Batch::new(), |b, (k, v)| b.tag(k.as_ref(), v.to_string()));
    with_run(|c, id| c.log_batch(id, &batch))
}

/// Removes a tag from the active run.
pub fn delete_tag(key: &str) -> Result<()> {
    with_run(|c, id| c.delete_tag(id, key))
}

/// Records a dataset the active run used, with its context (`"training"`,
/// ...) and input tags.
pub fn log_input(dataset: &Dataset, context: Option<&str>, tags: &[(&str, &str)]) -> Result<()> {
    let input = dataset.as_input(context, tags);
    with_run(|c, id| c.log_inputs(id, std::slice::from_ref(&input)))
}

/// Copies a local file into the active run's artifacts.
pub fn log_artifact(local_path: impl AsRef<Path>, artifact_path: Option<&str>) -> Result<()> {
    with_run(|c, id| c.log_artifact(id, local_path, artifact_path))
}

/// Copies a local directory's contents into the active run's artifacts.
pub fn log_artifacts(local_dir: impl AsRef<Path>, artifact_path: Option<&str>) -> Result<()> {
    with_run(|c, id| c.log_artifacts(id, local_dir, artifact_path))
}

/// Writes text as an artifact file of the active run.
pub fn log_text(text: &str, artifact_file: &str) -> Result<()> {
    with_run(|c, id| c.log_text(id, text, artifact_file))
}

/// Writes a value as a JSON artifact file of the active run.
pub fn log_dict(value: &impl Serialize, artifact_file: &str) -> Result<()> {
    with_run(|c, id| c.log_dict(id, value, artifact_file))
}

/// The artifact URI of the active run, or of a path under it.
pub fn get_artifact_uri(artifact_path: Option<&str>) -> Result<String> {
    with_run(|c, id| c.get_artifact_uri(id, artifact_path))
}

/// Blocks until everything the fluent API logged to the current store is
/// on disk (fsynced). Ending a run does this too.
pub fn flush() -> Result<()> {
    client()?.flush()
}
