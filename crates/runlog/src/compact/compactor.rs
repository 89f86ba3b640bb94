//! Compaction: sealed segments become a generation file; the manifest
//! publishes it by an atomic rename; only then are the segments deleted.
//!
//! A kill at any moment leaves a store that opens and reads the same data:
//! before the manifest is renamed, the new generation file is an orphan that
//! readers ignore (and the next compaction removes); after it, readers skip
//! the replaced segments, which the next compaction removes if the kill
//! came before they were. Writers keep appending meanwhile: compaction
//! takes only sealed segments, a lane's last one only when no writer holds
//! the lane (the manifest then keeps the lane's numbering going), and takes
//! no lock a live writer uses.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::compact::write::{remove_if_present, sync, write_generation, SeriesMap};
use crate::error::{CompactError, StorageError, StorageResult};
use crate::format::{Metric, Record, STORE_VERSION_COMPACTED};
use crate::held_lock::HeldLock;
use crate::layout::{
    generation_path, manifest_path, COMPACT_DIR, COMPACT_LOCK_FILE, MANIFEST_FILE,
};
use crate::log::lane::{list_lanes, list_segments, try_lock};
use crate::log::manifest::{GenerationEntry, Manifest};
use crate::log::marker::check_and_mend_marker;
use crate::log::recovery::{recover_lane, RecoveryReport};
use crate::replay::{Event, Replay};

/// Limits of one compaction.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Most segment bytes read into one generation (the points are held in
    /// memory while they are sorted: about 32 bytes a point, so the default
    /// 1 GiB of segments, 29 M points, takes about 1 GiB). Larger inputs
    /// make several generations.
    pub max_input_bytes: u64,
    /// Leave the segments a generation replaces in place for this long
    /// after it is published (readers skip them meanwhile; a later
    /// compaction deletes them), so that a reader following the store that
    /// has not read them yet still can. Background compaction keeps them 30
    /// seconds; on demand, the default (zero) deletes them at once.
    pub keep_replaced_for: std::time::Duration,
    /// When another compaction holds the store: wait for it to end (then
    /// compact what it left), instead of failing with
    /// [`CompactError::Running`].
    pub wait_for_other: bool,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            max_input_bytes: 1 << 30,
            keep_replaced_for: std::time::Duration::ZERO,
            wait_for_other: false,
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CompactionReport {
    /// Generations published.
    pub generations: u64,
    /// Segments replaced.
    pub segments: u64,
    /// Bytes of the replaced segments.
    pub bytes_in: u64,
    /// Bytes of the new generation files.
    pub bytes_out: u64,
    /// Records (params, tags, runs, ...) carried over.
    pub records: u64,
    /// Metric points carried over.
    pub points: u64,
    /// Segments left raw because they are damaged (they, and the later
    /// segments of their lane, are compacted once repaired).
    pub damaged_segments: u64,
    /// Files a killed compaction left behind and this one removed.
    pub leftovers_removed: u64,
    /// Generation files that no manifest lists and that are not provably
    /// a compaction's unfinished output: damage, left in place.
    pub unlisted_generations: Vec<u64>,
    /// Lanes of dead writers whose last segment this compaction recovered
    /// (torn tail cut, sealed) so as to compact it, and the damage found
    /// there and in a store marker it mended.
    pub recovery: RecoveryReport,
    /// The manifest was damaged or missing: this compaction published it
    /// again, as rebuilt from the generation files.
    pub manifest_rebuilt: bool,
}

/// Compacts a store with default options: see [`compact_with`].
pub fn compact(store: &Path) -> Result<CompactionReport, CompactError> {
    compact_with(store, &CompactOptions::default())
}

/// Compacts the sealed segments of every lane into generation files: every
/// segment but the writer's own of a lane a live writer holds, every
/// segment of a lane whose writer is gone (a dead writer's last segment is
/// recovered first, as [`Store::open`](crate::engine::Store::open) would). A store
/// whose writers are all gone ends with no raw segment. Refuses to run
/// beside another compaction.
///
/// ```
/// # fn main() -> runlog::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let options = runlog::Options::default().segment_size(4096).auto_compact(None);
/// let store = runlog::engine::Store::open_with(dir.path(), options)?;
/// for step in 0..1000 {
///     store.log_metric("run", "loss", runlog::Metric { value: 1.0 / (step + 1) as f64, timestamp: 1_700_000_000_000, step })?;
/// }
/// store.close()?;
/// let report = runlog::compact::compact(dir.path())?;
/// assert!(report.segments > 0);
/// let points = runlog::engine::Replay::open(dir.path())?
///     .filter(|r| matches!(r.as_ref().unwrap().event, runlog::engine::Event::Metric { .. }))
///     .count();
/// assert_eq!(points, 1000);
/// # Ok(()) }
/// ```
pub fn compact_with(
    store: &Path,
    options: &CompactOptions,
) -> Result<CompactionReport, CompactError> {
    compact_with_progress(store, options, &|_| {})
}

/// [`compact_with`], calling `progress` with the report so far each time a
/// generation is published (its `bytes_in` grows towards the bytes of the
/// sealed segments), for progress bars.
pub fn compact_with_progress(
    store: &Path,
    options: &CompactOptions,
    progress: &dyn Fn(&CompactionReport),
) -> Result<CompactionReport, CompactError> {
    // Checked first: a path that is no store is said so, not made one.
    let marker_damage = check_and_mend_marker(store)?;
    let _lock = lock_compactions(store, options.wait_for_other)?;
    compact_locked(store, options, progress, &Steering::none(), marker_damage)
}

/// How a compaction running beside other work is steered: `stop` ends it
/// after the generation it is writing (a closing store's background
/// compactor: its close waits for one generation at most, not for a
/// backlog); `give_way` is called between the steps of its work and may
/// pause there (see [`Foreground`](crate::Foreground)).
pub struct Steering<'a> {
    /// Whether to stop after the generation being written.
    pub stop: &'a dyn Fn() -> bool,
    /// Called between steps: 2,048 entries read, a series sorted, a chunk
    /// written.
    pub give_way: &'a dyn Fn(),
}

impl Steering<'_> {
    /// Never stops early, never pauses.
    pub fn none() -> Steering<'static> {
        Steering {
            stop: &|| false,
            give_way: &|| {},
        }
    }
}

/// [`compact_with`], steered (see [`Steering`]). Public with the
/// `internals` feature, for the tests.
pub fn compact_steered(
    store: &Path,
    options: &CompactOptions,
    steering: &Steering,
) -> Result<CompactionReport, CompactError> {
    let marker_damage = check_and_mend_marker(store)?;
    let _lock = lock_compactions(store, options.wait_for_other)?;
    compact_locked(store, options, &|_| {}, steering, marker_damage)
}

/// Takes the store's compaction lock (see [`lock`]), creating the compact
/// directory if need be: held, it lets [`compact_while_locked`] run.
pub(crate) fn lock_compactions(store: &Path, wait: bool) -> Result<HeldLock, CompactError> {
    let dir = store.join(COMPACT_DIR);
    fs::create_dir_all(&dir).map_err(|e| StorageError::io("create directory", &dir, e))?;
    lock(&dir, wait)
}

/// [`compact_with_progress`] for a caller that holds the compaction lock
/// ([`lock_compactions`]).
pub(crate) fn compact_while_locked(
    store: &Path,
    options: &CompactOptions,
    progress: &dyn Fn(&CompactionReport),
) -> Result<CompactionReport, CompactError> {
    let marker_damage = check_and_mend_marker(store)?;
    compact_locked(store, options, progress, &Steering::none(), marker_damage)
}

/// The compaction itself, under the lock, once the marker was checked
/// (`marker_damage`: what mending it found).
fn compact_locked(
    store: &Path,
    options: &CompactOptions,
    progress: &dyn Fn(&CompactionReport),
    steering: &Steering,
    marker_damage: Option<crate::error::Damage>,
) -> Result<CompactionReport, CompactError> {
    let dir = store.join(COMPACT_DIR);
    let mut manifest = Manifest::load(store)?;
    let mut report = CompactionReport::default();
    // A marker read past a flipped bit was mended: say so.
    report.recovery.corrupt.extend(marker_damage);
    if manifest.rebuilt.take().is_some() {
        // Damaged or missing, and rebuilt from the generations: mended.
        manifest.publish(store)?;
        report.manifest_rebuilt = true;
    }
    remove_leftovers(store, &manifest, options.keep_replaced_for, &mut report)?;
    let mut damaged: HashSet<(u64, u64)> = HashSet::new();
    while !(steering.stop)() {
        let inputs = choose_inputs(
            store,
            &manifest,
            &damaged,
            options.max_input_bytes,
            &mut report.recovery,
        )?;
        if inputs.is_empty() {
            break;
        }
        let (records, series, bad) = read_inputs(store, &inputs, steering.give_way)?;
        if !bad.is_empty() {
            report.damaged_segments += bad.len() as u64;
            damaged.extend(bad);
            continue; // choose again without them (and what follows them)
        }
        if !manifest_path(store).exists() {
            // A compacted store must have a manifest (its absence is
            // damage): publish the empty one before a generation file or
            // the marker says so (a store marked 5 or more counts as
            // compacted once a generation file exists).
            manifest.publish(store)?;
        }
        let number = manifest.next_number();
        let path = generation_path(store, number);
        let tmp = path.with_extension("gen.tmp");
        let replaced: Vec<(u64, u64)> = inputs.iter().map(|s| (s.lane, s.sequence)).collect();
        let bytes_out = write_generation(
            &tmp,
            number,
            &replaced,
            &records,
            &series,
            steering.give_way,
        )?;
        fs::rename(&tmp, &path).map_err(|e| StorageError::io("rename", &tmp, e))?;
        sync(&dir)?;
        upgrade_marker(store)?;
        manifest.generations.push(GenerationEntry {
            number,
            segments: replaced,
        });
        manifest.publish(store)?;
        // Published: the inputs are garbage now (kept a while for
        // followers when the options say so; a later compaction deletes them).
        let mut lane_dirs = HashSet::new();
        for input in inputs
            .iter()
            .filter(|_| options.keep_replaced_for.is_zero())
        {
            remove_if_present(&input.path)?;
            if let Some(parent) = input.path.parent() {
                lane_dirs.insert(parent.to_owned());
            }
        }
        for d in lane_dirs {
            sync(&d)?;
        }
        report.generations += 1;
        report.segments += inputs.len() as u64;
        report.bytes_in += inputs.iter().map(|s| s.bytes).sum::<u64>();
        report.bytes_out += bytes_out;
        report.records += records.len() as u64;
        report.points += series.values().map(|v| v.len() as u64).sum::<u64>();
        progress(&report);
    }
    Ok(report)
}

/// Waits for a running compaction of `store` to end and keeps others from
/// starting until the returned lock is dropped (readers that a compaction
/// keeps racing). A caller that may write creates the lock file if need
/// be; one that may not (a read-only client) gets `None` when there is
/// none: no compaction ever ran, so none can be running.
pub(crate) fn hold_compactions(store: &Path, may_write: bool) -> StorageResult<Option<HeldLock>> {
    let dir = store.join(COMPACT_DIR);
    if may_write {
        fs::create_dir_all(&dir).map_err(|e| StorageError::io("create directory", &dir, e))?;
        return lock_waiting(&dir).map(Some);
    }
    let path = dir.join(COMPACT_LOCK_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io("open", &path, e)),
    };
    file.lock()
        .map_err(|e| StorageError::io("lock", &path, e))?;
    Ok(Some(HeldLock::new(file)))
}

/// Waits until no compaction of `store` runs (one running after a program
/// exited, say), calling `waiting` first when one does; returns at once
/// when none does. Creates nothing: a store never compacted has no lock to
/// wait on. For a caller about to measure the store's files, which a
/// running compaction is rewriting.
pub fn wait_for_compaction(store: &Path, waiting: &dyn Fn()) -> Result<(), StorageError> {
    let path = store.join(COMPACT_DIR).join(COMPACT_LOCK_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        // No lock, or no store (the caller's own check says which).
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(())
        }
        Err(e) => return Err(StorageError::io("open", &path, e)),
    };
    match file.try_lock_shared() {
        Ok(()) => return Ok(()),
        Err(fs::TryLockError::WouldBlock) => waiting(),
        Err(fs::TryLockError::Error(e)) => return Err(StorageError::io("lock", &path, e)),
    }
    file.lock_shared()
        .map_err(|e| StorageError::io("lock", &path, e))
}

/// Takes the compaction lock of the compact directory `dir`, waiting for
/// a running compaction to end.
fn lock_waiting(dir: &Path) -> StorageResult<HeldLock> {
    let path = dir.join(COMPACT_LOCK_FILE);
    let file = crate::fs_util::open_lock_file(&path)?;
    file.lock()
        .map_err(|e| StorageError::io("lock", &path, e))?;
    Ok(HeldLock::new(file))
}

/// Takes the compaction lock of the compact directory `dir`: waits for a
/// running compaction when `wait`, or else refuses with
/// [`CompactError::Running`].
fn lock(dir: &Path, wait: bool) -> Result<HeldLock, CompactError> {
    if wait {
        return Ok(lock_waiting(dir)?);
    }
    let path = dir.join(COMPACT_LOCK_FILE);
    let file = crate::fs_util::open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(HeldLock::new(file)),
        Err(fs::TryLockError::WouldBlock) => Err(CompactError::Running {
            // `dir` is the store's compact directory.
            store: dir.parent().unwrap_or(dir).to_owned(),
        }),
        Err(fs::TryLockError::Error(e)) => Err(StorageError::io("lock", &path, e).into()),
    }
}

/// Removes what a killed compaction left, and replaced segments kept for
/// followers once their time is up: temporary files, generation files
/// numbered from the manifest's next number on (written, never published),
/// and segments the manifest lists as replaced. A generation file with a
/// lower number that the manifest does not list is no compaction's
/// output: it is damage, reported and kept.
fn remove_leftovers(
    store: &Path,
    manifest: &Manifest,
    keep_for: std::time::Duration,
    report: &mut CompactionReport,
) -> StorageResult<()> {
    let dir = store.join(COMPACT_DIR);
    let published: HashSet<u64> = manifest.generations.iter().map(|g| g.number).collect();
    let next = manifest.next_number();
    let manifest_tmp = format!(".{MANIFEST_FILE}.tmp");
    let mut removed = 0;
    let read = fs::read_dir(&dir).map_err(|e| StorageError::io("read directory", &dir, e))?;
    for item in read {
        let item = item.map_err(|e| StorageError::io("read directory", &dir, e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        let unfinished = if name.ends_with(".gen.tmp") || name.starts_with(&manifest_tmp) {
            true
        } else if let Some(n) = name
            .strip_suffix(".gen")
            .and_then(|n| n.parse::<u64>().ok())
        {
            if !published.contains(&n) && n < next {
                report.unlisted_generations.push(n);
            }
            n >= next
        } else {
            false
        };
        if unfinished {
            remove_if_present(&item.path())?;
            removed += 1;
        }
    }
    report.unlisted_generations.sort_unstable();
    // Segments of generations published less than `keep_for` ago stay.
    let mut replaced = manifest.replaced();
    if !keep_for.is_zero() {
        for g in &manifest.generations {
            let young = fs::metadata(generation_path(store, g.number))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < keep_for);
            if young {
                for s in &g.segments {
                    replaced.remove(s);
                }
            }
        }
    }
    for lane in list_lanes(store)? {
        let mut any = false;
        for seg in list_segments(&lane.path)? {
            if replaced.contains(&(lane.id, seg.sequence)) {
                remove_if_present(&seg.path)?;
                removed += 1;
                any = true;
            }
        }
        if any {
            sync(&lane.path)?;
        }
    }
    if removed > 0 {
        sync(&dir)?;
    }
    report.leftovers_removed += removed;
    Ok(())
}

/// A segment chosen for compaction.
struct Input {
    lane: u64,
    sequence: u64,
    path: std::path::PathBuf,
    bytes: u64,
}

/// The segments to compact, in (lane, sequence) order, within the byte
/// budget (at least one segment): not compacted yet, up to the first
/// damaged one of their lane; of a lane a live writer holds, all but its
/// last (the writer's); of a lane whose writer is gone, all, its last
/// segment recovered first when a dead writer left it unsealed.
fn choose_inputs(
    store: &Path,
    manifest: &Manifest,
    damaged: &HashSet<(u64, u64)>,
    budget: u64,
    recovery: &mut RecoveryReport,
) -> StorageResult<Vec<Input>> {
    let replaced = manifest.replaced();
    let mut inputs = Vec::new();
    let mut total = 0u64;
    for lane in list_lanes(store)? {
        // Held while the lane is looked at: no writer adopts it meanwhile.
        // Once released, a writer that adopts it numbers its segment after
        // the last one, listed in the lane or (once compacted) the manifest.
        let free = try_lock(&lane.path)?;
        if free.is_some() {
            recover_lane(&lane, recovery)?;
        }
        let segments = list_segments(&lane.path)?;
        let candidates = match (&free, segments.split_last()) {
            (Some(_), _) => &segments[..],
            (None, Some((_writers, older))) => older,
            (None, None) => continue,
        };
        for seg in candidates {
            let id = (lane.id, seg.sequence);
            if damaged.contains(&id) {
                break;
            }
            if replaced.contains(&id) {
                continue;
            }
            let bytes = fs::metadata(&seg.path)
                .map_err(|e| StorageError::io("stat", &seg.path, e))?
                .len();
            if !inputs.is_empty() && total + bytes > budget {
                return Ok(inputs);
            }
            total += bytes;
            inputs.push(Input {
                lane: lane.id,
                sequence: seg.sequence,
                path: seg.path.clone(),
                bytes,
            });
        }
    }
    Ok(inputs)
}

/// What a compaction read: records in order, series, damaged segments.
type Inputs = (Vec<Record<String>>, SeriesMap, Vec<(u64, u64)>);

/// Reads the inputs as one replay (lanes interleaved by time): records in
/// order, points grouped by series and sorted by step, then timestamp,
/// then log order. Returns the damaged segments instead when there are any.
/// Gives way every [`ENTRIES_BETWEEN_GIVING_WAY`] entries and before each
/// series' sort.
fn read_inputs(store: &Path, inputs: &[Input], give_way: &dyn Fn()) -> StorageResult<Inputs> {
    let only: HashSet<(u64, u64)> = inputs.iter().map(|s| (s.lane, s.sequence)).collect();
    let mut records = Vec::new();
    let mut points = SeriesPoints::default();
    let mut bad = Vec::new();
    for (i, item) in Replay::open_segments(store, &only)?.enumerate() {
        if i % ENTRIES_BETWEEN_GIVING_WAY == 0 {
            give_way();
        }
        match item {
            Ok(r) => match r.event.metric() {
                Some((run_id, key, point)) => points.push(run_id, key, point),
                None => {
                    if let Event::Record(rec) = r.event {
                        records.push(rec);
                    }
                }
            },
            Err(StorageError::Corrupt(d)) => bad.push((d.lane, d.segment)),
            Err(e) => return Err(e),
        }
    }
    let mut series = SeriesMap::new();
    for (run_id, key, mut points) in points.series {
        give_way();
        points.sort_by_key(|m| (m.step, m.timestamp)); // stable: log order for ties
        series.insert((run_id, key), points);
    }
    Ok((records, series, bad))
}

/// Points grouped by series as they are read: a point of the series the
/// last one was of (most are: a batch is usually one key's points) is
/// pushed without a look-up.
#[derive(Default)]
struct SeriesPoints {
    series: Vec<(Arc<str>, Arc<str>, Vec<Metric>)>,
    /// Where each series is in `series`.
    at: HashMap<(Arc<str>, Arc<str>), usize>,
    last: Option<usize>,
}

impl SeriesPoints {
    fn push(&mut self, run_id: &Arc<str>, key: &Arc<str>, point: Metric) {
        let same = |a: &Arc<str>, b: &Arc<str>| Arc::ptr_eq(a, b) || a == b;
        let i = match self.last {
            Some(i) if same(&self.series[i].0, run_id) && same(&self.series[i].1, key) => i,
            _ => {
                let next = self.series.len();
                let i = *self
                    .at
                    .entry((Arc::clone(run_id), Arc::clone(key)))
                    .or_insert(next);
                if i == next {
                    self.series
                        .push((Arc::clone(run_id), Arc::clone(key), Vec::new()));
                }
                self.last = Some(i);
                i
            }
        };
        self.series[i].2.push(point);
    }
}

/// Entries a compaction reads between two chances to give way: about a
/// third of a millisecond of its replay (160 ns an entry, events owned and
/// grouped by series).
const ENTRIES_BETWEEN_GIVING_WAY: usize = 2_048;

/// Marks the store as compacted (marker version 4, or more when it says
/// more), so that readers of versions 1 to 3, which would miss or misread
/// the generations, refuse it.
fn upgrade_marker(store: &Path) -> StorageResult<()> {
    crate::log::marker::raise_marker(store, STORE_VERSION_COMPACTED)
}
