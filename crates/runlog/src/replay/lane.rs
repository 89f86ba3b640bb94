//! The lanes' part of a replay: each lane's segments read in order,
//! entries checked against FORMAT.md's rules, series bound per segment.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{StorageError, StorageResult};
use crate::format::{Entry, Metric, Points, SEGMENT_HEADER_LEN};
use crate::log::lane::{list_segments, SegmentFile};
use crate::log::mapped::SegmentBytes;
use crate::log::reader::SegmentReader;
use crate::log::recovery::{Damage, TornTail};
use crate::log::rules::{Checked, SegmentRules};
use crate::log::segment::{check_header, HeaderCheck};

use super::{Event, PointSink, Position, ReplayReport, Replayed};

/// Reads every entry of one lane, segment by segment.
pub(super) struct LaneCursor {
    pub(super) lane: u64,
    path: PathBuf,
    segments: Vec<SegmentFile>,
    /// The segments listed are all there is to read (a replay of chosen
    /// segments): none is the growing last one of its lane.
    fixed: bool,
    /// Reached the end of what the lane's last segment held: nothing more
    /// until [`Replay::refresh`] looks again.
    idle: bool,
    next_segment: usize,
    current: Option<Loaded>,
    /// The time of the last event with one, for interleaving lanes.
    pub(super) clock: i64,
    pub(super) peeked: Option<StorageResult<Replayed>>,
}

struct Loaded {
    sequence: u64,
    reader: SegmentReader,
    is_last: bool,
    rules: SegmentRules,
    dict: Dictionary,
    /// A damaged header, yielded before the segment's entries.
    header_damage: Option<Damage>,
    /// Points of the last Points entry read, not yet handed out.
    pending: PendingPoints,
}

/// The points of one Points entry, handed out one event at a time (a
/// replay without a point sink): every point has the entry's offset.
#[derive(Default)]
struct PendingPoints {
    offset: u64,
    points: Vec<(u32, Metric)>,
    next: usize,
}

impl PendingPoints {
    /// Takes the bound points of `points`, read at `offset`; returns the
    /// first series no Series entry bound, if any (its points are damage).
    fn fill(&mut self, offset: u64, points: Points<'_>, dict: &Dictionary) -> Option<u32> {
        self.offset = offset;
        self.points.clear();
        self.next = 0;
        let (_, unbound) = dict.each_bound(&points, |series, _, metric| {
            self.points.push((series, metric));
        });
        unbound
    }

    /// The next point not handed out yet.
    #[inline]
    fn take(&mut self) -> Option<(u32, Metric)> {
        let point = self.points.get(self.next).copied()?;
        self.next += 1;
        Some(point)
    }
}

/// What `advance` does after a step that yielded no entry: read on, or
/// answer.
type Step = ControlFlow<Option<StorageResult<Replayed>>>;

impl Loaded {
    /// A run of metric points straight to `sink`, through the reader's
    /// fast path (no event, no merge with other lanes), up to the next
    /// entry that is not a point.
    #[inline]
    fn points_to(
        &mut self,
        sink: &mut PointSink<'_>,
        lane: u64,
        clock: &mut i64,
        summary: &mut ReplayReport,
    ) -> StorageResult<()> {
        // The points an iterator left of the last Points entry (the same
        // drain as `LaneCursor::advance`'s, kept inline in both: a shared
        // helper returning the borrowed names cost 10% of replay/events).
        while let Some((series, metric)) = self.pending.take() {
            let Some((run_id, key)) = self.dict.get(series) else {
                continue; // `fill` kept bound points only
            };
            *clock = metric.timestamp;
            summary.events += 1;
            summary.metric_points += 1;
            let position = Position {
                lane,
                segment: self.sequence,
                offset: self.pending.offset,
            };
            sink(position, run_id, key, metric);
        }
        while !self.rules.sealed() {
            self.reader.fill(&mut summary.bytes)?;
            if let Some((offset, points, end)) = self.reader.next_points() {
                self.rules.count_point();
                summary.entries += 1;
                let position = Position {
                    lane,
                    segment: self.sequence,
                    offset,
                };
                let (bound, unbound) = self.dict.each_bound(&points, |_, (run_id, key), metric| {
                    *clock = metric.timestamp;
                    sink(position, run_id, key, metric);
                });
                summary.events += bound;
                summary.metric_points += bound;
                if let Some(series) = unbound {
                    let d = self.rules.unbound_damage(offset, end, series);
                    return Err(record_damage(summary, d));
                }
                continue;
            }
            let Some((offset, series, metric, end)) = self.reader.next_metric() else {
                break;
            };
            self.rules.count_point();
            summary.entries += 1;
            let Some((run_id, key)) = self.dict.get(series) else {
                let d = self.rules.unbound_damage(offset, end, series);
                return Err(record_damage(summary, d));
            };
            *clock = metric.timestamp;
            summary.events += 1;
            summary.metric_points += 1;
            let position = Position {
                lane,
                segment: self.sequence,
                offset,
            };
            sink(position, run_id, key, metric);
        }
        Ok(())
    }
}

/// The series bound so far in a segment: a vector for the small, dense
/// numbers writers use, a map for anything else a file may hold.
#[derive(Default)]
pub(crate) struct Dictionary {
    dense: Vec<Option<SeriesNames>>,
    sparse: HashMap<u32, SeriesNames>,
}

/// A series' run id and metric key.
pub(crate) type SeriesNames = (Arc<str>, Arc<str>);

/// Series numbers below this are kept in the vector.
const DENSE_SERIES: u32 = 1 << 16;

impl Dictionary {
    pub(crate) fn bind(&mut self, id: u32, run_id: &str, key: &str) {
        let names = (Arc::from(run_id), Arc::from(key));
        if id < DENSE_SERIES {
            let i = id as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, None);
            }
            self.dense[i] = Some(names);
        } else {
            self.sparse.insert(id, names);
        }
    }

    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&SeriesNames> {
        if id < DENSE_SERIES {
            self.dense.get(id as usize).and_then(Option::as_ref)
        } else {
            self.sparse.get(&id)
        }
    }

    /// Calls `f` with each point of `points` whose series is bound (its
    /// number, names and point, in order); returns how many there were
    /// and the first series that is not bound, if any (a point of it is
    /// damage: FORMAT.md, "Validity").
    #[inline]
    pub(crate) fn each_bound(
        &self,
        points: &Points<'_>,
        mut f: impl FnMut(u32, &SeriesNames, Metric),
    ) -> (u64, Option<u32>) {
        let mut bound = 0;
        let mut unbound = None;
        for (series, metric) in points.iter() {
            match self.get(series) {
                Some(names) => {
                    bound += 1;
                    f(series, names, metric);
                }
                None => {
                    unbound.get_or_insert(series);
                }
            }
        }
        (bound, unbound)
    }
}

impl LaneCursor {
    pub(super) fn new(
        lane: u64,
        path: PathBuf,
        segments: Vec<SegmentFile>,
        fixed: bool,
    ) -> LaneCursor {
        LaneCursor {
            lane,
            path,
            segments,
            fixed,
            idle: false,
            next_segment: 0,
            current: None,
            clock: i64::MIN,
            peeked: None,
        }
    }

    /// Whether segment `seq` was read to its end: passed, or the one being
    /// read with its seal seen.
    pub(super) fn has_read(&self, seq: u64) -> bool {
        match &self.current {
            Some(cur) if cur.sequence == seq => cur.rules.sealed(),
            _ => self
                .segments
                .iter()
                .position(|s| s.sequence == seq)
                .is_some_and(|i| i < self.next_segment),
        }
    }

    /// Picks up new segments, and re-reads the segment it stopped in.
    pub(super) fn refresh(
        &mut self,
        summary: &mut ReplayReport,
        replaced: &HashSet<(u64, u64)>,
    ) -> StorageResult<()> {
        let newest = self.segments.last().map(|s| s.sequence);
        for seg in list_segments(&self.path)? {
            if replaced.contains(&(self.lane, seg.sequence)) {
                continue;
            }
            if newest.is_none_or(|n| seg.sequence > n) {
                self.segments.push(seg);
            }
        }
        let last = self.segments.last().map(|s| s.sequence);
        let lane = self.lane;
        if let Some(cur) = self.current.as_mut() {
            // A segment read to its seal has nothing more (and once
            // replaced by a compaction, its file may be gone).
            let done = cur.rules.sealed();
            if !done && self.segments.iter().any(|s| s.sequence == cur.sequence) {
                // Read what was appended (the segment was read, not mapped,
                // because it was its lane's last: it may have grown).
                cur.reader.read_on(&mut summary.bytes)?;
            }
            cur.is_last = Some(cur.sequence) == last;
        }
        if self.idle {
            let sequence = self.current.as_ref().map_or_else(
                || self.segments.get(self.next_segment).map(|s| s.sequence),
                |c| Some(c.sequence),
            );
            if self.current.is_none() {
                // A segment shorter than its header is counted again when it
                // is loaded again.
                let short: u64 = summary
                    .torn
                    .iter()
                    .filter(|t| t.lane == lane && Some(t.segment) == sequence)
                    .map(|t| t.bytes)
                    .sum();
                summary.segments = summary.segments.saturating_sub(1);
                summary.bytes = summary.bytes.saturating_sub(short);
            }
            summary
                .torn
                .retain(|t| !(t.lane == lane && Some(t.segment) == sequence));
        }
        self.idle = false;
        Ok(())
    }

    /// The lane's next event, error, or `None` at its end. With `points`,
    /// metric points go to it as they are read, and the next record (or
    /// error) is returned.
    pub(super) fn advance(
        &mut self,
        summary: &mut ReplayReport,
        mut points: Option<&mut PointSink<'_>>,
    ) -> Option<StorageResult<Replayed>> {
        loop {
            if self.idle {
                return None;
            }
            if self.current.is_none() {
                if let Err(e) = self.open_next(summary)? {
                    return Some(Err(e));
                }
            }
            let lane = self.lane;
            let cur = self.current.as_mut()?;
            if let Some(d) = cur.header_damage.take() {
                return Some(Err(record_damage(summary, d)));
            }
            if points.is_none() {
                if let Some((series, p)) = cur.pending.take() {
                    let Some((run_id, key)) = cur.dict.get(series) else {
                        continue; // `fill` kept bound points only
                    };
                    // Counted, and the lane's clock set, as it is taken.
                    let position = Position {
                        lane,
                        segment: cur.sequence,
                        offset: cur.pending.offset,
                    };
                    return Some(Ok(Replayed {
                        position,
                        event: metric_event(run_id, key, p),
                    }));
                }
            }
            if let Some(sink) = points.as_deref_mut() {
                if let Err(e) = cur.points_to(sink, lane, &mut self.clock, summary) {
                    return Some(Err(e));
                }
            }
            let start = cur.reader.position();
            if let Err(e) = cur.reader.fill(&mut summary.bytes) {
                return Some(Err(e));
            }
            let Some((item, end)) = cur.reader.next_item() else {
                match self.no_more_entries(summary) {
                    ControlFlow::Continue(()) => continue,
                    ControlFlow::Break(answer) => return answer,
                }
            };
            let (offset, entry) = match cur.rules.check(item, end) {
                Checked::Entry { offset, entry } => (offset, entry),
                Checked::Damage(d) => return Some(Err(record_damage(summary, d))),
                Checked::Torn(t) => match self.torn_entry(t, start, summary) {
                    ControlFlow::Continue(()) => continue,
                    ControlFlow::Break(answer) => return answer,
                },
            };
            summary.entries += 1;
            let position = Position {
                lane,
                segment: cur.sequence,
                offset,
            };
            let event = match entry {
                Entry::Series { id, run_id, key } => {
                    cur.dict.bind(id, run_id, key);
                    continue;
                }
                Entry::Seal { .. } => continue,
                Entry::Metric { series, metric: p } => {
                    let Some((run_id, key)) = cur.dict.get(series) else {
                        let d = cur.rules.unbound_damage(offset, end, series);
                        return Some(Err(record_damage(summary, d)));
                    };
                    if let Some(sink) = points.as_deref_mut() {
                        self.clock = p.timestamp;
                        summary.events += 1;
                        summary.metric_points += 1;
                        sink(position, run_id, key, p);
                        continue;
                    }
                    metric_event(run_id, key, p)
                }
                Entry::Points(read) => {
                    // A sink took the points of the entry in `points_to`;
                    // here they are handed out one event at a time.
                    if let Some(series) = cur.pending.fill(offset, read, &cur.dict) {
                        let d = cur.rules.unbound_damage(offset, end, series);
                        return Some(Err(record_damage(summary, d)));
                    }
                    continue;
                }
                Entry::Record(r) => Event::Record(r.to_owned_record()),
            };
            return Some(Ok(Replayed { position, event }));
        }
    }

    /// Loads the lane's next segment: `None` when there is none, or when
    /// it is a last segment still being created (looked at again on
    /// refresh).
    fn open_next(&mut self, summary: &mut ReplayReport) -> Option<StorageResult<()>> {
        let seg = self.segments.get(self.next_segment)?.clone();
        self.next_segment += 1;
        match self.load(&seg, summary) {
            Ok(Some(loaded)) => {
                self.current = Some(loaded);
                Some(Ok(()))
            }
            Ok(None) => {
                self.next_segment -= 1;
                self.idle = true;
                None
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// The current segment has no more whole entries: the lane waits at
    /// the end of what its writer wrote so far, or the next segment is
    /// read (after the damage of a middle segment that was never sealed).
    fn no_more_entries(&mut self, summary: &mut ReplayReport) -> Step {
        let Some(cur) = self.current.as_mut() else {
            return ControlFlow::Break(None);
        };
        if cur.is_last {
            // Hold none of the segment's bytes until a refresh reads on.
            cur.reader.release_read_window();
            self.idle = true;
            return ControlFlow::Break(None);
        }
        let unsealed_middle = cur.rules.end_damage(cur.reader.end() as u64, cur.is_last);
        self.current = None;
        match unsealed_middle {
            Some(d) => ControlFlow::Break(Some(Err(record_damage(summary, d)))),
            None => ControlFlow::Continue(()),
        }
    }

    /// An entry cut short at `start`: the read window ended (read on), a
    /// whole window held no valid entry with more file after it (damage),
    /// or the file ends there (damage, or a writer mid-write whose entry a
    /// refresh may find complete: the lane waits before it).
    fn torn_entry(&mut self, t: TornTail, start: usize, summary: &mut ReplayReport) -> Step {
        let Some(cur) = self.current.as_mut() else {
            return ControlFlow::Break(None);
        };
        let damage = match cur.reader.read_on_after_torn(start, &mut summary.bytes) {
            Ok(true) => return ControlFlow::Continue(()),
            Err(e) => return ControlFlow::Break(Some(Err(e))),
            Ok(false) if cur.reader.more_in_file() => cur.rules.window_damage(&t),
            Ok(false) => match cur.rules.torn_damage(&t, cur.is_last) {
                Some(d) => d,
                None => {
                    summary.torn.push(t);
                    cur.reader.rewind(start);
                    self.idle = true;
                    return ControlFlow::Break(None);
                }
            },
        };
        ControlFlow::Break(Some(Err(record_damage(summary, damage))))
    }

    /// Reads a segment and checks its header; `Ok(None)` when it is a last
    /// segment still being created; `Err` when it cannot be read (a
    /// misfiled file, reported in the summary).
    fn load(
        &mut self,
        seg: &SegmentFile,
        summary: &mut ReplayReport,
    ) -> StorageResult<Option<Loaded>> {
        let is_last = !self.fixed && self.next_segment == self.segments.len();
        let (bytes, header_damage) = match open_segment(self.lane, seg, is_last, summary)? {
            Opened::Ready(bytes, damage) => (bytes, damage),
            Opened::Skipped => return Ok(None),
            Opened::Unreadable(d) => return Err(record_damage(summary, d)),
        };
        Ok(Some(Loaded {
            sequence: seg.sequence,
            reader: SegmentReader::new(&seg.path, bytes, true),
            is_last,
            rules: SegmentRules::new(self.lane, seg.sequence),
            dict: Dictionary::default(),
            header_damage,
            pending: PendingPoints::default(),
        }))
    }
}

/// A segment opened for reading, its size counted in the summary.
pub(crate) enum Opened {
    /// Entries follow; with the damage of its header when the header is
    /// damaged (the path says what it would: FORMAT.md, "Recovery rules").
    Ready(SegmentBytes, Option<Damage>),
    /// A last segment shorter than its header (recorded as torn): skip it.
    Skipped,
    /// A valid header naming another lane or segment: not read.
    Unreadable(Damage),
}

/// Opens segment `seg` of lane `lane` (mapped unless it is the lane's last,
/// which may still change) and checks its header.
pub(crate) fn open_segment(
    lane: u64,
    seg: &SegmentFile,
    is_last: bool,
    summary: &mut ReplayReport,
) -> StorageResult<Opened> {
    let bytes = SegmentBytes::open(&seg.path, !is_last)?;
    let len = bytes.end() as u64;
    summary.segments += 1;
    summary.bytes += len;
    if is_last && bytes.end() < SEGMENT_HEADER_LEN {
        // A writer creating its segment right now, or one that crashed
        // while doing so: nothing was ever written to it.
        summary.torn.push(TornTail {
            lane,
            segment: seg.sequence,
            offset: 0,
            bytes: len,
            entries: 0,
        });
        return Ok(Opened::Skipped);
    }
    let damage = |len, reason| Damage {
        lane,
        segment: seg.sequence,
        offset: 0,
        len,
        reason,
    };
    // A window starts at the header when the segment is opened.
    Ok(
        match check_header(bytes.window().0, &seg.path, lane, seg.sequence)? {
            HeaderCheck::Good => Opened::Ready(bytes, None),
            HeaderCheck::Damaged(reason) => {
                let header_len = len.min(SEGMENT_HEADER_LEN as u64);
                Opened::Ready(bytes, Some(damage(header_len, reason)))
            }
            HeaderCheck::Misfiled(reason) => Opened::Unreadable(damage(len, reason)),
        },
    )
}

/// The event of a point of series (`run_id`, `key`).
#[inline]
fn metric_event(run_id: &Arc<str>, key: &Arc<str>, p: Metric) -> Event {
    Event::Metric {
        run_id: Arc::clone(run_id),
        key: Arc::clone(key),
        value: p.value,
        timestamp: p.timestamp,
        step: p.step,
    }
}

fn record_damage(summary: &mut ReplayReport, d: Damage) -> StorageError {
    let e = StorageError::Corrupt(d.clone());
    summary.corrupt.push(d);
    e
}
