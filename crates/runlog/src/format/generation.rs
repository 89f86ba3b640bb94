//! The payloads of the entries only generation files hold (FORMAT.md,
//! "Generation files"): Replaces (the segments a generation replaces),
//! Chunk (a header, then a series' points in the [`codec`](super::codec))
//! and Blocks (the extremes of each run of a chunk's points).

use std::sync::Arc;

use crate::error::InvalidRecord;
use crate::format::{
    encode_frame, put_i64, put_str, put_u32, put_u64, Cursor, DecodeError, EntryKind, Metric,
    MAX_BLOCKS_PER_ENTRY, MAX_REPLACES_PER_ENTRY,
};
use crate::format::kind::{BLOCKS_FIXED_LEN, BLOCK_EXTREMES_LEN};

/// The fixed fields of a Chunk entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkHeader {
    /// The run.
    pub run_id: Arc<str>,
    /// The metric key.
    pub key: Arc<str>,
    /// Smallest step in the chunk.
    pub first_step: i64,
    /// Largest step in the chunk.
    pub last_step: i64,
    /// The chunk's latest point by MLflow's rule.
    pub latest: Metric,
    /// Its point with the least value (IEEE total order; the first of equals).
    pub min: Metric,
    /// Its point with the greatest value (IEEE total order; the first of equals).
    pub max: Metric,
    /// Its number of points.
    pub count: u32,
}

/// Appends the Replaces entries listing `segments` (lane, sequence): one
/// entry per [`MAX_REPLACES_PER_ENTRY`] segments, at least one.
pub fn encode_replaces(out: &mut Vec<u8>, segments: &[(u64, u64)]) -> Result<u64, InvalidRecord> {
    let mut entries = 0;
    let mut parts: Vec<&[(u64, u64)]> = segments.chunks(MAX_REPLACES_PER_ENTRY).collect();
    if parts.is_empty() {
        parts.push(&[]);
    }
    for part in parts {
        encode_frame(out, EntryKind::Replaces, |b| {
            put_u32(b, part.len() as u32);
            for (lane, sequence) in part {
                put_u64(b, *lane);
                put_u64(b, *sequence);
            }
        })
        .map_err(|len| InvalidRecord(format!("a replaces entry of {len} bytes")))?;
        entries += 1;
    }
    Ok(entries)
}

/// The (lane, sequence) pairs of a Replaces entry's payload.
pub fn decode_replaces(payload: &[u8]) -> std::result::Result<Vec<(u64, u64)>, DecodeError> {
    let mut c = Cursor::new(payload);
    let n = c.u32()? as usize;
    if n > MAX_REPLACES_PER_ENTRY || c.remaining() != n * 16 {
        return Err(DecodeError(
            "a replaces entry whose count does not match its length",
        ));
    }
    (0..n).map(|_| Ok((c.u64()?, c.u64()?))).collect()
}

/// The least and the greatest point of `points` by value (IEEE total
/// order; the first of equal ones), as a Chunk header and a Blocks entry
/// hold them; `None` when there is none.
///
/// ```
/// use runlog::Metric;
/// let p = |value, step| Metric { value, timestamp: 0, step };
/// let (lo, hi) = runlog::format::extremes(&[p(2.0, 0), p(1.0, 1), p(3.0, 2), p(1.0, 3)]).unwrap();
/// assert_eq!((lo.step, hi.step), (1, 2));
/// ```
pub fn extremes(points: &[Metric]) -> Option<(Metric, Metric)> {
    let (first, rest) = points.split_first()?;
    let (mut lo, mut hi) = (*first, *first);
    for m in rest {
        if m.value.total_cmp(&lo.value).is_lt() {
            lo = *m;
        }
        if m.value.total_cmp(&hi.value).is_gt() {
            hi = *m;
        }
    }
    Some((lo, hi))
}

/// The [`extremes`] of each run of `size` points of `points` (the last run
/// may be shorter): what a Blocks entry holds. `size` must not be 0.
pub fn block_extremes(points: &[Metric], size: usize) -> Vec<(Metric, Metric)> {
    points
        .chunks(size.max(1))
        .filter_map(extremes)
        .collect()
}

/// A Blocks entry (FORMAT.md, "Entry kinds", kind 6): the least and the
/// greatest point of each run of `size` points of the Chunk entry just
/// before it, in the chunk's order.
#[derive(Debug, Clone, Copy)]
pub struct ChunkBlocks<'a> {
    /// Points per block (the last block may hold fewer).
    pub size: u32,
    /// The blocks' extremes, 48 bytes each.
    bytes: &'a [u8],
}

impl<'a> ChunkBlocks<'a> {
    /// Number of blocks (at least one).
    pub fn count(&self) -> usize {
        self.bytes.len() / BLOCK_EXTREMES_LEN
    }

    /// The entry's size with its frame.
    pub fn entry_len(&self) -> usize {
        crate::format::FRAME_HEADER_LEN + BLOCKS_FIXED_LEN + self.bytes.len()
    }

    /// Whether the blocks cover a chunk of `count` points: one block per
    /// `size` points, the last one possibly shorter.
    pub fn covers(&self, count: u32) -> bool {
        self.size > 0 && self.count() == count.div_ceil(self.size) as usize
    }

    /// Each block's least and greatest point, in order.
    pub fn extremes(&self) -> impl Iterator<Item = (Metric, Metric)> + 'a {
        self.bytes.chunks_exact(BLOCK_EXTREMES_LEN).map(|b| {
            let field = |at: usize| {
                let mut le = [0u8; 8];
                le.copy_from_slice(&b[at..at + 8]);
                le
            };
            let point = |at: usize| Metric {
                value: f64::from_bits(u64::from_le_bytes(field(at))),
                timestamp: i64::from_le_bytes(field(at + 8)),
                step: i64::from_le_bytes(field(at + 16)),
            };
            (point(0), point(24))
        })
    }
}

/// Appends a Blocks entry's payload: the points per block, then each
/// block's least and greatest point.
pub fn encode_blocks_payload(out: &mut Vec<u8>, size: u32, blocks: &[(Metric, Metric)]) {
    put_u32(out, size);
    for (lo, hi) in blocks {
        for m in [lo, hi] {
            put_u64(out, m.value.to_bits());
            put_i64(out, m.timestamp);
            put_i64(out, m.step);
        }
    }
}

/// Reads a Blocks entry's payload.
pub fn decode_blocks_payload(payload: &[u8]) -> std::result::Result<ChunkBlocks<'_>, DecodeError> {
    let size = Cursor::new(payload).u32()?;
    let bytes = &payload[BLOCKS_FIXED_LEN.min(payload.len())..];
    let n = bytes.len() / BLOCK_EXTREMES_LEN;
    if size == 0 || !bytes.len().is_multiple_of(BLOCK_EXTREMES_LEN) || n == 0 || n > MAX_BLOCKS_PER_ENTRY {
        return Err(DecodeError(
            "a blocks entry whose block size or length is not valid",
        ));
    }
    Ok(ChunkBlocks { size, bytes })
}

/// Appends a Chunk entry's payload: the header's fields, then the codec
/// bytes of its points (FORMAT.md, "Entry kinds", kind 4).
pub fn encode_chunk_payload(out: &mut Vec<u8>, header: &ChunkHeader, points: &[u8]) {
    put_str(out, &header.run_id);
    put_str(out, &header.key);
    put_i64(out, header.first_step);
    put_i64(out, header.last_step);
    for m in [header.latest, header.min, header.max] {
        put_u64(out, m.value.to_bits());
        put_i64(out, m.timestamp);
        put_i64(out, m.step);
    }
    out.extend_from_slice(points);
}

/// Splits a Chunk entry's payload into its header and its codec bytes
/// (the point count is the codec's first field).
pub fn decode_chunk_payload(
    payload: &[u8],
) -> std::result::Result<(ChunkHeader, &[u8]), DecodeError> {
    let mut c = Cursor::new(payload);
    let run_id = c.str()?;
    let key = c.str()?;
    let first_step = c.i64()?;
    let last_step = c.i64()?;
    let mut point = || -> std::result::Result<Metric, DecodeError> {
        let value = f64::from_bits(c.u64()?);
        let timestamp = c.i64()?;
        let step = c.i64()?;
        Ok(Metric {
            value,
            timestamp,
            step,
        })
    };
    let latest = point()?;
    let min = point()?;
    let max = point()?;
    let chunk = &payload[payload.len() - c.remaining()..];
    let count = chunk
        .first_chunk::<4>()
        .map(|b| u32::from_le_bytes(*b))
        .ok_or(DecodeError("a chunk entry has no codec bytes"))?;
    Ok((
        ChunkHeader {
            run_id: run_id.into(),
            key: key.into(),
            first_step,
            last_step,
            latest,
            min,
            max,
            count,
        },
        chunk,
    ))
}
