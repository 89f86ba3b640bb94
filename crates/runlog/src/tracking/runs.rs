//! Runs through the client: creation, reading, status, deletion, listing.

use crate::context::{TAG_PARENT_RUN_ID, TAG_RUN_NAME};
use crate::error::{Error, Result};
use crate::format::{Record, RunStatus};
use crate::identity::{new_run_id, random_run_name};
use crate::tracking::backend::Local;
use crate::tracking::client::{Client, Fresh};
use crate::tracking::model::{LifecycleStage, Run, ViewType};
use crate::tracking::tags::check_user_tag;
use std::borrow::Cow;

use crate::clock::wall_clock_ms;
use crate::validation::validate_tag_value;

/// How often a generated run name is drawn again when the experiment has a
/// run of that name already.
const NAME_ATTEMPTS: usize = 32;

/// What [`Client::create_run`] creates: a run in an experiment, with
/// MLflow's optional `run_name`, `tags` and `start_time`. An experiment id
/// alone converts into one, so the common call reads as in MLflow.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use runlog::{Client, NewRun};
/// let client = Client::builder().store(dir.path()).open()?;
/// let run = client.create_run("0")?; // a generated adjective-animal-N name
/// let named = client.create_run(NewRun::new("0").run_name("baseline").tag("team", "vision"))?;
/// assert_eq!(named.info.run_name, "baseline");
/// assert_eq!(named.data.tags["team"], "vision");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    pub(crate) experiment_id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) run_name: Option<String>,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) start_time: Option<i64>,
}

impl NewRun {
    /// A run of this experiment, named by runlog, started now, no tags.
    pub fn new(experiment_id: impl Into<String>) -> NewRun {
        NewRun {
            experiment_id: experiment_id.into(),
            user_id: None,
            run_name: None,
            tags: Vec::new(),
            start_time: None,
        }
    }

    /// Its name (also tag `mlflow.runName`).
    pub fn run_name(mut self, name: impl Into<String>) -> NewRun {
        self.run_name = Some(name.into());
        self
    }

    /// With a tag (system tags under `mlflow.` included).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> NewRun {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// With these tags.
    pub fn tags(self, tags: &[(&str, &str)]) -> NewRun {
        tags.iter().fold(self, |r, (k, v)| r.tag(*k, *v))
    }

    /// Who runs it (MLflow's `user_id`; default: tag `mlflow.user` when
    /// given, else the user running this process).
    pub fn user_id(mut self, user: impl Into<String>) -> NewRun {
        self.user_id = Some(user.into());
        self
    }

    /// Its start time (ms since the epoch; default now), for imports.
    pub fn start_time(mut self, ms: i64) -> NewRun {
        self.start_time = Some(ms);
        self
    }
}

impl From<&str> for NewRun {
    fn from(experiment_id: &str) -> NewRun {
        NewRun::new(experiment_id)
    }
}

impl From<&String> for NewRun {
    fn from(experiment_id: &String) -> NewRun {
        NewRun::new(experiment_id.as_str())
    }
}

impl From<String> for NewRun {
    fn from(experiment_id: String) -> NewRun {
        NewRun::new(experiment_id)
    }
}

impl Client {
    /// Creates a run and returns it (status `RUNNING`), as MLflow's
    /// `create_run(experiment_id, start_time=None, tags=None,
    /// run_name=None)`: an experiment id, or a [`NewRun`] with the optional
    /// parts.
    ///
    /// Without a name, the run gets a generated `adjective-animal-N` name
    /// that no run of the experiment has. Tags are set as given, system
    /// tags (`mlflow.*`) included, as MLflow's client does; the run name is
    /// also recorded as tag `mlflow.runName`, and `mlflow.user` (when given)
    /// as the run's user.
    pub fn create_run(&self, run: impl Into<NewRun>) -> Result<Run> {
        let run = run.into();
        self.backend.create_run(self, &run)
    }

    fn unused_run_name(&self, experiment_id: &str) -> Result<String> {
        let view = self.view(Fresh::OwnWrites)?;
        let mut name = random_run_name()?;
        for _ in 0..NAME_ATTEMPTS {
            if !view.state.has_run_named(experiment_id, &name) {
                break;
            }
            name = random_run_name()?;
        }
        Ok(name)
    }

    /// The run with this id: info, latest metrics, params, tags, inputs.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::builder().store(dir.path()).open()?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// client.log_metric(&run_id, "acc", 0.9, 3)?;
    /// let run = client.get_run(&run_id)?;
    /// assert_eq!(run.info.status, runlog::RunStatus::Running);
    /// assert_eq!(run.data.metrics["acc"].value, 0.9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_run(&self, run_id: &str) -> Result<Run> {
        self.backend.get_run(self, run_id)
    }

    /// A number per run that moves whenever the run changes (a record or
    /// new points, from this process or another), 0 for a run not seen:
    /// what a watcher compares to know which runs to read again. Brings
    /// the client up to date with the store first. Local stores only.
    pub fn change_numbers(&self, run_ids: &[&str]) -> Result<Vec<u64>> {
        self.backend.change_numbers(self, run_ids)
    }

    /// The parent of a nested run (tag `mlflow.parentRunId`), if it has one.
    pub fn get_parent_run(&self, run_id: &str) -> Result<Option<Run>> {
        let run = self.get_run(run_id)?;
        match run.data.tags.get(TAG_PARENT_RUN_ID) {
            Some(parent) => self.get_run(parent).map(Some),
            None => Ok(None),
        }
    }

    /// Runs of an experiment in the view, newest start first, then by run
    /// id (filters, ordering and paging: [`search_runs`](Client::search_runs)).
    pub fn list_runs(&self, experiment_id: &str, view_type: ViewType) -> Result<Vec<Run>> {
        self.backend.list_runs(self, experiment_id, view_type)
    }

    /// Ends a run with a terminal status (`FINISHED`, `FAILED` or `KILLED`)
    /// at the current time.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::builder().store(dir.path()).open()?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// client.set_terminated(&run_id, runlog::RunStatus::Finished)?;
    /// assert!(client.get_run(&run_id)?.info.end_time.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_terminated(&self, run_id: &str, status: RunStatus) -> Result<()> {
        self.set_terminated_at(run_id, status, wall_clock_ms())
    }

    /// [`set_terminated`](Client::set_terminated) with an explicit end time.
    pub fn set_terminated_at(&self, run_id: &str, status: RunStatus, end_time: i64) -> Result<()> {
        if matches!(status, RunStatus::Running | RunStatus::Scheduled) {
            return Err(Error::InvalidArgument(format!(
                "{} is not a terminal status; end a run as FINISHED, FAILED or KILLED",
                status.as_str()
            )));
        }
        if end_time < 0 {
            return Err(Error::InvalidArgument(format!(
                "invalid end time {end_time}: times are ms since the epoch"
            )));
        }
        self.writable_run(run_id)?;
        self.append(&Record::EndRun {
            run_id,
            status,
            end_time,
        })?;
        self.flush()
    }

    /// MLflow's `update_run_info`, as its server does it: a status alone
    /// changes the status (a terminal one without an end time leaves the
    /// end time as it is), an end time alone is stored with the status the
    /// run has, both end the run then; a name renames it.
    pub fn update_run_info(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time: Option<i64>,
        name: Option<&str>,
    ) -> Result<()> {
        let run = self.writable_run(run_id)?;
        if let Some(name) = name {
            self.rename_run(run_id, name)?;
        }
        match (status, end_time) {
            (status, Some(end_time)) => self.append(&Record::EndRun {
                run_id,
                status: status.unwrap_or(run.info.status),
                end_time,
            }),
            (Some(status), None) => self.append(&Record::UpdateRunStatus {
                run_id,
                status,
                time: wall_clock_ms(),
            }),
            (None, None) => Ok(()),
        }
    }

    fn rename_run(&self, run_id: &str, name: &str) -> Result<()> {
        validate_tag_value(TAG_RUN_NAME, name)?;
        self.append(&Record::RenameRun {
            run_id,
            run_name: name,
        })
    }

    /// Changes a run's status (e.g. back to `RUNNING` to resume it; a
    /// terminal status ends it) and/or its name.
    pub fn update_run(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        name: Option<&str>,
    ) -> Result<()> {
        self.writable_run(run_id)?;
        if let Some(name) = name {
            self.rename_run(run_id, name)?;
        }
        match status {
            Some(s @ (RunStatus::Running | RunStatus::Scheduled)) => {
                self.append(&Record::UpdateRunStatus {
                    run_id,
                    status: s,
                    time: wall_clock_ms(),
                })
            }
            Some(s) => self.set_terminated(run_id, s),
            None => Ok(()),
        }
    }

    /// Marks a run deleted (restorable; its data stays). Deleting a
    /// deleted run succeeds and changes nothing, as in MLflow.
    pub fn delete_run(&self, run_id: &str) -> Result<()> {
        self.backend.delete_run(self, run_id)
    }

    /// Restores a deleted run. Restoring an active run succeeds and changes
    /// nothing, as in MLflow.
    pub fn restore_run(&self, run_id: &str) -> Result<()> {
        self.backend.restore_run(self, run_id)
    }

    /// Sets a tag on a run (last write wins). System tags under `mlflow.`
    /// are accepted as MLflow accepts them; `mlflow.runName` renames the
    /// run.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::builder().store(dir.path()).open()?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// client.set_tag(&run_id, "phase", "eval")?;
    /// client.set_tag(&run_id, "mlflow.runName", "renamed")?;
    /// assert_eq!(client.get_run(&run_id)?.info.run_name, "renamed");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        let value = check_user_tag(key, value)?;
        self.writable_run(run_id)?;
        self.append_tag(run_id, key, &value)
    }

    /// Appends a checked tag; `mlflow.runName` renames the run.
    pub(crate) fn append_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        if key == TAG_RUN_NAME {
            return self.append(&Record::RenameRun {
                run_id,
                run_name: value,
            });
        }
        self.append(&Record::SetTag { run_id, key, value })
    }

    /// Removes a tag from a run; the tag must exist (`mlflow.runName`,
    /// the run's name, cannot be removed).
    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        crate::tracking::tags::check_user_tag_key(key, "delete")?;
        let run = self.writable_run(run_id)?;
        if !run.data.tags.contains_key(key) {
            return Err(Error::NotFound(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        self.append(&Record::DeleteTag { run_id, key })
    }

    /// The run, which must exist and be active (not deleted, nor in a
    /// deleted experiment), as of this client's own last write.
    pub(crate) fn writable_run(&self, run_id: &str) -> Result<Run> {
        self.with_writable_run(run_id, Run::clone)
    }

    /// Runs `f` on the run, which must exist and be active, without copying
    /// it (the check on every `log_metric` by run id).
    pub(crate) fn with_writable_run<T>(
        &self,
        run_id: &str,
        f: impl FnOnce(&Run) -> T,
    ) -> Result<T> {
        for fresh in [Fresh::OwnWrites, Fresh::Now] {
            // Not seen yet: another process may have created it since.
            let view = self.view(fresh)?;
            let Some(run) = view.state.run(run_id) else {
                continue;
            };
            // Only the run's own stage, as in MLflow: a run restored inside
            // a deleted experiment takes writes.
            if run.info.lifecycle_stage == LifecycleStage::Deleted {
                return Err(deleted_run_takes_no_writes(run_id));
            }
            return Ok(f(run));
        }
        // A run of the server this spool does not hold yet.
        if self.backend.take_in_run(self, run_id)? {
            if let Some(run) = self.view(Fresh::Now)?.state.run(run_id) {
                return Ok(f(run));
            }
        }
        Err(run_not_found(run_id))
    }
}

/// A write to a deleted run: MLflow's `INVALID_PARAMETER_VALUE`.
pub(crate) fn deleted_run_takes_no_writes(run_id: &str) -> Error {
    Error::InvalidArgument(format!(
        "the run {run_id} must be in the 'active' state; its current state is deleted"
    ))
}

/// No run has this id: [`Error::NotFound`], or, for a string that cannot be
/// a run id, the [`Error::InvalidArgument`] MLflow answers
/// (`INVALID_PARAMETER_VALUE`).
pub(crate) fn run_not_found(run_id: &str) -> Error {
    match crate::validation::validate_run_id(run_id) {
        Err(malformed) => malformed,
        Ok(()) => Error::NotFound(format!("Run with id={run_id} not found")),
    }
}

/// The runs part of a [`Backend`](crate::tracking::backend::Backend): what
/// [`Client`]'s run calls of the same names do.
pub(crate) trait RunBackend {
    fn create_run(&self, client: &Client, run: &NewRun) -> Result<Run>;
    fn get_run(&self, client: &Client, run_id: &str) -> Result<Run>;
    fn change_numbers(&self, client: &Client, run_ids: &[&str]) -> Result<Vec<u64>>;
    fn list_runs(
        &self,
        client: &Client,
        experiment_id: &str,
        view_type: ViewType,
    ) -> Result<Vec<Run>>;
    fn delete_run(&self, client: &Client, run_id: &str) -> Result<()>;
    fn restore_run(&self, client: &Client, run_id: &str) -> Result<()>;
}

/// The store holds the runs.
impl RunBackend for Local {
    fn create_run(&self, client: &Client, run: &NewRun) -> Result<Run> {
        let experiment_id = run.experiment_id.as_str();
        let run_name = run.run_name.as_deref();
        let start_time = run.start_time.unwrap_or_else(wall_clock_ms);
        let tags: Vec<(&str, &str)> = run
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let fitted: Vec<Cow<str>> = tags
            .iter()
            .map(|(key, value)| check_user_tag(key, value))
            .collect::<Result<_>>()?;
        let tags: Vec<(&str, &str)> = tags
            .iter()
            .zip(&fitted)
            .map(|((key, _), value)| (*key, value.as_ref()))
            .collect();
        if start_time < 0 {
            return Err(Error::InvalidArgument(format!(
                "invalid start time {start_time}: times are ms since the epoch"
            )));
        }
        let experiment = client
            .active_experiment(experiment_id)
            .map_err(|e| match e {
                Error::InvalidArgument(_) => Error::InvalidArgument(format!(
                    "cannot create a run in experiment {experiment_id}: it is deleted"
                )),
                other => other,
            })?;
        let tag_name = tags
            .iter()
            .find(|(k, _)| *k == TAG_RUN_NAME)
            .map(|(_, v)| *v);
        if let (Some(name), Some(tagged)) = (run_name, tag_name) {
            if name != tagged {
                return Err(Error::InvalidArgument(format!(
                    "the run name '{name}' and the tag {TAG_RUN_NAME} = '{tagged}' differ; \
                     give one, or the same in both"
                )));
            }
        }
        let run_name = match run_name.or(tag_name) {
            Some(name) => {
                validate_tag_value(TAG_RUN_NAME, name)?;
                name.to_owned()
            }
            None => client.unused_run_name(&experiment.experiment_id)?,
        };
        let user = match &run.user_id {
            Some(user) => user.clone(),
            None => tags
                .iter()
                .find(|(k, _)| *k == crate::context::TAG_USER)
                .map(|(_, v)| (*v).to_owned())
                .unwrap_or_else(crate::context::current_user),
        };
        let run_id = new_run_id()?;
        client.append(&Record::CreateRun {
            run_id: &run_id,
            experiment_id,
            run_name: &run_name,
            user_id: &user,
            start_time,
        })?;
        client.append(&Record::SetTag {
            run_id: &run_id,
            key: TAG_RUN_NAME,
            value: &run_name,
        })?;
        for (key, value) in tags.iter().filter(|(k, _)| *k != TAG_RUN_NAME) {
            client.append(&Record::SetTag {
                run_id: &run_id,
                key,
                value,
            })?;
        }
        client.get_run(&run_id)
    }

    fn get_run(&self, client: &Client, run_id: &str) -> Result<Run> {
        let view = client.view(Fresh::Now)?;
        let run = view
            .state
            .run(run_id)
            .ok_or_else(|| run_not_found(run_id))?;
        Ok(run.clone())
    }

    fn change_numbers(&self, client: &Client, run_ids: &[&str]) -> Result<Vec<u64>> {
        let view = client.view(Fresh::Now)?;
        Ok(run_ids.iter().map(|id| view.state.changes(id)).collect())
    }

    fn list_runs(
        &self,
        client: &Client,
        experiment_id: &str,
        view_type: ViewType,
    ) -> Result<Vec<Run>> {
        let view = client.view(Fresh::Now)?;
        if view.state.experiment(experiment_id).is_none() {
            return Err(crate::tracking::client::experiment_not_found(experiment_id));
        }
        Ok(view
            .state
            .runs(experiment_id, view_type)
            .into_iter()
            .cloned()
            .collect())
    }

    fn delete_run(&self, client: &Client, run_id: &str) -> Result<()> {
        let run = client.get_run(run_id)?;
        if run.info.lifecycle_stage == LifecycleStage::Deleted {
            return Ok(());
        }
        client.append(&Record::DeleteRun {
            run_id,
            time: wall_clock_ms(),
        })?;
        client.flush()
    }

    fn restore_run(&self, client: &Client, run_id: &str) -> Result<()> {
        let run = client.get_run(run_id)?;
        if run.info.lifecycle_stage == LifecycleStage::Active {
            return Ok(());
        }
        client.append(&Record::RestoreRun {
            run_id,
            time: wall_clock_ms(),
        })?;
        client.flush()
    }
}
