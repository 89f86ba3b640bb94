//! `runlog sync`: pushes a local store to an MLflow tracking server.
//! Experiments are matched by name (created when missing); each run is
//! created once (tagged `runlog.source_run_id`, so that it is found again
//! even when the local state is lost) and then continued: what the server
//! acknowledged is kept in the store ([`state`](super::state)), so a second
//! sync sends only what is new, and a sync killed mid-way resumes without
//! sending a point twice (requests sent but not acknowledged are checked
//! against the server's history first). MLflow 3's logged models (with
//! their artifacts and metrics) and the model registry follow
//! ([`sync_models`](super::sync_models), [`sync_registry`](super::sync_registry)).

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::remote::http::MlflowServer;
use crate::remote::state::{ExperimentsState, SyncState};
use crate::remote::sync_models::ModelSync;
use crate::remote::sync_registry::RegistrySync;
use crate::remote::sync_run::{Ids, RunSync, SyncedModels};
use crate::tracking::{Client, Experiment, Run, ViewType};

/// The tag that names a synced run's local id on the server.
pub const SOURCE_RUN_TAG: &str = "runlog.source_run_id";
/// MLflow's limits per `runs/log-batch` request.
pub const MAX_BATCH_METRICS: usize = 1000;
/// At most this many params, and this many tags, per `runs/log-batch`.
pub const MAX_BATCH_PARAMS_OR_TAGS: usize = 100;
/// The tag of a child run that names its parent.
pub(crate) const PARENT_TAG: &str = "mlflow.parentRunId";

/// What to sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Experiments by name or id; empty: every active experiment (or the
    /// experiments of [`runs`](SyncOptions::runs)).
    pub experiments: Vec<String>,
    /// Runs by id; empty: every active run of the experiments.
    pub runs: Vec<String>,
    /// Count what would be sent; send nothing, create nothing (the server
    /// is only read).
    pub dry_run: bool,
}

/// What a sync sent (or, with `dry_run`, would send).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SyncReport {
    /// Experiments created on the server.
    pub experiments_created: usize,
    /// Runs created on the server.
    pub runs_created: usize,
    /// Runs that existed there and got more.
    pub runs_continued: usize,
    /// Runs with nothing new.
    pub runs_unchanged: usize,
    /// Params sent.
    pub params: usize,
    /// Tags sent (or deleted).
    pub tags: usize,
    /// Metric points sent.
    pub points: u64,
    /// Dataset inputs sent.
    pub inputs: usize,
    /// Artifact files uploaded or copied.
    pub artifacts: usize,
    /// Their bytes.
    pub artifact_bytes: u64,
    /// Logged models created on the server (their artifacts are counted
    /// with the runs').
    pub logged_models: usize,
    /// Metric points about logged models sent.
    pub model_metrics: u64,
    /// Run outputs and model inputs (links of runs to models) sent.
    pub model_links: usize,
    /// Registered models created on the server.
    pub registered_models: usize,
    /// Model versions created on the server.
    pub model_versions: usize,
    /// What the server refused, per experiment or run (the rest was sent).
    pub failures: Vec<String>,
}

/// Progress, reported as a sync goes.
#[derive(Debug, Clone, Copy)]
pub enum SyncEvent<'a> {
    /// The runs to sync are known.
    Runs(usize),
    /// A run starts (its name).
    Run(&'a str),
    /// Points sent.
    Points(u64),
}

/// Pushes the store of `client` to `server` (see the module's doc).
/// Errors that concern one experiment or run (the server refuses a param
/// change, an experiment is deleted there) are listed in
/// [`SyncReport::failures`] and the others go on; an unreachable server
/// or a local error stops the sync (what was acknowledged is recorded).
pub fn sync(
    client: &Client,
    server: &MlflowServer,
    options: &SyncOptions,
    progress: &mut dyn FnMut(SyncEvent<'_>),
) -> Result<SyncReport> {
    let state = SyncState::new(client.store_dir(), server.uri());
    // A spool of this server: its runs were made there first, same ids.
    let ids = match super::connect::spool_server(client.store_dir()) {
        Some(uri) if super::state::server_key(&uri) == super::state::server_key(server.uri()) => {
            Ids::Same
        }
        _ => Ids::Mapped,
    };
    let _lock = match options.dry_run {
        true => None,
        false => Some(state.lock()?),
    };
    let (experiments, runs) = selection(client, options)?;
    progress(SyncEvent::Runs(runs.len()));
    let mut summary = SyncReport::default();
    let mut mapping = state.experiments()?;
    mapping.server = server.uri().to_owned();
    let mut remote_experiments: HashMap<String, String> = HashMap::new();
    let mut failed = std::collections::HashSet::new();
    for e in &experiments {
        if ids == Ids::Same {
            let id = e.experiment_id.clone();
            remote_experiments.insert(id.clone(), id);
            continue;
        }
        match remote_experiment(server, &mut mapping, e, options.dry_run, &mut summary) {
            Ok(Some(id)) => {
                remote_experiments.insert(e.experiment_id.clone(), id);
            }
            Ok(None) => {} // created in a real sync
            Err(e @ Error::Remote(_)) => return Err(e),
            Err(err) => {
                failed.insert(e.experiment_id.clone());
                summary
                    .failures
                    .push(format!("experiment {:?}: {err}", e.name))
            }
        }
    }
    if !options.dry_run {
        state.save_experiments(&mapping)?;
    }
    let mut sync = RunSync::new(client, server, &state, options.dry_run, ids);
    // Every run found or created first, so that models can name their
    // source runs; then the models, then the runs' data (whose model
    // metrics, outputs and inputs name the models), then the registry.
    let mut unreachable = std::collections::HashSet::new();
    for run in &runs {
        let Some(remote_experiment) = remote_experiments.get(&run.info.experiment_id) else {
            continue;
        };
        match sync.ensure(run, remote_experiment) {
            Ok(()) => {}
            Err(e @ (Error::Remote(_) | Error::Io { .. })) => return Err(e),
            Err(e) => {
                unreachable.insert(run.info.run_id.clone());
                summary.failures.push(format!(
                    "run {} ({}): {e}",
                    run.info.run_id, run.info.run_name
                ))
            }
        }
    }
    let models = if ids == Ids::Mapped {
        // An experiment not on the server (failed, or to create in a dry
        // run) has `None`: its models are counted, not sent.
        let chosen: Vec<(String, Option<String>)> = experiments
            .iter()
            .filter(|e| !failed.contains(&e.experiment_id))
            .map(|e| {
                let remote = remote_experiments.get(&e.experiment_id).cloned();
                (e.experiment_id.clone(), remote)
            })
            .collect();
        let model_sync = ModelSync {
            client,
            server,
            state: &state,
            dry_run: options.dry_run,
            remote_runs: sync.remote_runs(),
        };
        let only_runs = (!options.runs.is_empty()).then_some(options.runs.as_slice());
        model_sync.experiments(&chosen, only_runs, &mut summary)?
    } else {
        SyncedModels::default()
    };
    let remote_models = models.remote.clone();
    let chosen_models = models.chosen.clone();
    let chosen_runs: std::collections::HashSet<String> =
        runs.iter().map(|r| r.info.run_id.clone()).collect();
    sync.set_models(models);
    for run in &runs {
        if unreachable.contains(&run.info.run_id) {
            continue;
        }
        progress(SyncEvent::Run(&run.info.run_name));
        let Some(remote_experiment) = remote_experiments.get(&run.info.experiment_id) else {
            if !options.dry_run || failed.contains(&run.info.experiment_id) {
                continue; // its experiment failed, reported above
            }
            // A dry run of an experiment to create: everything is new.
            count_new_run(client, run, &mut summary)?;
            continue;
        };
        match sync.run(run, remote_experiment, &mut summary, progress) {
            Ok(()) => {}
            Err(e @ (Error::Remote(_) | Error::Io { .. })) => return Err(e),
            Err(e) => summary.failures.push(format!(
                "run {} ({}): {e}",
                run.info.run_id, run.info.run_name
            )),
        }
    }
    if ids == Ids::Mapped {
        RegistrySync {
            client,
            server,
            state: &state,
            dry_run: options.dry_run,
            remote_runs: sync.remote_runs(),
            models: &remote_models,
            whole_store: options.experiments.is_empty() && options.runs.is_empty(),
            chosen_runs: &chosen_runs,
            chosen_models: &chosen_models,
        }
        .sync(&mut summary)?;
    }
    Ok(summary)
}

/// The experiments and runs `options` select, checked before anything is
/// sent: runs in an order that puts parents before their children.
fn selection(client: &Client, options: &SyncOptions) -> Result<(Vec<Experiment>, Vec<Run>)> {
    let mut all = Vec::new();
    let mut query = crate::tracking::SearchExperiments::new().max_results(50_000);
    loop {
        let page = client.search_experiments(query.clone())?;
        all.extend(page.items);
        match page.next_page_token {
            Some(t) => query = query.page_token(t),
            None => break,
        }
    }
    let mut runs: Vec<Run> = Vec::new();
    let experiments: Vec<Experiment> = if !options.experiments.is_empty() {
        let mut chosen = Vec::new();
        for want in &options.experiments {
            let e = all
                .iter()
                .find(|e| &e.experiment_id == want)
                .or_else(|| all.iter().find(|e| &e.name == want))
                .ok_or_else(|| {
                    Error::NotFound(format!("no active experiment named or numbered {want:?}"))
                })?;
            chosen.push(e.clone());
        }
        chosen
    } else if !options.runs.is_empty() {
        let mut chosen: Vec<Experiment> = Vec::new();
        for id in &options.runs {
            let run = client.get_run(id)?;
            if !chosen
                .iter()
                .any(|e| e.experiment_id == run.info.experiment_id)
            {
                chosen.push(client.get_experiment(&run.info.experiment_id)?);
            }
        }
        chosen
    } else {
        all
    };
    if options.runs.is_empty() {
        for e in &experiments {
            runs.extend(client.list_runs(&e.experiment_id, ViewType::ActiveOnly)?);
        }
    } else {
        for id in &options.runs {
            let run = client.get_run(id)?;
            if run.info.lifecycle_stage != crate::tracking::LifecycleStage::Active {
                return Err(Error::InvalidArgument(format!(
                    "run {id} is deleted; restore it to sync it"
                )));
            }
            if !experiments
                .iter()
                .any(|e| e.experiment_id == run.info.experiment_id)
            {
                return Err(Error::InvalidArgument(format!(
                    "run {id} is not in the experiments given with --experiment"
                )));
            }
            runs.push(run);
        }
    }
    // Parents first: by depth in the selection, then start time.
    let parents: HashMap<String, Option<String>> = runs
        .iter()
        .map(|r| (r.info.run_id.clone(), r.data.tags.get(PARENT_TAG).cloned()))
        .collect();
    let depth = |id: &str| {
        let mut d = 0;
        let mut at = id.to_owned();
        while let Some(Some(p)) = parents.get(&at) {
            d += 1;
            if d > parents.len() {
                break; // a cycle of parent tags
            }
            at = p.clone();
        }
        d
    };
    runs.sort_by_cached_key(|r| (depth(&r.info.run_id), r.info.start_time));
    Ok((experiments, runs))
}

/// The server's id of experiment `e`: mapped before, found by name, or
/// created (`None` in a dry run of an experiment to create).
fn remote_experiment(
    server: &MlflowServer,
    mapping: &mut ExperimentsState,
    e: &Experiment,
    dry_run: bool,
    summary: &mut SyncReport,
) -> Result<Option<String>> {
    if let Some(id) = mapping.experiments.get(&e.experiment_id) {
        return Ok(Some(id.clone()));
    }
    if let Some(found) = server.experiment_by_name(&e.name)? {
        if found.get("lifecycle_stage").and_then(Value::as_str) == Some("deleted") {
            return Err(Error::InvalidState(format!(
                "the server's experiment {:?} is deleted: restore it there, or rename the local one",
                e.name
            )));
        }
        let id = string_field(&found, "experiment_id")?;
        mapping
            .experiments
            .insert(e.experiment_id.clone(), id.clone());
        return Ok(Some(id));
    }
    summary.experiments_created += 1;
    if dry_run {
        return Ok(None);
    }
    let tags: Vec<Value> = e
        .tags
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    let id = match server.post("experiments/create", &json!({"name": e.name, "tags": tags})) {
        Ok(created) => string_field(&created, "experiment_id")?,
        // A retried create whose first attempt made it (names are unique).
        Err(err) if err.is_already_exists() => match server.experiment_by_name(&e.name)? {
            Some(found) => string_field(&found, "experiment_id")?,
            None => {
                return Err(Error::Remote(format!(
                    "experiment {:?}: created, then not found",
                    e.name
                )))
            }
        },
        Err(err) => return Err(err),
    };
    mapping
        .experiments
        .insert(e.experiment_id.clone(), id.clone());
    Ok(Some(id))
}

/// What a dry run counts for a run whose experiment is not on the server.
pub(crate) fn count_new_run(client: &Client, run: &Run, summary: &mut SyncReport) -> Result<()> {
    summary.runs_created += 1;
    summary.params += run.data.params.len();
    // Its tags, and the source tag the server's copy gets.
    summary.tags += run.data.tags.len() + 1;
    summary.inputs += run.inputs.len();
    summary.model_links += run.outputs.len() + run.model_inputs.len();
    let root = client.artifact_root(&run.info.run_id)?;
    super::sync_run::changed_files(&root, &Default::default(), summary)?;
    for key in run.data.metrics.keys() {
        summary.points += client.get_metric_history(&run.info.run_id, key)?.len() as u64;
    }
    Ok(())
}

/// Creates something on the server that must not be made twice (a run, a
/// logged model, a model version): the request is sent once at a time,
/// and after a failure without the server's answer (which may have made
/// it) `find` looks for it, by its source tag, before another attempt;
/// three attempts. `made` reads the server's answer.
pub(crate) fn create_once<T>(
    server: &MlflowServer,
    path: &str,
    body: &Value,
    made: impl FnOnce(Value) -> Result<T>,
    mut find: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let text = body.to_string();
    let mut last = None;
    for _ in 0..3 {
        match server.post_json_text_once(path, text.as_bytes()) {
            Ok(created) => return made(created),
            Err(e @ Error::Remote(_)) => {
                if let Some(found) = find()? {
                    return Ok(found);
                }
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Remote(format!("{path}: no attempt made"))))
}

/// A string field of a server's answer, or an error naming it.
pub(crate) fn string_field(v: &Value, field: &str) -> Result<String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::Remote(format!("the server's answer has no {field:?}: {v}")))
}
