//! The fluent API (MLflow's `mlflow.*` functions): a process-wide tracking
//! URI and active experiment, and a per-thread stack of active runs that
//! the logging functions write to.
//!
//! ```
//! # fn main() -> runlog::Result<()> {
//! # let dir = tempfile::tempdir().unwrap();
//! # runlog::set_tracking_uri(&dir.path().display().to_string())?;
//! runlog::set_experiment("quality")?;
//! {
//!     let run = runlog::start_run_with(runlog::StartRun::new().run_name("first"))?;
//!     runlog::log_param("alpha", 0.5)?;
//!     for step in 0..3 {
//!         runlog::log_metric("quality", 0.7 + 0.1 * step as f64, step)?;
//!     }
//!     assert_eq!(runlog::active_run()?.unwrap().info.run_id, run.run_id());
//! } // the guard ends the run: FINISHED (FAILED if the thread panics)
//! let last = runlog::last_active_run()?.unwrap();
//! assert_eq!(last.info.status, runlog::RunStatus::Finished);
//! assert_eq!(last.data.metrics["quality"].step, 2);
//! # Ok(()) }
//! ```

use std::cell::RefCell;
use std::collections::HashMap;

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::context::{system_tags, TAG_NOTE_CONTENT, TAG_PARENT_RUN_ID, TAG_RUN_NAME};
use crate::error::{Error, Result};
use crate::format::RunStatus;
use crate::identity::DEFAULT_EXPERIMENT_ID;
use crate::store::MetricHandle;
use crate::tracking::client::Client;
use crate::tracking::model::{Experiment, LifecycleStage, Run};
use crate::tracking::search::{Page, SearchExperiments, SearchRuns, MAX_RESULTS_LIMIT};
use crate::tracking::tags::check_user_tag_key;
use crate::tracking::{NewExperiment, NewRun};
use crate::uri::{is_server_uri, store_path, tracking_uri_from_env};

mod exit;
mod fork;
mod logging;
mod system;
pub use fork::{after_fork_in_child, after_fork_in_parent, before_fork};
pub use logging::{
    delete_tag, flush, get_artifact_uri, log_artifact, log_artifacts, log_dict, log_input,
    log_metric, log_metric_at, log_metrics, log_param, log_params, log_text, metric_handle,
    set_tag, set_tags, try_log_metric,
};
pub use system::{disable_system_metrics_logging, enable_system_metrics_logging};

/// Environment variable naming the active experiment.
pub const EXPERIMENT_NAME_ENV: &str = "MLFLOW_EXPERIMENT_NAME";
/// Environment variable giving the active experiment's id.
pub const EXPERIMENT_ID_ENV: &str = "MLFLOW_EXPERIMENT_ID";

/// Process-wide state of the fluent API.
struct Fluent {
    /// Set by [`set_tracking_uri`]; else the environment's.
    tracking_uri: Option<String>,
    /// Set by [`set_experiment`]: (store directory, experiment id).
    experiment: Option<(PathBuf, String)>,
    /// One client per store directory, shared by every thread.
    clients: Vec<(PathBuf, Client)>,
    /// The run that ended last in this process.
    last_active: Option<(Client, String)>,
    /// Runs started by [`start_run`] (or a logging call) on any thread and
    /// not ended yet: the process ends them when it exits.
    open_runs: Vec<(Client, String)>,
}

static FLUENT: Mutex<Fluent> = Mutex::new(Fluent {
    tracking_uri: None,
    experiment: None,
    clients: Vec::new(),
    last_active: None,
    open_runs: Vec::new(),
});

fn fluent() -> std::sync::MutexGuard<'static, Fluent> {
    FLUENT.lock().unwrap_or_else(|p| p.into_inner())
}

/// A run on this thread's stack.
struct StackEntry {
    run_id: String,
    client: Client,
    /// The run's system metrics, when sampled.
    monitor: system::Monitor,
}

/// A thread's metric handles by key, for the active run.
pub(super) type HandleMap = HashMap<Box<str>, MetricHandle, foldhash::fast::RandomState>;

/// Metric handles of this thread's active run, so that `log_metric` by key
/// checks the run and key once, not per call.
#[derive(Default)]
struct HandleCache {
    /// The client (by identity) and run the handles belong to.
    owner: Option<(usize, String)>,
    /// The client's deletion epoch when the handles were checked.
    epoch: u64,
    handles: HandleMap,
}

thread_local! {
    static STACK: RefCell<Vec<StackEntry>> = const { RefCell::new(Vec::new()) };
    static HANDLES: RefCell<HandleCache> = RefCell::new(HandleCache::default());
}

/// Sets the tracking URI of the fluent API: a directory or `file:` URI,
/// or a tracking server (`http://`, `https://`; see [`Client::new`]);
/// other schemes are refused. Runs already active keep their store.
pub fn set_tracking_uri(uri: &str) -> Result<()> {
    if !is_server_uri(uri) {
        store_path(uri)?;
    }
    fluent().tracking_uri = Some(uri.to_owned());
    Ok(())
}

/// The tracking URI the fluent API uses: the one set by
/// [`set_tracking_uri`], else `MLFLOW_TRACKING_URI`, else `mlruns`.
pub fn get_tracking_uri() -> String {
    fluent()
        .tracking_uri
        .clone()
        .unwrap_or_else(tracking_uri_from_env)
}

/// The client of the current tracking URI (opened on first use and shared
/// by the whole process).
pub fn client() -> Result<Client> {
    client_for(&get_tracking_uri())
}

/// The client of `uri` this process shares (one per store or server, made
/// on first use): the fluent API's when `uri` is the tracking URI.
pub fn client_for(uri: &str) -> Result<Client> {
    // A store by its directory; a server by its URI.
    let key = match is_server_uri(uri) {
        true => PathBuf::from(uri.trim_end_matches('/')),
        false => {
            let path = store_path(uri)?;
            std::path::absolute(&path).map_err(|e| Error::io("resolve path", &path, e))?
        }
    };
    let mut state = fluent();
    if let Some((_, c)) = state.clients.iter().find(|(p, _)| *p == key) {
        return Ok(c.clone());
    }
    let c = crate::tracking::Client::new(uri)?;
    state.clients.push((key, c.clone()));
    exit::end_runs_at_exit();
    Ok(c)
}

/// Makes the experiment with this name active, creating it when missing
/// (safe across processes: two creating the same name end with one
/// experiment). A deleted experiment is refused.
pub fn set_experiment(name: &str) -> Result<Experiment> {
    let c = client()?;
    let e = c.get_or_create_experiment(name)?;
    fluent().experiment = Some((c.store_dir().to_owned(), e.experiment_id.clone()));
    Ok(e)
}

/// Makes the experiment with this id active; it must exist and be active.
pub fn set_experiment_by_id(experiment_id: &str) -> Result<Experiment> {
    let c = client()?;
    let e = c.active_experiment(experiment_id)?;
    fluent().experiment = Some((c.store_dir().to_owned(), e.experiment_id.clone()));
    Ok(e)
}

/// Creates an experiment: a name, or a [`NewExperiment`] with MLflow's
/// optional `artifact_location` and `tags` (see
/// [`Client::create_experiment`]).
pub fn create_experiment(experiment: impl Into<NewExperiment>) -> Result<String> {
    client()?.create_experiment(experiment)
}

/// The experiment with this id.
pub fn get_experiment(experiment_id: &str) -> Result<Experiment> {
    client()?.get_experiment(experiment_id)
}

/// The experiment with this name, if any.
pub fn get_experiment_by_name(name: &str) -> Result<Option<Experiment>> {
    client()?.get_experiment_by_name(name)
}

/// Experiments matching a query, or in a view (see
/// [`Client::search_experiments`]).
pub fn search_experiments(query: impl Into<SearchExperiments>) -> Result<Page<Experiment>> {
    client()?.search_experiments(query)
}

/// Every run of the experiments matching the query, all pages (what
/// MLflow's fluent `search_runs` returns, as runs rather than a data frame).
pub fn search_runs(query: &SearchRuns) -> Result<Vec<Run>> {
    let client = client()?;
    let mut query = query.clone().max_results(MAX_RESULTS_LIMIT);
    let mut all = Vec::new();
    loop {
        let page = client.search_runs(&query)?;
        all.extend(page.items);
        match page.next_page_token {
            Some(token) => query = query.page_token(token),
            None => return Ok(all),
        }
    }
}

/// Deletes an experiment (see [`Client::delete_experiment`]).
pub fn delete_experiment(experiment_id: &str) -> Result<()> {
    client()?.delete_experiment(experiment_id)
}

/// The id of the experiment new runs go to: the one [`set_experiment`]
/// chose, else `MLFLOW_EXPERIMENT_NAME` (created when missing), else
/// `MLFLOW_EXPERIMENT_ID`, else the default experiment `"0"`.
pub fn active_experiment_id() -> Result<String> {
    let c = client()?;
    active_experiment_id_in(&c)
}

fn active_experiment_id_in(c: &Client) -> Result<String> {
    if let Some((dir, id)) = &fluent().experiment {
        if dir == c.store_dir() {
            return Ok(id.clone());
        }
    }
    experiment_id_from_env(c)
}

/// The experiment the environment names, as MLflow picks it:
/// `MLFLOW_EXPERIMENT_NAME` (created when missing, if `client` can write;
/// else it must exist), checked against `MLFLOW_EXPERIMENT_ID` when both
/// are set; else `MLFLOW_EXPERIMENT_ID` (it must exist and be active: an
/// unknown id is [`Error::InvalidArgument`], MLflow's
/// `INVALID_PARAMETER_VALUE`); else the default experiment `"0"`.
pub fn experiment_id_from_env(c: &Client) -> Result<String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let env_id = env(EXPERIMENT_ID_ENV);
    if let Some(name) = env(EXPERIMENT_NAME_ENV) {
        let e = if c.is_read_only() {
            c.get_experiment_by_name(&name)?.ok_or_else(|| {
                Error::NotFound(format!(
                    "no experiment named '{name}' ({EXPERIMENT_NAME_ENV})"
                ))
            })?
        } else {
            c.get_or_create_experiment(&name)?
        };
        if let Some(id) = env_id.filter(|id| *id != e.experiment_id) {
            return Err(Error::InvalidArgument(format!(
                "{EXPERIMENT_NAME_ENV}={name} names experiment {}, but {EXPERIMENT_ID_ENV}={id}",
                e.experiment_id
            )));
        }
        return Ok(e.experiment_id);
    }
    if let Some(id) = env_id {
        return c
            .active_experiment(&id)
            .map(|e| e.experiment_id)
            .map_err(|e| match e {
                // MLflow's INVALID_PARAMETER_VALUE: a bad setting, not a
                // missing resource.
                e if e.is_not_found() => Error::InvalidArgument(format!(
                    "{EXPERIMENT_ID_ENV}={id} names no experiment in {}",
                    c.tracking_uri()
                )),
                other => other,
            });
    }
    Ok(DEFAULT_EXPERIMENT_ID.to_owned())
}

/// What [`start_run_with`] starts, every part optional: the parameters of
/// MLflow's `mlflow.start_run(...)`, as [`NewRun`] holds those of
/// `MlflowClient.create_run(...)`.
///
/// ```
/// let options = runlog::StartRun::new()
///     .run_name("sweep")
///     .tag("team", "vision")
///     .description("learning-rate sweep");
/// ```
#[derive(Debug, Clone, Default)]
pub struct StartRun {
    run_id: Option<String>,
    experiment_id: Option<String>,
    run_name: Option<String>,
    nested: bool,
    parent_run_id: Option<String>,
    tags: Vec<(String, String)>,
    description: Option<String>,
    log_system_metrics: Option<bool>,
}

/// The name [`StartRun`] had before.
#[deprecated(note = "renamed `StartRun`")]
pub type RunOptions = StartRun;

impl StartRun {
    /// Default options: a new run in the active experiment.
    pub fn new() -> StartRun {
        StartRun::default()
    }

    /// Resume this existing run instead of creating one (its status goes
    /// back to `RUNNING`).
    pub fn run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    /// Create the run in this experiment instead of the active one.
    pub fn experiment_id(mut self, experiment_id: impl Into<String>) -> Self {
        self.experiment_id = Some(experiment_id.into());
        self
    }

    /// Sample the machine's CPU, memory, disk, network and GPUs into the
    /// run under MLflow's `system/...` names until it ends (`false`: not
    /// even when [`enable_system_metrics_logging`] or
    /// `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING` turned them on). See
    /// [`SystemMetrics`](crate::SystemMetrics) for the sampling.
    pub fn log_system_metrics(mut self, on: bool) -> Self {
        self.log_system_metrics = Some(on);
        self
    }

    /// The run's name (default: a generated `adjective-animal-N`).
    pub fn run_name(mut self, name: impl Into<String>) -> Self {
        self.run_name = Some(name.into());
        self
    }

    /// Start the run nested in the active run of this thread.
    pub fn nested(mut self, nested: bool) -> Self {
        self.nested = nested;
        self
    }

    /// The parent run, explicitly (tag `mlflow.parentRunId`); with an
    /// active run it must be that run.
    pub fn parent_run_id(mut self, run_id: impl Into<String>) -> Self {
        self.parent_run_id = Some(run_id.into());
        self
    }

    /// A tag to set on the run; a system tag given here (`mlflow.user`,
    /// `mlflow.source.name`, ...) replaces the one runlog would set.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    /// The run's description (tag `mlflow.note.content`).
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

/// The guard of a run started by [`start_run`]. Dropping it ends the run:
/// `FINISHED`, or `FAILED` when the thread is unwinding from a panic (and
/// ends runs nested in it first). It belongs to the thread that started
/// the run (not `Send`).
#[must_use = "dropping the guard ends the run at once"]
pub struct ActiveRun {
    run_id: String,
    client: Client,
    /// Set when dropping must not end the run (ended already, or left on
    /// the stack for `end_run`).
    detached: bool,
    _thread_bound: PhantomData<*const ()>,
}

impl ActiveRun {
    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The client the run logs through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The run as it is now.
    pub fn run(&self) -> Result<Run> {
        self.client.get_run(&self.run_id)
    }

    /// A metric handle bound to this run, for hot loops.
    pub fn metric_handle(&self, key: &str) -> Result<MetricHandle> {
        self.client.metric_handle(&self.run_id, key)
    }

    /// Ends the run with `status` (and the runs nested in it), returning
    /// any error.
    pub fn end(mut self, status: RunStatus) -> Result<()> {
        self.detached = true;
        end_from(&self.run_id, status).map(|_| ())
    }

    /// Drops the guard and leaves the run active on this thread, as
    /// MLflow's `start_run()` outside a `with` block does: it ends with
    /// [`end_run`], or `FINISHED` at exit. Returns its id.
    ///
    /// ```
    /// # fn main() -> runlog::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # runlog::set_tracking_uri(&dir.path().display().to_string())?;
    /// let id = runlog::start_run()?.keep_active();
    /// runlog::log_metric("loss", 0.5, 1)?;
    /// assert_eq!(runlog::active_run()?.unwrap().info.run_id, id);
    /// runlog::end_run()?;
    /// assert!(runlog::active_run()?.is_none());
    /// # Ok(()) }
    /// ```
    pub fn keep_active(mut self) -> String {
        self.detached = true;
        std::mem::take(&mut self.run_id)
    }
}

impl Drop for ActiveRun {
    fn drop(&mut self) {
        if self.detached {
            return;
        }
        let status = if std::thread::panicking() {
            RunStatus::Failed
        } else {
            RunStatus::Finished
        };
        let _ = end_from(&self.run_id, status);
    }
}

impl std::fmt::Debug for ActiveRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveRun")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

/// Starts a run in the active experiment and makes it this thread's active
/// run, as MLflow's `mlflow.start_run()`: [`start_run_with`] with the
/// default options.
pub fn start_run() -> Result<ActiveRun> {
    start_run_with(StartRun::new())
}

/// Starts a run (or resumes one with [`StartRun::run_id`]) and makes it
/// this thread's active run. Fails when a run is active on this thread,
/// unless the options say `nested`. New runs get MLflow's system tags:
/// `mlflow.user`, `mlflow.source.name`, `mlflow.source.type`,
/// `mlflow.source.git.commit` (inside a git work tree), `mlflow.runName`,
/// and `mlflow.parentRunId` for nested runs.
pub fn start_run_with(options: StartRun) -> Result<ActiveRun> {
    let active = STACK.with(|s| s.borrow().last().map(|e| e.run_id.clone()));
    if let (Some(active), false) = (&active, options.nested) {
        return Err(Error::InvalidState(format!(
            "run {active} is already active; end it with end_run() first, or start a nested \
             run with StartRun::nested(true)"
        )));
    }
    let parent = match (&options.parent_run_id, &active) {
        (Some(p), Some(a)) if p != a => {
            return Err(Error::InvalidState(format!(
                "the active run {a} is not the given parent run {p}"
            )))
        }
        (Some(p), _) => Some(p.clone()),
        (None, a) if options.nested => a.clone(),
        (None, _) => None,
    };
    // Keys now, before a run is created; values are cut to MLflow's
    // limits (or refused) where they are stored.
    for (k, _) in &options.tags {
        check_user_tag_key(k, "set")?;
    }
    let plan = system::plan(options.log_system_metrics)?;
    let c = match &active {
        // A nested run goes to its parent's store.
        Some(_) => STACK.with(|s| s.borrow().last().map(|e| e.client.clone())),
        None => None,
    };
    let c = match c {
        Some(c) => c,
        None => client()?,
    };
    let run_id = match &options.run_id {
        Some(id) => resume(&c, id, &options)?,
        None => create(&c, &options, parent.as_deref())?,
    };
    let monitor = system::start_monitor(&c, &run_id, plan);
    STACK.with(|s| {
        s.borrow_mut().push(StackEntry {
            run_id: run_id.clone(),
            client: c.clone(),
            monitor,
        })
    });
    fluent().open_runs.push((c.clone(), run_id.clone()));
    Ok(ActiveRun {
        run_id,
        client: c,
        detached: false,
        _thread_bound: PhantomData,
    })
}

fn create(c: &Client, options: &StartRun, parent: Option<&str>) -> Result<String> {
    let experiment_id = match &options.experiment_id {
        Some(id) => id.clone(),
        None => active_experiment_id_in(c)?,
    };
    if let Some(p) = parent {
        c.writable_run(p)?; // the parent exists and is not deleted
    }
    let system = system_tags();
    // The caller's tags win over the system tags of the same key, as in
    // MLflow.
    let mut tags: Vec<(&str, &str)> = system
        .iter()
        .filter(|(k, _)| !options.tags.iter().any(|(given, _)| given == k))
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    if let Some(p) = parent {
        tags.push((TAG_PARENT_RUN_ID, p));
    }
    if let Some(d) = &options.description {
        tags.push((TAG_NOTE_CONTENT, d));
    }
    let name_tag = options
        .tags
        .iter()
        .find(|(k, _)| k == TAG_RUN_NAME)
        .map(|(_, v)| v.as_str());
    tags.extend(
        options
            .tags
            .iter()
            .filter(|(k, _)| k != TAG_RUN_NAME)
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let mut run = NewRun::new(experiment_id).tags(&tags);
    if let Some(name) = options.run_name.as_deref().or(name_tag) {
        run = run.run_name(name);
    }
    Ok(c.create_run(run)?.info.run_id)
}

fn resume(c: &Client, run_id: &str, options: &StartRun) -> Result<String> {
    let run = c.get_run(run_id)?;
    if run.info.lifecycle_stage == LifecycleStage::Deleted {
        return Err(Error::InvalidState(format!(
            "cannot start run {run_id}: it is deleted"
        )));
    }
    if let Some(e) = options
        .experiment_id
        .as_ref()
        .filter(|e| **e != run.info.experiment_id)
    {
        return Err(Error::InvalidArgument(format!(
            "run {run_id} belongs to experiment {}, not {e}",
            run.info.experiment_id
        )));
    }
    c.update_run(
        run_id,
        Some(RunStatus::Running),
        options.run_name.as_deref(),
    )?;
    for (k, v) in &options.tags {
        c.set_tag(run_id, k, v)?;
    }
    if let Some(d) = &options.description {
        c.set_tag(run_id, TAG_NOTE_CONTENT, d)?;
    }
    Ok(run_id.to_owned())
}

/// Ends this thread's active run as `FINISHED` (nothing happens when no
/// run is active). The run's records are on disk when it returns.
pub fn end_run() -> Result<()> {
    end_run_with_status(RunStatus::Finished)
}

/// Ends this thread's active run with a terminal status (`FINISHED`,
/// `FAILED`, `KILLED`).
pub fn end_run_with_status(status: RunStatus) -> Result<()> {
    let top = STACK.with(|s| s.borrow().last().map(|e| e.run_id.clone()));
    match top {
        Some(id) => end_from(&id, status).map(|_| ()),
        None => Ok(()),
    }
}

/// Ends `run_id` and every run above it on this thread's stack (runs
/// nested in it), innermost first. Returns whether the run was on the
/// stack.
fn end_from(run_id: &str, status: RunStatus) -> Result<bool> {
    // try_with: a guard dropped while the thread's locals are torn down
    // finds no stack, and ends nothing.
    let ended = STACK
        .try_with(|s| {
            let mut stack = s.borrow_mut();
            match stack.iter().position(|e| e.run_id == run_id) {
                Some(i) => stack.split_off(i),
                None => Vec::new(),
            }
        })
        .unwrap_or_default();
    if ended.is_empty() {
        return Ok(false);
    }
    // Their last system metrics are logged before they end.
    let mut ended = ended;
    for entry in &mut ended {
        system::stop_monitor(&mut entry.monitor);
    }
    let mut first_error = None;
    for entry in ended.iter().rev() {
        if let Err(e) = entry.client.set_terminated(&entry.run_id, status) {
            first_error.get_or_insert(e);
        }
    }
    if let Some(entry) = ended.first() {
        wait_synced(&entry.client);
    }
    let mut state = fluent();
    state
        .open_runs
        .retain(|(_, id)| !ended.iter().any(|e| e.run_id == *id));
    if let Some(entry) = ended.into_iter().next() {
        state.last_active = Some((entry.client, entry.run_id));
    }
    first_error.map_or(Ok(true), Err)
}

/// This thread's active run, as it is now.
pub fn active_run() -> Result<Option<Run>> {
    let top = STACK.with(|s| {
        s.borrow()
            .last()
            .map(|e| (e.client.clone(), e.run_id.clone()))
    });
    top.map(|(c, id)| c.get_run(&id)).transpose()
}

/// This thread's active run if any, else the run that ended last in this
/// process.
pub fn last_active_run() -> Result<Option<Run>> {
    if let Some(run) = active_run()? {
        return Ok(Some(run));
    }
    let last = fluent().last_active.clone();
    last.map(|(c, id)| c.get_run(&id)).transpose()
}

/// The run with this id (see [`Client::get_run`]).
pub fn get_run(run_id: &str) -> Result<Run> {
    client()?.get_run(run_id)
}

/// The parent of a nested run, if any.
pub fn get_parent_run(run_id: &str) -> Result<Option<Run>> {
    client()?.get_parent_run(run_id)
}

/// At process exit: ends the runs the fluent API left open (`FINISHED`, as
/// MLflow does), flushes every store it opened, and has the local stores
/// compacted once the process has exited ([`exit::compact_after_exit`]).
/// Never blocks on a lock another thread holds.
pub(crate) fn end_open_runs_and_flush() {
    let Ok(mut state) = FLUENT.try_lock() else {
        return;
    };
    for (client, run_id) in std::mem::take(&mut state.open_runs) {
        let _ = client.set_terminated(&run_id, RunStatus::Finished);
    }
    for (_, client) in &state.clients {
        let _ = client.flush();
        wait_synced(client);
    }
    exit::compact_after_exit(state.clients.iter().map(|(_, c)| c));
}

/// The environment variable bounding how long ending a run waits for a
/// tracking server to acknowledge what was logged (seconds, default 30).
pub const SYNC_TIMEOUT_ENV: &str = "RUNLOG_SYNC_TIMEOUT";

/// The name [`SYNC_TIMEOUT_ENV`] had before, still read when it is unset.
const OLD_SYNC_TIMEOUT_ENV: &str = "RUNLOG_SHIP_TIMEOUT";

/// For a client connected to a server: waits (at most
/// [`SYNC_TIMEOUT_ENV`]) until the server acknowledged what was logged;
/// what it did not take in time, or refused, is said on stderr, never
/// failed on (the spool keeps it, and syncs it later).
fn wait_synced(client: &Client) {
    if !client.is_remote() {
        return;
    }
    let seconds = sync_timeout_seconds(
        std::env::var(SYNC_TIMEOUT_ENV).ok(),
        std::env::var(OLD_SYNC_TIMEOUT_ENV).ok(),
    );
    if let Err(e) = client.wait_synced(std::time::Duration::from_secs_f64(seconds)) {
        eprintln!("runlog: {e}");
    }
}

/// The wait of [`wait_synced`] in seconds: the variable's value (`new`),
/// else its old name's (`old`), else 30. A value that is not a finite
/// number of seconds, zero or more, counts as unset.
fn sync_timeout_seconds(new: Option<String>, old: Option<String>) -> f64 {
    let seconds = |v: Option<String>| {
        v.and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
    };
    seconds(new).or_else(|| seconds(old)).unwrap_or(30.0)
}

#[cfg(test)]
mod tests {
    use super::sync_timeout_seconds;

    #[test]
    fn the_sync_timeout_reads_its_variable_then_its_old_name() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(sync_timeout_seconds(None, None), 30.0);
        assert_eq!(sync_timeout_seconds(s("5"), s("7")), 5.0);
        assert_eq!(sync_timeout_seconds(None, s(" 7 ")), 7.0);
        assert_eq!(sync_timeout_seconds(s("soon"), s("7")), 7.0);
        assert_eq!(sync_timeout_seconds(s("-1"), None), 30.0);
        assert_eq!(sync_timeout_seconds(s("inf"), s("NaN")), 30.0);
        assert_eq!(sync_timeout_seconds(s("0"), None), 0.0);
    }
}
