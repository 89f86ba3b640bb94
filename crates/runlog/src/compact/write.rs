//! Writing a generation file (FORMAT.md, "Generation files"): its header,
//! Replaces entries, records, chunks of at most [`MAX_CHUNK_POINTS`] points
//! per series (each followed by a Blocks entry when it holds more than
//! [`BLOCK_POINTS`]), and the seal, fsynced before the compactor publishes it.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::error::{InvalidRecord, StorageError, StorageResult};
use crate::format::{
    self, codec, encode_blocks_payload, encode_chunk_payload, encode_frame, encode_record,
    encode_replaces, ChunkHeader, Entry, EntryKind, GenerationHeader, Metric, Record,
    GENERATION_VERSION,
};
use crate::fs_util::sync_dir;

/// Most points in one Chunk entry: small enough that a step-range query
/// decodes little beyond what it returns, large enough that the chunk's
/// header (run id, key, bounds: about 100 bytes) costs under 0.03 bytes a
/// point; far below the 4 MiB entry bound even at the codec's worst, 26
/// bytes a point.
pub const MAX_CHUNK_POINTS: usize = 4096;

/// Points per block of a chunk's Blocks entry, written after every chunk
/// of more points: a plot whose buckets hold at least this many points
/// takes each block's stored extremes instead of decoding the chunk (a 1 M-
/// point series drawn at 2,000 points has buckets of about 1,000). It
/// costs 48 bytes per block, under 0.2 bytes a point.
pub const BLOCK_POINTS: usize = 256;

/// The points of one metric series, keyed by (run id, key).
pub(crate) type SeriesMap = BTreeMap<(Arc<str>, Arc<str>), Vec<Metric>>;

/// Writes generation `number`, replacing `segments`, to `path` (a
/// temporary name: the caller renames it once fsynced here) and returns
/// its size. Gives way (see [`Steering`](super::compactor::Steering))
/// before each chunk.
pub(crate) fn write_generation(
    path: &Path,
    number: u64,
    segments: &[(u64, u64)],
    records: &[Record<String>],
    series: &SeriesMap,
    give_way: &dyn Fn(),
) -> StorageResult<u64> {
    let mut out = Vec::with_capacity(1 << 20);
    out.extend_from_slice(
        &GenerationHeader {
            version: GENERATION_VERSION,
            generation: number,
        }
        .encode(),
    );
    let mut file = File::create(path).map_err(|e| StorageError::io("create", path, e))?;
    let mut entries = encode_replaces(&mut out, segments).map_err(not_reencoded)?;
    let mut written = 0u64;
    let mut flush = |out: &mut Vec<u8>, force: bool| -> StorageResult<()> {
        if force || out.len() >= 8 << 20 {
            file.write_all(out)
                .map_err(|e| StorageError::io("write", path, e))?;
            written += out.len() as u64;
            out.clear();
        }
        Ok(())
    };
    for r in records {
        encode_record(&mut out, r).map_err(not_reencoded)?;
        entries += 1;
        flush(&mut out, false)?;
    }
    let mut chunk = Vec::new();
    for ((run_id, key), points) in series {
        for part in points.chunks(MAX_CHUNK_POINTS) {
            give_way();
            let Some((min, max)) = format::extremes(part) else {
                continue; // a series has at least one point
            };
            chunk.clear();
            codec::encode(part, &mut chunk);
            let first_step = part.iter().map(|m| m.step).min().unwrap_or(0);
            let last_step = part.iter().map(|m| m.step).max().unwrap_or(0);
            let latest = part
                .iter()
                .copied()
                .reduce(|a, b| if b.is_later_than(&a) { b } else { a })
                .unwrap_or(min);
            let header = ChunkHeader {
                run_id: run_id.clone(),
                key: key.clone(),
                first_step,
                last_step,
                latest,
                min,
                max,
                count: part.len() as u32,
            };
            encode_frame(&mut out, EntryKind::Chunk, |b| {
                encode_chunk_payload(b, &header, &chunk)
            })
            .map_err(|len| {
                StorageError::Internal(format!("a chunk of {len} bytes exceeds the entry bound"))
            })?;
            entries += 1;
            if part.len() > BLOCK_POINTS {
                let blocks = format::block_extremes(part, BLOCK_POINTS);
                encode_frame(&mut out, EntryKind::Blocks, |b| {
                    encode_blocks_payload(b, BLOCK_POINTS as u32, &blocks)
                })
                .map_err(|len| {
                    StorageError::Internal(format!(
                        "a blocks entry of {len} bytes exceeds its bound"
                    ))
                })?;
                entries += 1;
            }
            flush(&mut out, false)?;
        }
    }
    Entry::Seal { entries }
        .encode(&mut out)
        .map_err(not_reencoded)?;
    flush(&mut out, true)?;
    file.sync_all()
        .map_err(|e| StorageError::io("fsync", path, e))?;
    Ok(written)
}

/// A record read from a segment that does not encode again: the reader
/// let through what the format does not hold, a bug.
fn not_reencoded(e: InvalidRecord) -> StorageError {
    StorageError::Internal(format!("a record read back does not encode again: {e}"))
}

/// Removes a file, ignoring one already gone.
pub(crate) fn remove_if_present(path: &Path) -> StorageResult<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io("remove", path, e)),
    }
}

/// Fsyncs a directory (re-exported for the compactor).
pub(crate) fn sync(dir: &Path) -> StorageResult<()> {
    sync_dir(dir)
}
