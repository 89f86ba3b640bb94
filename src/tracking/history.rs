//! Metric history: every point of a metric, a step or time range of it,
//! several runs at once, and series downsampled for plots.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use crate::error::{Error, Result};
use std::sync::Arc;

use crate::log::generation::{ChunkIndex, ChunkRef};
use crate::tracking::client::Client;
use crate::tracking::history_decode::{decode_into_one, Piece};
use crate::tracking::model::Metric;

/// Which points of a metric history to return.
///
/// ```
/// use runlog::HistoryQuery;
/// let q = HistoryQuery::new().steps(100..=199).max_points(50);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    pub(crate) steps: Option<RangeInclusive<i64>>,
    pub(crate) timestamps: Option<RangeInclusive<i64>>,
    pub(crate) max_points: Option<usize>,
}

impl HistoryQuery {
    /// Every point.
    pub fn new() -> HistoryQuery {
        HistoryQuery::default()
    }

    /// Only points whose step is in the range.
    pub fn steps(mut self, range: RangeInclusive<i64>) -> Self {
        self.steps = Some(range);
        self
    }

    /// Only points whose timestamp (ms since the epoch) is in the range.
    pub fn timestamps(mut self, range: RangeInclusive<i64>) -> Self {
        self.timestamps = Some(range);
        self
    }

    /// At most `n` points per series, for plots: see [`downsample`]. A
    /// series of `n` points or fewer comes back whole.
    pub fn max_points(mut self, n: usize) -> Self {
        self.max_points = Some(n);
        self
    }

    /// Refuses a query no history can answer.
    fn check(&self) -> Result<()> {
        if self.max_points == Some(0) {
            return Err(Error::InvalidArgument(
                "max_points must be at least 1".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn admits(&self, step: i64, timestamp: i64) -> bool {
        self.steps.as_ref().is_none_or(|r| r.contains(&step))
            && self
                .timestamps
                .as_ref()
                .is_none_or(|r| r.contains(&timestamp))
    }
}

impl Client {
    /// Every point of metric `key` of a run, ordered by step, then
    /// timestamp, then the order they were logged in. An unknown key gives
    /// an empty history; an unknown run is an error. Ranges of steps and
    /// downsampling: [`metric_history`](Client::metric_history).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::open(dir.path())?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// client.log_metric(&run_id, "loss", 0.5, 1)?;
    /// client.log_metric(&run_id, "loss", 0.25, 2)?;
    /// let history = client.get_metric_history(&run_id, "loss")?;
    /// assert_eq!(history.iter().map(|m| m.step).collect::<Vec<_>>(), [1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        self.metric_history(run_id, key, &HistoryQuery::new())
    }

    /// The points of metric `key` of a run that the query selects, in the
    /// order of [`get_metric_history`](Client::get_metric_history).
    pub fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<Metric>> {
        let mut points = Vec::new();
        self.metric_history_into(run_id, key, query, &mut points)?;
        Ok(points)
    }

    /// [`metric_history`](Client::metric_history) into `out`, whose points
    /// are replaced: a caller that reads long histories again and again
    /// (a plot that refreshes, a server) reuses one buffer, where a fresh
    /// vector of 10 M points costs the kernel 240 MB of cleared pages.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let client = runlog::Client::open(dir.path())?;
    /// # let run_id = client.create_run("0")?.info.run_id;
    /// client.log_metric(&run_id, "loss", 0.5, 1)?;
    /// let mut points = Vec::new();
    /// for _refresh in 0..3 {
    ///     client.metric_history_into(&run_id, "loss", &runlog::HistoryQuery::new(), &mut points)?;
    ///     assert_eq!(points.len(), 1);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metric_history_into(
        &self,
        run_id: &str,
        key: &str,
        query: &HistoryQuery,
        out: &mut Vec<Metric>,
    ) -> Result<()> {
        query.check()?;
        self.get_run(run_id)?; // exists; also writes what this process queued
        let slots: HashMap<&str, usize> = HashMap::from([(run_id, 0)]);
        let units = self
            .collect_units(&slots, 1, key, query)?
            .pop()
            .unwrap_or_default();
        *out = series_points(units, query.max_points, std::mem::take(out))?;
        Ok(())
    }

    /// The history of metric `key` for several runs at once (to compare
    /// them), in one read of the log: one `(run id, points)` pair per run,
    /// in the order given.
    pub fn get_metric_history_bulk(
        &self,
        run_ids: &[&str],
        key: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<(String, Vec<Metric>)>> {
        query.check()?;
        for id in run_ids {
            self.get_run(id)?; // exists; also writes what this process queued
        }
        let mut slots: HashMap<&str, usize> = HashMap::new();
        for (i, id) in run_ids.iter().enumerate() {
            slots.entry(id).or_insert(i);
        }
        let mut units = self.collect_units(&slots, run_ids.len(), key, query)?;
        let mut out: Vec<(String, Vec<Metric>)> = Vec::with_capacity(run_ids.len());
        for (i, id) in run_ids.iter().enumerate() {
            let slot = slots.get(id).copied().unwrap_or(i);
            let points = if slot == i {
                series_points(
                    std::mem::take(&mut units[slot]),
                    query.max_points,
                    Vec::new(),
                )?
            } else {
                out[slot].1.clone() // the same run asked for twice
            };
            out.push(((*id).to_owned(), points));
        }
        Ok(out)
    }
}

/// A piece of a series: a compacted chunk not decoded yet, or points.
enum Unit {
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

impl Client {
    /// The pieces of `key`'s series for the runs in `slots`, in log order:
    /// the chunks of the view's generations (a chunk the query cuts is
    /// decoded and filtered; one it leaves out is skipped), then the view's
    /// live points (kept in memory as the view follows the log).
    fn collect_units(
        &self,
        slots: &HashMap<&str, usize>,
        n: usize,
        key: &str,
        query: &HistoryQuery,
    ) -> Result<Vec<Vec<Unit>>> {
        let key: Arc<str> = Arc::from(key);
        let (generations, mut live) = {
            let view = self.view_with_tail()?;
            let mut live: Vec<Vec<Metric>> = vec![Vec::new(); n];
            if let Some(tail) = &view.tail {
                for (run, &slot) in slots {
                    if let Some(series) = tail.get(&(Arc::from(*run), key.clone())) {
                        let mut points: &[Metric] = &series.points;
                        if let (true, Some(r)) = (series.by_step, &query.steps) {
                            let lo = points.partition_point(|m| m.step < *r.start());
                            let hi = points.partition_point(|m| m.step <= *r.end());
                            points = &points[lo..hi.max(lo)];
                        }
                        live[slot] = if query.timestamps.is_none()
                            && (series.by_step || query.steps.is_none())
                        {
                            points.to_vec() // the range is exact already: one copy
                        } else {
                            points
                                .iter()
                                .filter(|m| query.admits(m.step, m.timestamp))
                                .copied()
                                .collect()
                        };
                    }
                }
            }
            (view.generations.clone(), live)
        };
        let mut units: Vec<Vec<Unit>> = (0..n).map(|_| Vec::new()).collect();
        let mut cut = Vec::new(); // chunks to decode and filter: (slot, position)
        for number in generations {
            let index = self.chunk_index(number)?;
            for (run, &slot) in slots {
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
                        cut.push((slot, units[slot].len(), Arc::clone(&index), *c));
                    }
                    units[slot].push(Unit::Chunk(Arc::clone(&index), *c));
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
}

/// A series from its pieces: every point in step order, or at most
/// `max_points` of them. A long series whose pieces follow each other in
/// step order is downsampled from the chunks' stored extremes, without
/// decoding them.
fn series_points(
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

/// [`downsample`] over pieces in step order: chunks count as their stored
/// least and greatest points; the first and last points are decoded.
fn downsample_units(mut units: Vec<Unit>, n: usize, total: usize) -> Result<Vec<Metric>> {
    // A chunk wider than a bucket cannot stand for its points: decode it.
    let bucket_size = total / ((n.saturating_sub(2) / 2).max(1));
    let wide: Vec<usize> = (0..units.len())
        .filter(|&i| matches!(&units[i], Unit::Chunk(_, c) if c.count as usize > bucket_size))
        .collect();
    let work: Vec<(Arc<ChunkIndex>, u64)> = wide
        .iter()
        .filter_map(|&i| match &units[i] {
            Unit::Chunk(index, c) => Some((Arc::clone(index), c.offset)),
            Unit::Points(_) => None,
        })
        .collect();
    for (&i, points) in wide.iter().zip(decode_all(&work)?) {
        units[i] = Unit::Points(points);
    }
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
    let mut extremes: Vec<Option<(Metric, Metric)>> = vec![None; buckets];
    let mut keep = |b: usize, lo: Metric, hi: Metric| {
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
    };
    let mut seen = 0usize;
    for unit in &units {
        if buckets == 0 {
            break;
        }
        match unit {
            Unit::Chunk(_, c) => {
                let middle = seen + c.count as usize / 2;
                keep((middle * buckets / total).min(buckets - 1), c.min, c.max);
                seen += c.count as usize;
            }
            Unit::Points(points) => {
                for m in points {
                    keep((seen * buckets / total).min(buckets - 1), *m, *m);
                    seen += 1;
                }
            }
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
    let parts: Vec<Result<Vec<Vec<Metric>>>> = std::thread::scope(|s| {
        let handles: Vec<_> = work
            .chunks(per)
            .map(|part| s.spawn(move || decode(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Internal("a chunk decoding thread panicked".into()))
                })
            })
            .collect()
    });
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
