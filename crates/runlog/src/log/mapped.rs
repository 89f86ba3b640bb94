//! The bytes of a segment for reading: memory-mapped when the segment is
//! sealed, read into memory a window at a time when it may still change.
//! One of the crate's three `unsafe` places, with `tracking/exit.rs`
//! (`atexit`) and `index/decode.rs` (filling a vector's spare
//! capacity).
#![allow(
    unsafe_code,
    reason = "memory maps (memmap2) and madvise: see the SAFETY comments"
)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use memmap2::{Mmap, UncheckedAdvice};

use crate::error::{StorageError, StorageResult};
use crate::format::{FRAME_HEADER_LEN, MAX_PAYLOAD_LEN};

/// Most bytes of a segment that may still change held in memory at once:
/// a reader following another process's 64 MiB segment holds this much of
/// it, not the whole file. Twice the longest entry, so that a window
/// moved to the start of an entry holds it whole, and the next ones.
pub(crate) const WINDOW: usize = 2 * MAX_ENTRY_LEN;

/// The longest entry: a frame header and the longest payload.
pub(crate) const MAX_ENTRY_LEN: usize = FRAME_HEADER_LEN + MAX_PAYLOAD_LEN;

/// A segment's bytes.
pub(crate) enum SegmentBytes {
    /// A sealed segment, mapped.
    Mapped(Mmap),
    /// A segment that may still grow or be cut: at most [`WINDOW`] bytes of
    /// it from segment offset `base` on, copied.
    Window {
        /// The segment offset of `bytes[0]`.
        base: usize,
        /// The bytes read.
        bytes: Vec<u8>,
    },
}

impl SegmentBytes {
    /// Maps `path` when `sealed`, else reads its first window. An empty
    /// file is read (mapping zero bytes is an error on some systems).
    pub(crate) fn open(path: &Path, sealed: bool) -> StorageResult<Self> {
        if !sealed {
            let mut window = SegmentBytes::Window {
                base: 0,
                bytes: Vec::new(),
            };
            window.move_window(path, 0)?;
            return Ok(window);
        }
        let file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StorageError::io("stat", path, e))?
            .len();
        if len == 0 {
            return Ok(SegmentBytes::Window {
                base: 0,
                bytes: Vec::new(),
            });
        }
        // SAFETY: the map is read-only and runlog never writes, truncates or
        // rewrites a segment that is not the last of its lane: every earlier
        // segment was sealed and fsynced before the next was created, and
        // recovery only touches last segments. Deleting the file (a future
        // compaction) keeps the mapping valid. Another program truncating the
        // file under us would make reads fault; that is outside the contract
        // of FORMAT.md, like any other foreign write into the store.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| StorageError::io("mmap", path, e))?;
        Ok(SegmentBytes::Mapped(map))
    }
}

impl SegmentBytes {
    /// Frees the window's bytes once every one was read (`from`, the next
    /// offset to read, is its end): a reader idle at the end of another
    /// process's segment holds nothing until it reads on. A map, or a window
    /// with bytes left, is kept.
    pub(crate) fn release_read_window(&mut self, from: usize) {
        if let SegmentBytes::Window { base, bytes } = self {
            if *base + bytes.len() == from {
                *bytes = Vec::new();
                *base = from;
            }
        }
    }

    /// Moves the window of a segment that may change to start at segment
    /// offset `from` (the bytes before it were read, and nothing rewrites
    /// them) and reads up to [`WINDOW`] bytes from there, reading again
    /// what the window held after `from`: it may have been a torn tail that
    /// recovery has cut since. A mapped segment is sealed and never
    /// changes.
    pub(crate) fn move_window(&mut self, path: &Path, from: usize) -> StorageResult<()> {
        let SegmentBytes::Window { base, bytes } = self else {
            return Ok(());
        };
        let mut file = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
        file.seek(SeekFrom::Start(from as u64))
            .map_err(|e| StorageError::io("seek", path, e))?;
        bytes.clear();
        bytes.shrink_to(WINDOW);
        *base = from;
        file.take(WINDOW as u64)
            .read_to_end(bytes)
            .map_err(|e| StorageError::io("read", path, e))?;
        Ok(())
    }
}

impl SegmentBytes {
    /// Whether the bytes are a map of the file (not a copy).
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, SegmentBytes::Mapped(_))
    }

    /// The bytes held, and the segment offset of the first.
    #[inline]
    pub(crate) fn window(&self) -> (&[u8], usize) {
        match self {
            SegmentBytes::Mapped(m) => (m, 0),
            SegmentBytes::Window { base, bytes } => (bytes, *base),
        }
    }

    /// The segment offset after the last byte held.
    pub(crate) fn end(&self) -> usize {
        let (bytes, base) = self.window();
        base + bytes.len()
    }

    /// Lets the kernel drop `len` bytes from `offset` of a mapped file
    /// from this process's resident memory, for bytes read once (an index
    /// build, a decoded chunk): touched again, they are read back from the
    /// file. Copied bytes stay; a range past the end is ignored.
    pub(crate) fn release(&self, offset: usize, len: usize) {
        let SegmentBytes::Mapped(map) = self else {
            return;
        };
        let len = len.min(map.len().saturating_sub(offset));
        if len == 0 {
            return;
        }
        // SAFETY: the map is read-only and shared (`Mmap::map`), never
        // written through: MADV_DONTNEED only drops its pages, and a later
        // read faults the same bytes back in from the file. No reference
        // into the map is invalidated. A failure only leaves pages resident.
        let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) };
    }
}
