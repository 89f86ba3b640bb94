//! Walks the entries of one segment's bytes and classifies every byte:
//! valid entry, corrupt region, or torn tail (FORMAT.md, "Validity" and
//! "Recovery rules").

use crate::format::{decode_frame, decode_metric_frame, Entry, FrameCheck, SEGMENT_HEADER_LEN};

/// What the scanner found next in a segment.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanItem<'a> {
    /// A valid entry starting at `offset`.
    Entry {
        /// Byte offset of the entry's frame in the segment file.
        offset: u64,
        /// The decoded entry.
        entry: Entry<'a>,
    },
    /// Invalid bytes followed by a valid entry: corruption.
    Corrupt {
        /// Offset of the first invalid byte.
        offset: u64,
        /// Bytes up to the next valid entry.
        len: u64,
    },
    /// Invalid or incomplete bytes with no valid entry after them: what a
    /// crash in the middle of a write leaves.
    Torn {
        /// Offset of the first byte after the last valid entry.
        offset: u64,
        /// Bytes to the end of the segment.
        len: u64,
        /// How many entries the torn bytes began (at least 1).
        entries: u64,
    },
}

/// An iterator over a segment's bytes (header included; the scan starts
/// after it). Never panics and never allocates on a length read from disk.
pub struct SegmentScan<'a> {
    buf: &'a [u8],
    /// The segment offset of `buf[0]` (a window of a segment read in
    /// parts; 0 for a whole segment).
    base: usize,
    pos: usize,
}

#[cfg_attr(
    not(feature = "internals"),
    allow(dead_code, reason = "whole-segment scans serve the tests, benches and fuzz targets")
)]
impl<'a> SegmentScan<'a> {
    /// Scans `segment`, the whole file including its header.
    pub fn new(segment: &'a [u8]) -> Self {
        SegmentScan {
            buf: segment,
            base: 0,
            pos: SEGMENT_HEADER_LEN.min(segment.len()),
        }
    }

    /// Scans from `offset` (used to continue a live tail).
    pub fn starting_at(segment: &'a [u8], offset: usize) -> Self {
        SegmentScan::in_window(segment, 0, offset)
    }

    /// Scans from segment offset `offset` a window of a segment's bytes
    /// that starts at segment offset `base`: offsets and positions are the
    /// segment's. A window ends where an entry may continue: what it finds
    /// torn at its end may be whole in the file.
    #[inline]
    pub(crate) fn in_window(window: &'a [u8], base: usize, offset: usize) -> Self {
        SegmentScan {
            buf: window,
            base,
            pos: offset.saturating_sub(base).min(window.len()),
        }
    }

    /// The segment offset of the next byte to scan.
    pub fn position(&self) -> usize {
        self.base + self.pos
    }
}

/// A valid entry at `pos`: CRC matches and the payload decodes completely.
/// Metric entries, most of a segment, take the fixed-size fast path.
#[inline]
fn valid_at(buf: &[u8], pos: usize) -> Option<(Entry<'_>, usize)> {
    if let Some((series, metric, end)) = decode_metric_frame(buf, pos) {
        return Some((Entry::Metric { series, metric }, end));
    }
    match decode_frame(buf, pos) {
        FrameCheck::Valid { kind, payload, end } => {
            Entry::decode(kind, payload).ok().map(|entry| (entry, end))
        }
        FrameCheck::Incomplete | FrameCheck::Invalid => None,
    }
}

impl<'a> Iterator for SegmentScan<'a> {
    type Item = ScanItem<'a>;

    fn next(&mut self) -> Option<ScanItem<'a>> {
        let pos = self.pos;
        if pos >= self.buf.len() {
            return None;
        }
        if let Some((entry, end)) = valid_at(self.buf, pos) {
            self.pos = end;
            return Some(ScanItem::Entry {
                offset: (self.base + pos) as u64,
                entry,
            });
        }
        // Resynchronise: the next offset holding a valid entry.
        let next_valid = (pos + 1..self.buf.len()).find(|&q| valid_at(self.buf, q).is_some());
        match next_valid {
            Some(q) => {
                self.pos = q;
                Some(ScanItem::Corrupt {
                    offset: (self.base + pos) as u64,
                    len: (q - pos) as u64,
                })
            }
            None => {
                self.pos = self.buf.len();
                Some(ScanItem::Torn {
                    offset: (self.base + pos) as u64,
                    len: (self.buf.len() - pos) as u64,
                    entries: crate::format::count_frame_starts(self.buf, pos),
                })
            }
        }
    }
}
