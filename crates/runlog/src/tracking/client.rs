//! The tracking client (MLflow's `MlflowClient`): an open store plus the
//! tracking state read from it, kept current by following the log.
//!
//! Every write goes to the log first; the state is only ever built by
//! replaying the log (this process's lane included), so what a client reads
//! is exactly what another process, or a later replay, reads. Reads first
//! wait until this process's queued records are written (no fsync), then
//! read whatever every lane appended since the last read.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::format::Record;
use crate::index::chunks::ChunkIndex;
use crate::index::tail::{drop_replaced, SegmentId, TailIndex};
use crate::layout::generation_path;
use crate::log::generation::Generation;
use crate::options::Options;
use crate::replay::{Event, Position, Replay};
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
    /// Times the view was built again because a compaction deleted a
    /// segment it had not read (a figure for tests and benches).
    rebuilds: AtomicU64,
    /// Set once the store's marker says version 5 (logged models), so that
    /// later model records need not look again.
    models_marked: AtomicBool,
    /// Chunk indexes of the generations read so far (immutable files).
    pub(crate) indexes: Mutex<std::collections::HashMap<u64, Arc<ChunkIndex>>>,
}

/// The tracking state and the replay that feeds it.
pub(crate) struct View {
    pub(crate) state: TrackingState,
    replay: Replay,
    /// Damaged entries skipped while following the log.
    damaged: u64,
    /// Generations published when the view was built: the view's data is
    /// theirs plus the segments they do not replace.
    pub(crate) generations: Vec<u64>,
    /// Every metric point read from segments (not from generations), by
    /// series, once a history query asked for it: history then needs no
    /// scan of the log.
    pub(crate) tail: Option<TailIndex>,
}

/// The points of one series met in one catch-up.
struct SeriesBatch {
    run_id: Arc<str>,
    key: Arc<str>,
    /// The latest by MLflow's rule.
    latest: Metric,
    /// Every point with its segment, in log order, for the tail.
    points: Vec<(Metric, SegmentId)>,
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
        let view = View::build(&root, false)?;
        let client = Client {
            inner: Arc::new(Inner {
                uri,
                root,
                store,
                view: Mutex::new(view),
                stale: AtomicBool::new(false),
                deletions: AtomicU64::new(0),
                rebuilds: AtomicU64::new(0),
                models_marked: AtomicBool::new(false),
                indexes: Mutex::new(std::collections::HashMap::new()),
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
            Some(store) => store.flush(),
            None => Ok(()),
        }
    }

    /// Damaged log entries skipped while reading the state (the store's
    /// recovery report and `runlog verify` say where).
    pub fn damaged_entries(&self) -> Result<u64> {
        Ok(self.view(Fresh::Now)?.damaged)
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

    /// Marks the store as holding logged-model records (marker version 5),
    /// once per client, before the first such record is appended.
    pub(crate) fn require_model_records(&self) -> Result<()> {
        self.models_are_local()?;
        if self.inner.models_marked.load(Ordering::Acquire) {
            return Ok(());
        }
        self.writer("this write")?;
        crate::log::marker::raise_marker(&self.inner.root, crate::format::STORE_VERSION_MODELS)?;
        self.inner.models_marked.store(true, Ordering::Release);
        Ok(())
    }

    /// Refuses logged models and the registry on a client of a tracking
    /// server ([`Backend::check_models_reachable`]).
    pub(crate) fn models_are_local(&self) -> Result<()> {
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

    fn catch_up(&self, view: &mut View) -> Result<()> {
        if let Some(store) = &self.inner.store {
            store.sync_written()?;
        }
        // A compaction since the last look is taken in place: the view read
        // the segments it replaced (they are kept a while for readers
        // following the store), so only the live points move from the tail
        // to the generation. The view is built again only when a replaced
        // segment was deleted before the view read it.
        self.despite_compactions(|again| {
            if again {
                self.inner.rebuilds.fetch_add(1, Ordering::Relaxed);
                *view = View::build(&self.inner.root, view.tail.is_some())?;
            }
            self.follow(view)?;
            view.take_generations();
            Ok(())
        })
    }

    /// Runs a read of the log, and runs it again (`read(true)`) when a
    /// compaction changed the store under it (published a generation,
    /// deleted a segment not read yet). After three such races it holds
    /// compactions off (the store's compaction lock) for one last run, so
    /// that a read never fails because of a concurrent compaction.
    pub(crate) fn despite_compactions<T>(
        &self,
        mut read: impl FnMut(bool) -> Result<T>,
    ) -> Result<T> {
        for attempt in 0..3 {
            match read(attempt > 0) {
                Err(e) if compaction_raced(&e) => continue,
                other => return other,
            }
        }
        let _held = crate::compact::hold_compactions(&self.inner.root, !self.is_read_only())?;
        read(true)
    }

    /// The view, current, with its index of live points (built on first use).
    pub(crate) fn view_with_tail(&self) -> Result<MutexGuard<'_, View>> {
        let mut view = self.view(Fresh::Now)?;
        if view.tail.is_none() {
            view.tail = Some(TailIndex::new());
            if let Err(e) = self.rebuild(&mut view) {
                view.tail = None;
                return Err(e);
            }
        }
        Ok(view)
    }

    /// Builds the view again from scratch, then catches up.
    fn rebuild(&self, view: &mut View) -> Result<()> {
        *view = View::build(&self.inner.root, view.tail.is_some())?;
        self.catch_up(view)
    }

    /// Reads what the log gained since the view last read it.
    fn follow(&self, view: &mut View) -> Result<()> {
        view.replay.refresh()?;
        let View {
            state,
            replay,
            damaged,
            tail,
            ..
        } = view;
        // Points are gathered per series (its run id and key are the same
        // shared strings for every point of a segment, so the series is
        // found by their addresses, not by hashing them) and applied once
        // per series at the end: the latest value is the greatest point by
        // MLflow's rule, whatever the order, and no record removes one.
        // Keys are addresses of strings the values hold: none is reused.
        let mut batches: HashMap<(usize, usize), SeriesBatch, foldhash::fast::RandomState> =
            HashMap::default();
        let keep_points = tail.is_some();
        let mut on_point = |at: Position, run_id: &Arc<str>, key: &Arc<str>, point: Metric| {
            let address = (
                Arc::as_ptr(run_id) as *const u8 as usize,
                Arc::as_ptr(key) as *const u8 as usize,
            );
            let batch = batches.entry(address).or_insert_with(|| SeriesBatch {
                run_id: Arc::clone(run_id),
                key: Arc::clone(key),
                latest: point,
                points: Vec::new(),
            });
            if point.is_later_than(&batch.latest) {
                batch.latest = point;
            }
            // Lane 0 is compacted data (only latest points).
            if keep_points && at.lane != 0 {
                batch.points.push((point, (at.lane, at.segment)));
            }
        };
        let mut failed = None;
        while let Some(item) = replay.next_record(&mut on_point) {
            match item {
                Ok(replayed) => match &replayed.event {
                    Event::Metric { .. } => {
                        if let Some((run_id, key, point)) = replayed.event.metric() {
                            on_point(replayed.position, run_id, key, point);
                        }
                    }
                    Event::Record(r) => {
                        if is_deletion(&r.as_borrowed()) {
                            self.inner.deletions.fetch_add(1, Ordering::AcqRel);
                        }
                        state.apply(&replayed.event);
                    }
                },
                Err(Error::Corrupt(_)) => *damaged += 1,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        // Also after a failure: the replay has moved past these points.
        for batch in batches.into_values() {
            state.apply_point(&batch.run_id, &batch.key, batch.latest);
            state.touch(&batch.run_id);
            if let (Some(tail), false) = (tail.as_mut(), batch.points.is_empty()) {
                let series = tail.entry((batch.run_id, batch.key)).or_default();
                series.points.reserve(batch.points.len());
                for (point, origin) in batch.points {
                    series.push(point, origin);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Takes the store-wide tracking lock (blocking).
    pub(crate) fn lock_tracking(&self) -> Result<File> {
        self.writer("this write")?;
        let path = self.inner.root.join(TRACKING_LOCK_FILE);
        let file = crate::fs_util::open_lock_file(&path)?;
        file.lock().map_err(|e| Error::io("lock", &path, e))?;
        Ok(file)
    }

    /// The chunk index of a published generation (built once, then cached).
    pub(crate) fn chunk_index(&self, number: u64) -> Result<Arc<ChunkIndex>> {
        let cached = self
            .inner
            .indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&number)
            .cloned();
        if let Some(index) = cached {
            return Ok(index);
        }
        let generation = Generation::open(&generation_path(&self.inner.root, number), number)?;
        let index = Arc::new(ChunkIndex::build(generation)?);
        self.inner
            .indexes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(number, Arc::clone(&index));
        Ok(index)
    }
}

impl View {
    /// A view of the store from scratch: the generations' records and
    /// latest points, then the segments they do not replace (read by the
    /// first catch-up).
    fn build(root: &Path, with_tail: bool) -> Result<View> {
        let replay = Replay::open_latest(root)?;
        let generations = replay
            .published()
            .iter()
            .map(|g| g.number)
            .take(replay.generations())
            .collect();
        Ok(View {
            state: TrackingState::with_store_dir(root),
            replay,
            damaged: 0,
            generations,
            tail: with_tail.then(TailIndex::new),
        })
    }

    /// Takes on the generations published since the view's last ones
    /// whose replaced segments the view has read to their end (all of
    /// them, after a catch-up): their points leave the tail, as history
    /// now reads them from the generation's chunks. The tracking state
    /// already holds their records.
    fn take_generations(&mut self) {
        while let Some(g) = self.replay.published().get(self.generations.len()) {
            if !g.segments.iter().all(|&(l, s)| self.replay.has_read(l, s)) {
                break; // read on first
            }
            if let Some(tail) = &mut self.tail {
                drop_replaced(tail, &g.segments.iter().copied().collect());
            }
            self.generations.push(g.number);
        }
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

/// Whether an error means a compaction changed the store under a reader
/// (published a generation, deleted a segment not read yet).
fn compaction_raced(e: &Error) -> bool {
    matches!(e, Error::CompactionRaced(_)) || e.io_kind() == Some(std::io::ErrorKind::NotFound)
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
        let tail = view.tail.as_ref().unwrap();
        tail.get(&(Arc::from(run), Arc::from(key)))
            .map_or(0, |s| s.points.len())
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
            assert_eq!(view.generations.len() as i64, round + 1);
        }
        assert_eq!(client.inner.rebuilds.load(Ordering::Relaxed), 0);
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
