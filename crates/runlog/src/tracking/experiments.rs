//! Experiments through the client: create (unique names across processes),
//! read, rename, delete, restore, tags.

use crate::clock::wall_clock_ms;
use crate::error::{Error, Result};
use crate::format::Record;
use crate::identity::{DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME};
use crate::tracking::backend::Local;
use crate::tracking::client::{experiment_not_found, Client, Fresh, ARTIFACTS_DIR};
use crate::tracking::model::{Experiment, LifecycleStage, ViewType};
use crate::validation::{validate_experiment_name, validate_experiment_tag};

/// What [`Client::create_experiment`] creates: a name, and MLflow's
/// optional `artifact_location` and `tags`. A name alone converts into
/// one, so the common call reads as in MLflow.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use runlog::{Client, NewExperiment};
/// let client = Client::builder().store(dir.path()).open()?;
/// let plain = client.create_experiment("fraud-detection")?;
/// let tagged = client.create_experiment(
///     NewExperiment::new("fraud-v2").tag("team", "risk").artifact_location("/tmp/fraud-artifacts"),
/// )?;
/// assert_eq!(client.get_experiment(&tagged)?.tags["team"], "risk");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExperiment {
    pub(crate) name: String,
    pub(crate) artifact_location: Option<String>,
    pub(crate) artifact_root: Option<std::path::PathBuf>,
    pub(crate) tags: Vec<(String, String)>,
}

impl NewExperiment {
    /// An experiment of this name, its artifacts under the store, no tags.
    pub fn new(name: impl Into<String>) -> NewExperiment {
        NewExperiment {
            name: name.into(),
            artifact_location: None,
            artifact_root: None,
            tags: Vec::new(),
        }
    }

    /// Where its runs' artifacts go: a local path or a `file:` URI.
    pub fn artifact_location(mut self, location: impl Into<String>) -> NewExperiment {
        self.artifact_location = Some(location.into());
        self
    }

    /// Its artifacts in `<dir>/<experiment id>` (what a tracking server
    /// serving artifacts from `dir` gives new experiments), unless
    /// [`artifact_location`](NewExperiment::artifact_location) says where.
    pub fn artifact_root(mut self, dir: impl Into<std::path::PathBuf>) -> NewExperiment {
        self.artifact_root = Some(dir.into());
        self
    }

    /// With a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> NewExperiment {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// With these tags.
    pub fn tags(self, tags: &[(&str, &str)]) -> NewExperiment {
        tags.iter().fold(self, |e, (k, v)| e.tag(*k, *v))
    }
}

impl From<&str> for NewExperiment {
    fn from(name: &str) -> NewExperiment {
        NewExperiment::new(name)
    }
}

impl From<&String> for NewExperiment {
    fn from(name: &String) -> NewExperiment {
        NewExperiment::new(name.as_str())
    }
}

impl From<String> for NewExperiment {
    fn from(name: String) -> NewExperiment {
        NewExperiment::new(name)
    }
}

impl Client {
    /// Creates an experiment and returns its id, as MLflow's
    /// `create_experiment(name, artifact_location=None, tags=None)`: a name,
    /// or a [`NewExperiment`] with the optional parts. Refuses a name that
    /// any experiment has (deleted ones included). The artifact location
    /// defaults to a folder under the store. Safe against other processes
    /// creating the same name at the same moment: exactly one succeeds.
    pub fn create_experiment(&self, experiment: impl Into<NewExperiment>) -> Result<String> {
        let experiment = experiment.into();
        self.backend.create_experiment(self, &experiment)
    }

    /// Appends and fsyncs an experiment's creation; the caller holds the
    /// tracking lock and has checked the name.
    pub(crate) fn create_experiment_record(
        &self,
        id: &str,
        name: &str,
        location: Option<String>,
        tags: &[(&str, &str)],
    ) -> Result<()> {
        let location = location.unwrap_or_else(|| format!("{ARTIFACTS_DIR}/{id}"));
        self.append(&Record::CreateExperiment {
            experiment_id: id,
            name,
            artifact_location: &location,
            creation_time: wall_clock_ms(),
        })?;
        for (key, value) in tags {
            self.append(&Record::SetExperimentTag {
                experiment_id: id,
                key,
                value,
            })?;
        }
        // Durable and visible before the lock is released, so that the next
        // process to take it sees the name as taken.
        self.flush()
    }

    /// Makes the Default experiment (id 0) unless the store has it; its
    /// artifacts go in `<root>/0` when a root is given, else under the
    /// store.
    pub(crate) fn ensure_default_experiment_in(
        &self,
        root: Option<&std::path::Path>,
    ) -> Result<()> {
        if self
            .view(Fresh::OwnWrites)?
            .state
            .experiment(DEFAULT_EXPERIMENT_ID)
            .is_some()
        {
            return Ok(());
        }
        let _lock = self.lock_tracking()?;
        {
            let view = self.view(Fresh::Now)?;
            if view.state.experiment(DEFAULT_EXPERIMENT_ID).is_some()
                || view
                    .state
                    .experiment_by_name(DEFAULT_EXPERIMENT_NAME)
                    .is_some()
            {
                return Ok(());
            }
        }
        let location =
            root.map(|root| format!("file://{}", root.join(DEFAULT_EXPERIMENT_ID).display()));
        self.create_experiment_record(
            DEFAULT_EXPERIMENT_ID,
            DEFAULT_EXPERIMENT_NAME,
            location,
            &[],
        )
    }

    /// The experiment with this id.
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        self.backend.get_experiment(self, experiment_id)
    }

    /// The experiment with this name (deleted ones included), if any.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        self.backend.get_experiment_by_name(self, name)
    }

    /// The experiment with this name, created when there is none (the
    /// tracking lock makes this safe across processes). Refuses a deleted
    /// experiment.
    pub fn get_or_create_experiment(&self, name: &str) -> Result<Experiment> {
        if let Some(e) = self.get_experiment_by_name(name)? {
            return check_active_experiment(e);
        }
        validate_experiment_name(name)?;
        self.backend.get_or_create_experiment(self, name)
    }

    /// Every experiment, deleted ones included (search filters them).
    pub(crate) fn all_experiments(&self) -> Result<Vec<Experiment>> {
        let view = self.view(Fresh::Now)?;
        Ok(view.state.experiments(ViewType::All).cloned().collect())
    }

    /// Renames an experiment; the new name must be free.
    pub fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        validate_experiment_name(new_name)?;
        self.backend
            .rename_experiment(self, experiment_id, new_name)
    }

    /// Marks an experiment deleted, and its runs with it (MLflow's SQL
    /// store). Its name stays taken. A deleted experiment is
    /// [`Error::NotFound`] here, as in MLflow (`RESOURCE_DOES_NOT_EXIST`).
    pub fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.backend.delete_experiment(self, experiment_id)
    }

    /// Restores a deleted experiment and every one of its runs, those
    /// deleted before the experiment included (MLflow's SQL store). An
    /// active experiment is [`Error::NotFound`] here, as in MLflow
    /// (`RESOURCE_DOES_NOT_EXIST`: no deleted experiment has that id).
    pub fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.backend.restore_experiment(self, experiment_id)
    }

    /// Sets a tag on an experiment (last write wins).
    pub fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        validate_experiment_tag(key, value)?;
        self.backend
            .set_experiment_tag(self, experiment_id, key, value)
    }

    /// Removes a tag from an experiment; the tag must exist.
    pub fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        self.backend.delete_experiment_tag(self, experiment_id, key)
    }

    /// The experiment, which must exist and be active (a deleted one is
    /// MLflow's `INVALID_PARAMETER_VALUE`).
    pub(crate) fn active_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let e = self.get_experiment(experiment_id)?;
        if e.lifecycle_stage == LifecycleStage::Deleted {
            return Err(Error::InvalidArgument(format!(
                "experiment {experiment_id} ('{}') is deleted; restore it first",
                e.name
            )));
        }
        Ok(e)
    }
}

pub(crate) fn check_active_experiment(e: Experiment) -> Result<Experiment> {
    if e.lifecycle_stage == LifecycleStage::Deleted {
        return Err(Error::InvalidArgument(format!(
            "cannot use deleted experiment '{}' (id {}); restore it, or choose another name",
            e.name, e.experiment_id
        )));
    }
    Ok(e)
}

fn name_taken(name: &str, existing: &Experiment) -> Error {
    let state = match existing.lifecycle_stage {
        LifecycleStage::Active => "",
        LifecycleStage::Deleted => " in deleted state (restore it, or choose another name)",
    };
    Error::AlreadyExists(format!(
        "experiment '{name}' already exists{state} with id {}",
        existing.experiment_id
    ))
}

/// A user-given artifact location, recorded as an absolute path or URI (a
/// relative path in the log means "relative to the store").
fn absolute_location(location: &str) -> Result<String> {
    if location.is_empty() {
        return Err(Error::InvalidArgument(
            "the artifact location is empty".into(),
        ));
    }
    if location.contains(':') {
        return Ok(location.to_owned()); // a URI (file:, s3:, ...) or an absolute Windows path
    }
    let abs = std::path::absolute(location).map_err(|e| Error::io("resolve path", location, e))?;
    Ok(abs.display().to_string())
}

/// The experiments part of a [`Backend`](crate::tracking::backend::Backend):
/// what [`Client`]'s experiment calls of the same names do, once the
/// arguments are checked.
pub(crate) trait ExperimentBackend {
    fn create_experiment(&self, client: &Client, experiment: &NewExperiment) -> Result<String>;
    fn get_experiment(&self, client: &Client, experiment_id: &str) -> Result<Experiment>;
    fn get_experiment_by_name(&self, client: &Client, name: &str) -> Result<Option<Experiment>>;
    /// Called when no experiment had the name a moment ago.
    fn get_or_create_experiment(&self, client: &Client, name: &str) -> Result<Experiment>;
    fn rename_experiment(&self, client: &Client, experiment_id: &str, new_name: &str)
        -> Result<()>;
    fn delete_experiment(&self, client: &Client, experiment_id: &str) -> Result<()>;
    fn restore_experiment(&self, client: &Client, experiment_id: &str) -> Result<()>;
    fn set_experiment_tag(
        &self,
        client: &Client,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<()>;
    fn delete_experiment_tag(&self, client: &Client, experiment_id: &str, key: &str) -> Result<()>;
}

/// The store holds the experiments (names kept unique across processes by
/// the tracking lock).
impl ExperimentBackend for Local {
    fn create_experiment(&self, client: &Client, experiment: &NewExperiment) -> Result<String> {
        let name = experiment.name.as_str();
        let tags: Vec<(&str, &str)> = experiment
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let tags = tags.as_slice();
        validate_experiment_name(name)?;
        for (k, v) in tags {
            validate_experiment_tag(k, v)?;
        }
        let location = experiment
            .artifact_location
            .as_deref()
            .map(absolute_location)
            .transpose()?;
        let _lock = client.lock_tracking()?;
        let id = {
            let view = client.view(Fresh::Now)?;
            if let Some(existing) = view.state.experiment_by_name(name) {
                return Err(name_taken(name, existing));
            }
            let mut id = crate::identity::new_experiment_id()?;
            while view.state.experiment(&id).is_some() {
                id = crate::identity::new_experiment_id()?;
            }
            id
        };
        let location = location.or_else(|| {
            experiment
                .artifact_root
                .as_ref()
                .map(|root| format!("file://{}", root.join(&id).display()))
        });
        client.create_experiment_record(&id, name, location, tags)?;
        Ok(id)
    }

    fn get_experiment(&self, client: &Client, experiment_id: &str) -> Result<Experiment> {
        client
            .view(Fresh::Now)?
            .state
            .experiment(experiment_id)
            .cloned()
            .ok_or_else(|| experiment_not_found(experiment_id))
    }

    fn get_experiment_by_name(&self, client: &Client, name: &str) -> Result<Option<Experiment>> {
        Ok(client
            .view(Fresh::Now)?
            .state
            .experiment_by_name(name)
            .cloned())
    }

    fn get_or_create_experiment(&self, client: &Client, name: &str) -> Result<Experiment> {
        let lock = client.lock_tracking()?;
        let existing = client
            .view(Fresh::Now)?
            .state
            .experiment_by_name(name)
            .cloned();
        if let Some(e) = existing {
            return check_active_experiment(e);
        }
        drop(lock);
        match client.create_experiment(name) {
            Ok(id) => client.get_experiment(&id),
            // Another process won between the two locks.
            Err(err) if err.is_already_exists() => client
                .get_experiment_by_name(name)?
                .ok_or_else(|| experiment_not_found(name))
                .and_then(check_active_experiment),
            Err(e) => Err(e),
        }
    }

    fn rename_experiment(
        &self,
        client: &Client,
        experiment_id: &str,
        new_name: &str,
    ) -> Result<()> {
        let _lock = client.lock_tracking()?;
        {
            let view = client.view(Fresh::Now)?;
            let e = view
                .state
                .experiment(experiment_id)
                .ok_or_else(|| experiment_not_found(experiment_id))?;
            if e.lifecycle_stage == LifecycleStage::Deleted {
                return Err(Error::InvalidState(format!(
                    "cannot rename experiment {experiment_id}: it is deleted"
                )));
            }
            if e.name == new_name {
                return Ok(());
            }
            if let Some(other) = view.state.experiment_by_name(new_name) {
                return Err(name_taken(new_name, other));
            }
        }
        client.append(&Record::RenameExperiment {
            experiment_id,
            name: new_name,
            time: wall_clock_ms(),
        })?;
        client.flush()
    }

    fn delete_experiment(&self, client: &Client, experiment_id: &str) -> Result<()> {
        let e = client.get_experiment(experiment_id)?;
        if e.lifecycle_stage == LifecycleStage::Deleted {
            return Err(Error::NotFound(format!(
                "no active experiment with id '{experiment_id}' (it is deleted already)"
            )));
        }
        client.append(&Record::DeleteExperiment {
            experiment_id,
            time: wall_clock_ms(),
        })?;
        client.flush()
    }

    fn restore_experiment(&self, client: &Client, experiment_id: &str) -> Result<()> {
        let e = client.get_experiment(experiment_id)?;
        if e.lifecycle_stage == LifecycleStage::Active {
            return Err(Error::NotFound(format!(
                "no deleted experiment with id '{experiment_id}' (it is active)"
            )));
        }
        client.append(&Record::RestoreExperiment {
            experiment_id,
            time: wall_clock_ms(),
        })?;
        client.flush()
    }

    fn set_experiment_tag(
        &self,
        client: &Client,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        client.active_experiment(experiment_id)?;
        client.append(&Record::SetExperimentTag {
            experiment_id,
            key,
            value,
        })
    }

    fn delete_experiment_tag(&self, client: &Client, experiment_id: &str, key: &str) -> Result<()> {
        let e = client.active_experiment(experiment_id)?;
        if !e.tags.contains_key(key) {
            return Err(Error::NotFound(format!(
                "No tag with name: {key} in experiment with id {experiment_id}"
            )));
        }
        client.append(&Record::DeleteExperimentTag { experiment_id, key })
    }
}
