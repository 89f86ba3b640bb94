//! A client connected to a tracking server (an `http://` or `https://`
//! tracking URI). Creating experiments and runs, deleting them, and every
//! read are REST calls to the server, as MLflow's client makes them. Every
//! log call (params, metrics, tags, inputs, artifacts, a run's end) goes to
//! a local spool store first, at the local store's cost, and a background
//! sync pushes it to the server ([`Remote`], implemented by the `remote`
//! module).
//!
//! The spool holds each run under the server's own ids: a run is created
//! on the server, then recorded in the spool ([`Client::spool_run`]), so that
//! log calls are checked locally (a deleted run, a changed param) and the
//! background sync knows where each record goes.
//!
//! [`Rest`] is the [`Backend`] of such a client; `calls` holds the REST
//! calls it makes.

mod calls;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::format::Record;
use crate::index::{HistoryQuery, MetricHistoryIter};
use crate::tracking::artifacts::{ArtifactBackend, FileInfo};
use crate::tracking::backend::{Backend, Local};
use crate::tracking::client::{Client, Fresh};
use crate::tracking::experiments::{ExperimentBackend, NewExperiment};
use crate::tracking::history::HistoryBackend;
use crate::tracking::model::{Experiment, LifecycleStage, Metric, Run, ViewType};
use crate::tracking::runs::{NewRun, RunBackend};
use crate::tracking::search::{Page, SearchBackend, SearchExperiments, SearchRuns};

use crate::tracking::backend::SyncRefusals;
pub(crate) use calls::{history_pages, proxied_path};

/// The server side of a connected client: its REST calls and its
/// background sync.
pub(crate) trait Remote: Send + Sync {
    /// The server's URI.
    fn uri(&self) -> &str;
    /// `GET /api/2.0/mlflow/<endpoint>`, retried while the server is down.
    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Value>;
    /// `POST /api/2.0/mlflow/<endpoint>`, retried while the server is down.
    fn post(&self, endpoint: &str, body: &Value) -> Result<Value>;
    /// A file of the server's proxied artifact store (`mlflow-artifacts:`).
    fn download_artifact(&self, path: &str) -> Result<Vec<u8>>;
    /// A run the spool took in ([`Client::spool_run`]): the background
    /// sync pushes what is logged to it from now on; what the server has
    /// of it counts as synced.
    fn track(&self, run: &Run) -> Result<()>;
    /// Waits until the server acknowledged every record logged (to this
    /// process's spool) before the call.
    fn wait_synced(&self, timeout: Duration) -> Result<SyncRefusals>;
}

impl Client {
    /// A client on the spool store `spool` whose reads and creations go to
    /// `remote`.
    pub(crate) fn with_remote(spool: Client, remote: Arc<dyn Remote>) -> Client {
        Client {
            inner: spool.inner,
            backend: Arc::new(Rest { remote }),
        }
    }

    /// The same store without the server: reads and writes of the spool
    /// itself (what the background sync pushes from).
    pub(crate) fn spool(&self) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            backend: Arc::new(Local),
        }
    }

    /// Records a run of the server in the spool (its experiment first, when
    /// the spool lacks it), under the server's ids, and hands it to the
    /// background sync. The spool's artifact location of the run is its
    /// own: the background sync uploads what is logged there.
    pub(crate) fn spool_run(&self, remote: &dyn Remote, run: &Run) -> Result<()> {
        let spool = self.spool();
        let experiment_id = run.info.experiment_id.as_str();
        let known = spool
            .view(Fresh::Now)?
            .state
            .experiment(experiment_id)
            .is_some();
        if !known {
            let e = calls::get_experiment(remote, experiment_id)?;
            spool.append(&Record::CreateExperiment {
                experiment_id,
                name: &e.name,
                artifact_location: &format!("{}/{experiment_id}", crate::layout::ARTIFACTS_DIR),
                creation_time: e.creation_time,
            })?;
        }
        let id = run.info.run_id.as_str();
        if spool.view(Fresh::OwnWrites)?.state.run(id).is_none() {
            spool.append(&Record::CreateRun {
                run_id: id,
                experiment_id,
                run_name: &run.info.run_name,
                user_id: &run.info.user_id,
                start_time: run.info.start_time,
            })?;
            for (key, value) in &run.data.tags {
                spool.append(&Record::SetTag {
                    run_id: id,
                    key,
                    value,
                })?;
            }
            for (key, value) in &run.data.params {
                spool.append(&Record::Param {
                    run_id: id,
                    key,
                    value,
                })?;
            }
            if let (Some(end_time), false) = (run.info.end_time, run.info.status.is_running()) {
                spool.append(&Record::EndRun {
                    run_id: id,
                    status: run.info.status,
                    end_time,
                })?;
            }
            spool.flush()?;
        }
        remote.track(run)
    }
}

impl Client {
    /// The spool's runs whose last change differs from `synced[run]`,
    /// with it (what the background sync pushes next).
    pub(crate) fn changed_runs(
        &self,
        synced: &std::collections::HashMap<String, u64>,
    ) -> Result<Vec<(Run, u64)>> {
        let view = self.view(Fresh::Now)?;
        let mut changed = Vec::new();
        for id in view.state.run_ids() {
            let changes = view.state.changes(id);
            if synced.get(id) == Some(&changes) {
                continue;
            }
            if let Some(run) = view.state.run(id) {
                changed.push((run.clone(), changes));
            }
        }
        Ok(changed)
    }
}

/// The [`Backend`] of a client connected to a tracking server: the server
/// holds the catalog and answers every read; the client's store is the
/// spool its log calls go to.
pub(crate) struct Rest {
    remote: Arc<dyn Remote>,
}

impl Backend for Rest {
    fn tracking_uri<'a>(&'a self, _client: &'a Client) -> &'a str {
        self.remote.uri()
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn wait_synced(&self, _client: &Client, timeout: Duration) -> Result<SyncRefusals> {
        self.remote.wait_synced(timeout)
    }

    /// The run of the server recorded in the spool (a run created by
    /// another client): refused when the server has it deleted.
    fn take_in_run(&self, client: &Client, run_id: &str) -> Result<bool> {
        let run = calls::get_run(&*self.remote, run_id)?;
        if run.info.lifecycle_stage == LifecycleStage::Deleted {
            return Err(crate::tracking::runs::deleted_run_takes_no_writes(run_id));
        }
        client.spool_run(&*self.remote, &run)?;
        Ok(true)
    }

    /// Logged models would be written into the spool, which the background
    /// sync pushes runs from, not models (and then deletes).
    fn check_models_reachable(&self) -> Result<()> {
        let uri = self.remote.uri();
        Err(Error::InvalidState(format!(
            "logged models and the model registry of {uri} are not reached through runlog's \
             http(s):// client yet: use MLflow's client for them, or log to a local store \
             and push it with `runlog sync --to {uri}`"
        )))
    }
}

impl Rest {
    /// An experiment call whose answer carries nothing of interest.
    fn experiment_call(&self, endpoint: &str, body: Value) -> Result<()> {
        self.remote.post(endpoint, &body).map(|_| ())
    }
}

impl ExperimentBackend for Rest {
    fn create_experiment(&self, _client: &Client, experiment: &NewExperiment) -> Result<String> {
        calls::create_experiment(&*self.remote, experiment)
    }

    fn get_experiment(&self, _client: &Client, experiment_id: &str) -> Result<Experiment> {
        calls::get_experiment(&*self.remote, experiment_id)
    }

    fn get_experiment_by_name(&self, _client: &Client, name: &str) -> Result<Option<Experiment>> {
        calls::get_experiment_by_name(&*self.remote, name)
    }

    fn get_or_create_experiment(&self, client: &Client, name: &str) -> Result<Experiment> {
        let id = match calls::create_experiment(&*self.remote, &NewExperiment::new(name)) {
            Ok(id) => id,
            // Created by another client meanwhile.
            Err(err) if err.is_already_exists() => {
                let e = self
                    .get_experiment_by_name(client, name)?
                    .ok_or_else(|| crate::tracking::client::experiment_not_found(name))?;
                return crate::tracking::experiments::check_active_experiment(e);
            }
            Err(e) => return Err(e),
        };
        self.get_experiment(client, &id)
    }

    fn rename_experiment(
        &self,
        _client: &Client,
        experiment_id: &str,
        new_name: &str,
    ) -> Result<()> {
        let body = json!({"experiment_id": experiment_id, "new_name": new_name});
        self.experiment_call("experiments/update", body)
    }

    fn delete_experiment(&self, _client: &Client, experiment_id: &str) -> Result<()> {
        let body = json!({"experiment_id": experiment_id});
        self.experiment_call("experiments/delete", body)
    }

    fn restore_experiment(&self, _client: &Client, experiment_id: &str) -> Result<()> {
        let body = json!({"experiment_id": experiment_id});
        self.experiment_call("experiments/restore", body)
    }

    fn set_experiment_tag(
        &self,
        _client: &Client,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let body = json!({"experiment_id": experiment_id, "key": key, "value": value});
        self.experiment_call("experiments/set-experiment-tag", body)
    }

    fn delete_experiment_tag(
        &self,
        _client: &Client,
        experiment_id: &str,
        key: &str,
    ) -> Result<()> {
        let body = json!({"experiment_id": experiment_id, "key": key});
        self.experiment_call("experiments/delete-experiment-tag", body)
    }
}

impl RunBackend for Rest {
    fn create_run(&self, client: &Client, run: &NewRun) -> Result<Run> {
        calls::create_run(client, &*self.remote, run)
    }

    fn get_run(&self, _client: &Client, run_id: &str) -> Result<Run> {
        calls::get_run(&*self.remote, run_id)
    }

    fn change_numbers(&self, _client: &Client, _run_ids: &[&str]) -> Result<Vec<u64>> {
        Err(Error::InvalidArgument(
            "change numbers are kept for local stores only".into(),
        ))
    }

    fn list_runs(
        &self,
        _client: &Client,
        experiment_id: &str,
        view_type: ViewType,
    ) -> Result<Vec<Run>> {
        calls::list_runs(&*self.remote, experiment_id, view_type)
    }

    fn delete_run(&self, client: &Client, run_id: &str) -> Result<()> {
        calls::run_call(client, &*self.remote, run_id, true)
    }

    fn restore_run(&self, client: &Client, run_id: &str) -> Result<()> {
        calls::run_call(client, &*self.remote, run_id, false)
    }
}

impl SearchBackend for Rest {
    fn search_runs(&self, _client: &Client, query: &SearchRuns) -> Result<Page<Run>> {
        calls::search_runs(&*self.remote, query)
    }

    fn search_experiments(
        &self,
        _client: &Client,
        query: &SearchExperiments,
    ) -> Result<Page<Experiment>> {
        calls::search_experiments(&*self.remote, query)
    }
}

/// Histories as the server has them, every page read, then cut and
/// downsampled here as the query asks.
impl HistoryBackend for Rest {
    fn metric_history_into(
        &self,
        _client: &Client,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
        out: &mut Vec<Metric>,
    ) -> Result<()> {
        *out = calls::metric_history(&*self.remote, run_id, key, query)?;
        Ok(())
    }

    fn get_metric_history_bulk(
        &self,
        _client: &Client,
        run_ids: &[&str],
        key: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<(String, Vec<Metric>)>> {
        run_ids
            .iter()
            .map(|id| {
                let points = calls::metric_history(&*self.remote, id, key, query)?;
                Ok((id.to_string(), points))
            })
            .collect()
    }

    fn metric_history_iter(
        &self,
        _client: &Client,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
    ) -> Result<MetricHistoryIter> {
        calls::metric_history_iter(&*self.remote, run_id, key, query)
    }
}

/// Artifacts listed by the server and fetched from its proxied artifact
/// store; a run whose artifacts the server does not proxy is read where its
/// artifact URI points, as a local store reads it.
impl ArtifactBackend for Rest {
    fn list_artifacts(
        &self,
        _client: &Client,
        run_id: &str,
        path: Option<&str>,
    ) -> Result<Vec<FileInfo>> {
        calls::list_artifacts(&*self.remote, run_id, path)
    }

    fn download_artifacts(
        &self,
        client: &Client,
        run_id: &str,
        path: Option<&str>,
        dst_dir: &Path,
    ) -> Result<PathBuf> {
        let run = self.get_run(client, run_id)?;
        if proxied_path(&run.info.artifact_uri).is_some() {
            return calls::download_artifacts(&*self.remote, run_id, path, dst_dir);
        }
        Local.download_artifacts(client, run_id, path, dst_dir)
    }
}
