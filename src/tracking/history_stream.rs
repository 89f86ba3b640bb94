//! A metric history read as a stream, in memory that does not grow with the
//! history: compacted chunks are decoded one at a time as the stream
//! reaches their steps, and the points still in the lanes are read from
//! disk (twice when there are many of them) rather than held.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::log::generation::{ChunkIndex, ChunkRef};
use crate::log::manifest::Manifest;
use crate::replay::Replay;
use crate::tracking::client::Client;
use crate::tracking::history::HistoryQuery;
use crate::tracking::model::Metric;

/// Live points of the streamed series held in memory at most; past this,
/// they are read again from the lanes when the stream reaches them.
const LIVE_POINTS_HELD: usize = 1 << 20;

impl Client {
    /// The points of metric `key` of a run that the query selects, in the
    /// order of [`get_metric_history`](Client::get_metric_history), as an
    /// iterator whose memory does not grow with the history: for exports
    /// of histories too long to hold (100 M points are 2.4 GB as
    /// [`Metric`]s).
    ///
    /// Compacted chunks are decoded when the stream reaches their steps,
    /// so memory stays at a few chunks when steps were logged in order (a
    /// training loop); chunks whose step ranges overlap are open at once.
    /// Points still in the lanes are read from disk; more than about a
    /// million of them logged out of step order are sorted in memory.
    /// The stream holds the points logged before the call; points logged
    /// while it runs are left out.
    /// The query's `max_points` is refused: downsampling needs the whole
    /// series, use [`metric_history`](Client::metric_history).
    ///
    /// ```
    /// # fn main() -> runlog::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let client = runlog::Client::new(dir.path().to_str().unwrap())?;
    /// let run = client.create_run("0")?;
    /// let id = &run.info.run_id;
    /// for step in 0..1000 {
    ///     client.log_metric(id, "loss", 1.0 / (step + 1) as f64, step)?;
    /// }
    /// let q = runlog::HistoryQuery::new().steps(10..=19);
    /// let mut n = 0;
    /// for point in client.metric_history_iter(id, "loss", &q)? {
    ///     assert!((10..=19).contains(&point?.step));
    ///     n += 1;
    /// }
    /// assert_eq!(n, 10);
    /// # Ok(()) }
    /// ```
    pub fn metric_history_iter(
        &self,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
    ) -> Result<MetricHistoryIter> {
        if query.max_points.is_some() {
            return Err(Error::InvalidArgument(
                "a streamed history cannot be downsampled: use metric_history with max_points"
                    .into(),
            ));
        }
        self.get_run(run_id)?; // exists; also writes what this process queued
        let series = (Arc::<str>::from(run_id), Arc::<str>::from(key));
        // A compaction publishing between the manifest and the reads of
        // the lanes may delete a segment not read yet: start again.
        self.despite_compactions(|_| self.open_stream(&series, query))
    }

    fn open_stream(
        &self,
        series: &(Arc<str>, Arc<str>),
        query: &HistoryQuery,
    ) -> Result<MetricHistoryIter> {
        let root = self.store_dir();
        let manifest = Manifest::load(root)?;
        let mut pending: Vec<Pending> = Vec::new();
        for g in &manifest.generations {
            let index = self.chunk_index(g.number)?;
            for c in index.chunks.get(series).into_iter().flatten() {
                let outside = query
                    .steps
                    .as_ref()
                    .is_some_and(|r| c.last_step < *r.start() || c.first_step > *r.end());
                if !outside {
                    pending.push(Pending {
                        first_step: c.first_step,
                        last_step: c.last_step,
                        order: pending.len(),
                        source: Source::Chunk(Arc::clone(&index), *c),
                    });
                }
            }
        }
        // The lanes: one pass to learn where the series' points lie, and
        // to keep them when they are few.
        let mut live = LiveScan::default();
        for item in Replay::open_live(root, &manifest)? {
            let replayed = match item {
                Ok(r) => r,
                Err(Error::Corrupt { .. }) => continue, // as the client's view skips it
                Err(e) => return Err(e),
            };
            if let Some((run, key, m)) = replayed.event.metric() {
                if **run == *series.0 && **key == *series.1 && query.admits(m.step, m.timestamp) {
                    live.push(m);
                }
            }
        }
        if let Some((first_step, last_step)) = live.steps {
            let source = match live.held {
                Some(points) => Source::Points(points),
                None => Source::Lanes(manifest), // sorted when opened if need be
            };
            pending.push(Pending {
                first_step,
                last_step,
                order: pending.len(),
                source,
            });
        }
        pending.sort_by_key(|p| (p.first_step, p.order));
        Ok(MetricHistoryIter {
            root: root.to_owned(),
            series: series.clone(),
            query: query.clone(),
            live_ordered: live.ordered,
            live_count: live.count,
            pending: pending.into(),
            open: BinaryHeap::new(),
            solo: None,
        })
    }
}

/// What the first pass over the lanes learnt of the series.
#[derive(Default)]
struct LiveScan {
    /// Least and greatest step.
    steps: Option<(i64, i64)>,
    /// Whether log order is (step, timestamp) order.
    ordered: bool,
    last: Option<(i64, i64)>,
    /// The points, while there are few enough.
    held: Option<Vec<Metric>>,
    count: usize,
}

impl LiveScan {
    fn push(&mut self, m: Metric) {
        let key = (m.step, m.timestamp);
        if self.count == 0 {
            self.ordered = true;
            self.held = Some(Vec::new());
        }
        self.ordered &= self.last.is_none_or(|last| last <= key);
        self.last = Some(key);
        self.steps = Some(self.steps.map_or((m.step, m.step), |(lo, hi)| {
            (lo.min(m.step), hi.max(m.step))
        }));
        self.count += 1;
        if self.count > LIVE_POINTS_HELD {
            self.held = None;
        } else if let Some(held) = &mut self.held {
            held.push(m);
        }
    }
}

/// A piece of the series not opened yet.
struct Pending {
    /// No point of the piece has a smaller step.
    first_step: i64,
    /// No point of the piece has a greater step.
    last_step: i64,
    /// Log order of the piece: ties between pieces keep it.
    order: usize,
    source: Source,
}

enum Source {
    /// A compacted chunk (filtered when decoded).
    Chunk(Arc<ChunkIndex>, ChunkRef),
    /// Live points the first pass kept, filtered, in log order.
    Points(Vec<Metric>),
    /// Live points to read again from the lanes, as of this manifest.
    Lanes(Manifest),
}

/// An opened piece: its points in (step, timestamp, log) order.
struct Cursor {
    order: usize,
    last_step: i64,
    points: CursorPoints,
}

enum CursorPoints {
    Held {
        points: Vec<Metric>,
        at: usize,
    },
    /// The series' points read from the lanes in log order, which the
    /// first pass found to be step order.
    Lanes {
        replay: Box<Replay>,
        series: (Arc<str>, Arc<str>),
        query: HistoryQuery,
        next: Option<Metric>,
        /// Points the first pass saw that are still to come, and their
        /// step range: points logged since are left out, so that the
        /// pieces' order holds while a writer appends.
        left: usize,
        steps: (i64, i64),
    },
}

impl Cursor {
    fn peek(&self) -> Option<&Metric> {
        match &self.points {
            CursorPoints::Held { points, at } => points.get(*at),
            CursorPoints::Lanes { next, .. } => next.as_ref(),
        }
    }

    /// Steps past the current point.
    fn advance(&mut self) -> Result<()> {
        match &mut self.points {
            CursorPoints::Held { at, .. } => {
                *at += 1;
                Ok(())
            }
            CursorPoints::Lanes {
                replay,
                series,
                query,
                next,
                left,
                steps,
            } => {
                *next = None;
                if *left == 0 {
                    return Ok(());
                }
                for item in replay.by_ref() {
                    let replayed = match item {
                        Ok(r) => r,
                        Err(Error::Corrupt { .. }) => continue,
                        Err(e) => return Err(e),
                    };
                    if let Some((run, key, m)) = replayed.event.metric() {
                        if *run == series.0
                            && *key == series.1
                            && query.admits(m.step, m.timestamp)
                            && (steps.0..=steps.1).contains(&m.step)
                        {
                            *next = Some(m);
                            *left -= 1;
                            break;
                        }
                    }
                }
                Ok(())
            }
        }
    }

    fn key(&self) -> (i64, i64, usize) {
        let m = self.peek().copied().unwrap_or(Metric {
            value: 0.0,
            timestamp: i64::MAX,
            step: i64::MAX,
        });
        (m.step, m.timestamp, self.order)
    }
}

impl PartialEq for Cursor {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Cursor {}
impl PartialOrd for Cursor {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cursor {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// The points of a metric history, streamed: see
/// [`Client::metric_history_iter`]. Yields an error (then ends) when a
/// chunk or segment cannot be read.
pub struct MetricHistoryIter {
    root: std::path::PathBuf,
    series: (Arc<str>, Arc<str>),
    query: HistoryQuery,
    live_ordered: bool,
    /// Live points the first pass found.
    live_count: usize,
    /// Pieces by first step.
    pending: VecDeque<Pending>,
    /// Opened pieces by their next point.
    open: BinaryHeap<Reverse<Cursor>>,
    /// A piece no other piece overlaps: read without the heap.
    solo: Option<Cursor>,
}

impl MetricHistoryIter {
    /// Opens a piece: decodes a chunk, or starts reading the lanes.
    fn open(&self, piece: Pending) -> Result<Cursor> {
        let points = match piece.source {
            Source::Chunk(index, c) => {
                // Read once: a long stream need not keep the file resident.
                let (_, mut points) = index.generation.chunk_at_once(c.offset)?;
                points.retain(|m| self.query.admits(m.step, m.timestamp));
                sorted_held(points)
            }
            Source::Points(points) => sorted_held(points),
            Source::Lanes(manifest) => {
                let replay = Replay::open_live(&self.root, &manifest)?;
                let mut cursor = CursorPoints::Lanes {
                    replay: Box::new(replay),
                    series: self.series.clone(),
                    query: self.query.clone(),
                    next: None,
                    left: self.live_count,
                    steps: (piece.first_step, piece.last_step),
                };
                if !self.live_ordered {
                    // Out of step order and too many to keep from the
                    // first pass: read them all, then sort.
                    let mut all = Vec::new();
                    let mut c = Cursor {
                        order: 0,
                        last_step: piece.last_step,
                        points: cursor,
                    };
                    c.advance()?;
                    while let Some(m) = c.peek().copied() {
                        all.push(m);
                        c.advance()?;
                    }
                    cursor = sorted_held(all);
                }
                cursor
            }
        };
        let mut cursor = Cursor {
            order: piece.order,
            last_step: piece.last_step,
            points,
        };
        if matches!(cursor.points, CursorPoints::Lanes { .. }) {
            cursor.advance()?; // to its first point
        }
        Ok(cursor)
    }

    fn next_point(&mut self) -> Result<Option<Metric>> {
        loop {
            if let Some(solo) = &mut self.solo {
                if let Some(m) = solo.peek().copied() {
                    solo.advance()?;
                    return Ok(Some(m));
                }
                self.solo = None;
            }
            // Open every piece that may hold a point before the heap's least.
            let least = self.open.peek().map(|Reverse(c)| c.key().0);
            let due = self
                .pending
                .front()
                .is_some_and(|p| least.is_none_or(|s| p.first_step <= s));
            if let Some(piece) = due.then(|| self.pending.pop_front()).flatten() {
                let cursor = self.open(piece)?;
                if cursor.peek().is_some() {
                    self.open.push(Reverse(cursor));
                }
                continue;
            }
            let Some(Reverse(mut top)) = self.open.pop() else {
                return Ok(None);
            };
            let alone = self.open.is_empty()
                && self
                    .pending
                    .front()
                    .is_none_or(|p| top.last_step < p.first_step);
            if alone {
                self.solo = Some(top);
                continue;
            }
            let Some(m) = top.peek().copied() else {
                continue;
            };
            top.advance()?;
            if top.peek().is_some() {
                self.open.push(Reverse(top));
            }
            return Ok(Some(m));
        }
    }
}

/// Points of one piece in (step, timestamp) order, ties in log order.
fn sorted_held(mut points: Vec<Metric>) -> CursorPoints {
    if !points.is_sorted_by_key(|m| (m.step, m.timestamp)) {
        points.sort_by_key(|m| (m.step, m.timestamp)); // stable
    }
    CursorPoints::Held { points, at: 0 }
}

impl Iterator for MetricHistoryIter {
    type Item = Result<Metric>;

    fn next(&mut self) -> Option<Result<Metric>> {
        match self.next_point() {
            Ok(m) => m.map(Ok),
            Err(e) => {
                // One error, then the end.
                self.pending.clear();
                self.open.clear();
                self.solo = None;
                Some(Err(e))
            }
        }
    }
}

impl std::fmt::Debug for MetricHistoryIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricHistoryIter")
            .field("run_id", &self.series.0)
            .field("key", &self.series.1)
            .field("pieces_waiting", &self.pending.len())
            .field("pieces_open", &(self.open.len() + self.solo.iter().len()))
            .finish()
    }
}
