//! A metric history read as a stream, in memory that does not grow with the
//! compacted history: chunks are decoded one at a time as the stream
//! reaches their steps, merged with the live points by (step, timestamp),
//! ties in log order.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;

use crate::error::Result;
use crate::format::Metric;
use crate::index::chunks::{ChunkIndex, ChunkRef};
use crate::index::query::HistoryQuery;

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
    /// Live points, selected by the query, in log order.
    Points(Vec<Metric>),
}

/// An opened piece: its points in (step, timestamp, log) order.
struct Cursor {
    order: usize,
    last_step: i64,
    points: CursorPoints,
}

/// The points of an opened piece, sorted, and the next one's position.
struct CursorPoints {
    points: Vec<Metric>,
    at: usize,
}

impl Cursor {
    fn peek(&self) -> Option<&Metric> {
        self.points.points.get(self.points.at)
    }

    /// Steps past the current point.
    fn advance(&mut self) {
        self.points.at += 1;
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
/// [`Client::metric_history_iter`](crate::Client::metric_history_iter). Yields an error (then ends) when a
/// chunk or segment cannot be read.
pub struct MetricHistoryIter {
    series: (Arc<str>, Arc<str>),
    query: HistoryQuery,
    /// Pieces by first step.
    pending: VecDeque<Pending>,
    /// Opened pieces by their next point.
    open: BinaryHeap<Reverse<Cursor>>,
    /// A piece no other piece overlaps: read without the heap.
    solo: Option<Cursor>,
}

impl MetricHistoryIter {
    /// The stream of `series` over the chunks of `indexes` (in publication
    /// order) and `live`, the series' points not compacted yet that the
    /// query selects, in log order.
    pub(crate) fn new(
        indexes: &[Arc<ChunkIndex>],
        live: Vec<Metric>,
        series: (Arc<str>, Arc<str>),
        query: &HistoryQuery,
    ) -> MetricHistoryIter {
        let mut pending: Vec<Pending> = Vec::new();
        for index in indexes {
            for c in index.chunks.get(&series).into_iter().flatten() {
                let outside = query
                    .steps
                    .as_ref()
                    .is_some_and(|r| c.last_step < *r.start() || c.first_step > *r.end());
                if !outside {
                    pending.push(Pending {
                        first_step: c.first_step,
                        last_step: c.last_step,
                        order: pending.len(),
                        source: Source::Chunk(Arc::clone(index), *c),
                    });
                }
            }
        }
        let steps = live.iter().map(|m| m.step);
        if let (Some(first_step), Some(last_step)) = (steps.clone().min(), steps.max()) {
            pending.push(Pending {
                first_step,
                last_step,
                order: pending.len(),
                source: Source::Points(live),
            });
        }
        pending.sort_by_key(|p| (p.first_step, p.order));
        MetricHistoryIter {
            series,
            query: query.clone(),
            pending: pending.into(),
            open: BinaryHeap::new(),
            solo: None,
        }
    }

    /// Opens a piece: decodes a chunk, or sorts live points.
    fn open(&self, piece: Pending) -> Result<Cursor> {
        let points = match piece.source {
            Source::Chunk(index, c) => {
                // Read once: a long stream need not keep the file resident.
                let (_, mut points) = index.generation.chunk_at_once(c.offset)?;
                points.retain(|m| self.query.admits(m.step, m.timestamp));
                sorted(points)
            }
            Source::Points(points) => sorted(points),
        };
        Ok(Cursor {
            order: piece.order,
            last_step: piece.last_step,
            points,
        })
    }

    fn next_point(&mut self) -> Result<Option<Metric>> {
        loop {
            if let Some(solo) = &mut self.solo {
                if let Some(m) = solo.peek().copied() {
                    solo.advance();
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
            top.advance();
            if top.peek().is_some() {
                self.open.push(Reverse(top));
            }
            return Ok(Some(m));
        }
    }
}

/// Points of one piece in (step, timestamp) order, ties in log order.
fn sorted(mut points: Vec<Metric>) -> CursorPoints {
    if !points.is_sorted_by_key(|m| (m.step, m.timestamp)) {
        points.sort_by_key(|m| (m.step, m.timestamp)); // stable
    }
    CursorPoints { points, at: 0 }
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
