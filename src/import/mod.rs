//! `runlog import`: experiments and runs from MLflow into a runlog store,
//! ids kept: from an MLflow file store directory (`mlruns/` with its
//! `meta.yaml` files) or an MLflow SQLite database (`sqlite:///mlflow.db`).
//! Params, tags, status and times, full metric histories, dataset inputs;
//! artifacts are referenced where MLflow keeps them (each experiment keeps
//! its artifact location). Deleted experiments and runs come in deleted. A
//! run already in the store is left as it is, so an import can be run
//! again. A source file or row that cannot be read is reported by its path
//! (or table) and skipped, never silently: see [`ImportSummary::problems`].
//!
//! ```no_run
//! let client = runlog::Client::open("runs")?;
//! let source = runlog::import::Source::parse("mlruns")?;
//! let summary = runlog::import::import(&client, &source)?;
//! println!("{} runs, {} points", summary.runs, summary.points);
//! # Ok::<(), runlog::Error>(())
//! ```

mod file_store;
mod sqlite;
mod yaml;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::format::{DatasetInput, Record, RunStatus};
use crate::tracking::{Client, Metric};

/// Where MLflow's data is.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A file store directory (the one holding `0/meta.yaml`).
    FileStore(PathBuf),
    /// An SQLite database file.
    Sqlite(PathBuf),
}

impl Source {
    /// `sqlite:///path/mlflow.db` (or `sqlite:////abs/path`), `file:///dir`
    /// or a directory path.
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
        if from.contains("://") {
            return Err(Error::InvalidArgument(format!(
                "{from:?}: import reads an MLflow file store directory or sqlite:///path.db; \
                 for a server or another database, `mlflow server` it and `runlog sync` the other \
                 way, or export to SQLite first"
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
pub struct ImportSummary {
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
    /// Source files or rows that could not be read (path or table, and
    /// why): skipped, the rest imported.
    pub problems: Vec<String>,
}

/// Brings `source` into the store of `client` (opened for writing), then
/// flushes it. See the module's doc.
pub fn import(client: &Client, source: &Source) -> Result<ImportSummary> {
    let mut summary = ImportSummary::default();
    let (experiments, runs) = match source {
        Source::FileStore(dir) => file_store::read(dir, &mut summary.problems)?,
        Source::Sqlite(path) => sqlite::read(path, &mut summary.problems)?,
    };
    let store = client.store()?;
    let mut usable = BTreeMap::new();
    let mut created = std::collections::BTreeSet::new();
    for e in &experiments {
        match client.get_experiment(&e.id) {
            Ok(local) if local.name == e.name => {
                usable.insert(e.id.clone(), ());
            }
            Ok(local) => summary.problems.push(format!(
                "experiment {} ({:?}): the store's experiment {} is {:?}; its runs are skipped",
                e.id, e.name, e.id, local.name
            )),
            Err(Error::NotFound(_)) => {
                if let Some(other) = client.get_experiment_by_name(&e.name)? {
                    summary.problems.push(format!(
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
                summary.experiments += 1;
                usable.insert(e.id.clone(), ());
                created.insert(e.id.clone());
            }
            Err(err) => return Err(err),
        }
    }
    store.flush()?;
    for run in runs {
        if !usable.contains_key(&run.experiment_id) {
            continue;
        }
        if client.get_run(&run.id).is_ok() {
            summary.runs_present += 1;
            continue;
        }
        write_run(store, &run, &mut summary)?;
    }
    // Deleted experiments last, so that their runs are created first and
    // deleted with them, as MLflow shows them.
    for e in experiments.iter().filter(|e| e.deleted) {
        if created.contains(&e.id) {
            store.append(&Record::DeleteExperiment {
                experiment_id: e.id.as_str(),
                time: e.creation_time,
            })?;
        }
    }
    store.flush()?;
    Ok(summary)
}

fn write_run(store: &crate::Store, run: &SourceRun, summary: &mut ImportSummary) -> Result<()> {
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
pub(crate) fn status(text: &str) -> Option<RunStatus> {
    Some(match text {
        "1" | "RUNNING" => RunStatus::Running,
        "2" | "SCHEDULED" => RunStatus::Scheduled,
        "3" | "FINISHED" => RunStatus::Finished,
        "4" | "FAILED" => RunStatus::Failed,
        "5" | "KILLED" => RunStatus::Killed,
        _ => return None,
    })
}
