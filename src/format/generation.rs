//! The payloads of the entries only generation files hold (FORMAT.md,
//! "Generation files"): Replaces (the segments a generation replaces) and
//! Chunk (a header, then a series' points in the [`codec`](super::codec)).

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::format::{
    encode_frame, put_i64, put_str, put_u32, put_u64, Cursor, DecodeError, EntryKind, Metric,
    MAX_REPLACES_PER_ENTRY,
};

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
pub fn encode_replaces(out: &mut Vec<u8>, segments: &[(u64, u64)]) -> Result<u64> {
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
        .map_err(|len| Error::InvalidRecord(format!("a replaces entry of {len} bytes")))?;
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
