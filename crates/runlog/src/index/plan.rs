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
use crate::index::query::HistoryQuery;

/// A piece of a series: a compacted chunk not decoded yet, or points.
pub(crate) enum Unit {
    /// A whole chunk, all of whose points the query selects.
    Chunk(Arc<ChunkIndex>, ChunkRef),
    /// Points, in log order.
    Points(Vec<Metric>),
}

impl Unit {
    fn count(&self) -> usize {
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
            return downsample_units(units, n, total);
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

/// The least and the greatest point (by value, IEEE total order) of each
/// bucket of a downsampled series.
type Extremes = Vec<Option<(Metric, Metric)>>;

/// Widens bucket `b` of `extremes` to hold `lo` and `hi`.
#[inline]
fn keep(extremes: &mut Extremes, b: usize, lo: Metric, hi: Metric) {
    let e = &mut extremes[b];
    *e = Some(match *e {
        None => (lo, hi),
        Some((a, z)) => (
            if lo.value.total_cmp(&a.value).is_lt() {
                lo
            } else {
                a
            },
            if hi.value.total_cmp(&z.value).is_gt() {
                hi
            } else {
                z
            },
        ),
    });
}

/// [`downsample`] over pieces in step order: chunks no wider than a bucket
/// count as their stored least and greatest points, wider ones as their
/// blocks' (their Blocks entry) when the blocks are no wider than a bucket;
/// the others are decoded one at a time (on every core) and folded into the
/// buckets as they are read, so that memory grows with the points returned,
/// not with the series; the first and last points are decoded. A chunk or
/// block counts in the bucket of its middle point.
fn downsample_units(units: Vec<Unit>, n: usize, total: usize) -> Result<Vec<Metric>> {
    let edge = |u: &Unit, last: bool| -> Result<Option<Metric>> {
        Ok(match u {
            Unit::Chunk(i, c) => {
                let (_, p) = i.generation.chunk_at(c.offset)?;
                if last {
                    p.last().copied()
                } else {
                    p.first().copied()
                }
            }
            Unit::Points(p) => {
                let key = |m: &&Metric| (m.step, m.timestamp);
                if last {
                    p.iter().max_by_key(key).copied()
                } else {
                    p.iter().min_by_key(key).copied()
                }
            }
        })
    };
    let (Some(first), Some(last)) = (
        units
            .iter()
            .find(|u| u.count() > 0)
            .map(|u| edge(u, false))
            .transpose()?
            .flatten(),
        units
            .iter()
            .rev()
            .find(|u| u.count() > 0)
            .map(|u| edge(u, true))
            .transpose()?
            .flatten(),
    ) else {
        return Ok(Vec::new());
    };
    if n == 1 {
        return Ok(vec![last]);
    }
    let buckets = (n - 2) / 2;
    let mut extremes: Extremes = vec![None; buckets];
    if let Some(bucket_size) = total.checked_div(buckets) {
        let bucket_of = |i: usize| (i * buckets / total).min(buckets - 1);
        // Every unit's first point's index in the series.
        let starts: Vec<usize> = units
            .iter()
            .scan(0usize, |seen, u| {
                let start = *seen;
                *seen += u.count();
                Some(start)
            })
            .collect();
        // A chunk wider than a bucket cannot stand for its points: its
        // blocks do when they are no wider than a bucket, else it is
        // decoded.
        let summarised = |c: &ChunkRef| c.blocks.filter(|&(_, size)| size as usize <= bucket_size);
        let wide: Vec<(usize, &Arc<ChunkIndex>, u64)> = units
            .iter()
            .zip(&starts)
            .filter_map(|(u, &start)| match u {
                Unit::Chunk(index, c)
                    if c.count as usize > bucket_size && summarised(c).is_none() =>
                {
                    Some((start, index, c.offset))
                }
                _ => None,
            })
            .collect();
        // The first index of bucket `b` (the inverse of `bucket_of`), so
        // that a walk over points moves from bucket to bucket without a
        // division per point.
        let bucket_start = |b: usize| (b * total).div_ceil(buckets);
        let fold = |part: &[(usize, &Arc<ChunkIndex>, u64)]| -> Result<Extremes> {
            let mut mine: Extremes = vec![None; buckets];
            // The run of file bytes read, released in one call when it ends.
            let mut read: Option<(&Arc<ChunkIndex>, usize, usize)> = None;
            for &(start, index, offset) in part {
                let mut i = start;
                let mut b = bucket_of(start);
                let mut next = if b + 1 < buckets {
                    bucket_start(b + 1)
                } else {
                    usize::MAX
                };
                // The current bucket's extremes (`held`: it has a point),
                // written to `mine` when the walk leaves the bucket.
                let blank = Metric {
                    value: 0.0,
                    timestamp: 0,
                    step: 0,
                };
                let (mut lo, mut hi, mut held) = (blank, blank, false);
                let (_, end) = index.generation.chunk_each(offset, |m| {
                    if i >= next {
                        if held {
                            keep(&mut mine, b, lo, hi);
                            held = false;
                        }
                        while i >= next {
                            b += 1;
                            next = if b + 1 < buckets {
                                bucket_start(b + 1)
                            } else {
                                usize::MAX
                            };
                        }
                    }
                    if !held {
                        (lo, hi, held) = (m, m, true);
                    } else {
                        if m.value.total_cmp(&lo.value).is_lt() {
                            lo = m;
                        }
                        if m.value.total_cmp(&hi.value).is_gt() {
                            hi = m;
                        }
                    }
                    i += 1;
                })?;
                if held {
                    keep(&mut mine, b, lo, hi);
                }
                let offset = offset as usize;
                read = match read {
                    Some((g, from, to)) if Arc::ptr_eq(g, index) && to == offset => {
                        Some((g, from, end))
                    }
                    other => {
                        if let Some((g, from, to)) = other {
                            g.generation.release(from, to);
                        }
                        Some((index, offset, end))
                    }
                };
            }
            if let Some((g, from, to)) = read {
                g.generation.release(from, to);
            }
            Ok(mine)
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let partials = if threads < 2 || wide.len() < 16 {
            vec![fold(&wide)]
        } else {
            let per = wide.len().div_ceil(threads);
            on_threads(wide.chunks(per).map(|part| move || fold(part)).collect())
        };
        for partial in partials {
            for (b, e) in partial?.into_iter().enumerate() {
                if let Some((lo, hi)) = e {
                    keep(&mut extremes, b, lo, hi);
                }
            }
        }
        // The Blocks entries read, released in one call per generation.
        let mut read: Option<(&Arc<ChunkIndex>, usize, usize)> = None;
        for (unit, &start) in units.iter().zip(&starts) {
            match unit {
                Unit::Chunk(index, c) if c.count as usize > bucket_size => {
                    let Some((offset, _)) = summarised(c) else {
                        continue; // folded above
                    };
                    let (blocks, end) = index.generation.blocks_at(offset)?;
                    let size = blocks.size as usize;
                    for (j, (lo, hi)) in blocks.extremes().enumerate() {
                        let first = j * size;
                        let len = size.min((c.count as usize).saturating_sub(first));
                        keep(&mut extremes, bucket_of(start + first + len / 2), lo, hi);
                    }
                    let offset = offset as usize;
                    read = match read {
                        Some((g, from, _)) if Arc::ptr_eq(g, index) => Some((g, from, end)),
                        other => {
                            if let Some((g, from, to)) = other {
                                g.generation.release(from, to);
                            }
                            Some((index, offset, end))
                        }
                    };
                }
                Unit::Chunk(_, c) => {
                    let middle = start + c.count as usize / 2;
                    keep(&mut extremes, bucket_of(middle), c.min, c.max);
                }
                Unit::Points(points) => {
                    for (j, m) in points.iter().enumerate() {
                        keep(&mut extremes, bucket_of(start + j), *m, *m);
                    }
                }
            }
        }
        if let Some((g, from, to)) = read {
            g.generation.release(from, to);
        }
    }
    let same = |a: &Metric, b: &Metric| {
        (a.step, a.timestamp, a.value.to_bits()) == (b.step, b.timestamp, b.value.to_bits())
    };
    let mut out = vec![first];
    for (lo, hi) in extremes.into_iter().flatten() {
        let (a, b) = if (lo.step, lo.timestamp) <= (hi.step, hi.timestamp) {
            (lo, hi)
        } else {
            (hi, lo)
        };
        for m in [a, b] {
            if !out.iter().rev().take(2).any(|o| same(o, &m)) && !same(&m, &last) {
                out.push(m);
            }
        }
    }
    if !same(&last, &first) {
        out.push(last);
    }
    out.sort_by_key(|m| (m.step, m.timestamp));
    Ok(out)
}

/// Decodes chunks, split over the machine's cores when there are many;
/// results in the order of `work`.
fn decode_all(work: &[(Arc<ChunkIndex>, u64)]) -> Result<Vec<Vec<Metric>>> {
    let decode = |part: &[(Arc<ChunkIndex>, u64)]| -> Result<Vec<Vec<Metric>>> {
        part.iter()
            .map(|(index, offset)| index.generation.chunk_at(*offset).map(|(_, p)| p))
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
