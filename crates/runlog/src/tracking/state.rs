//! The tracking state: experiments and runs as the log says they are,
//! built by applying replayed events in order. The log is the truth; the
//! state is a view of it that a client keeps to answer `get_run`,
//! `get_experiment_by_name` and listings, and to check new writes (param
//! immutability, name uniqueness) before they are appended.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::context::TAG_RUN_NAME;
use crate::format::{Record, RunStatus};
use crate::replay::Event;
use crate::tracking::logged_models::LoggedModels;
use crate::tracking::model::ModelOutput;
use crate::tracking::model::{Experiment, LifecycleStage, Metric, Run, RunData, RunInfo, ViewType};
use crate::tracking::registry::Registry;

/// Experiments and runs, materialised from the log.
///
/// ```
/// # fn main() -> runlog::Result<()> {
/// use runlog::tracking::TrackingState;
/// use runlog::engine::{Record, Replay, Store};
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path())?;
/// store.append(&Record::CreateExperiment {
///     experiment_id: "0", name: "Default", artifact_location: "mlruns/0", creation_time: 1,
/// })?;
/// store.append(&Record::CreateRun {
///     run_id: "r1", experiment_id: "0", run_name: "brave-owl-1", user_id: "me", start_time: 2,
/// })?;
/// store.log_metric("r1", "loss", runlog::Metric { value: 0.5, timestamp: 3, step: 10 })?;
/// store.close()?;
///
/// let mut state = TrackingState::default();
/// for item in Replay::open(dir.path())? {
///     state.apply(&item?.event);
/// }
/// let run = state.run("r1").unwrap();
/// assert_eq!(run.data.metrics["loss"].step, 10);
/// assert_eq!(run.info.artifact_uri, "mlruns/0/r1/artifacts");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct TrackingState {
    /// The store directory (absolute), against which relative artifact
    /// locations resolve; `None` leaves them as recorded.
    artifact_root: Option<PathBuf>,
    experiments: BTreeMap<String, Experiment>,
    /// Name -> id, deleted experiments included (names stay taken).
    names: HashMap<String, String>,
    runs: HashMap<String, Run>,
    /// Run ids per experiment, in creation order.
    runs_by_experiment: HashMap<String, Vec<String>>,
    /// How many runs of each experiment have each name.
    run_names: HashMap<String, HashMap<String, i64>>,
    /// Per run, the number of its last change (a record, or points of a
    /// catch-up), from one process-wide sequence: it never repeats, even
    /// in a state built again from scratch. What a spool's background sync pushes by.
    changes: HashMap<String, u64>,
    /// MLflow 3's logged models.
    models: LoggedModels,
    /// The model registry.
    registry: Registry,
}

impl TrackingState {
    /// An empty state whose relative artifact locations (the default ones,
    /// recorded relative to the store so that a store can be moved) resolve
    /// to `file://` URIs under `store_dir`.
    pub fn with_store_dir(store_dir: &Path) -> TrackingState {
        TrackingState {
            artifact_root: Some(store_dir.to_owned()),
            ..TrackingState::default()
        }
    }

    /// The artifact location as users see it: a location recorded relative
    /// to the store becomes a `file://` URI under the store directory.
    fn resolve_location(&self, recorded: &str) -> String {
        resolve_location(self.artifact_root.as_deref(), recorded)
    }

    /// The logged models.
    pub fn models(&self) -> &LoggedModels {
        &self.models
    }

    /// The model registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Applies one replayed event. Events about a run not yet created (a
    /// lane interleaved ahead of another) are kept on a placeholder run
    /// that its creation completes.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Record(record) => self.apply_record(record),
            Event::Metric { .. } => {
                if let Some((run_id, key, point)) = event.metric() {
                    self.apply_point(run_id, key, point);
                }
            }
        }
    }

    /// A metric point: it replaces its key's latest value when it is later
    /// by MLflow's rule.
    pub(crate) fn apply_point(&mut self, run_id: &str, key: &str, point: Metric) {
        // No allocation for a run seen before: this runs per point.
        let run = match self.runs.get_mut(run_id) {
            Some(run) => run,
            None => self.run_entry(run_id),
        };
        let metrics = &mut run.data.metrics;
        match metrics.get_mut(key) {
            Some(latest) if point.is_later_than(latest) => *latest = point,
            Some(_) => {}
            None => {
                metrics.insert(key.to_owned(), point);
            }
        }
    }

    /// The number of a run's last change (0: never changed or unknown).
    pub(crate) fn changes(&self, run_id: &str) -> u64 {
        self.changes.get(run_id).copied().unwrap_or(0)
    }

    /// Records a change of a run.
    pub(crate) fn touch(&mut self, run_id: &str) {
        static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        match self.changes.get_mut(run_id) {
            Some(last) => *last = n,
            None => {
                self.changes.insert(run_id.to_owned(), n);
            }
        }
    }

    /// The run ids of the state.
    #[cfg(feature = "remote")]
    pub(crate) fn run_ids(&self) -> impl Iterator<Item = &String> {
        self.runs.keys()
    }

    fn apply_record(&mut self, record: &Record) {
        if let Some(run_id) = record_run(record) {
            self.touch(run_id);
        }
        let root = self.artifact_root.clone();
        let resolve = |recorded: &str| resolve_location(root.as_deref(), recorded);
        if self.models.apply(record, &resolve) || self.registry.apply(record, &resolve) {
            return;
        }
        match record {
            Record::Param { run_id, key, value } => {
                // Write-once: the first value in log order stands.
                let params = &mut self.run_entry(run_id).data.params;
                params.entry(key.clone()).or_insert_with(|| value.clone());
            }
            Record::SetTag { run_id, key, value } => {
                if key == TAG_RUN_NAME {
                    self.rename(run_id, value);
                }
                let run = self.run_entry(run_id);
                run.data.tags.insert(key.clone(), value.clone());
            }
            Record::DeleteTag { run_id, key } => {
                self.run_entry(run_id).data.tags.remove(key);
            }
            Record::CreateRun {
                run_id,
                experiment_id,
                run_name,
                user_id,
                start_time,
            } => {
                let artifact_uri = self
                    .experiments
                    .get(experiment_id)
                    .map(|e| format!("{}/{run_id}/artifacts", e.artifact_location))
                    .unwrap_or_default();
                let old = &self.run_entry(run_id).info;
                let fresh = old.experiment_id.is_empty();
                if !fresh {
                    let (exp, name) = (old.experiment_id.clone(), old.run_name.clone());
                    self.count_name(&exp, &name, -1);
                }
                self.count_name(experiment_id, run_name, 1);
                let run = self.run_entry(run_id);
                run.info = RunInfo {
                    run_id: run_id.clone(),
                    run_name: run_name.clone(),
                    experiment_id: experiment_id.clone(),
                    user_id: user_id.clone(),
                    status: RunStatus::Running,
                    start_time: *start_time,
                    end_time: None,
                    artifact_uri,
                    lifecycle_stage: LifecycleStage::Active,
                };
                if fresh {
                    self.runs_by_experiment
                        .entry(experiment_id.clone())
                        .or_default()
                        .push(run_id.clone());
                }
            }
            Record::UpdateRunStatus { run_id, status, .. } => {
                let info = &mut self.run_entry(run_id).info;
                // A resumed run keeps its old end time while it runs
                // again, as in MLflow: the next end replaces it.
                info.status = *status;
            }
            Record::EndRun {
                run_id,
                status,
                end_time,
            } => {
                let info = &mut self.run_entry(run_id).info;
                info.status = *status;
                info.end_time = Some(*end_time);
            }
            Record::RenameRun { run_id, run_name } => {
                self.rename(run_id, run_name);
                let run = self.run_entry(run_id);
                run.data
                    .tags
                    .insert(TAG_RUN_NAME.to_owned(), run_name.clone());
            }
            Record::DeleteRun { run_id, .. } => {
                self.run_entry(run_id).info.lifecycle_stage = LifecycleStage::Deleted;
            }
            Record::RestoreRun { run_id, .. } => {
                self.run_entry(run_id).info.lifecycle_stage = LifecycleStage::Active;
            }
            Record::CreateExperiment {
                experiment_id,
                name,
                artifact_location,
                creation_time,
            } => {
                if self.experiments.contains_key(experiment_id) {
                    return; // the first creation in log order stands
                }
                self.names
                    .entry(name.clone())
                    .or_insert_with(|| experiment_id.clone());
                self.experiments.insert(
                    experiment_id.clone(),
                    Experiment {
                        experiment_id: experiment_id.clone(),
                        name: name.clone(),
                        artifact_location: self.resolve_location(artifact_location),
                        lifecycle_stage: LifecycleStage::Active,
                        creation_time: *creation_time,
                        last_update_time: *creation_time,
                        tags: BTreeMap::new(),
                    },
                );
            }
            Record::RenameExperiment {
                experiment_id,
                name,
                time,
            } => {
                let Some(e) = self.experiments.get_mut(experiment_id) else {
                    return;
                };
                if self.names.get(&e.name) == Some(experiment_id) {
                    self.names.remove(&e.name);
                }
                self.names
                    .entry(name.clone())
                    .or_insert_with(|| experiment_id.clone());
                e.name = name.clone();
                e.last_update_time = *time;
            }
            // MLflow's SQL store: deleting an experiment deletes its runs,
            // restoring it restores them all (runs deleted before included).
            Record::DeleteExperiment {
                experiment_id,
                time,
            } => self.set_stage(experiment_id, LifecycleStage::Deleted, *time),
            Record::RestoreExperiment {
                experiment_id,
                time,
            } => self.set_stage(experiment_id, LifecycleStage::Active, *time),
            Record::SetExperimentTag {
                experiment_id,
                key,
                value,
            } => {
                if let Some(e) = self.experiments.get_mut(experiment_id) {
                    e.tags.insert(key.clone(), value.clone());
                }
            }
            Record::DeleteExperimentTag { experiment_id, key } => {
                if let Some(e) = self.experiments.get_mut(experiment_id) {
                    e.tags.remove(key);
                }
            }
            Record::LogInput { run_id, input } => {
                let inputs = &mut self.run_entry(run_id).inputs;
                if !inputs.contains(input) {
                    inputs.push((**input).clone());
                }
            }
            Record::LogModelOutput {
                run_id,
                model_id,
                step,
            } => {
                let output = ModelOutput {
                    model_id: model_id.clone(),
                    step: *step,
                };
                let outputs = &mut self.run_entry(run_id).outputs;
                if !outputs.contains(&output) {
                    outputs.push(output);
                }
            }
            Record::LogModelInput { run_id, model_id } => {
                let inputs = &mut self.run_entry(run_id).model_inputs;
                if !inputs.contains(model_id) {
                    inputs.push(model_id.clone());
                }
            }
            // Applied by `LoggedModels` and `Registry` above.
            Record::CreateRegisteredModel { .. }
            | Record::RenameRegisteredModel { .. }
            | Record::UpdateRegisteredModel { .. }
            | Record::DeleteRegisteredModel { .. }
            | Record::SetRegisteredModelTag { .. }
            | Record::DeleteRegisteredModelTag { .. }
            | Record::SetRegisteredModelAlias { .. }
            | Record::DeleteRegisteredModelAlias { .. }
            | Record::CreateModelVersion { .. }
            | Record::UpdateModelVersion { .. }
            | Record::TransitionModelVersionStage { .. }
            | Record::DeleteModelVersion { .. }
            | Record::SetModelVersionTag { .. }
            | Record::DeleteModelVersionTag { .. }
            | Record::CreateLoggedModel { .. }
            | Record::FinalizeLoggedModel { .. }
            | Record::DeleteLoggedModel { .. }
            | Record::SetLoggedModelTag { .. }
            | Record::DeleteLoggedModelTag { .. }
            | Record::LoggedModelParam { .. }
            | Record::LoggedModelMetric { .. } => {}
        }
    }

    /// Renames a run, keeping the name index current.
    fn rename(&mut self, run_id: &str, name: &str) {
        let info = &mut self.run_entry(run_id).info;
        let old = std::mem::replace(&mut info.run_name, name.to_owned());
        if !info.experiment_id.is_empty() {
            let exp = info.experiment_id.clone();
            self.count_name(&exp, &old, -1);
            self.count_name(&exp, name, 1);
        }
    }

    fn count_name(&mut self, experiment_id: &str, name: &str, delta: i64) {
        let names = self.run_names.entry(experiment_id.to_owned()).or_default();
        let count = names.entry(name.to_owned()).or_insert(0);
        *count += delta;
        if *count <= 0 {
            names.remove(name);
        }
    }

    /// An experiment's stage, and the same stage for each of its runs.
    fn set_stage(&mut self, experiment_id: &str, stage: LifecycleStage, time: i64) {
        let Some(e) = self.experiments.get_mut(experiment_id) else {
            return;
        };
        e.lifecycle_stage = stage;
        e.last_update_time = time;
        for run_id in self
            .runs_by_experiment
            .get(experiment_id)
            .into_iter()
            .flatten()
        {
            if let Some(run) = self.runs.get_mut(run_id) {
                run.info.lifecycle_stage = stage;
            }
        }
    }

    /// The run, created as a placeholder (empty experiment id) when the log
    /// has not said yet which experiment it belongs to.
    fn run_entry(&mut self, run_id: &str) -> &mut Run {
        self.runs.entry(run_id.to_owned()).or_insert_with(|| Run {
            info: RunInfo {
                run_id: run_id.to_owned(),
                run_name: String::new(),
                experiment_id: String::new(),
                user_id: String::new(),
                status: RunStatus::Running,
                start_time: 0,
                end_time: None,
                artifact_uri: String::new(),
                lifecycle_stage: LifecycleStage::Active,
            },
            data: RunData::default(),
            inputs: Vec::new(),
            model_inputs: Vec::new(),
            outputs: Vec::new(),
        })
    }

    /// The experiment with this id.
    pub fn experiment(&self, experiment_id: &str) -> Option<&Experiment> {
        self.experiments.get(experiment_id)
    }

    /// The experiment with this name (deleted ones included: a name stays
    /// taken until the experiment is purged).
    pub fn experiment_by_name(&self, name: &str) -> Option<&Experiment> {
        self.names.get(name).and_then(|id| self.experiments.get(id))
    }

    /// Experiments in the view, by id.
    pub fn experiments(&self, view: ViewType) -> impl Iterator<Item = &Experiment> {
        self.experiments
            .values()
            .filter(move |e| view.includes(e.lifecycle_stage))
    }

    /// The run with this id, once its creation is in the log.
    pub fn run(&self, run_id: &str) -> Option<&Run> {
        self.runs
            .get(run_id)
            .filter(|r| !r.info.experiment_id.is_empty())
    }

    /// Whether a run of the experiment (deleted ones included) has this name.
    pub fn has_run_named(&self, experiment_id: &str, name: &str) -> bool {
        self.run_names
            .get(experiment_id)
            .is_some_and(|names| names.contains_key(name))
    }

    /// Runs of an experiment in the view, newest start first, then by run
    /// id (MLflow's default order).
    pub fn runs(&self, experiment_id: &str, view: ViewType) -> Vec<&Run> {
        let mut runs: Vec<&Run> = self
            .runs_by_experiment
            .get(experiment_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.runs.get(id))
            .filter(|r| view.includes(r.info.lifecycle_stage))
            .collect();
        runs.sort_by(|a, b| {
            b.info
                .start_time
                .cmp(&a.info.start_time)
                .then_with(|| a.info.run_id.cmp(&b.info.run_id))
        });
        runs
    }
}

/// A recorded location as users see it (see
/// [`TrackingState::with_store_dir`]).
fn resolve_location(root: Option<&Path>, recorded: &str) -> String {
    match root {
        Some(root) if is_store_relative(recorded) => {
            format!("file://{}", root.join(recorded).display())
        }
        _ => recorded.to_owned(),
    }
}

/// Whether a recorded artifact location is relative to the store: a relative
/// path without a URI scheme.
pub(crate) fn is_store_relative(location: &str) -> bool {
    !location.is_empty() && !location.starts_with('/') && !location.contains(':')
}

/// The run a record changes, if it is about one.
fn record_run(record: &Record) -> Option<&str> {
    match record {
        Record::Param { run_id, .. }
        | Record::SetTag { run_id, .. }
        | Record::DeleteTag { run_id, .. }
        | Record::CreateRun { run_id, .. }
        | Record::UpdateRunStatus { run_id, .. }
        | Record::EndRun { run_id, .. }
        | Record::RenameRun { run_id, .. }
        | Record::DeleteRun { run_id, .. }
        | Record::RestoreRun { run_id, .. }
        | Record::LogInput { run_id, .. }
        | Record::LogModelOutput { run_id, .. }
        | Record::LogModelInput { run_id, .. } => Some(run_id),
        _ => None,
    }
}

#[cfg(all(test, feature = "remote"))]
mod tests {
    use super::*;

    #[test]
    fn change_numbers_never_repeat_even_in_a_state_built_again() {
        let mut first = TrackingState::default();
        first.touch("r");
        let synced = first.changes("r");
        first.touch("r");
        assert!(first.changes("r") > synced);
        // A state built from scratch (a rebuild after a compaction race)
        // replays the same changes: its numbers are new ones.
        let mut again = TrackingState::default();
        again.touch("r");
        again.touch("r");
        assert_ne!(again.changes("r"), synced);
        assert_ne!(again.changes("r"), first.changes("r"));
        assert_eq!(again.changes("unknown"), 0);
    }
}
