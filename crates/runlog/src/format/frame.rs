//! Entry framing (FORMAT.md, "Entry framing"):
//! `crc32: u32 | len: u32 | kind: u8 | payload: [u8; len]`, little-endian,
//! the CRC covering `len`, `kind` and `payload`.

use byteorder::{ByteOrder, LittleEndian as LE};

use super::kind::{EntryKind, MAX_PAYLOAD_LEN};

pub(super) const CRC_AT: usize = 0;
pub(super) const LEN_AT: usize = CRC_AT + size_of::<u32>();
pub(super) const KIND_AT: usize = LEN_AT + size_of::<u32>();
/// Bytes of framing before each payload.
pub const FRAME_HEADER_LEN: usize = KIND_AT + size_of::<u8>();

/// Appends one framed entry to `buf`: `write_payload` appends the payload,
/// then the length and CRC are filled in.
///
/// Fails (and leaves `buf` as it was) with the payload's length when it
/// exceeds the kind's bound.
pub fn encode_frame(
    buf: &mut Vec<u8>,
    kind: EntryKind,
    write_payload: impl FnOnce(&mut Vec<u8>),
) -> Result<(), usize> {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    write_payload(buf);
    let payload_len = buf.len() - start - FRAME_HEADER_LEN;
    if payload_len > kind.payload_len_bounds().1 {
        buf.truncate(start);
        return Err(payload_len);
    }
    let frame = &mut buf[start..];
    LE::write_u32(&mut frame[LEN_AT..], payload_len as u32);
    frame[KIND_AT] = kind as u8;
    let crc = crc32fast::hash(&frame[LEN_AT..]);
    LE::write_u32(&mut frame[CRC_AT..], crc);
    Ok(())
}

/// The length of the frame at `pos` (header and payload) as its header
/// claims it, unchecked; `None` when the header runs past the end of
/// `buf`. For readers of part of a segment, to tell whether the entry is
/// whole in it without checking it twice.
#[inline]
pub fn claimed_frame_len(buf: &[u8], pos: usize) -> Option<usize> {
    let header = buf.get(pos..pos.checked_add(FRAME_HEADER_LEN)?)?;
    Some(FRAME_HEADER_LEN + LE::read_u32(&header[LEN_AT..]) as usize)
}

/// What [`decode_frame`] found at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameCheck<'a> {
    /// A frame whose length fits its kind and whose CRC matches.
    Valid {
        /// The entry kind.
        kind: EntryKind,
        /// The payload bytes (CRC checked, not yet decoded).
        payload: &'a [u8],
        /// Offset just past the frame.
        end: usize,
    },
    /// The frame header or its payload runs past the end of the bytes.
    Incomplete,
    /// Unknown kind, a length out of the kind's bounds, or a CRC mismatch.
    Invalid,
}

/// Checks the frame starting at `pos` in `buf`. Never panics, never
/// allocates.
#[inline]
pub fn decode_frame(buf: &[u8], pos: usize) -> FrameCheck<'_> {
    let Some(rest) = buf.get(pos..) else {
        return FrameCheck::Incomplete;
    };
    let Some(header) = rest.get(..FRAME_HEADER_LEN) else {
        return FrameCheck::Incomplete;
    };
    let Ok(kind) = EntryKind::try_from(header[KIND_AT]) else {
        return FrameCheck::Invalid;
    };
    let len = LE::read_u32(&header[LEN_AT..]) as usize;
    let (min, max) = kind.payload_len_bounds();
    if len < min || len > max {
        return FrameCheck::Invalid;
    }
    let Some(frame) = rest.get(..FRAME_HEADER_LEN + len) else {
        return FrameCheck::Incomplete;
    };
    if crc32fast::hash(&frame[LEN_AT..]) != LE::read_u32(&frame[CRC_AT..]) {
        return FrameCheck::Invalid;
    }
    FrameCheck::Valid {
        kind,
        payload: &frame[FRAME_HEADER_LEN..],
        end: pos + FRAME_HEADER_LEN + len,
    }
}

/// Follows length fields from `pos` without checking CRCs, to estimate how
/// many entries a damaged region held. Always at least 1 for a non-empty region.
pub(crate) fn count_frame_starts(buf: &[u8], mut pos: usize) -> u64 {
    let mut count = 0;
    while pos < buf.len() {
        count += 1;
        let Some(header) = buf.get(pos..pos + FRAME_HEADER_LEN) else {
            break;
        };
        let len = LE::read_u32(&header[LEN_AT..]) as usize;
        if len > MAX_PAYLOAD_LEN {
            break;
        }
        pos += FRAME_HEADER_LEN + len;
    }
    count
}
