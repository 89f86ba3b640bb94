//! Walks the entries of one segment's (or generation file's) bytes and
//! classifies every byte: valid entry, corrupt region, or torn tail
//! (FORMAT.md, "Validity" and "Recovery rules"). Which entries are valid
//! is the file's [`EntryRules`]: the one definition of resynchronisation
//! serves both kinds of file.

use std::marker::PhantomData;

use crate::format::{decode_frame, decode_metric_frame, Entry, FrameCheck, SEGMENT_HEADER_LEN};

/// Which entries a kind of file holds: a valid entry at `pos` (frame, CRC
/// and payload by the file's kinds) and the offset after it, or `None`.
pub trait EntryRules<'a> {
    /// A decoded entry of this kind of file.
    type Entry;
    /// The valid entry at `pos` of `buf`, if any. Never panics.
    fn valid_at(buf: &'a [u8], pos: usize) -> Option<(Self::Entry, usize)>;
}

/// The entries of a segment: the dictionary, points, records and a seal.
#[derive(Debug, Clone, Copy)]
pub struct SegmentEntries;

impl<'a> EntryRules<'a> for SegmentEntries {
    type Entry = Entry<'a>;

    /// Metric entries, most of a segment, take the fixed-size fast path.
    #[inline]
    fn valid_at(buf: &'a [u8], pos: usize) -> Option<(Entry<'a>, usize)> {
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
}

/// What the scanner found next in a segment: an entry of type `E` (the
/// file's [`EntryRules`]), or damage.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanItem<E> {
    /// A valid entry starting at `offset`.
    Entry {
        /// Byte offset of the entry's frame in the segment file.
        offset: u64,
        /// The decoded entry.
        entry: E,
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
pub struct SegmentScan<'a, R: EntryRules<'a> = SegmentEntries> {
    buf: &'a [u8],
    /// The segment offset of `buf[0]` (a window of a segment read in
    /// parts; 0 for a whole segment).
    base: usize,
    pos: usize,
    rules: PhantomData<R>,
}

#[cfg_attr(
    not(feature = "internals"),
    allow(dead_code, reason = "whole-segment scans serve the tests, benches and fuzz targets")
)]
impl<'a> SegmentScan<'a> {
    /// Scans `segment`, the whole file including its header.
    pub fn new(segment: &'a [u8]) -> Self {
        SegmentScan::in_window(segment, 0, SEGMENT_HEADER_LEN)
    }

    /// Scans from `offset` (used to continue a live tail).
    pub fn starting_at(segment: &'a [u8], offset: usize) -> Self {
        SegmentScan::in_window(segment, 0, offset)
    }
}

impl<'a, R: EntryRules<'a>> SegmentScan<'a, R> {
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
            rules: PhantomData,
        }
    }

    /// The segment offset of the next byte to scan.
    pub fn position(&self) -> usize {
        self.base + self.pos
    }
}

impl<'a, R: EntryRules<'a>> Iterator for SegmentScan<'a, R> {
    type Item = ScanItem<R::Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        let pos = self.pos;
        if pos >= self.buf.len() {
            return None;
        }
        if let Some((entry, end)) = R::valid_at(self.buf, pos) {
            self.pos = end;
            return Some(ScanItem::Entry {
                offset: (self.base + pos) as u64,
                entry,
            });
        }
        // Resynchronise: the next offset holding a valid entry.
        let next_valid = (pos + 1..self.buf.len()).find(|&q| R::valid_at(self.buf, q).is_some());
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
