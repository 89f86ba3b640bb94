//! The live tail index: the metric points a client read from segments not
//! compacted yet, by series, each with the segment it came from, so that
//! history needs no scan of the log and a compaction taken on drops
//! exactly the points its generation now holds.

use std::collections::HashSet;
use std::sync::Arc;

use crate::format::Metric;
use crate::index::query::HistoryQuery;

/// Points of the live segments by (run id, key), in log order.
pub(crate) type TailIndex = std::collections::HashMap<(Arc<str>, Arc<str>), TailSeries>;

/// A segment: (lane, sequence).
pub(crate) type SegmentId = (u64, u64);

/// The live points of one series.
#[derive(Debug, Default)]
pub(crate) struct TailSeries {
    /// In log order.
    pub(crate) points: Vec<Metric>,
    /// Whether log order is also step order (then a step range is found by
    /// binary search).
    pub(crate) by_step: bool,
    /// Which segment the points came from, in runs of `points`: a run of
    /// points from one segment is one element, so that the points of
    /// segments a compaction replaced can be dropped.
    origins: Vec<(SegmentId, usize)>,
}

impl TailSeries {
    pub(crate) fn push(&mut self, m: Metric, origin: SegmentId) {
        self.by_step = match self.points.last() {
            None => true,
            Some(last) => self.by_step && last.step <= m.step,
        };
        self.points.push(m);
        match self.origins.last_mut() {
            Some((segment, n)) if *segment == origin => *n += 1,
            _ => self.origins.push((origin, 1)),
        }
    }

    /// Drops the points that came from `replaced` segments.
    fn drop_segments(&mut self, replaced: &HashSet<SegmentId>) {
        if !self.origins.iter().any(|(s, _)| replaced.contains(s)) {
            return;
        }
        let mut kept = Vec::new();
        let mut origins = Vec::new();
        let mut at = 0;
        for &(segment, n) in &self.origins {
            if !replaced.contains(&segment) {
                kept.extend_from_slice(&self.points[at..at + n]);
                origins.push((segment, n));
            }
            at += n;
        }
        self.by_step = kept.is_sorted_by_key(|m| m.step);
        self.points = kept;
        self.origins = origins;
    }
}

/// Drops from the tail the points of `replaced` segments, and the series
/// left without points.
pub(crate) fn drop_replaced(tail: &mut TailIndex, replaced: &HashSet<SegmentId>) {
    tail.retain(|_, series| {
        series.drop_segments(replaced);
        !series.points.is_empty()
    });
}

/// The live points of series (`run_id`, `key`) that `query` selects, in log
/// order: a step range is found by binary search when the points came in
/// step order.
pub(crate) fn select(
    tail: &TailIndex,
    run_id: &str,
    key: &Arc<str>,
    query: &HistoryQuery,
) -> Vec<Metric> {
    let Some(series) = tail.get(&(Arc::from(run_id), key.clone())) else {
        return Vec::new();
    };
    let mut points: &[Metric] = &series.points;
    if let (true, Some(r)) = (series.by_step, &query.steps) {
        let lo = points.partition_point(|m| m.step < *r.start());
        let hi = points.partition_point(|m| m.step <= *r.end());
        points = &points[lo..hi.max(lo)];
    }
    if query.timestamps.is_none() && (series.by_step || query.steps.is_none()) {
        points.to_vec() // the range is exact already: one copy
    } else {
        points
            .iter()
            .filter(|m| query.admits(m.step, m.timestamp))
            .copied()
            .collect()
    }
}
