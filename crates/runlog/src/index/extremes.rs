//! A downsampled series taken from its pieces without decoding them when
//! their summaries can stand for them: equal-count buckets over the
//! series, each keeping its least and greatest point (by value, IEEE total
//! order), then the first and last points.
//!
//! A chunk no wider than a bucket counts as its stored least and greatest
//! points; a wider one as its blocks' (its Blocks entry) when the blocks
//! are no wider than a bucket; the others are decoded one at a time (on
//! every core) and folded into the buckets as they are read, so that
//! memory grows with the points returned, not with the series. A chunk or
//! block counts in the bucket of its middle point.

use std::sync::Arc;

use crate::error::Result;
use crate::format::codec::EachPoint;
use crate::format::Metric;
use crate::index::chunks::{ChunkIndex, ChunkRef};
use crate::index::decode::on_threads;
use crate::index::plan::Unit;

/// The least and the greatest point of each bucket of a downsampled
/// series.
type Extremes = Vec<Option<(Metric, Metric)>>;

/// [`downsample`](crate::index::downsample) over pieces in step order
/// holding `total` points, at most `n` of them returned.
pub(crate) fn downsample_units(units: Vec<Unit>, n: usize, total: usize) -> Result<Vec<Metric>> {
    let (Some(first), Some(last)) = (series_edge(&units, false)?, series_edge(&units, true)?)
    else {
        return Ok(Vec::new());
    };
    if n == 1 {
        return Ok(vec![last]);
    }
    let buckets = Buckets {
        count: (n - 2) / 2,
        total,
    };
    let mut extremes: Extremes = vec![None; buckets.count];
    if buckets.count > 0 {
        // Every unit's first point's index in the series.
        let starts: Vec<usize> = units
            .iter()
            .scan(0usize, |seen, u| {
                let start = *seen;
                *seen += u.count();
                Some(start)
            })
            .collect();
        fold_decoded(&units, &starts, &buckets, &mut extremes)?;
        fold_summaries(&units, &starts, &buckets, &mut extremes)?;
    }
    Ok(assemble(first, last, extremes))
}

/// The series' first point (`last` false) or its last, from the first or
/// last piece that has points.
fn series_edge(units: &[Unit], last: bool) -> Result<Option<Metric>> {
    let unit = if last {
        units.iter().rev().find(|u| u.count() > 0)
    } else {
        units.iter().find(|u| u.count() > 0)
    };
    Ok(match unit {
        None => None,
        Some(Unit::Chunk(i, c)) => {
            let (_, p) = i.generation.chunk_at(c.offset)?;
            if last {
                p.last().copied()
            } else {
                p.first().copied()
            }
        }
        Some(Unit::Points(p)) => {
            let key = |m: &&Metric| (m.step, m.timestamp);
            if last {
                p.iter().max_by_key(key).copied()
            } else {
                p.iter().min_by_key(key).copied()
            }
        }
    })
}

/// `count` equal-count buckets over a series of `total` points.
struct Buckets {
    count: usize,
    total: usize,
}

impl Buckets {
    /// Points a bucket holds (at least).
    fn size(&self) -> usize {
        self.total / self.count
    }

    /// The bucket of the series' point `i`.
    fn of(&self, i: usize) -> usize {
        (i * self.count / self.total).min(self.count - 1)
    }

    /// The first index after bucket `b` (`usize::MAX` after the last), so
    /// that a walk over points moves from bucket to bucket without a
    /// division per point.
    fn end(&self, b: usize) -> usize {
        if b + 1 < self.count {
            ((b + 1) * self.total).div_ceil(self.count)
        } else {
            usize::MAX
        }
    }

    /// The blocks of a chunk when they are no wider than a bucket (they
    /// then stand for its points): their entry's offset and size.
    fn summarised(&self, c: &ChunkRef) -> Option<(u64, u32)> {
        c.blocks.filter(|&(_, size)| size as usize <= self.size())
    }

    /// A chunk wider than a bucket whose blocks cannot stand for it: it
    /// is decoded.
    fn must_decode(&self, c: &ChunkRef) -> bool {
        c.count as usize > self.size() && self.summarised(c).is_none()
    }
}

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

/// Folds the chunks that must be decoded into `extremes`, decoding them on
/// every core when there are many.
fn fold_decoded(
    units: &[Unit],
    starts: &[usize],
    buckets: &Buckets,
    extremes: &mut Extremes,
) -> Result<()> {
    let wide: Vec<(usize, &Arc<ChunkIndex>, u64)> = units
        .iter()
        .zip(starts)
        .filter_map(|(u, &start)| match u {
            Unit::Chunk(index, c) if buckets.must_decode(c) => Some((start, index, c.offset)),
            _ => None,
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let partials = if threads < 2 || wide.len() < 16 {
        vec![fold_chunks(&wide, buckets)]
    } else {
        let per = wide.len().div_ceil(threads);
        on_threads(
            wide.chunks(per)
                .map(|part| move || fold_chunks(part, buckets))
                .collect(),
        )
    };
    for partial in partials {
        for (b, e) in partial?.into_iter().enumerate() {
            if let Some((lo, hi)) = e {
                keep(extremes, b, lo, hi);
            }
        }
    }
    Ok(())
}

/// The extremes of the chunks `part` (each its first point's index, its
/// index, its offset), decoded and walked point by point.
fn fold_chunks(part: &[(usize, &Arc<ChunkIndex>, u64)], buckets: &Buckets) -> Result<Extremes> {
    let mut mine: Extremes = vec![None; buckets.count];
    let mut read = ReadSpan::default();
    for &(start, index, offset) in part {
        let mut i = start;
        let mut b = buckets.of(start);
        let mut next = buckets.end(b);
        // The current bucket's extremes (`held`: it has a point), written
        // to `mine` when the walk leaves the bucket.
        let blank = Metric {
            value: 0.0,
            timestamp: 0,
            step: 0,
        };
        let (mut lo, mut hi, mut held) = (blank, blank, false);
        let (_, end) = index.generation.chunk_each(offset, &mut EachPoint(|m: Metric| {
            if i >= next {
                if held {
                    keep(&mut mine, b, lo, hi);
                    held = false;
                }
                while i >= next {
                    b += 1;
                    next = buckets.end(b);
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
        }))?;
        if held {
            keep(&mut mine, b, lo, hi);
        }
        read.add(index, offset as usize, end, true);
    }
    Ok(mine)
}

/// Folds every piece not decoded by [`fold_decoded`] into `extremes`: a
/// wide chunk by its blocks, a narrow one by its stored least and greatest
/// points, live points one by one.
fn fold_summaries(
    units: &[Unit],
    starts: &[usize],
    buckets: &Buckets,
    extremes: &mut Extremes,
) -> Result<()> {
    let mut read = ReadSpan::default();
    for (unit, &start) in units.iter().zip(starts) {
        match unit {
            Unit::Chunk(_, c) if buckets.must_decode(c) => {} // folded already
            Unit::Chunk(index, c) if c.count as usize > buckets.size() => {
                let Some((offset, _)) = buckets.summarised(c) else {
                    continue;
                };
                let (blocks, end) = index.generation.blocks_at(offset)?;
                let size = blocks.size as usize;
                for (j, (lo, hi)) in blocks.extremes().enumerate() {
                    let first = j * size;
                    let len = size.min((c.count as usize).saturating_sub(first));
                    keep(extremes, buckets.of(start + first + len / 2), lo, hi);
                }
                read.add(index, offset as usize, end, false);
            }
            Unit::Chunk(_, c) => {
                let middle = start + c.count as usize / 2;
                keep(extremes, buckets.of(middle), c.min, c.max);
            }
            Unit::Points(points) => {
                for (j, m) in points.iter().enumerate() {
                    keep(extremes, buckets.of(start + j), *m, *m);
                }
            }
        }
    }
    Ok(())
}

/// The downsampled series: the first point, each bucket's two extremes in
/// step order (a point kept once), the last point.
fn assemble(first: Metric, last: Metric, extremes: Extremes) -> Vec<Metric> {
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
    out
}

/// Bytes of generation files read, handed back to the kernel in runs (one
/// call per run) once read: when the next read is of another generation,
/// or not adjacent to the run when `adjacent` is asked, and on drop.
#[derive(Default)]
struct ReadSpan<'a> {
    span: Option<(&'a Arc<ChunkIndex>, usize, usize)>,
}

impl<'a> ReadSpan<'a> {
    /// Adds bytes `from..end` of `index`'s generation.
    fn add(&mut self, index: &'a Arc<ChunkIndex>, from: usize, end: usize, adjacent: bool) {
        match self.span {
            Some((g, run_from, to)) if Arc::ptr_eq(g, index) && (!adjacent || to == from) => {
                self.span = Some((g, run_from, end));
            }
            _ => {
                self.release();
                self.span = Some((index, from, end));
            }
        }
    }

    fn release(&mut self) {
        if let Some((g, from, to)) = self.span.take() {
            g.generation.release(from, to);
        }
    }
}

impl Drop for ReadSpan<'_> {
    fn drop(&mut self) {
        self.release();
    }
}
