//! The background sync of a client connected to a tracking server: a thread that
//! syncs what is logged to the local spool store to the server, with the
//! sync of [`sync_run`](super::sync_run) in its "same ids" mode (windows
//! recorded as pending before they are sent, compared with the server's
//! history after a kill or a lost answer, so that no point is stored
//! twice).
//!
//! Each cycle syncs the spool's runs that changed since the last cycle
//! synced them (the number of their last change in the tracking state,
//! from a sequence that never repeats, even after a rebuild), holding the
//! state directory's lock, so that a background sync and a `runlog sync` of the
//! same spool never sync one run at once. When the server is down, the
//! cycle fails and the next one, after a backoff, starts again from the
//! acknowledged state; the spool meanwhile takes records until what the
//! server has not acknowledged reaches its bound, past which log calls get
//! [`Error::Full`]. The spool keeps what was synced (a local copy, as a
//! local store would) until the next client of the server deletes it.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::fs_util::files_under;
use crate::remote::http::MlflowServer;
use crate::remote::state::{RunState, SyncState};
use crate::remote::sync::SyncReport;
use crate::remote::sync_run::{Ids, RunSync};
use crate::tracking::backend::SyncRefusals;
use crate::tracking::rest::Remote;
use crate::tracking::{Client, LifecycleStage, Run};

/// The shortest wait between two cycles.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// The longest wait between two cycles with nothing to sync.
const MAX_INTERVAL: Duration = Duration::from_secs(2);
/// How often the spool's size is checked while the background sync waits.
const SIZE_CHECK: Duration = Duration::from_secs(1);
/// The longest backoff after a failed cycle.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The server of a connected client and its background sync thread.
pub(crate) struct BackgroundSync {
    server: MlflowServer,
    state: Arc<SyncState>,
    spool_dir: PathBuf,
    shared: Arc<Shared>,
}

struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
}

#[derive(Default)]
struct Progress {
    /// Cycles started.
    started: u64,
    /// The latest cycle that synced everything it found.
    succeeded: u64,
    /// A waiter wants a cycle now.
    wake: bool,
    /// The background sync is dropped: the thread ends after its cycle.
    stop: bool,
    /// Why the latest cycle failed.
    last_error: Option<String>,
    /// Refusals not yet reported by a wait.
    refused: Vec<String>,
    refused_total: u64,
}

impl BackgroundSync {
    /// Starts the background sync of `spool` (a client of the spool store, for
    /// writing) to `server`, with `max_bytes` as the spool's size bound.
    /// `server` answers the client's calls, `syncing` (the same server,
    /// fewer attempts per request) the background sync's; `owner` is the spool's
    /// lock, held while the background sync lives; `orphans` are spools of clients
    /// that are gone, synced (then deleted) first.
    pub(crate) fn start(
        spool: &Client,
        server: MlflowServer,
        syncing: MlflowServer,
        max_bytes: u64,
        owner: File,
        orphans: Vec<PathBuf>,
    ) -> Result<Arc<BackgroundSync>> {
        let spool_dir = spool.store_dir().to_owned();
        let reader = Client::builder().store(&spool_dir).read_only().open()?;
        let state = Arc::new(SyncState::new(&spool_dir, server.uri()));
        let shared = Arc::new(Shared {
            progress: Mutex::new(Progress::default()),
            changed: Condvar::new(),
        });
        let background = Arc::new(BackgroundSync {
            server,
            state: Arc::clone(&state),
            spool_dir: spool_dir.clone(),
            shared: Arc::clone(&shared),
        });
        let worker = Worker {
            reader,
            writer: spool.clone(),
            server: syncing,
            state,
            shared,
            spool_dir,
            max_bytes,
            synced: HashMap::new(),
            _owner: owner,
            orphans,
            acknowledged_size: 0,
        };
        std::thread::Builder::new()
            .name("runlog-sync".into())
            .spawn(move || worker.run())
            .map_err(|e| {
                Error::Internal(format!("cannot start the background sync thread: {e}"))
            })?;
        Ok(background)
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.shared
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for BackgroundSync {
    fn drop(&mut self) {
        self.progress().stop = true;
        self.shared.changed.notify_all();
    }
}

impl Remote for BackgroundSync {
    fn uri(&self) -> &str {
        self.server.uri()
    }

    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Value> {
        self.server.get(endpoint, query)
    }

    fn post(&self, endpoint: &str, body: &Value) -> Result<Value> {
        self.server.post(endpoint, body)
    }

    fn download_artifact(&self, path: &str) -> Result<Vec<u8>> {
        self.server.get_artifact(path)
    }

    fn track(&self, run: &Run) -> Result<()> {
        let id = &run.info.run_id;
        if self.state.run(id)?.is_some() {
            return Ok(());
        }
        // What the server has of it counts as synced.
        let status = (!run.info.status.is_running()).then(|| {
            (
                run.info.status.as_str().to_owned(),
                run.info.end_time,
                run.info.run_name.clone(),
            )
        });
        let st = RunState {
            remote_id: id.clone(),
            params: run.data.params.clone(),
            tags: run.data.tags.clone(),
            status,
            inputs: run
                .inputs
                .iter()
                .map(|i| (i.name.clone(), i.digest.clone()))
                .collect(),
            ..RunState::default()
        };
        self.state.save_run(id, &st)
    }

    fn wait_synced(&self, timeout: Duration) -> Result<SyncRefusals> {
        let deadline = Instant::now() + timeout;
        let mut p = self.progress();
        p.wake = true;
        let target = p.started + 1;
        self.shared.changed.notify_all();
        while p.succeeded < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let why = match &p.last_error {
                    Some(e) => format!(": {e}"),
                    None => String::new(),
                };
                return Err(Error::Remote(format!(
                    "{} has not acknowledged everything logged within {timeout:?}{why}; it stays \
                     in the spool {} and syncs once the server answers (or with `runlog sync \
                     --to {} {}`)",
                    self.server.uri(),
                    self.spool_dir.display(),
                    self.server.uri(),
                    self.spool_dir.display(),
                )));
            }
            p = self
                .shared
                .changed
                .wait_timeout(p, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        Ok(SyncRefusals {
            refused: std::mem::take(&mut p.refused),
            refused_total: p.refused_total,
        })
    }
}

/// The background sync thread.
struct Worker {
    /// The spool read on its own (a view of its own: no lock shared with
    /// the log calls).
    reader: Client,
    /// The spool's writer, refused records past the size bound.
    writer: Client,
    server: MlflowServer,
    state: Arc<SyncState>,
    shared: Arc<Shared>,
    spool_dir: PathBuf,
    max_bytes: u64,
    /// Run id -> the number of its last change synced.
    synced: HashMap<String, u64>,
    /// The spool's owner lock.
    _owner: File,
    /// Spools of gone clients not synced yet.
    orphans: Vec<PathBuf>,
    /// The spool's size when the last successful cycle began: what the
    /// server has acknowledged.
    acknowledged_size: u64,
}

impl Worker {
    fn run(mut self) {
        let mut wait = MIN_INTERVAL;
        let mut first = true;
        loop {
            let cycle = {
                // The size is checked at least every second meanwhile.
                let until = Instant::now() + wait;
                let mut p = self.progress();
                while !p.wake && !p.stop {
                    let left = until.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    p = self
                        .shared
                        .changed
                        .wait_timeout(p, left.min(SIZE_CHECK))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    drop(p);
                    self.check_size();
                    p = self.progress();
                }
                if p.stop && !p.wake {
                    return;
                }
                p.wake = false;
                p.started += 1;
                p.started
            };
            let size_before = spool_size(&self.spool_dir);
            let began = Instant::now();
            let result = self.sync_orphans().and_then(|()| self.cycle(first));
            let took = began.elapsed();
            if result.is_ok() {
                // What the spool held when the cycle began is synced.
                self.acknowledged_size = size_before;
            }
            self.check_size();
            let mut p = self.progress();
            match result {
                Ok((refused, synced_any)) => {
                    first = false;
                    p.succeeded = p.succeeded.max(cycle);
                    p.last_error = None;
                    for line in refused {
                        eprintln!("runlog: {} refused {line}", self.server.uri());
                        p.refused_total += 1;
                        p.refused.push(line);
                    }
                    // Busy: again soon, but never more than a fifth of the
                    // time syncing; idle: slower.
                    wait = match synced_any {
                        true => (took * 4).clamp(MIN_INTERVAL, MAX_INTERVAL),
                        false => (wait * 2).clamp(MIN_INTERVAL, MAX_INTERVAL),
                    };
                }
                Err(e) => {
                    p.last_error = Some(e.to_string());
                    wait = (wait * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
                }
            }
            drop(p);
            self.shared.changed.notify_all();
        }
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.shared
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Pushes the spool's runs that changed (see [`sync_changed`]).
    fn cycle(&mut self, first: bool) -> Result<(Vec<String>, bool)> {
        sync_changed(
            &self.reader,
            &self.server,
            &self.state,
            &mut self.synced,
            first,
        )
    }

    /// Pushes each orphan spool whole, then deletes it; stops at the
    /// first the server does not take (the cycle failed).
    fn sync_orphans(&mut self) -> Result<()> {
        while let Some(dir) = self.orphans.first().cloned() {
            // Taken by another client meanwhile: that one syncs it.
            if let Some(_lock) = super::connect::try_lock_owner(&dir)? {
                let reader = Client::builder().store(&dir).read_only().open()?;
                let state = SyncState::new(&dir, self.server.uri());
                let mut synced = HashMap::new();
                let (refused, _) = sync_changed(&reader, &self.server, &state, &mut synced, true)?;
                for line in refused {
                    eprintln!("runlog: {} refused {line}", self.server.uri());
                }
                drop(reader);
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io("remove", &dir, e))?;
            }
            self.orphans.remove(0);
        }
        Ok(())
    }

    /// Refuses new records while what the server has not acknowledged
    /// (the spool's growth since the start of the last cycle that synced
    /// everything) is past the bound.
    fn check_size(&self) {
        let backlog = spool_size(&self.spool_dir).saturating_sub(self.acknowledged_size);
        let Ok(store) = self.writer.store() else {
            return;
        };
        if backlog > self.max_bytes {
            store.refuse_records(Some(format!(
                "the spool {} holds {backlog} bytes the server has not acknowledged, past its \
                 bound of {} bytes ({}): {} is not taking what it holds; records are refused \
                 until it does, or until the bound is raised",
                self.spool_dir.display(),
                self.max_bytes,
                super::connect::SPOOL_MAX_BYTES_ENV,
                self.server.uri(),
            )));
        } else {
            store.refuse_records(None);
        }
    }
}

/// Pushes the runs of the spool `reader` reads whose last change differs
/// from `synced` (updated as they sync); returns the records the server
/// refused and whether any run was looked at. With `first`, a run that
/// ended and whose end the server acknowledged is taken as synced
/// without reading its histories.
fn sync_changed(
    reader: &Client,
    server: &MlflowServer,
    state: &SyncState,
    synced: &mut HashMap<String, u64>,
    first: bool,
) -> Result<(Vec<String>, bool)> {
    let _lock = state.lock()?;
    let changed = reader.changed_runs(synced)?;
    let any = !changed.is_empty();
    let mut refused = Vec::new();
    let sync = &mut RunSync::new(reader, server, state, false, Ids::Same);
    for (run, changes) in changed {
        let id = run.info.run_id.clone();
        if run.info.lifecycle_stage == LifecycleStage::Deleted
            || (first && ended_and_shipped(state, &run)?)
        {
            synced.insert(id, changes);
            continue;
        }
        let mut summary = SyncReport::default();
        match sync.run(&run, &run.info.experiment_id, &mut summary, &mut |_| {}) {
            Ok(()) => {}
            Err(e @ (Error::Remote(_) | Error::Io { .. })) => return Err(e),
            // Refused as a whole (the run deleted there, a point the
            // server does not take): reported, tried again once the run
            // changes.
            Err(e) => summary.failures.push(format!("run {id}: {e}")),
        }
        refused.extend(summary.failures);
        synced.insert(id, changes);
    }
    Ok((refused, any))
}

/// Whether the server acknowledged the run's end as the spool has it.
fn ended_and_shipped(state: &SyncState, run: &Run) -> Result<bool> {
    if run.info.status.is_running() {
        return Ok(false);
    }
    let now = (
        run.info.status.as_str().to_owned(),
        run.info.end_time,
        run.info.run_name.clone(),
    );
    Ok(state.run(&run.info.run_id)?.and_then(|s| s.status) == Some(now))
}

/// The bytes of every file under a spool (0 when it cannot be read).
pub(crate) fn spool_size(dir: &Path) -> u64 {
    files_under(dir)
        .map(|files| files.iter().map(|f| f.len).sum())
        .unwrap_or(0)
}
