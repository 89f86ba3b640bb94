//! The tracking client (MLflow's `MlflowClient`): an open store plus the
//! tracking state read from it, kept current by following the log.
//!
//! Every write goes to the log first; the state is only ever built by
//! replaying the log (this process's lane included), so what a client reads
//! is exactly what another process, or a later replay, reads. Reads first
//! wait until this process's queued records are written (no fsync), then
//! read whatever every lane appended since the last read.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::format::Record;
use crate::options::Options;
use crate::read_view::{ChunkIndexes, Follower, ReadView};
use crate::replay::Event;
use crate::store::Store;
use crate::tracking::backend::{Backend, Local};
use crate::tracking::model::Metric;
use crate::tracking::state::TrackingState;

/// Directory of the store under which default artifact locations live.
pub use crate::layout::ARTIFACTS_DIR;
/// Name of the store-wide lock file that serialises experiment creation and
/// renaming across processes (names must stay unique).
pub use crate::layout::TRACKING_LOCK_FILE;

/// A tracking client bound to one store (MLflow's `MlflowClient`): every
/// call names the run or experiment it acts on. Cheap to clone; clones
/// share the store and its writer thread. `Send + Sync`.
///
/// A client reads its own writes at once. What another client or process
/// logs becomes visible once that writer has written it: within about a
/// millisecond (its writer's tick), or at once after its
/// [`flush`](Client::flush). Experiment creation, run ends, deletions and
/// restores are flushed before they return.
///
/// ```
/// # fn main() -> runlog::Result<()> {
/// use runlog::{Client, NewExperiment, NewRun, RunStatus};
/// let dir = tempfile::tempdir().unwrap();
/// let client = Client::builder().store(dir.path()).open()?;
/// let exp = client.create_experiment(NewExperiment::new("fraud-detection").tag("team", "risk"))?;
/// let run = client.create_run(NewRun::new(&exp).run_name("baseline"))?;
/// let id = &run.info.run_id;
/// client.log_param(id, "lr", 0.01)?;
/// for step in 0..10 {
///     client.log_metric(id, "loss", 1.0 / (step + 1) as f64, step)?;
/// }
/// client.set_terminated(id, RunStatus::Finished)?;
///
/// let run = client.get_run(id)?;
/// assert_eq!(run.info.status, RunStatus::Finished);
/// assert_eq!(run.data.params["lr"], "0.01");
/// assert_eq!(run.data.metrics["loss"].step, 9);
/// assert_eq!(client.get_metric_history(id, "loss")?.len(), 10);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// Who answers reads and holds the catalog: the store itself, or a
    /// tracking server (an `http(s)://` tracking URI) whose spool the
    /// store is (see [`wait_synced`](Client::wait_synced)).
    pub(crate) backend: Arc<dyn Backend>,
}

pub(crate) struct Inner {
    uri: String,
    root: PathBuf,
    /// The writer; `None` for a client opened read-only.
    store: Option<Store>,
    view: Mutex<View>,
    /// Set when this client appended a record since the view last caught
    /// up, so checks that depend on it (param immutability, run state)
    /// catch up first.
    stale: AtomicBool,
    /// Bumped whenever a run or experiment is deleted (by this client, or
    /// seen in the log): caches of "this run takes writes" compare it.
    deletions: AtomicU64,
    /// Chunk indexes of the generations read so far (immutable files).
    pub(crate) indexes: ChunkIndexes,
}

/// The tracking state and the engine's read view that feeds it.
pub(crate) struct View {
    pub(crate) state: TrackingState,
    pub(crate) log: ReadView,
}

/// The tracking state as the read view's follower: records applied, each
/// series' latest point kept, deletions counted.
struct StateFollower<'a> {
    state: &'a mut TrackingState,
    root: &'a Path,
    deletions: &'a AtomicU64,
}

impl Follower for StateFollower<'_> {
    fn restart(&mut self) {
        *self.state = TrackingState::with_store_dir(self.root);
    }

    fn record(&mut self, event: &Event) {
        if let Event::Record(r) = event {
            if is_deletion(&r.as_borrowed()) {
                self.deletions.fetch_add(1, Ordering::AcqRel);
            }
        }
        self.state.apply(event);
    }

    fn latest_point(&mut self, run_id: &Arc<str>, key: &Arc<str>, point: Metric) {
        self.state.apply_point(run_id, key, point);
        self.state.touch(run_id);
    }
}

/// How current a read of the state must be.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fresh {
    /// Everything written by any process up to now.
    Now,
    /// At least this client's own records (cheap when it wrote none).
    OwnWrites,
}

impl Client {
    /// Opens an existing store for reading only ([`ClientBuilder::read_only`]).
    pub(crate) fn open_read_only_at(uri: String, path: &Path) -> Result<Client> {
        crate::replay::check_is_store(path)?;
        Client::assemble(uri, path, None)
    }

    /// Opens (or creates) the store at `path`, known by `uri`; a Default
    /// experiment made now keeps its artifacts in `<default_root>/0` when
    /// given (a server whose artifacts live elsewhere), else under the
    /// store.
    pub(crate) fn open_at(
        uri: String,
        path: &Path,
        options: Options,
        default_root: Option<&Path>,
    ) -> Result<Client> {
        let store = Store::open_with(path, options)?;
        let client = Client::assemble(uri, path, Some(store))?;
        client.ensure_default_experiment_in(default_root)?;
        Ok(client)
    }

    fn assemble(uri: String, path: &Path, store: Option<Store>) -> Result<Client> {
        let root = std::path::absolute(path).map_err(|e| Error::io("resolve path", path, e))?;
        let view = View {
            state: TrackingState::with_store_dir(&root),
            log: ReadView::open(&root, false)?,
        };
        let client = Client {
            inner: Arc::new(Inner {
                uri,
                root,
                store,
                view: Mutex::new(view),
                stale: AtomicBool::new(false),
                deletions: AtomicU64::new(0),
                indexes: ChunkIndexes::default(),
            }),
            backend: Arc::new(Local),
        };
        drop(client.view(Fresh::Now)?);
        Ok(client)
    }

    /// Identifies the shared client behind this handle (clones are equal).
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// The tracking URI this client was opened with (a server's URI for a
    /// client connected to one).
    pub fn tracking_uri(&self) -> &str {
        self.backend.tracking_uri(self)
    }

    /// The URI the store was opened with (for a client connected to a
    /// server, its spool's).
    pub(crate) fn store_uri(&self) -> &str {
        &self.inner.uri
    }

    /// The store directory (absolute): for a client connected to a
    /// server, its spool.
    pub fn store_dir(&self) -> &Path {
        &self.inner.root
    }

    /// The underlying store (raw log access, writer statistics);
    /// [`Error::ReadOnly`] for a client opened read-only.
    pub fn store(&self) -> Result<&Store> {
        self.writer("store")
    }

    /// Whether this client was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.inner.store.is_none()
    }

    /// Blocks until everything this client logged is on disk (fsynced).
    /// A read-only client has nothing to flush.
    pub fn flush(&self) -> Result<()> {
        match &self.inner.store {
            Some(store) => Ok(store.flush()?),
            None => Ok(()),
        }
    }

    /// Damaged log entries skipped while reading the state (the store's
    /// recovery report and `runlog verify` say where).
    pub fn damaged_entries(&self) -> Result<u64> {
        Ok(self.view(Fresh::Now)?.log.damaged())
    }

    // ----- plumbing shared by the other client modules -----

    /// The writer, for operation `op`; [`Error::ReadOnly`] without one.
    pub(crate) fn writer(&self, op: &'static str) -> Result<&Store> {
        self.inner.store.as_ref().ok_or_else(|| Error::ReadOnly {
            op,
            path: self.inner.root.clone(),
        })
    }

    /// Appends a record through this client's writer.
    pub(crate) fn append(&self, record: &Record<&str>) -> Result<()> {
        self.writer("this write")?.append(record)?;
        self.inner.stale.store(true, Ordering::Release);
        if is_deletion(record) {
            self.inner.deletions.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Refuses logged models and the registry on a client of a tracking
    /// server ([`Backend::check_models_reachable`]).
    pub(crate) fn check_models_reachable(&self) -> Result<()> {
        self.backend.check_models_reachable()
    }

    /// A counter that changes whenever a run or experiment is deleted, so
    /// that a cache of checked runs knows when to check again.
    pub(crate) fn deletion_epoch(&self) -> u64 {
        self.inner.deletions.load(Ordering::Acquire)
    }

    /// The tracking state, brought up to date as `fresh` asks.
    pub(crate) fn view(&self, fresh: Fresh) -> Result<MutexGuard<'_, View>> {
        let mut view = self.inner.view.lock().unwrap_or_else(|p| p.into_inner());
        let stale = self.inner.stale.swap(false, Ordering::AcqRel);
        if fresh == Fresh::Now || stale {
            if let Err(e) = self.catch_up(&mut view) {
                if stale {
                    self.inner.stale.store(true, Ordering::Release);
                }
                return Err(e);
            }
        }
        Ok(view)
    }

    /// Reads what the log gained into the state (the engine's read view
    /// takes care of compactions).
    fn catch_up(&self, view: &mut View) -> Result<()> {
        let View { state, log } = view;
        let mut follower = StateFollower {
            state,
            root: &self.inner.root,
            deletions: &self.inner.deletions,
        };
        log.catch_up(self.inner.store.as_ref(), &mut follower)
    }

    /// The view, current, with its index of live points (built on first use).
    pub(crate) fn view_with_tail(&self) -> Result<MutexGuard<'_, View>> {
        let mut view = self.view(Fresh::Now)?;
        let View { state, log } = &mut *view;
        let mut follower = StateFollower {
            state,
            root: &self.inner.root,
            deletions: &self.inner.deletions,
        };
        log.keep_tail(self.inner.store.as_ref(), &mut follower)?;
        Ok(view)
    }

    /// Takes the store-wide tracking lock (blocking).
    pub(crate) fn lock_tracking(&self) -> Result<File> {
        self.writer("this write")?;
        let path = self.inner.root.join(TRACKING_LOCK_FILE);
        let file = crate::fs_util::open_lock_file(&path)?;
        file.lock().map_err(|e| Error::io("lock", &path, e))?;
        Ok(file)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("tracking_uri", &self.tracking_uri())
            .field("store_dir", &self.inner.root)
            .finish_non_exhaustive()
    }
}

fn is_deletion(record: &Record<&str>) -> bool {
    matches!(
        record,
        Record::DeleteRun { .. } | Record::DeleteExperiment { .. }
    )
}

pub(crate) fn experiment_not_found(id: &str) -> Error {
    Error::NotFound(format!("no experiment with id '{id}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::{compact_with, CompactOptions};

    fn tail_points(client: &Client, run: &str, key: &str) -> usize {
        let view = client.view_with_tail().unwrap();
        view.log.tail_points(run, key).unwrap()
    }

    #[test]
    fn a_compaction_moves_points_from_the_tail_without_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options::default().segment_size(4 << 10).auto_compact(None);
        let client = Client::builder()
            .store(dir.path())
            .options(options)
            .open()
            .unwrap();
        let run = client.create_run("0").unwrap().info.run_id;
        let mut expected = Vec::new();
        let keep = CompactOptions {
            keep_replaced_for: std::time::Duration::from_secs(600),
            ..CompactOptions::default()
        };
        for round in 0..3i64 {
            for i in 0..3_000 {
                let step = round * 3_000 + i;
                client.log_metric(&run, "loss", step as f64, step).unwrap();
                client.log_metric(&run, "other", 1.0, step).unwrap();
                expected.push(step);
            }
            client.flush().unwrap();
            let steps = |c: &Client| -> Vec<i64> {
                let h = c.get_metric_history(&run, "loss").unwrap();
                h.iter().map(|m| m.step).collect()
            };
            assert_eq!(steps(&client), expected, "round {round}, before");
            let live_before = tail_points(&client, &run, "loss");
            assert!(live_before >= 3_000, "round {round}: {live_before}");
            let report = compact_with(dir.path(), &keep).unwrap();
            assert!(report.segments > 0, "round {round}: {report:?}");
            assert_eq!(steps(&client), expected, "round {round}, after");
            let live_after = tail_points(&client, &run, "loss");
            assert!(
                live_after < 300,
                "round {round}: the live segment's points only, not {live_after}"
            );
            let view = client.view(Fresh::Now).unwrap();
            assert_eq!(view.log.generations().len() as i64, round + 1);
        }
        assert_eq!(client.view(Fresh::Now).unwrap().log.rebuilds(), 0);
        // Segments deleted before the view read them: built again, same
        // answer.
        for step in 9_000..12_000 {
            client.log_metric(&run, "loss", step as f64, step).unwrap();
            expected.push(step);
        }
        client.flush().unwrap();
        compact_with(dir.path(), &CompactOptions::default()).unwrap();
        let h = client.get_metric_history(&run, "loss").unwrap();
        assert_eq!(h.iter().map(|m| m.step).collect::<Vec<_>>(), expected);
        let reopened = Client::builder()
            .store(dir.path())
            .read_only()
            .open()
            .unwrap();
        assert_eq!(reopened.get_metric_history(&run, "loss").unwrap(), h);
    }
}
