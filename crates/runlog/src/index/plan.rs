//! The one query plan of a metric history: for a (runs, key, step range,
//! time range, point budget) query, which pieces answer it (whole chunks,
//! chunks cut by the ranges, the live points), then the series from them:
//! every point in step order (decoded straight into one vector), or a
//! downsampled series taken from the chunks' stored extremes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Result;
use crate::format::Metric;
use crate::index::chunks::{ChunkIndex, ChunkRef};
use crate::index::decode::{decode_into_one, on_threads, Piece};
use crate::index::extremes;
use crate::index::query::HistoryQuery;

/// A piece of a series: a compacted chunk not decoded yet, or points.
pub(crate) enum Unit {
    /// A whole chunk, all of whose points the query selects.
    Chunk(Arc<ChunkIndex>, ChunkRef),
    /// Points, in log order.
    Points(Vec<Metric>),
}

impl Unit {
    pub(crate) fn count(&self) -> usize {
        match self {
            Unit::Chunk(_, c) => c.count as usize,
            Unit::Points(p) => p.len(),
        }
    }

    /// Smallest and largest step, when the unit has points.
    fn steps(&self) -> Option<(i64, i64)> {
        match self {
            Unit::Chunk(_, c) => Some((c.first_step, c.last_step)),
            Unit::Points(p) => {
                let first = p.iter().map(|m| m.step).min()?;
                let last = p.iter().map(|m| m.step).max()?;
                Some((first, last))
            }
        }
    }
}

/// What a history query reads.
pub(crate) struct Sources {
    /// The chunk index of every generation, in publication order.
    pub(crate) indexes: Vec<Arc<ChunkIndex>>,
    /// Per slot, the run's points still in segments that the query
    /// selects, in log order.
    pub(crate) live: Vec<Vec<Metric>>,
}

/// The pieces of `key`'s series for each run of `runs` (run id -> slot),
/// in log order: the chunks of the generations (a chunk the query cuts is
/// decoded and filtered, one it leaves out is skipped), then the run's
/// live points.
pub(crate) fn plan(
    sources: Sources,
    runs: &HashMap<&str, usize>,
    key: &Arc<str>,
    query: &HistoryQuery,
) -> Result<Vec<Vec<Unit>>> {
    let Sources { indexes, mut live } = sources;
    let slots = live.len();
    let mut units: Vec<Vec<Unit>> = (0..slots).map(|_| Vec::new()).collect();
    let mut cut = Vec::new(); // chunks to decode and filter: (slot, position)
    for index in &indexes {
        for (run, &slot) in runs {
            let Some(chunks) = index.chunks.get(&(Arc::from(*run), key.clone())) else {
                continue;
            };
            for c in chunks {
                let (inside, outside) = match &query.steps {
                    None => (true, false),
                    Some(r) => (
                        c.first_step >= *r.start() && c.last_step <= *r.end(),
                        c.last_step < *r.start() || c.first_step > *r.end(),
                    ),
                };
                if outside {
                    continue;
                }
                if !inside || query.timestamps.is_some() {
                    cut.push((slot, units[slot].len(), Arc::clone(index), *c));
                }
                units[slot].push(Unit::Chunk(Arc::clone(index), *c));
            }
        }
    }
    // Cut chunks become their selected points.
    let work: Vec<(Arc<ChunkIndex>, u64)> = cut
        .iter()
        .map(|(_, _, i, c)| (Arc::clone(i), c.offset))
        .collect();
    for ((slot, at, _, _), mut points) in cut.iter().zip(decode_all(&work)?) {
        points.retain(|m| query.admits(m.step, m.timestamp));
        units[*slot][*at] = Unit::Points(points);
    }
    for (slot, points) in live.iter_mut().enumerate() {
        if !points.is_empty() {
            units[slot].push(Unit::Points(std::mem::take(points)));
        }
    }
    Ok(units)
}

/// A series from its pieces: every point in step order, or at most
/// `max_points` of them. A long series whose pieces follow each other in
/// step order is downsampled from the chunks' stored extremes, without
/// decoding them.
pub(crate) fn series_points(
    units: Vec<Unit>,
    max_points: Option<usize>,
    spare: Vec<Metric>,
) -> Result<Vec<Metric>> {
    let total: usize = units.iter().map(Unit::count).sum();
    if let Some(n) = max_points {
        let ordered = units
            .iter()
            .filter_map(Unit::steps)
            .collect::<Vec<_>>()
            .windows(2)
            .all(|w| w[0].1 <= w[1].0);
        if total > n && ordered {
            return extremes::downsample_units(units, n, total);
        }
    }
    let (mut points, sorted) = decode_units(units, spare)?;
    if !sorted {
        points.sort_by_key(|m| (m.step, m.timestamp)); // stable: ties keep log order
    }
    Ok(match max_points {
        Some(n) => downsample(&points, n),
        None => points,
    })
}

/// Every point of the pieces, in their order (chunks decoded on every core,
/// straight into the vector returned), and whether they are in (step,
/// timestamp) order.
fn decode_units(mut units: Vec<Unit>, spare: Vec<Metric>) -> Result<(Vec<Metric>, bool)> {
    if let [Unit::Points(only)] = units.as_mut_slice() {
        // Nothing to decode or join.
        let sorted = only.is_sorted_by_key(|m| (m.step, m.timestamp));
        return Ok((std::mem::take(only), sorted));
    }
    let pieces: Vec<Piece<'_>> = units
        .iter()
        .map(|u| match u {
            Unit::Chunk(index, c) => Piece::Chunk(index, c),
            Unit::Points(p) => Piece::Points(p),
        })
        .collect();
    decode_into_one(&pieces, spare)
}

/// Decodes chunks, split over the machine's cores when there are many;
/// results in the order of `work`.
fn decode_all(work: &[(Arc<ChunkIndex>, u64)]) -> Result<Vec<Vec<Metric>>> {
    let decode = |part: &[(Arc<ChunkIndex>, u64)]| -> Result<Vec<Vec<Metric>>> {
        part.iter()
            .map(|(index, offset)| {
                let (_, points) = index.generation.chunk_at(*offset)?;
                Ok(points)
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || work.len() < 16 {
        return decode(work);
    }
    let per = work.len().div_ceil(threads);
    let parts = on_threads(work.chunks(per).map(|part| move || decode(part)).collect());
    let mut all = Vec::with_capacity(work.len());
    for part in parts {
        all.extend(part?);
    }
    Ok(all)
}

/// At most `n` points of a series sorted by step, for plotting: the first
/// and the last point, and between them equal-count buckets of which each
/// keeps its minimum and its maximum value (by IEEE total order, so NaN
/// shows as a maximum), in step order. Spikes survive, unlike with
/// averaging or every-k-th sampling. A series of `n` points or fewer is
/// returned whole.
///
/// ```
/// use runlog::Metric;
/// let series: Vec<Metric> = (0..1000)
///     .map(|s| Metric { value: if s == 500 { 99.0 } else { 1.0 }, timestamp: 0, step: s })
///     .collect();
/// let plot = runlog::tracking::downsample(&series, 20);
/// assert!(plot.len() <= 20);
/// assert!(plot.iter().any(|m| m.value == 99.0), "the spike survives");
/// ```
pub fn downsample(points: &[Metric], n: usize) -> Vec<Metric> {
    if points.len() <= n {
        return points.to_vec();
    }
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    if n == 1 {
        return vec![*last];
    }
    let inner = &points[1..points.len() - 1];
    let buckets = (n - 2) / 2;
    let mut out = Vec::with_capacity(n);
    out.push(*first);
    for b in 0..buckets {
        let lo = b * inner.len() / buckets;
        let hi = (b + 1) * inner.len() / buckets;
        let bucket = &inner[lo..hi];
        let by_value = |a: &(usize, &Metric), b: &(usize, &Metric)| a.1.value.total_cmp(&b.1.value);
        let (Some(min), Some(max)) = (
            bucket.iter().enumerate().min_by(by_value),
            bucket.iter().enumerate().max_by(by_value),
        ) else {
            continue;
        };
        let (a, b) = if min.0 <= max.0 {
            (min, max)
        } else {
            (max, min)
        };
        out.push(*a.1);
        if a.0 != b.0 {
            out.push(*b.1);
        }
    }
    out.push(*last);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<Metric> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Metric {
                value: *v,
                timestamp: 0,
                step: i as i64,
            })
            .collect()
    }

    #[test]
    fn downsampling_keeps_extremes_and_order() {
        let values: Vec<f64> = (0..10_000).map(|i| ((i as f64) / 100.0).sin()).collect();
        let s = series(&values);
        for n in [1, 2, 3, 4, 10, 301, 9_999] {
            let d = downsample(&s, n);
            assert!(d.len() <= n, "{n}: {}", d.len());
            assert!(
                d.windows(2).all(|w| w[0].step < w[1].step),
                "{n}: steps increase"
            );
            assert_eq!(d.last().unwrap().step, 9_999);
            if n >= 2 {
                assert_eq!(d[0].step, 0);
            }
        }
        let d = downsample(&s, 300);
        let max = d.iter().map(|m| m.value).fold(f64::MIN, f64::max);
        let min = d.iter().map(|m| m.value).fold(f64::MAX, f64::min);
        assert!(max > 0.9999 && min < -0.9999, "extremes kept: {min} {max}");
        assert_eq!(downsample(&s[..50], 300).len(), 50, "short series whole");
        assert!(downsample(&[], 5).is_empty());
    }
}
