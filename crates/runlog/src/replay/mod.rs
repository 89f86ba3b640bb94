//! Offline replay: every valid entry of a store, in write order per lane,
//! lanes interleaved by time; and `verify`, which checks every byte.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::error::{ReplayError, StorageError, StorageResult};
use crate::format::Metric;
use crate::format::Record;
use crate::log::generation::ItemCursor;
use crate::log::lane::{lane_path, list_lanes, list_segments, segment_path, SegmentFile};
use crate::log::manifest::{GenerationEntry, Manifest};
use crate::log::recovery::{Damage, TornTail};

mod generations;
mod lane;

use generations::GenerationSlot;
use lane::LaneCursor;
pub(crate) use lane::{open_segment, Dictionary, Opened};

/// Where an entry sits on disk. Compacted data has lane 0 (lanes count from
/// 1), the generation number as its segment, and the offset of its entry in
/// the generation file (every point of a chunk has the chunk's offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Lane id; 0 for compacted data.
    pub lane: u64,
    /// Segment sequence number; the generation number for compacted data.
    pub segment: u64,
    /// Byte offset of the entry in the segment file.
    pub offset: u64,
}

/// A replayed tracking event: a metric point (with its run id and key
/// resolved from the segment's dictionary) or another record.
///
/// Equality compares values with `f64`'s `==`, so a NaN point equals no
/// other; compare `value.to_bits()` for bit-exact equality.
///
/// In JSON, a metric is `{"type":"metric","run_id":..,"key":..,"value":..,
/// "timestamp":..,"step":..}` with non-finite values as the strings `"NaN"`,
/// `"Infinity"` and `"-Infinity"`; a record is tagged by its `type`
/// ([`mlflow_json`](crate::tracking::mlflow_json) implements it).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A metric point.
    Metric {
        /// The run id.
        run_id: Arc<str>,
        /// The metric key.
        key: Arc<str>,
        /// The value, bit for bit as logged.
        value: f64,
        /// Milliseconds since the epoch.
        timestamp: i64,
        /// The step.
        step: i64,
    },
    /// Any other record.
    Record(Record<String>),
}

impl Event {
    /// The run id, key and point of a metric event; `None` for a record.
    pub fn metric(&self) -> Option<(&Arc<str>, &Arc<str>, Metric)> {
        match self {
            Event::Metric {
                run_id,
                key,
                value,
                timestamp,
                step,
            } => Some((
                run_id,
                key,
                Metric {
                    value: *value,
                    timestamp: *timestamp,
                    step: *step,
                },
            )),
            Event::Record(_) => None,
        }
    }
}

/// One replayed event and where it was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replayed {
    /// Where the entry sits.
    #[serde(flatten)]
    pub position: Position,
    /// What it says.
    #[serde(flatten)]
    pub event: Event,
}

/// What a replay has read so far; complete once the iterator is exhausted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// Lanes read.
    pub lanes: u64,
    /// Segments read.
    pub segments: u64,
    /// Valid entries (dictionary and seal entries included; a Points
    /// entry counts once, its points in `metric_points`).
    pub entries: u64,
    /// Events yielded (metric points and records).
    pub events: u64,
    /// Metric points among them.
    pub metric_points: u64,
    /// Bytes of segment files read.
    pub bytes: u64,
    /// Generation files read (compacted data, read before the segments).
    pub generations: u64,
    /// Incomplete tails of lanes' last segments: a writer still writing, or
    /// one that crashed (the next open of the store cuts them).
    pub torn: Vec<TornTail>,
    /// Corruption: bytes that break a rule of FORMAT.md.
    pub corrupt: Vec<Damage>,
}

/// An iterator over every valid entry of a store.
///
/// Within a lane, events come in write order. Lanes are interleaved by time:
/// the next event is taken from the lane whose next event has the smallest
/// timestamp (records without a time take their lane's last time). Replay
/// reads one segment per lane at a time, so its memory is bounded by the
/// segment size.
///
/// Corruption is yielded as [`StorageError::Corrupt`] and the iterator
/// then resumes at the next valid entry; I/O errors are yielded as `Err` too.
/// Stop at the first `Err` for a strict replay, or skip them.
///
/// A lane's last segment is read up to its last complete entry; once the
/// iterator has run dry, [`refresh`](Replay::refresh) picks up what live
/// writers appended since, so a reader can follow them.
///
/// ```
/// # fn main() -> runlog::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let store = runlog::engine::Store::open(dir.path())?;
/// store.log_metric("run", "loss", runlog::Metric { value: 0.5, timestamp: 1_700_000_000_000, step: 3 })?;
/// store.close()?;
/// let mut replay = runlog::engine::Replay::open(dir.path())?;
/// let first = replay.next().unwrap()?;
/// assert!(matches!(first.event, runlog::engine::Event::Metric { step: 3, .. }));
/// # Ok(()) }
/// ```
pub struct Replay {
    path: PathBuf,
    lanes: Vec<LaneCursor>,
    summary: ReplayReport,
    /// Segments the published generations replaced: never read.
    replaced: HashSet<(u64, u64)>,
    /// Generations published when the replay opened; read first.
    /// Mapped when reached and unmapped once read, so that a replay holds
    /// one generation at a time.
    generations: Vec<GenerationSlot>,
    /// The published generations as of the last look at the manifest
    /// (opening or [`refresh`](Replay::refresh)): those read first, then
    /// later ones whose segments the lanes read (or read on from).
    published: Vec<GenerationEntry>,
    generation_at: usize,
    item_cursor: ItemCursor,
    /// Points of the chunk being read, in order.
    pending: VecDeque<Replayed>,
    /// Yield only each chunk's latest point (what a tracking state needs),
    /// without decoding the chunk.
    latest_only: bool,
    /// Damage found on opening (a marker read past a flipped bit, a
    /// manifest rebuilt from the generations), yielded first.
    opening_damage: VecDeque<StorageError>,
    /// The lane that gave the last item, and the key and index of the
    /// lane that would come after it: the merge of the lanes looks at the
    /// others only when that lane's next item sorts after it.
    streak: Option<(usize, Option<(i64, usize)>)>,
}

/// The lane cursors of a store, over the segments not in `replaced`.
fn live_lanes(path: &Path, replaced: &HashSet<(u64, u64)>) -> StorageResult<Vec<LaneCursor>> {
    let mut lanes = Vec::new();
    for lane in list_lanes(path)? {
        let segments = list_segments(&lane.path)?
            .into_iter()
            .filter(|s| !replaced.contains(&(lane.id, s.sequence)))
            .collect();
        lanes.push(LaneCursor::new(lane.id, lane.path, segments, false));
    }
    Ok(lanes)
}

impl Replay {
    /// Opens a store directory for replay. Takes no lock and writes nothing:
    /// it can run while writers append (their unfinished tails are reported
    /// as torn, not as corruption).
    pub fn open(path: impl AsRef<Path>) -> StorageResult<Replay> {
        let path = path.as_ref();
        let marker_damage = check_is_store(path)?;
        let manifest = Manifest::load(path)?;
        let replaced = manifest.replaced();
        let generations: Vec<u64> = manifest.generations.iter().map(|g| g.number).collect();
        let lanes = live_lanes(path, &replaced)?;
        let mut replay = Replay::assemble(path, lanes, replaced, generations);
        replay.published = manifest.generations.clone();
        for d in marker_damage.into_iter().chain(manifest.damage()) {
            replay
                .opening_damage
                .push_back(StorageError::Corrupt(d.clone()));
            replay.summary.corrupt.push(d);
        }
        Ok(replay)
    }

    /// A replay of only the given segments (lane, sequence), without the
    /// generations: what a compaction reads. Every segment is read as a
    /// finished one (a torn end is corruption, not a writer still writing).
    pub(crate) fn open_segments(path: &Path, only: &HashSet<(u64, u64)>) -> StorageResult<Replay> {
        check_is_store(path)?;
        let mut lanes = Vec::new();
        for lane in list_lanes(path)? {
            let segments: Vec<SegmentFile> = list_segments(&lane.path)?
                .into_iter()
                .filter(|s| only.contains(&(lane.id, s.sequence)))
                .collect();
            if !segments.is_empty() {
                lanes.push(LaneCursor::new(lane.id, lane.path, segments, true));
            }
        }
        Ok(Replay::assemble(path, lanes, HashSet::new(), Vec::new()))
    }

    fn assemble(
        path: &Path,
        lanes: Vec<LaneCursor>,
        replaced: HashSet<(u64, u64)>,
        generations: Vec<u64>,
    ) -> Replay {
        let generations: Vec<GenerationSlot> = generations
            .into_iter()
            .map(GenerationSlot::Waiting)
            .collect();
        let summary = ReplayReport {
            lanes: lanes.len() as u64,
            generations: generations.len() as u64,
            ..ReplayReport::default()
        };
        Replay {
            path: path.to_owned(),
            lanes,
            summary,
            replaced,
            published: Vec::new(),
            generations,
            generation_at: 0,
            item_cursor: ItemCursor::default(),
            pending: VecDeque::new(),
            latest_only: false,
            opening_damage: VecDeque::new(),
            streak: None,
        }
    }

    /// A replay that yields, for compacted data, each chunk's latest point
    /// only (by MLflow's rule) instead of every point: enough to build the
    /// tracking state, without decoding the chunks.
    pub(crate) fn open_latest(path: &Path) -> StorageResult<Replay> {
        let mut replay = Replay::open(path)?;
        replay.latest_only = true;
        Ok(replay)
    }

    /// Looks again for what writers appended since the iterator ran dry:
    /// entries after the end of each lane's last segment, new segments, new
    /// lanes. Iterating then yields them, so a reader can follow live
    /// writers. A torn tail seen before is dropped from the summary when its
    /// segment is read again (the writer may have finished it).
    ///
    /// ```
    /// # fn main() -> runlog::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = runlog::engine::Store::open(dir.path())?;
    /// store.log_metric("run", "loss", runlog::Metric { value: 1.0, timestamp: 0, step: 0 })?;
    /// store.flush()?;
    /// let mut replay = runlog::engine::Replay::open(dir.path())?;
    /// assert_eq!(replay.by_ref().count(), 1);
    /// store.log_metric("run", "loss", runlog::Metric { value: 0.5, timestamp: 0, step: 1 })?;
    /// store.flush()?;
    /// replay.refresh()?;
    /// assert_eq!(replay.by_ref().count(), 1, "only the new point");
    /// # Ok(()) }
    /// ```
    ///
    /// A compaction since the last look is harmless when it replaced only
    /// segments this replay has read (or holds in memory); when it replaced
    /// one not read yet, `refresh` fails with [`ReplayError::CompactionRaced`]: open
    /// the replay again.
    pub fn refresh(&mut self) -> Result<(), ReplayError> {
        self.streak = None;
        let manifest = Manifest::load(&self.path)?;
        let known = self.published.len();
        if manifest.generations.get(..known) != Some(&self.published[..]) {
            return Err(ReplayError::CompactionRaced(format!(
                "the manifest of {} no longer lists the generations it listed before",
                self.path.display()
            )));
        }
        for g in &manifest.generations[known..] {
            for &(lane, seq) in &g.segments {
                let cursor = self.lanes.iter().find(|l| l.lane == lane);
                if cursor.is_some_and(|l| l.has_read(seq)) {
                    self.replaced.insert((lane, seq));
                    continue;
                }
                // Not read yet: read on from the segment while it is kept
                // (background compaction keeps it until its next round).
                let still_there = segment_path(&lane_path(&self.path, lane), seq).exists();
                if !still_there {
                    return Err(ReplayError::CompactionRaced(format!(
                        "{} was compacted since this replay opened, and segment {seq} of lane \
                         {lane} had not been read; open the replay again",
                        self.path.display()
                    )));
                }
            }
        }
        self.published = manifest.generations;
        let known: Vec<u64> = self.lanes.iter().map(|l| l.lane).collect();
        for lane in list_lanes(&self.path)? {
            if !known.contains(&lane.id) {
                self.lanes
                    .push(LaneCursor::new(lane.id, lane.path, Vec::new(), false));
            }
        }
        self.summary.lanes = self.lanes.len() as u64;
        for cursor in &mut self.lanes {
            cursor.refresh(&mut self.summary, &self.replaced)?;
        }
        Ok(())
    }

    /// The number of generations read (published when the replay opened).
    pub fn generations(&self) -> usize {
        self.generations.len()
    }

    /// The published generations as of the last look at the manifest.
    pub(crate) fn published(&self) -> &[GenerationEntry] {
        &self.published
    }

    /// Whether segment `sequence` of `lane` was read to its end.
    pub(crate) fn has_read(&self, lane: u64, sequence: u64) -> bool {
        self.lanes
            .iter()
            .any(|l| l.lane == lane && l.has_read(sequence))
    }

    /// What was read so far (complete once the iterator returned `None`).
    pub fn summary(&self) -> &ReplayReport {
        &self.summary
    }
}

/// Checks that `path` is a store this build reads; a marker read past one
/// flipped bit comes back as its damage.
pub(crate) fn check_is_store(path: &Path) -> StorageResult<Option<Damage>> {
    Ok(crate::log::marker::read_marker(path)?.damage)
}

/// Where [`Replay::next_record`] puts the metric points it reads: where the
/// point was read (a chunk's offset for compacted data), its run id and key
/// (shared by every point of a segment's series) and the point.
pub type PointSink<'s> = dyn FnMut(Position, &Arc<str>, &Arc<str>, Metric) + 's;

impl Iterator for Replay {
    type Item = StorageResult<Replayed>;

    fn next(&mut self) -> Option<StorageResult<Replayed>> {
        self.next_merged(None)
    }
}

impl Replay {
    /// The next record (or error), with every metric point read on the
    /// way handed to `points` instead of yielded: for readers to whom the
    /// order of points between lanes does not matter (a tracking state, an
    /// export per series). Records and errors come in the iterator's order;
    /// a live segment's points are read through the segment reader's fast
    /// path, without an event each or a look at the other lanes. The
    /// iterator and this method can be mixed.
    ///
    /// ```
    /// # fn main() -> runlog::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = runlog::engine::Store::open(dir.path())?;
    /// let h = store.metric_handle("run", "loss")?;
    /// for step in 0..1000 {
    ///     h.log_at(runlog::Metric { value: 1.0 / (step + 1) as f64, timestamp: 0, step })?;
    /// }
    /// store.close()?;
    /// let mut replay = runlog::engine::Replay::open(dir.path())?;
    /// let mut points = 0;
    /// let mut records = 0;
    /// while let Some(item) = replay.next_record(&mut |_at, _run, _key, _point| points += 1) {
    ///     item?;
    ///     records += 1;
    /// }
    /// assert_eq!((points, records), (1000, 0));
    /// # Ok(()) }
    /// ```
    pub fn next_record(&mut self, points: &mut PointSink<'_>) -> Option<StorageResult<Replayed>> {
        self.next_merged(Some(points))
    }

    fn next_merged(
        &mut self,
        mut points: Option<&mut PointSink<'_>>,
    ) -> Option<StorageResult<Replayed>> {
        if let Some(e) = self.opening_damage.pop_front() {
            return Some(Err(e));
        }
        while self.generation_at < self.generations.len() || !self.pending.is_empty() {
            let Some(item) = self.next_from_generations() else {
                break;
            };
            if let Ok(r) = &item {
                self.summary.events += 1;
                if let Some((run_id, key, point)) = r.event.metric() {
                    self.summary.metric_points += 1;
                    if let Some(sink) = points.as_deref_mut() {
                        sink(r.position, run_id, key, point);
                        continue;
                    }
                }
            }
            return Some(item);
        }
        // The lane that gave the last item gives the next one too while its
        // next item still sorts before every other lane's (they did not
        // move): no look at the others.
        if let Some((i, runner_up)) = self.streak {
            if let Some(key) = self.peek_key(i, points.as_deref_mut()) {
                let still_first = runner_up.is_none_or(|(k, j)| key < k || (key == k && i < j));
                if still_first {
                    return self.take_from(i);
                }
            }
        }
        // Every lane's next item, the earliest first (errors first: they
        // say where the damage is), and which lane would come next.
        let mut best: Option<(usize, i64)> = None;
        let mut runner_up: Option<(i64, usize)> = None;
        for i in 0..self.lanes.len() {
            let Some(key) = self.peek_key(i, points.as_deref_mut()) else {
                continue;
            };
            match best {
                Some((_, k)) if key >= k => {
                    if runner_up.is_none_or(|(r, _)| key < r) {
                        runner_up = Some((key, i));
                    }
                }
                _ => {
                    if let Some((b, k)) = best {
                        runner_up = Some((k, b));
                    }
                    best = Some((i, key));
                }
            }
        }
        let (i, _) = best?;
        self.streak = Some((i, runner_up));
        self.take_from(i)
    }

    /// When lane `i` has a next item, the time it sorts by.
    fn peek_key(&mut self, i: usize, points: Option<&mut PointSink<'_>>) -> Option<i64> {
        let lane = &mut self.lanes[i];
        if lane.peeked.is_none() {
            lane.peeked = lane.advance(&mut self.summary, points);
        }
        match &lane.peeked {
            None => None,
            Some(Err(_)) => Some(i64::MIN),
            Some(Ok(r)) => Some(event_time(&r.event).unwrap_or(lane.clock)),
        }
    }

    /// Yields lane `i`'s next item.
    fn take_from(&mut self, i: usize) -> Option<StorageResult<Replayed>> {
        let lane = &mut self.lanes[i];
        let item = lane.peeked.take()?;
        if let Ok(r) = &item {
            if let Some(t) = event_time(&r.event) {
                lane.clock = t;
            }
            self.summary.events += 1;
            if matches!(r.event, Event::Metric { .. }) {
                self.summary.metric_points += 1;
            }
        }
        Some(item)
    }
}

fn event_time(e: &Event) -> Option<i64> {
    match e {
        Event::Metric { timestamp, .. } => Some(*timestamp),
        Event::Record(r) => r.time(),
    }
}
