//! A whole history decoded straight into the vector returned: each of the
//! machine's cores decodes a contiguous run of chunks into its own range of
//! the vector's spare capacity, so the points are written once, with no
//! per-chunk vector and no concatenation, and the fresh pages are faulted
//! in by all cores at once. (10 M points are 240 MB: allocating, faulting
//! in and copying that memory cost more than decoding it.)

use std::mem::MaybeUninit;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::format::codec::PutPoint;
use crate::format::Metric;
use crate::index::chunks::{ChunkIndex, ChunkRef};

/// A piece of a history to lay down in order.
pub(crate) enum Piece<'a> {
    /// A chunk of `count` points (its header's count, checked when decoded).
    Chunk(&'a Arc<ChunkIndex>, &'a ChunkRef),
    /// Points already in memory.
    Points(&'a [Metric]),
}

impl Piece<'_> {
    fn count(&self) -> usize {
        match self {
            Piece::Chunk(_, c) => c.count as usize,
            Piece::Points(p) => p.len(),
        }
    }
}

/// Every point of `pieces`, in their order, in one vector (`spare`'s memory,
/// its points dropped: a caller that reads long histories again and again
/// reuses one buffer instead of having the kernel clear fresh pages each
/// time); and whether they are in (step, timestamp) order (checked as they
/// are written).
pub(crate) fn decode_into_one(
    pieces: &[Piece<'_>],
    spare: Vec<Metric>,
) -> Result<(Vec<Metric>, bool)> {
    decode_with(pieces, PARALLEL_FROM, spare)
}

/// Runs each job on a (scoped) thread of its own; the results in the jobs'
/// order, a job whose thread panicked giving [`Error::Internal`].
pub(crate) fn on_threads<T: Send>(jobs: Vec<impl FnOnce() -> Result<T> + Send>) -> Vec<Result<T>> {
    std::thread::scope(|s| {
        let workers: Vec<_> = jobs.into_iter().map(|job| s.spawn(job)).collect();
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(Error::Internal("a chunk decoding thread panicked".into()))
                })
            })
            .collect()
    })
}

/// Fewer points than this are decoded on the calling thread.
const PARALLEL_FROM: usize = 1 << 16;

fn decode_with(
    pieces: &[Piece<'_>],
    parallel_from: usize,
    spare: Vec<Metric>,
) -> Result<(Vec<Metric>, bool)> {
    let total: usize = pieces.iter().map(Piece::count).sum();
    let mut out = spare;
    out.clear();
    if out.capacity() < total {
        out = Vec::with_capacity(total);
        advise_huge_pages(&out);
    }
    // Contiguous groups of pieces of about equal point counts, one a core.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, pieces.len().max(1));
    let per_thread = total.div_ceil(threads).max(1);
    let mut groups: Vec<(&[Piece<'_>], usize)> = Vec::new(); // (pieces, points)
    let mut start = 0;
    let mut points = 0;
    for (i, piece) in pieces.iter().enumerate() {
        points += piece.count();
        if points >= per_thread || i + 1 == pieces.len() {
            groups.push((&pieces[start..=i], points));
            start = i + 1;
            points = 0;
        }
    }
    // Split the spare capacity into the groups' ranges.
    let mut ranges: Vec<&mut [MaybeUninit<Metric>]> = Vec::with_capacity(groups.len());
    let mut rest = &mut out.spare_capacity_mut()[..total];
    for (_, n) in &groups {
        let (range, tail) = rest.split_at_mut(*n);
        ranges.push(range);
        rest = tail;
    }
    let filled: Vec<Result<Filled>> = if groups.len() < 2 || total < parallel_from {
        groups
            .iter()
            .zip(ranges)
            .map(|((group, _), range)| fill(group, range))
            .collect()
    } else {
        on_threads(
            groups
                .iter()
                .zip(ranges)
                .map(|((group, _), range)| move || fill(group, range))
                .collect(),
        )
    };
    let mut written = 0;
    let mut sorted = true;
    let mut bounds: Vec<(Option<Key>, Option<Key>)> = Vec::with_capacity(groups.len());
    for ((_, n), result) in groups.iter().zip(filled) {
        let Filled {
            count: wrote,
            sorted: in_order,
            first,
            last,
        } = result?;
        sorted &= in_order;
        bounds.push((first, last));
        if wrote != *n {
            return Err(Error::Internal(format!(
                "chunks held {wrote} points where their headers say {n}"
            )));
        }
        written += wrote;
    }
    if written != total {
        return Err(Error::Internal(format!(
            "{written} points decoded of {total}"
        )));
    }
    #[allow(
        unsafe_code,
        reason = "set_len after every slot of the spare capacity was written"
    )]
    // SAFETY: the groups' ranges partition `out`'s spare capacity
    // `0..total` (split in order, sizes summing to `total`, checked just
    // above), and `fill` returned, for each range, the number of its slots
    // it wrote in order from the first, which equals the range's length:
    // every element of `0..total` is initialized. `Metric` is `Copy`, so
    // nothing needs dropping on the error paths above.
    unsafe {
        out.set_len(total);
    }
    // Each range was checked in order; the ranges must follow each other.
    let mut previous: Option<Key> = None;
    for (first, last) in bounds {
        if let (Some(p), Some(f)) = (previous, first) {
            sorted &= p <= f;
        }
        previous = last.or(previous);
    }
    Ok((out, sorted))
}

/// The order of a history: step, then timestamp.
type Key = (i64, i64);

/// What one thread wrote: how many points, whether in order, the first
/// and last keys.
struct Filled {
    count: usize,
    sorted: bool,
    first: Option<Key>,
    last: Option<Key>,
}

/// Writes the points of `group` into `range` in order; the number written
/// (never more than the range holds: a chunk with more points than its
/// header said is an error).
fn fill(group: &[Piece<'_>], range: &mut [MaybeUninit<Metric>]) -> Result<Filled> {
    let mut out = RangeFill {
        range,
        at: 0,
        overflowed: false,
        sorted: true,
        first: None,
        last: None,
    };
    for piece in group {
        match piece {
            Piece::Points(points) => {
                if out.at + points.len() > out.range.len() {
                    return Err(overflow());
                }
                for m in points.iter() {
                    out.put(*m);
                }
            }
            Piece::Chunk(index, c) => {
                index.generation.chunk_each(c.offset, &mut out)?;
            }
        }
        if out.overflowed {
            return Err(overflow());
        }
    }
    Ok(Filled {
        count: out.at,
        sorted: out.sorted,
        first: out.first,
        last: out.last,
    })
}

/// A thread's range of the result, written in order from its first slot,
/// and the order of what was written.
struct RangeFill<'r> {
    range: &'r mut [MaybeUninit<Metric>],
    /// The next slot.
    at: usize,
    /// A point came with no slot left for it (dropped).
    overflowed: bool,
    sorted: bool,
    first: Option<Key>,
    last: Option<Key>,
}

impl PutPoint for RangeFill<'_> {
    #[inline(always)]
    fn put(&mut self, m: Metric) {
        let Some(slot) = self.range.get_mut(self.at) else {
            self.overflowed = true;
            return;
        };
        slot.write(m);
        self.at += 1;
        let key = (m.step, m.timestamp);
        match self.last {
            Some(l) => self.sorted &= l <= key,
            None => self.first = Some(key),
        }
        self.last = Some(key);
    }
}

fn overflow() -> Error {
    Error::Internal("a chunk held more points than its header says".into())
}

/// Asks the kernel to back a large result with 2 MiB pages where it can:
/// the points are written once, all of them, and filling 240 MB (10 M
/// points) with 4 KiB pages takes 60,000 page faults. A hint: when the
/// kernel does not take it, nothing changes.
fn advise_huge_pages(out: &Vec<Metric>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        const MADV_HUGEPAGE: i32 = 14;
        #[allow(unsafe_code, reason = "the declaration of libc's madvise")]
        unsafe extern "C" {
            fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
        }
        let bytes = out.capacity() * size_of::<Metric>();
        if bytes < 4 * HUGE {
            return;
        }
        let start = out.as_ptr() as usize;
        let (first, end) = (start.next_multiple_of(HUGE), (start + bytes) & !(HUGE - 1));
        if end <= first {
            return;
        }
        #[allow(unsafe_code, reason = "madvise on the vector's own allocation")]
        // SAFETY: `first..end` lies inside the vector's allocation (aligned
        // inward); MADV_HUGEPAGE changes how the kernel backs the pages,
        // not their contents or mapping, and its failure is harmless.
        unsafe {
            madvise(first as *mut std::ffi::c_void, end - first, MADV_HUGEPAGE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(steps: impl Iterator<Item = i64>) -> Vec<Metric> {
        steps
            .map(|step| Metric {
                value: step as f64,
                timestamp: 7,
                step,
            })
            .collect()
    }

    #[test]
    fn small_pieces_split_over_threads() {
        // Small enough for Miri (`cargo +nightly miri test --lib
        // history_decode`), which checks the unsafe `set_len`.
        let a = points(0..40);
        let b = points(40..75);
        let c = points(75..76);
        let (all, sorted) = decode_with(
            &[
                Piece::Points(&a),
                Piece::Points(&[]),
                Piece::Points(&b),
                Piece::Points(&c),
            ],
            0,
            Vec::new(),
        )
        .expect("decode");
        assert!(sorted);
        assert!(all.iter().enumerate().all(|(i, m)| m.step == i as i64));
        // Into a used buffer, larger and smaller than needed: its old
        // points are gone.
        for spare in [points(0..500), points(0..3)] {
            let (again, _) =
                decode_with(&[Piece::Points(&a), Piece::Points(&b)], 0, spare).expect("decode");
            assert_eq!(again, all[..75]);
        }
        let (all, sorted) =
            decode_with(&[Piece::Points(&b), Piece::Points(&a)], 0, Vec::new()).expect("decode");
        assert!(!sorted);
        assert_eq!((all[0].step, all[35].step, all.len()), (40, 0, 75));
    }

    #[test]
    #[cfg_attr(miri, ignore)] // a generation file on disk
    fn a_chunk_whose_header_miscounts_its_points_is_refused() {
        use crate::compact::{write_generation, SeriesMap};
        use crate::log::generation::Generation;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("1.gen");
        let mut series = SeriesMap::new();
        series.insert((Arc::from("r"), Arc::from("m")), points(0..100));
        write_generation(&path, 1, &[], &[], &series, &|| {}).expect("write");
        let generation = Generation::open(&path, 1).expect("generation");
        let index = Arc::new(ChunkIndex::build(generation).expect("index"));
        let chunk = index.chunks.values().next().expect("a series")[0];
        assert_eq!(chunk.count, 100);
        let (all, sorted) =
            decode_into_one(&[Piece::Chunk(&index, &chunk)], Vec::new()).expect("decode");
        assert!(sorted);
        assert_eq!(all, points(0..100));
        // More points than the header says: refused, nothing written past
        // the range; fewer: refused too.
        for count in [99, 101] {
            let miscounted = ChunkRef { count, ..chunk };
            let err = decode_into_one(&[Piece::Chunk(&index, &miscounted)], Vec::new())
                .expect_err("a miscounted chunk");
            assert!(matches!(err, Error::Internal(_)), "{count}: {err}");
        }
    }

    #[test]
    #[cfg_attr(miri, ignore)] // 300,000 points: minutes under Miri
    fn pieces_are_laid_down_in_order_across_threads() {
        // Large enough to be split over threads.
        let a = points(0..150_000);
        let b = points(150_000..300_000);
        let c = points(300_000..300_010);
        let (all, sorted) = decode_into_one(
            &[Piece::Points(&a), Piece::Points(&b), Piece::Points(&c)],
            Vec::new(),
        )
        .expect("decode");
        assert!(sorted);
        assert_eq!(all.len(), 300_010);
        assert!(all.iter().enumerate().all(|(i, m)| m.step == i as i64));

        // Out of order between pieces, and within one.
        let (all, sorted) =
            decode_into_one(&[Piece::Points(&b), Piece::Points(&a)], Vec::new()).expect("decode");
        assert!(!sorted, "pieces out of order");
        assert_eq!(all[0].step, 150_000);
        assert_eq!(all[150_000].step, 0);
        let mut d = points(0..100_000);
        d.swap(10, 20);
        let (_, sorted) =
            decode_into_one(&[Piece::Points(&a), Piece::Points(&d)], Vec::new()).expect("d");
        assert!(!sorted, "a piece out of order");

        // Empty pieces and none at all.
        let (all, sorted) =
            decode_into_one(&[Piece::Points(&[]), Piece::Points(&c)], Vec::new()).expect("c");
        assert!(sorted && all.len() == 10);
        let (all, sorted) = decode_into_one(&[], Vec::new()).expect("nothing");
        assert!(sorted && all.is_empty());
    }
}
