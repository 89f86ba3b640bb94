//! The decoded form of a segment entry (FORMAT.md, "Entry kinds").

use byteorder::{ByteOrder, LittleEndian as LE};

use super::frame::{encode_frame, CRC_AT, FRAME_HEADER_LEN, KIND_AT, LEN_AT};
use super::kind::{EntryKind, METRIC_PAYLOAD_LEN};
use super::metric::Metric;
use super::record::Record;
use super::wire::{put_str, put_u32, put_u64, Cursor, DecodeError};
use crate::error::InvalidRecord;

/// An entry decoded from a segment, borrowing its strings from the segment.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// Dictionary: series `id` is `key` of run `run_id` in this segment.
    Series {
        /// Series number.
        id: u32,
        /// The run id.
        run_id: &'a str,
        /// The metric key.
        key: &'a str,
    },
    /// A point of the series numbered `series` by a Series entry earlier
    /// in the segment.
    Metric {
        /// The series number (segment-scoped dictionary).
        series: u32,
        /// The point; NaN and infinities are kept bit for bit.
        metric: Metric,
    },
    /// End of a sealed segment.
    Seal {
        /// Number of entries before the seal in this segment.
        entries: u64,
    },
    /// Any other tracking record.
    Record(Record<&'a str>),
}

/// A valid Metric entry at `pos` of `buf` (FORMAT.md, "Validity": whole,
/// kind 2 with its fixed length, CRC matching): its series and point and the
/// offset after it. `None` for anything else, valid or not, which the
/// general [`decode_frame`](super::decode_frame) then classifies: the fast
/// path of readers that walk runs of points.
#[inline]
pub(crate) fn decode_metric_frame(buf: &[u8], pos: usize) -> Option<(u32, Metric, usize)> {
    let end = pos.checked_add(FRAME_HEADER_LEN + METRIC_PAYLOAD_LEN)?;
    let frame = buf.get(pos..end)?;
    if frame[KIND_AT] != EntryKind::Metric as u8
        || LE::read_u32(&frame[LEN_AT..]) != METRIC_PAYLOAD_LEN as u32
    {
        return None;
    }
    if crc32fast::hash(&frame[LEN_AT..]) != LE::read_u32(&frame[CRC_AT..]) {
        return None;
    }
    let (series, metric) = metric_payload(&frame[FRAME_HEADER_LEN..]);
    Some((series, metric, end))
}

/// The series and point of a Metric payload of the right length.
#[inline]
fn metric_payload(payload: &[u8]) -> (u32, Metric) {
    let metric = Metric {
        value: f64::from_bits(LE::read_u64(&payload[4..12])),
        timestamp: LE::read_i64(&payload[12..20]),
        step: LE::read_i64(&payload[20..28]),
    };
    (LE::read_u32(&payload[0..4]), metric)
}

impl<'a> Entry<'a> {
    /// Decodes a payload whose frame was already checked.
    #[inline]
    pub fn decode(kind: EntryKind, payload: &'a [u8]) -> Result<Self, DecodeError> {
        match kind {
            EntryKind::Metric => {
                if payload.len() != METRIC_PAYLOAD_LEN {
                    return Err(DecodeError("metric payload has the wrong size"));
                }
                let (series, metric) = metric_payload(payload);
                Ok(Entry::Metric { series, metric })
            }
            EntryKind::Series => {
                let mut c = Cursor::new(payload);
                let entry = Entry::Series {
                    id: c.u32()?,
                    run_id: c.str()?,
                    key: c.str()?,
                };
                c.finish()?;
                Ok(entry)
            }
            EntryKind::Seal => {
                let mut c = Cursor::new(payload);
                let entries = c.u64()?;
                c.finish()?;
                Ok(Entry::Seal { entries })
            }
            EntryKind::Chunk | EntryKind::Replaces => Err(DecodeError(
                "a chunk or replaces entry belongs in a generation file, never in a segment",
            )),
            _ => Record::decode_payload(kind, payload).map(Entry::Record),
        }
    }

    /// The entry's kind.
    pub fn kind(&self) -> EntryKind {
        match self {
            Entry::Series { .. } => EntryKind::Series,
            Entry::Metric { .. } => EntryKind::Metric,
            Entry::Seal { .. } => EntryKind::Seal,
            Entry::Record(r) => r.kind(),
        }
    }

    /// Appends the framed entry to `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) -> Result<(), InvalidRecord> {
        let kind = self.kind();
        let res = match self {
            Entry::Metric { series, metric } => {
                encode_metric(buf, *series, metric);
                return Ok(());
            }
            Entry::Series { id, run_id, key } => encode_frame(buf, kind, |b| {
                put_u32(b, *id);
                put_str(b, run_id);
                put_str(b, key);
            }),
            Entry::Seal { entries } => encode_frame(buf, kind, |b| put_u64(b, *entries)),
            Entry::Record(r) => return encode_record(buf, r),
        };
        res.map_err(|len| too_large(kind, len))
    }
}

fn too_large(kind: EntryKind, len: usize) -> InvalidRecord {
    InvalidRecord(format!(
        "{kind:?} entry of {len} bytes exceeds its {}-byte limit",
        kind.payload_len_bounds().1
    ))
}

/// Appends a framed record entry; fails (leaving `buf` as it was) when the
/// record exceeds its kind's bound.
pub(crate) fn encode_record<S: AsRef<str>>(buf: &mut Vec<u8>, record: &Record<S>) -> Result<(), InvalidRecord> {
    let kind = record.kind();
    encode_frame(buf, kind, |b| record.encode_payload(b)).map_err(|len| too_large(kind, len))
}

/// Appends a framed metric entry: the hot path of the writer thread. The
/// 37 bytes are assembled on the stack and appended with one copy.
#[inline]
pub(crate) fn encode_metric(buf: &mut Vec<u8>, series: u32, p: &Metric) {
    let mut frame = [0u8; FRAME_HEADER_LEN + METRIC_PAYLOAD_LEN];
    LE::write_u32(&mut frame[4..8], METRIC_PAYLOAD_LEN as u32);
    frame[8] = EntryKind::Metric as u8;
    LE::write_u32(&mut frame[9..13], series);
    LE::write_u64(&mut frame[13..21], p.value.to_bits());
    LE::write_i64(&mut frame[21..29], p.timestamp);
    LE::write_i64(&mut frame[29..37], p.step);
    let crc = crc32fast::hash(&frame[4..]);
    LE::write_u32(&mut frame[0..4], crc);
    buf.extend_from_slice(&frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metric_fast_path_writes_the_same_bytes_as_the_generic_frame() {
        let series = 0xDEAD_BEEF;
        let p = Metric {
            value: f64::NAN,
            timestamp: -5,
            step: i64::MAX,
        };
        let mut fast = Vec::new();
        encode_metric(&mut fast, series, &p);
        let mut generic = Vec::new();
        encode_frame(&mut generic, EntryKind::Metric, |b| {
            put_u32(b, series);
            put_u64(b, p.value.to_bits());
            put_u64(b, p.timestamp as u64);
            put_u64(b, p.step as u64);
        })
        .unwrap();
        assert_eq!(fast, generic);
    }
}
