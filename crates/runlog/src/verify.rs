//! `verify`: every rule of FORMAT.md checked over every segment of a store,
//! without changing it. Each segment is readable alone (its dictionary is
//! its own), so segments are checked in parallel, one thread per core.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{StorageError, StorageResult};
use crate::format::{block_extremes, Entry, Metric};
use crate::layout::{generation_files, generation_path};
use crate::log::generation::{Generation, GenerationItem};
use crate::log::lane::{list_lanes, list_segments, SegmentFile};
use crate::log::manifest::Manifest;
use crate::log::reader::SegmentReader;
use crate::log::rules::{Checked, SegmentRules};
use crate::log::Damage;
use crate::replay::{check_is_store, open_segment, Dictionary, Opened, ReplayReport};

/// Checks every CRC and rule of a store without changing it, and counts what
/// it holds. The summary is what a full [`Replay`](crate::engine::Replay) would
/// report, with its damage sorted by lane, segment and offset.
///
/// ```
/// # fn main() -> runlog::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let store = runlog::engine::Store::open(dir.path())?;
/// store.log_metric("run", "loss", runlog::Metric { value: 0.5, timestamp: 0, step: 0 })?;
/// store.close()?;
/// let summary = runlog::engine::verify(dir.path())?;
/// assert!(summary.corrupt.is_empty() && summary.torn.is_empty());
/// assert_eq!(summary.metric_points, 1);
/// # Ok(()) }
/// ```
pub fn verify(path: impl AsRef<Path>) -> StorageResult<ReplayReport> {
    verify_with_progress(path, &|_, _| {})
}

/// [`verify`], calling `progress(files checked, files to check)` as each
/// segment or generation file is checked (from the checking threads), for
/// progress bars.
pub fn verify_with_progress(
    path: impl AsRef<Path>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> StorageResult<ReplayReport> {
    let path = path.as_ref();
    let marker_damage = check_is_store(path)?;
    // A missing or damaged manifest is reported (rebuilt from the
    // generations when they tell what they replace; else the segments
    // are still checked, the generations cannot be).
    let mut store_damage: Vec<Damage> = marker_damage.into_iter().collect();
    let (manifest, unreadable) = match Manifest::load(path) {
        Ok(m) => {
            store_damage.extend(m.damage());
            (m, false)
        }
        Err(e) => match e.damage().cloned() {
            Some(d) => {
                store_damage.push(d);
                (Manifest::default(), true)
            }
            None => return Err(e),
        },
    };
    let next = manifest.next_number();
    for number in generation_files(path)? {
        let listed = manifest.generations.iter().any(|g| g.number == number);
        // Numbers from the next one on are a killed compaction's output,
        // which the next compaction removes: not damage (unless there is
        // no manifest to tell).
        if !listed && (number < next || unreadable) {
            let file = generation_path(path, number);
            store_damage.push(Damage {
                lane: 0,
                segment: number,
                offset: 0,
                len: std::fs::metadata(&file).map_or(0, |m| m.len()),
                reason: format!("{}: a generation file no manifest lists", file.display()),
            });
        }
    }
    let replaced = manifest.replaced();
    let lanes = list_lanes(path)?;
    let mut tasks = Vec::new();
    for g in &manifest.generations {
        tasks.push(Task::Generation(g.number));
    }
    for lane in &lanes {
        let segments = list_segments(&lane.path)?;
        let last = segments.last().map(|s| s.sequence);
        for seg in segments {
            if replaced.contains(&(lane.id, seg.sequence)) {
                continue; // replaced by a generation; a compaction was killed before deleting it
            }
            let is_last = Some(seg.sequence) == last;
            tasks.push(Task::Segment(lane.id, seg, is_last));
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(tasks.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let total = tasks.len() as u64;
    progress(0, total);
    let partials: Vec<StorageResult<ReplayReport>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut acc = ReplayReport::default();
                    while let Some(task) = tasks.get(next.fetch_add(1, Ordering::Relaxed)) {
                        match task {
                            Task::Segment(lane, seg, is_last) => {
                                verify_segment(*lane, seg, *is_last, &mut acc)?
                            }
                            Task::Generation(n) => verify_generation(path, *n, &mut acc)?,
                        }
                        progress(done.fetch_add(1, Ordering::Relaxed) as u64 + 1, total);
                    }
                    Ok(acc)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(StorageError::io(
                        "verify",
                        path,
                        std::io::Error::other("a verify thread panicked"),
                    ))
                })
            })
            .collect()
    });
    let mut summary = ReplayReport {
        lanes: lanes.len() as u64,
        generations: manifest.generations.len() as u64,
        corrupt: store_damage,
        ..ReplayReport::default()
    };
    for part in partials {
        let part = part?;
        summary.segments += part.segments;
        summary.entries += part.entries;
        summary.events += part.events;
        summary.metric_points += part.metric_points;
        summary.bytes += part.bytes;
        summary.torn.extend(part.torn);
        summary.corrupt.extend(part.corrupt);
    }
    summary.torn.sort_by_key(|t| (t.lane, t.segment, t.offset));
    summary
        .corrupt
        .sort_by_key(|d| (d.lane, d.segment, d.offset));
    Ok(summary)
}

/// A unit of verification work.
enum Task {
    Segment(u64, SegmentFile, bool),
    Generation(u64),
}

/// Checks one generation file: every entry's CRC, the seal, every chunk's
/// points. Damage is reported with lane 0 and the generation's number.
fn verify_generation(store: &Path, number: u64, acc: &mut ReplayReport) -> StorageResult<()> {
    // Damage in a generation is reported; any other error stops verify.
    let report = |acc: &mut ReplayReport, e: StorageError| match e {
        StorageError::Corrupt(d) => {
            acc.corrupt.push(d);
            Ok(())
        }
        e => Err(e),
    };
    let generation = match Generation::open(&generation_path(store, number), number) {
        Ok(g) => g,
        Err(e) => return report(acc, e),
    };
    if let Some(e) = generation.header_damage() {
        report(acc, e)?;
    }
    // What came just before: a Blocks entry must follow a chunk and hold
    // exactly the extremes of its blocks; after damage it cannot be checked.
    enum Before {
        Other,
        Damage,
        Chunk(Vec<Metric>),
    }
    let mut before = Before::Other;
    for item in generation.items() {
        let damage = match item {
            Ok((_, GenerationItem::Record(_))) => {
                before = Before::Other;
                acc.entries += 1;
                acc.events += 1;
                None
            }
            Ok((offset, GenerationItem::Chunk(_, bytes))) => {
                acc.entries += 1;
                match generation.decode_chunk(offset, bytes) {
                    Ok(points) => {
                        acc.events += points.len() as u64;
                        acc.metric_points += points.len() as u64;
                        before = Before::Chunk(points);
                        None
                    }
                    Err(e) => {
                        before = Before::Damage;
                        Some(e)
                    }
                }
            }
            Ok((offset, GenerationItem::Blocks(blocks))) => {
                acc.entries += 1;
                // Compared as bits: a NaN extreme equals itself.
                let bits = |(lo, hi): (Metric, Metric)| {
                    [lo, hi].map(|m| (m.value.to_bits(), m.timestamp, m.step))
                };
                let matches = match std::mem::replace(&mut before, Before::Other) {
                    Before::Damage => true, // its chunk is reported
                    Before::Other => false,
                    Before::Chunk(points) => {
                        let want = block_extremes(&points, blocks.size as usize);
                        blocks.extremes().map(bits).eq(want.into_iter().map(bits))
                    }
                };
                (!matches).then(|| {
                    generation.damage(
                        offset,
                        blocks.entry_len() as u64,
                        "a blocks entry that does not hold the extremes of the chunk before it",
                    )
                })
            }
            Err(e) => {
                before = Before::Damage;
                Some(e)
            }
        };
        if let Some(e) = damage {
            report(acc, e)?;
        }
    }
    Ok(())
}

/// Checks one segment, adding what it finds to `acc`.
fn verify_segment(
    lane: u64,
    seg: &SegmentFile,
    is_last: bool,
    acc: &mut ReplayReport,
) -> StorageResult<()> {
    let bytes = match open_segment(lane, seg, is_last, acc)? {
        Opened::Ready(bytes, header_damage) => {
            acc.corrupt.extend(header_damage);
            bytes
        }
        Opened::Skipped => return Ok(()),
        Opened::Unreadable(d) => {
            acc.corrupt.push(d);
            return Ok(());
        }
    };
    let mut rules = SegmentRules::new(lane, seg.sequence);
    let mut dict = Dictionary::default();
    let mut reader = SegmentReader::new(&seg.path, bytes, false);
    let mut bytes_read = 0; // counted when the segment was opened
    reader.for_each_checked(
        &mut rules,
        &mut bytes_read,
        |checked, end, rules| match checked {
            Checked::Entry { offset, entry } => {
                acc.entries += 1;
                match entry {
                    Entry::Series { id, run_id, key } => dict.bind(id, run_id, key),
                    Entry::Metric { series, .. } if dict.get(series).is_some() => {
                        acc.events += 1;
                        acc.metric_points += 1;
                    }
                    Entry::Metric { series, .. } => {
                        acc.corrupt.push(rules.unbound_damage(offset, end, series))
                    }
                    Entry::Points(points) => {
                        let (bound, unbound) = dict.each_bound(&points, |_, _, _| {});
                        acc.events += bound;
                        acc.metric_points += bound;
                        if let Some(series) = unbound {
                            acc.corrupt.push(rules.unbound_damage(offset, end, series));
                        }
                    }
                    Entry::Seal { .. } => {}
                    Entry::Record(_) => acc.events += 1,
                }
            }
            Checked::Damage(d) => acc.corrupt.push(d),
            Checked::Torn(t) => match rules.torn_damage(&t, is_last) {
                Some(d) => acc.corrupt.push(d),
                None => acc.torn.push(t),
            },
        },
    )?;
    acc.bytes += bytes_read;
    if let Some(d) = rules.end_damage(reader.end() as u64, is_last) {
        acc.corrupt.push(d);
    }
    Ok(())
}
