//! The decoded form of a segment entry (FORMAT.md, "Entry kinds").

use byteorder::{ByteOrder, LittleEndian as LE};

use super::frame::{encode_frame, CRC_AT, FRAME_HEADER_LEN, KIND_AT, LEN_AT};
use super::kind::{EntryKind, MAX_POINTS_PER_ENTRY, METRIC_PAYLOAD_LEN};
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
    /// Metric points under one CRC (version 6), each of a series bound
    /// earlier in the segment.
    Points(Points<'a>),
    /// End of a sealed segment.
    Seal {
        /// Number of entries before the seal in this segment.
        entries: u64,
    },
    /// Any other tracking record.
    Record(Record<&'a str>),
}

/// The points of a Points entry, read from its checked payload as they are
/// asked for.
///
/// ```
/// use runlog::format::{Entry, Metric, Points};
/// let p = Metric { value: 0.5, timestamp: 1_700_000_000_000, step: 7 };
/// assert!(Points::from_payload(&[]).is_none(), "an entry holds a point at least");
/// let mut payload = Vec::new();
/// Points::put(&mut payload, 3, &p);
/// let points = Points::from_payload(&payload).unwrap();
/// assert_eq!(points.iter().collect::<Vec<_>>(), vec![(3, p)]);
/// let mut framed = Vec::new();
/// Entry::Points(points).encode(&mut framed).unwrap();
/// assert_eq!(framed.len(), 9 + 28);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Points<'a> {
    payload: &'a [u8],
}

#[cfg_attr(
    not(feature = "internals"),
    allow(dead_code, reason = "the tests and fuzz targets build payloads; the engine reads them")
)]
impl<'a> Points<'a> {
    /// The points of a Points payload: `None` unless it holds 1 to
    /// [`MAX_POINTS_PER_ENTRY`] whole points.
    pub fn from_payload(payload: &'a [u8]) -> Option<Points<'a>> {
        let whole = payload.len().is_multiple_of(METRIC_PAYLOAD_LEN);
        let count = payload.len() / METRIC_PAYLOAD_LEN;
        (whole && (1..=MAX_POINTS_PER_ENTRY).contains(&count)).then_some(Points { payload })
    }

    /// How many points the entry holds (at least 1).
    #[allow(clippy::len_without_is_empty, reason = "an entry holds at least one point")]
    pub fn len(&self) -> usize {
        self.payload.len() / METRIC_PAYLOAD_LEN
    }

    /// Each point's series and value, in order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u32, Metric)> + 'a {
        self.payload.chunks_exact(METRIC_PAYLOAD_LEN).map(metric_payload)
    }

    /// Appends one point's 28 bytes to a payload being built.
    pub fn put(payload: &mut Vec<u8>, series: u32, p: &Metric) {
        payload.extend_from_slice(&point_bytes(series, p));
    }

    /// The payload bytes.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// A valid Points entry at `pos` of `buf` (whole, kind 7, a length of whole
/// points within the bound, CRC matching) and the offset after it; `None`
/// for anything else. The fast path of readers that walk runs of points.
#[inline]
pub(crate) fn decode_points_frame(buf: &[u8], pos: usize) -> Option<(Points<'_>, usize)> {
    let header = buf.get(pos..pos.checked_add(FRAME_HEADER_LEN)?)?;
    if header[KIND_AT] != EntryKind::Points as u8 {
        return None;
    }
    let len = LE::read_u32(&header[LEN_AT..]) as usize;
    if len > METRIC_PAYLOAD_LEN * MAX_POINTS_PER_ENTRY {
        return None;
    }
    let end = pos + FRAME_HEADER_LEN + len;
    let frame = buf.get(pos..end)?;
    if crc32fast::hash(&frame[LEN_AT..]) != LE::read_u32(&frame[CRC_AT..]) {
        return None;
    }
    Some((Points::from_payload(&frame[FRAME_HEADER_LEN..])?, end))
}

/// Builds Points entries in a buffer a point at a time: the writer
/// thread's hot path. An entry is open from its first point until
/// [`finish`](PointsEncoder::finish) frames it (or it holds
/// [`MAX_POINTS_PER_ENTRY`] points); bytes appended to the buffer between
/// two points of one entry would corrupt it, so finish it first.
#[derive(Debug, Default)]
pub(crate) struct PointsEncoder {
    /// Where the open entry's frame begins in the buffer.
    open_at: Option<usize>,
    count: usize,
}

impl PointsEncoder {
    /// Appends a point, beginning an entry when none is open; returns how
    /// many entries were begun (0 or 1).
    #[inline]
    pub(crate) fn push(&mut self, buf: &mut Vec<u8>, series: u32, p: &Metric) -> u64 {
        let begun = self.open_at.is_none();
        if begun {
            self.open_at = Some(buf.len());
            buf.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
        }
        buf.extend_from_slice(&point_bytes(series, p));
        self.count += 1;
        if self.count == MAX_POINTS_PER_ENTRY {
            self.finish(buf);
        }
        u64::from(begun)
    }

    /// Frames the open entry, if any: its length, kind and CRC. A buffer
    /// cut before the entry's header (never done by the writer, which
    /// calls [`discard`](PointsEncoder::discard) when it drops its
    /// buffer) leaves nothing to frame.
    #[inline]
    pub(crate) fn finish(&mut self, buf: &mut [u8]) {
        let Some(start) = self.open_at.take() else {
            return;
        };
        self.count = 0;
        let Some(frame) = buf.get_mut(start..).filter(|f| f.len() >= FRAME_HEADER_LEN) else {
            return;
        };
        let payload_len = (frame.len() - FRAME_HEADER_LEN) as u32;
        LE::write_u32(&mut frame[LEN_AT..], payload_len);
        frame[KIND_AT] = EntryKind::Points as u8;
        let crc = crc32fast::hash(&frame[LEN_AT..]);
        LE::write_u32(&mut frame[CRC_AT..], crc);
    }

    /// Forgets an open entry whose bytes the caller dropped.
    pub(crate) fn discard(&mut self) {
        self.open_at = None;
        self.count = 0;
    }
}

/// A point's 28 payload bytes: series, value, timestamp, step.
#[inline]
fn point_bytes(series: u32, p: &Metric) -> [u8; METRIC_PAYLOAD_LEN] {
    let mut bytes = [0u8; METRIC_PAYLOAD_LEN];
    LE::write_u32(&mut bytes[0..4], series);
    LE::write_u64(&mut bytes[4..12], p.value.to_bits());
    LE::write_i64(&mut bytes[12..20], p.timestamp);
    LE::write_i64(&mut bytes[20..28], p.step);
    bytes
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
            EntryKind::Points => Points::from_payload(payload)
                .map(Entry::Points)
                .ok_or(DecodeError("points payload is not 1 to 256 whole points")),
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
            Entry::Points(_) => EntryKind::Points,
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
            Entry::Points(points) => encode_frame(buf, kind, |b| b.extend_from_slice(points.payload)),
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
    LE::write_u32(&mut frame[LEN_AT..], METRIC_PAYLOAD_LEN as u32);
    frame[KIND_AT] = EntryKind::Metric as u8;
    frame[FRAME_HEADER_LEN..].copy_from_slice(&point_bytes(series, p));
    let crc = crc32fast::hash(&frame[4..]);
    LE::write_u32(&mut frame[0..4], crc);
    buf.extend_from_slice(&frame);
}

#[cfg(test)]
mod tests {
    use super::super::FrameCheck;
    use super::*;

    fn point(i: i64) -> Metric {
        Metric {
            value: i as f64 * 0.5,
            timestamp: 1_700_000_000_000 + i,
            step: i,
        }
    }

    #[test]
    fn the_points_encoder_fills_entries_of_at_most_256_points_in_order() {
        let mut buf = vec![0xAB]; // bytes before the first entry stay
        let mut encoder = PointsEncoder::default();
        let mut begun = 0;
        for i in 0..300 {
            begun += encoder.push(&mut buf, (i % 3) as u32, &point(i));
        }
        encoder.finish(&mut buf);
        encoder.finish(&mut buf); // nothing open: nothing changes
        assert_eq!(begun, 2);
        assert_eq!(buf.len(), 1 + 2 * FRAME_HEADER_LEN + 300 * METRIC_PAYLOAD_LEN);
        let mut read = Vec::new();
        let mut pos = 1;
        while pos < buf.len() {
            let (points, end) = decode_points_frame(&buf, pos).expect("a valid Points entry");
            // The generic reader agrees, and the entry re-encodes the same.
            let FrameCheck::Valid { kind, payload, .. } = super::super::decode_frame(&buf, pos)
            else {
                panic!("invalid frame at {pos}");
            };
            assert_eq!(Entry::decode(kind, payload), Ok(Entry::Points(points)));
            let mut again = Vec::new();
            Entry::Points(points).encode(&mut again).unwrap();
            assert_eq!(again, &buf[pos..end]);
            read.push(points.len());
            read.extend(points.iter().map(|(s, m)| (s as usize) * 1000 + m.step as usize));
            pos = end;
        }
        let mut expected = vec![256];
        expected.extend((0..256).map(|i| (i % 3) * 1000 + i));
        expected.push(44);
        expected.extend((256..300).map(|i| (i % 3) * 1000 + i));
        assert_eq!(read, expected);
    }

    #[test]
    fn a_points_payload_must_hold_whole_points_within_the_bound() {
        let mut payload = Vec::new();
        Points::put(&mut payload, 1, &point(1));
        assert!(Points::from_payload(&payload).is_some());
        payload.push(0);
        assert!(Points::from_payload(&payload).is_none(), "a partial point");
        assert!(Points::from_payload(&[]).is_none(), "no point");
        let full = vec![0u8; METRIC_PAYLOAD_LEN * MAX_POINTS_PER_ENTRY];
        assert_eq!(Points::from_payload(&full).map(|p| p.len()), Some(256));
        let over = vec![0u8; METRIC_PAYLOAD_LEN * (MAX_POINTS_PER_ENTRY + 1)];
        assert!(Points::from_payload(&over).is_none(), "past the bound");
        assert!(Entry::decode(EntryKind::Points, &payload).is_err());
        // A frame of a partial point is refused before its payload is read.
        let mut frame = Vec::new();
        encode_frame(&mut frame, EntryKind::Points, |b| b.extend_from_slice(&payload)).unwrap();
        assert_eq!(decode_points_frame(&frame, 0), None);
    }

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
