//! Reading one segment's items from its file: a sealed segment mapped
//! (read bytes dropped from resident memory as the reader moves on), one
//! that may still change read a window at a time, so that following a
//! 64 MiB segment another process writes holds a few MiB, not the file.

use std::path::{Path, PathBuf};

use crate::error::StorageResult;
use crate::format::{
    claimed_frame_len, decode_metric_frame, decode_points_frame, Entry, Metric, Points,
    SEGMENT_HEADER_LEN,
};
use crate::log::mapped::{SegmentBytes, MAX_ENTRY_LEN, WINDOW};
use crate::log::rules::{Checked, SegmentRules};
use crate::log::scan::{ScanItem, SegmentEntries, SegmentScan};

/// Read bytes of a mapped segment are dropped from resident memory in
/// steps of this size.
const RELEASE_BEHIND: usize = 4 << 20;

/// The items of one segment, in order, from its file.
pub(crate) struct SegmentReader {
    path: PathBuf,
    bytes: SegmentBytes,
    /// Segment offset of the next byte to read.
    pos: usize,
    /// The window ends before the end of the file (as of its last read).
    more_in_file: bool,
    /// Mapped bytes before this were dropped from resident memory.
    released: usize,
    /// Where to drop more (never, when not asked to).
    release_at: usize,
}

impl SegmentReader {
    /// Reads `bytes` (as opened from `path`) from the first entry on.
    ///
    /// With `release_read`, mapped bytes read are dropped from resident
    /// memory every few MiB (a replay that holds one segment for long);
    /// readers that run on several threads at once leave it off, as each
    /// drop interrupts the process's other cores.
    pub(crate) fn new(path: &Path, bytes: SegmentBytes, release_read: bool) -> SegmentReader {
        let more_in_file = !bytes.is_mapped() && bytes.window().0.len() >= WINDOW;
        SegmentReader {
            path: path.to_owned(),
            bytes,
            pos: SEGMENT_HEADER_LEN,
            more_in_file,
            released: 0,
            release_at: if release_read {
                RELEASE_BEHIND
            } else {
                usize::MAX
            },
        }
    }

    /// Makes the next item readable: moves the window on when the entry
    /// at the reading position is not whole in it while the file holds
    /// more; `bytes_read` grows by the bytes read from the file. Call
    /// before each [`next_item`](SegmentReader::next_item).
    #[inline]
    pub(crate) fn fill(&mut self, bytes_read: &mut u64) -> StorageResult<()> {
        if self.bytes.is_mapped() {
            if self.pos >= self.release_at {
                self.release_behind();
            }
        } else if self.more_in_file && !self.whole_entry_at_pos() {
            self.read_on(bytes_read)?;
        }
        Ok(())
    }

    /// The next item and the segment offset after it; `None` at the end of
    /// the bytes the file held when last read.
    ///
    /// Damage near a window's end can scan as a torn tail there: callers
    /// pass a torn tail to
    /// [`read_on_after_torn`](SegmentReader::read_on_after_torn) and read
    /// again when it says so.
    #[inline]
    pub(crate) fn next_item(&mut self) -> Option<(ScanItem<Entry<'_>>, u64)> {
        let (window, base) = self.bytes.window();
        let mut scan = SegmentScan::<SegmentEntries>::in_window(window, base, self.pos);
        let item = scan.next();
        self.pos = scan.position();
        item.map(|item| (item, self.pos as u64))
    }

    /// The next item when it is a valid Metric entry: its offset, series,
    /// point and the offset after it; `None` (nothing read) for anything
    /// else, which [`next_item`](SegmentReader::next_item) then reads. The
    /// fast path of a walk over a run of points; call
    /// [`fill`](SegmentReader::fill) first, as for `next_item`.
    #[inline]
    pub(crate) fn next_metric(&mut self) -> Option<(u64, u32, Metric, u64)> {
        let (window, base) = self.bytes.window();
        let at = self.pos.checked_sub(base)?;
        let (series, metric, end) = decode_metric_frame(window, at)?;
        let offset = self.pos as u64;
        self.pos = base + end;
        Some((offset, series, metric, self.pos as u64))
    }

    /// The next item when it is a valid Points entry: its offset, points and
    /// the offset after it; `None` (nothing read) for anything else, as for
    /// [`next_metric`](SegmentReader::next_metric).
    #[inline]
    pub(crate) fn next_points(&mut self) -> Option<(u64, Points<'_>, u64)> {
        let (window, base) = self.bytes.window();
        let at = self.pos.checked_sub(base)?;
        let (points, end) = decode_points_frame(window, at)?;
        let offset = self.pos as u64;
        self.pos = base + end;
        Some((offset, points, self.pos as u64))
    }

    /// Whether the window holds the whole entry its header at the reading
    /// position claims (valid or not).
    #[inline]
    fn whole_entry_at_pos(&self) -> bool {
        let (window, base) = self.bytes.window();
        let at = self.pos.saturating_sub(base);
        claimed_frame_len(window, at)
            .is_some_and(|len| len <= MAX_ENTRY_LEN && at + len <= window.len())
    }

    /// After a torn tail scanned from `start`: when the window ended before
    /// the file did and `start` is not where the window begins, moves the
    /// window to `start` and returns true (read again: the tail may be
    /// damage followed by valid entries, or an entry cut by the window).
    pub(crate) fn read_on_after_torn(
        &mut self,
        start: usize,
        bytes_read: &mut u64,
    ) -> StorageResult<bool> {
        if !self.more_in_file || self.bytes.window().1 >= start {
            return Ok(false);
        }
        self.pos = start;
        self.read_on(bytes_read)?;
        Ok(true)
    }

    /// Reads what the file gained since (a segment that may change): the
    /// window moves to the next byte to read.
    pub(crate) fn read_on(&mut self, bytes_read: &mut u64) -> StorageResult<()> {
        let before = self.bytes.end() as u64;
        self.bytes.move_window(&self.path, self.pos)?;
        self.more_in_file = !self.bytes.is_mapped() && self.bytes.window().0.len() >= WINDOW;
        *bytes_read = (*bytes_read + self.bytes.end() as u64).saturating_sub(before);
        Ok(())
    }

    /// Hands every item to the end of the file, checked by `rules`, to `f`
    /// with the segment offset after it (and the rules, for the damage `f`
    /// finds itself). A torn tail that only the end of a window made is
    /// read again from where it began once the window moves on, so `f`
    /// sees a torn tail only at the end of the file (a window without a
    /// valid entry, with more file after it, is damage). For readers that take
    /// a segment whole (verify, recovery); replay, which stops and resumes
    /// inside a segment, walks the same steps itself.
    pub(crate) fn for_each_checked(
        &mut self,
        rules: &mut SegmentRules,
        bytes_read: &mut u64,
        mut f: impl FnMut(Checked<'_>, u64, &SegmentRules),
    ) -> StorageResult<()> {
        loop {
            let start = self.position();
            self.fill(bytes_read)?;
            // What a torn tail found now would be: an entry the window's end
            // cut (read again from `start`), damage before more file, or the
            // file's torn tail. Known before the item borrows the window.
            let more_in_file = self.more_in_file;
            let cut_by_window = more_in_file && self.bytes.window().1 < start;
            let Some((item, end)) = self.next_item() else {
                return Ok(());
            };
            let checked = match rules.check(item, end) {
                Checked::Torn(_) if cut_by_window => None,
                // A whole window without a valid entry, and more file after
                // it: corruption, which the next window may end.
                Checked::Torn(t) if more_in_file => Some(Checked::Damage(rules.window_damage(&t))),
                checked => Some(checked),
            };
            match checked {
                // One call site, so that `f` is inlined into the loop.
                Some(checked) => f(checked, end, rules),
                None => {
                    self.pos = start;
                    self.read_on(bytes_read)?;
                }
            }
        }
    }

    /// Frees the bytes held when all were read (a reader idle at the end of
    /// a segment another process writes); the next
    /// [`read_on`](SegmentReader::read_on) reads from where it stopped.
    pub(crate) fn release_read_window(&mut self) {
        self.bytes.release_read_window(self.pos);
    }

    /// Whether the file held more than the window, as of its last read.
    pub(crate) fn more_in_file(&self) -> bool {
        self.more_in_file
    }

    /// Segment offset of the next byte to read.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// Reads again from `pos` (before a torn entry, which a later read may
    /// find whole).
    pub(crate) fn rewind(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Segment offset after the last byte read from the file.
    pub(crate) fn end(&self) -> usize {
        self.bytes.end()
    }

    /// Drops the mapped bytes read so far from resident memory: a 64 MiB
    /// segment read whole would otherwise stay resident until the reader
    /// moves on from it.
    #[cold]
    fn release_behind(&mut self) {
        let upto = self.pos;
        self.bytes
            .release(self.released, upto.saturating_sub(self.released));
        self.released = upto;
        self.release_at = upto.saturating_add(RELEASE_BEHIND);
    }
}
