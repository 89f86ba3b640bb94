//! Entry kinds and the decoded form of an entry (FORMAT.md, "Entry kinds").

use byteorder::{ByteOrder, LittleEndian as LE};

use super::frame::{encode_frame, FRAME_HEADER_LEN, MAX_PAYLOAD_LEN};
use super::record::Record;
use super::wire::{put_str, put_u32, put_u64, Cursor, DecodeError};
use crate::error::{Error, Result};

/// Payload size of a metric entry: series `u32`, value `f64`, timestamp
/// `i64`, step `i64`.
pub(crate) const METRIC_PAYLOAD_LEN: usize =
    size_of::<u32>() + size_of::<f64>() + size_of::<i64>() + size_of::<i64>();
/// Payload size of a seal entry: the entry count `u64`.
pub(crate) const SEAL_PAYLOAD_LEN: usize = size_of::<u64>();

macro_rules! entry_kinds {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        /// The one-byte kind of an entry. Code 0 is never valid, so zeroed
        /// bytes never decode as an entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum EntryKind {
            $($(#[$doc])* $name = $code,)*
        }

        impl TryFrom<u8> for EntryKind {
            type Error = u8;
            fn try_from(code: u8) -> Result<Self, u8> {
                match code {
                    $($code => Ok(EntryKind::$name),)*
                    other => Err(other),
                }
            }
        }

        impl EntryKind {
            /// Every kind, in code order.
            pub const ALL: &'static [EntryKind] = &[$(EntryKind::$name,)*];
        }
    };
}

entry_kinds! {
    /// Dictionary: binds a series number to a (run id, metric key) pair for
    /// the rest of the segment.
    Series = 1,
    /// A metric point of a series declared earlier in the segment.
    Metric = 2,
    /// The last entry of a sealed segment, with the number of entries before it.
    Seal = 3,
    /// A compressed chunk of one metric series (generation files only).
    Chunk = 4,
    /// Segments a generation replaces (generation files only): with them
    /// the manifest can be rebuilt.
    Replaces = 5,
    /// [`Record::Param`].
    Param = 16,
    /// [`Record::SetTag`].
    SetTag = 17,
    /// [`Record::DeleteTag`].
    DeleteTag = 18,
    /// [`Record::CreateRun`].
    CreateRun = 19,
    /// [`Record::UpdateRunStatus`].
    UpdateRunStatus = 20,
    /// [`Record::EndRun`].
    EndRun = 21,
    /// [`Record::RenameRun`].
    RenameRun = 22,
    /// [`Record::DeleteRun`].
    DeleteRun = 23,
    /// [`Record::RestoreRun`].
    RestoreRun = 24,
    /// [`Record::CreateExperiment`].
    CreateExperiment = 25,
    /// [`Record::RenameExperiment`].
    RenameExperiment = 26,
    /// [`Record::DeleteExperiment`].
    DeleteExperiment = 27,
    /// [`Record::RestoreExperiment`].
    RestoreExperiment = 28,
    /// [`Record::SetExperimentTag`].
    SetExperimentTag = 29,
    /// [`Record::DeleteExperimentTag`].
    DeleteExperimentTag = 30,
    /// [`Record::LogInput`].
    LogInput = 31,
}

/// Largest payload of a Series entry (a run id and a metric key).
pub const MAX_SERIES_PAYLOAD_LEN: usize = 4 << 10;
/// Largest payload of a record other than a dataset input: MLflow's largest
/// value (a tag, 8,000 characters) is at most 32 KB of UTF-8.
pub const MAX_RECORD_PAYLOAD_LEN: usize = 64 << 10;

/// Most segments one Replaces entry lists (a generation with more has
/// several).
pub const MAX_REPLACES_PER_ENTRY: usize = 4096;

/// Largest payload of a Chunk entry (FORMAT.md, "Entry kinds"): 4,096
/// points at the codec's worst (about 27 bytes each) plus the header, with
/// room to spare; small enough that resynchronising past damage in a
/// generation stays cheap.
pub const MAX_CHUNK_PAYLOAD_LEN: usize = 256 << 10;

impl EntryKind {
    /// The smallest and largest payload length a frame of this kind may
    /// declare (FORMAT.md, "Entry kinds"); anything outside is invalid
    /// before the CRC is even checked. Tight bounds also keep the reader's
    /// resynchronisation past damage cheap: a candidate entry costs at most
    /// its kind's bound to check.
    pub fn payload_len_bounds(self) -> (usize, usize) {
        match self {
            EntryKind::Metric => (METRIC_PAYLOAD_LEN, METRIC_PAYLOAD_LEN),
            EntryKind::Seal => (SEAL_PAYLOAD_LEN, SEAL_PAYLOAD_LEN),
            // series u32 + two strings of at least their u32 length each
            EntryKind::Series => (12, MAX_SERIES_PAYLOAD_LEN),
            EntryKind::LogInput => (0, MAX_PAYLOAD_LEN),
            // two strings, eleven 8-byte fields, a codec chunk of 5+ bytes;
            // 4,096 points take at most about 110 KB
            EntryKind::Chunk => (101, MAX_CHUNK_PAYLOAD_LEN),
            // a count u32, then (lane u64, sequence u64) pairs
            EntryKind::Replaces => (4, 4 + 16 * MAX_REPLACES_PER_ENTRY),
            _ => (0, MAX_RECORD_PAYLOAD_LEN),
        }
    }
}

/// One metric point of a series declared by a [`Entry::Series`] entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint {
    /// The series number (segment-scoped dictionary).
    pub series: u32,
    /// The value; NaN and infinities are kept bit for bit.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// The training step.
    pub step: i64,
}

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
    /// A metric point.
    Metric(MetricPoint),
    /// End of a sealed segment.
    Seal {
        /// Number of entries before the seal in this segment.
        entries: u64,
    },
    /// Any other tracking record.
    Record(Record<&'a str>),
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
                Ok(Entry::Metric(MetricPoint {
                    series: LE::read_u32(&payload[0..4]),
                    value: f64::from_bits(LE::read_u64(&payload[4..12])),
                    timestamp: LE::read_i64(&payload[12..20]),
                    step: LE::read_i64(&payload[20..28]),
                }))
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
            Entry::Metric(_) => EntryKind::Metric,
            Entry::Seal { .. } => EntryKind::Seal,
            Entry::Record(r) => r.kind(),
        }
    }

    /// Appends the framed entry to `buf`.
    pub fn encode(&self, buf: &mut Vec<u8>) -> Result<()> {
        let kind = self.kind();
        let res = match self {
            Entry::Metric(p) => {
                encode_metric(buf, p);
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

fn too_large(kind: EntryKind, len: usize) -> Error {
    Error::InvalidRecord(format!(
        "{kind:?} entry of {len} bytes exceeds its {}-byte limit",
        kind.payload_len_bounds().1
    ))
}

/// Appends a framed record entry; fails (leaving `buf` as it was) when the
/// record exceeds its kind's bound.
pub(crate) fn encode_record<S: AsRef<str>>(buf: &mut Vec<u8>, record: &Record<S>) -> Result<()> {
    let kind = record.kind();
    encode_frame(buf, kind, |b| record.encode_payload(b)).map_err(|len| too_large(kind, len))
}

/// Appends a framed metric entry: the hot path of the writer thread. The
/// 37 bytes are assembled on the stack and appended with one copy.
#[inline]
pub(crate) fn encode_metric(buf: &mut Vec<u8>, p: &MetricPoint) {
    let mut frame = [0u8; FRAME_HEADER_LEN + METRIC_PAYLOAD_LEN];
    LE::write_u32(&mut frame[4..8], METRIC_PAYLOAD_LEN as u32);
    frame[8] = EntryKind::Metric as u8;
    LE::write_u32(&mut frame[9..13], p.series);
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
        let p = MetricPoint {
            series: 0xDEAD_BEEF,
            value: f64::NAN,
            timestamp: -5,
            step: i64::MAX,
        };
        let mut fast = Vec::new();
        encode_metric(&mut fast, &p);
        let mut generic = Vec::new();
        encode_frame(&mut generic, EntryKind::Metric, |b| {
            put_u32(b, p.series);
            put_u64(b, p.value.to_bits());
            put_u64(b, p.timestamp as u64);
            put_u64(b, p.step as u64);
        })
        .unwrap();
        assert_eq!(fast, generic);
    }
}
