//! `runlog import`: experiments and runs from MLflow into a runlog store,
//! ids kept: from an MLflow file store directory (`mlruns/` with its
//! `meta.yaml` files), an MLflow SQLite database (`sqlite:///mlflow.db`) or
//! a tracking server (`http://...`, over MLflow's REST API).
//! Params, tags, status and times, full metric histories, dataset inputs;
//! also MLflow 3's logged models (params, tags,
//! metrics, the runs that made or used them) and the model registry
//! (registered models, versions with their numbers, stages, tags, aliases);
//! artifacts are referenced where MLflow keeps them (each experiment keeps
//! its artifact location). Deleted experiments and runs come in deleted. A
//! run already in the store is left as it is, so an import can be run
//! again. A source file or row that cannot be read is reported by its path
//! (or table) and skipped, never silently: see [`ImportReport::problems`].
//!
//! ```no_run
//! let client = runlog::Client::builder().store("runs").open()?;
//! let source = runlog::import::Source::parse("mlruns")?;
//! let summary = runlog::import::import(&client, &source)?;
//! println!("{} runs, {} points", summary.runs, summary.points);
//! # Ok::<(), runlog::Error>(())
//! ```

mod file_store;
mod file_store_models;
mod models;
#[cfg(feature = "remote")]
mod server;
mod sqlite;
mod sqlite_models;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::format::{DatasetInput, Record, RunStatus};
use crate::tracking::{Client, Metric};
use models::{SourceModel, SourceModelLink, SourceRegisteredModel};

/// Where MLflow's data is.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A file store directory (the one holding `0/meta.yaml`).
    FileStore(PathBuf),
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// An MLflow tracking server (`http://` or `https://`; MLflow's
    /// credential and TLS variables apply).
    #[cfg(feature = "remote")]
    Server(String),
}

impl Source {
    /// `sqlite:///path/mlflow.db` (or `sqlite:////abs/path`), `file:///dir`,
    /// a directory path, or a server's `http(s)://` URI.
    ///
    /// ```
    /// use runlog::import::Source;
    /// assert_eq!(Source::parse("sqlite:///mlflow.db")?, Source::Sqlite("mlflow.db".into()));
    /// assert!(Source::parse("postgresql://db/mlflow").is_err());
    /// # Ok::<(), runlog::Error>(())
    /// ```
    pub fn parse(from: &str) -> Result<Source> {
        if let Some(path) = from.strip_prefix("sqlite:///") {
            return Ok(Source::Sqlite(path.into()));
        }
        if let Some(path) = from.strip_prefix("file://") {
            return Ok(Source::FileStore(path.into()));
        }
        #[cfg(feature = "remote")]
        if crate::uri::is_server_uri(from) {
            return Ok(Source::Server(from.trim_end_matches('/').to_owned()));
        }
        if from.contains("://") {
            return Err(Error::InvalidArgument(format!(
                "{from:?}: import reads an MLflow file store directory, sqlite:///path.db or a \
                 tracking server's http(s):// URI; for another database, serve it with \
                 `mlflow server` and import from the server"
            )));
        }
        Ok(Source::FileStore(from.into()))
    }
}

/// An experiment as the source holds it.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceExperiment {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) artifact_location: String,
    pub(crate) creation_time: i64,
    pub(crate) deleted: bool,
    pub(crate) tags: BTreeMap<String, String>,
}

/// A run as the source holds it.
#[derive(Debug, Clone)]
pub(crate) struct SourceRun {
    pub(crate) id: String,
    pub(crate) experiment_id: String,
    pub(crate) name: String,
    pub(crate) user_id: String,
    pub(crate) status: RunStatus,
    pub(crate) start_time: i64,
    pub(crate) end_time: Option<i64>,
    pub(crate) deleted: Option<i64>,
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) metrics: BTreeMap<String, Vec<Metric>>,
    pub(crate) inputs: Vec<DatasetInput>,
}

/// What an import brought in.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    /// Experiments created in the store.
    pub experiments: usize,
    /// Runs created.
    pub runs: usize,
    /// Runs the store already had (left as they are).
    pub runs_present: usize,
    /// Params.
    pub params: usize,
    /// Tags.
    pub tags: usize,
    /// Metric points.
    pub points: u64,
    /// Dataset inputs.
    pub inputs: usize,
    /// Logged models created (MLflow 3; from SQLite databases).
    pub logged_models: usize,
    /// Logged models the store already had (left as they are).
    pub logged_models_present: usize,
    /// Registered models created, with their versions.
    pub registered_models: usize,
    /// Registered models the store already had (left as they are).
    pub registered_models_present: usize,
    /// Model versions created (deleted ones not counted).
    pub model_versions: usize,
    /// Source files or rows that could not be read (path or table, and
    /// why): skipped, the rest imported.
    pub problems: Vec<String>,
}

/// Brings `source` into the store of `client` (opened for writing), then
/// flushes it. See the module's doc.
pub fn import(client: &Client, source: &Source) -> Result<ImportReport> {
    let mut problems = Vec::new();
    let mut importer = Importer {
        client,
        store: client.store()?,
        summary: ImportReport::default(),
        usable: BTreeSet::new(),
        created: Vec::new(),
        problems: Vec::new(),
    };
    match source {
        Source::FileStore(dir) => file_store::read(dir, &mut problems, &mut importer)?,
        Source::Sqlite(path) => sqlite::read(path, &mut problems, &mut importer)?,
        #[cfg(feature = "remote")]
        Source::Server(uri) => {
            let server =
                crate::remote::MlflowServer::new(crate::remote::Connection::from_env(uri))?;
            server::read(&server, &mut problems, &mut importer)?
        }
    }
    // Deleted experiments last, so that their runs are created first and
    // deleted with them, as MLflow shows them.
    for e in &importer.created {
        importer.store.append(&Record::DeleteExperiment {
            experiment_id: e.id.as_str(),
            time: e.creation_time,
        })?;
    }
    importer.store.flush()?;
    let mut summary = importer.summary;
    summary.problems = importer.problems;
    summary.problems.extend(problems);
    Ok(summary)
}

/// Where a source's reader hands what it reads: the experiments first,
/// then the runs one at a time (so memory holds one run's histories).
pub(crate) trait Sink {
    /// Every experiment of the source.
    fn experiments(&mut self, experiments: &[SourceExperiment]) -> Result<()>;
    /// One run, with its metric histories.
    fn run(&mut self, run: SourceRun) -> Result<()>;
    /// The logged models, and the runs' links to them (after every run).
    fn models(&mut self, models: &[SourceModel], links: &[SourceModelLink]) -> Result<()>;
    /// The registered models and their versions.
    fn registry(&mut self, registered: &[SourceRegisteredModel]) -> Result<()>;
}

/// Writes what a source's reader hands it into the store.
struct Importer<'a> {
    client: &'a Client,
    store: &'a crate::engine::Store,
    summary: ImportReport,
    /// Experiments whose runs are imported.
    usable: BTreeSet<String>,
    /// Deleted experiments created by this import (deleted at the end).
    created: Vec<SourceExperiment>,
    /// Conflicts with the store.
    problems: Vec<String>,
}

impl Sink for Importer<'_> {
    fn experiments(&mut self, experiments: &[SourceExperiment]) -> Result<()> {
        let (client, store) = (self.client, self.store);
        for e in experiments {
            match client.get_experiment(&e.id) {
                Ok(local) if local.name == e.name => {
                    self.usable.insert(e.id.clone());
                }
                Ok(local) => self.problems.push(format!(
                    "experiment {} ({:?}): the store's experiment {} is {:?}; its runs are skipped",
                    e.id, e.name, e.id, local.name
                )),
                Err(err) if err.is_not_found() => {
                    if let Some(other) = client.get_experiment_by_name(&e.name)? {
                        self.problems.push(format!(
                            "experiment {} ({:?}): the store has that name as experiment {}; \
                             its runs are skipped",
                            e.id, e.name, other.experiment_id
                        ));
                        continue;
                    }
                    store.append(&Record::CreateExperiment {
                        experiment_id: e.id.as_str(),
                        name: e.name.as_str(),
                        artifact_location: e.artifact_location.as_str(),
                        creation_time: e.creation_time,
                    })?;
                    for (k, v) in &e.tags {
                        store.append(&Record::SetExperimentTag {
                            experiment_id: e.id.as_str(),
                            key: k.as_str(),
                            value: v.as_str(),
                        })?;
                    }
                    self.summary.experiments += 1;
                    self.usable.insert(e.id.clone());
                    if e.deleted {
                        self.created.push(e.clone());
                    }
                }
                Err(err) => return Err(err),
            }
        }
        Ok(store.flush()?)
    }

    fn run(&mut self, run: SourceRun) -> Result<()> {
        if !self.usable.contains(&run.experiment_id) {
            return Ok(());
        }
        if self.client.get_run(&run.id).is_ok() {
            self.summary.runs_present += 1;
            return Ok(());
        }
        write_run(self.store, &run, &mut self.summary)
    }

    fn models(&mut self, models: &[SourceModel], links: &[SourceModelLink]) -> Result<()> {
        let usable = |id: &str| self.usable.contains(id);
        models::write_models(self.client, &usable, models, links, &mut self.summary)
    }

    fn registry(&mut self, registered: &[SourceRegisteredModel]) -> Result<()> {
        models::write_registry(self.client, registered, &mut self.summary)
    }
}

fn write_run(
    store: &crate::engine::Store,
    run: &SourceRun,
    summary: &mut ImportReport,
) -> Result<()> {
    let id = run.id.as_str();
    store.append(&Record::CreateRun {
        run_id: id,
        experiment_id: run.experiment_id.as_str(),
        run_name: run.name.as_str(),
        user_id: run.user_id.as_str(),
        start_time: run.start_time,
    })?;
    for (k, v) in &run.params {
        store.append(&Record::Param {
            run_id: id,
            key: k.as_str(),
            value: v.as_str(),
        })?;
    }
    for (k, v) in &run.tags {
        store.append(&Record::SetTag {
            run_id: id,
            key: k.as_str(),
            value: v.as_str(),
        })?;
    }
    for (key, points) in &run.metrics {
        let handle = store.metric_handle(id, key)?;
        for m in points {
            handle.log_at(*m)?;
        }
        summary.points += points.len() as u64;
    }
    for input in &run.inputs {
        store.append(&Record::LogInput {
            run_id: id.to_owned(),
            input: Box::new(input.clone()),
        })?;
    }
    match (run.status, run.end_time) {
        (RunStatus::Running, _) => {}
        (status, Some(end_time)) => store.append(&Record::EndRun {
            run_id: id,
            status,
            end_time,
        })?,
        (status, None) => store.append(&Record::UpdateRunStatus {
            run_id: id,
            status,
            time: run.start_time,
        })?,
    }
    if let Some(time) = run.deleted {
        store.append(&Record::DeleteRun { run_id: id, time })?;
    }
    summary.runs += 1;
    summary.params += run.params.len();
    summary.tags += run.tags.len();
    summary.inputs += run.inputs.len();
    Ok(())
}

/// MLflow's status name or number (file stores write 1 to 5).
pub(crate) use crate::tracking::mlflow_json::status_from as status;
