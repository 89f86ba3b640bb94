//! The bytes of a segment for reading: memory-mapped when the segment is
//! sealed, read into memory when it may still change. The only `unsafe`
//! code of the crate.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Deref;
use std::path::Path;

use memmap2::{Mmap, UncheckedAdvice};

use crate::error::{Error, Result};

/// A segment's bytes.
pub(crate) enum SegmentBytes {
    /// A sealed segment, mapped.
    Mapped(Mmap),
    /// A segment that may still grow or be cut, copied.
    Read(Vec<u8>),
}

impl SegmentBytes {
    /// Maps `path` when `sealed`, else reads it. An empty file is read
    /// (mapping zero bytes is an error on some systems).
    pub(crate) fn open(path: &Path, sealed: bool) -> Result<Self> {
        if !sealed {
            return std::fs::read(path)
                .map(SegmentBytes::Read)
                .map_err(|e| Error::io("read", path, e));
        }
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", path, e))?
            .len();
        if len == 0 {
            return Ok(SegmentBytes::Read(Vec::new()));
        }
        // SAFETY: the map is read-only and runlog never writes, truncates or
        // rewrites a segment that is not the last of its lane: every earlier
        // segment was sealed and fsynced before the next was created, and
        // recovery only touches last segments. Deleting the file (a future
        // compaction) keeps the mapping valid. Another program truncating the
        // file under us would make reads fault; that is outside the contract
        // of FORMAT.md, like any other foreign write into the store.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io("mmap", path, e))?;
        Ok(SegmentBytes::Mapped(map))
    }
}

impl SegmentBytes {
    /// Brings a read (not mapped) segment up to date with its file: keeps
    /// its first `keep` bytes (entries already read, which nothing rewrites)
    /// and reads the rest again, since the bytes after them may have been a
    /// torn tail that recovery has cut since. A mapped segment is sealed and
    /// never changes.
    pub(crate) fn catch_up(&mut self, path: &Path, keep: usize) -> Result<()> {
        let SegmentBytes::Read(bytes) = self else {
            return Ok(());
        };
        let mut file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        bytes.truncate(keep);
        file.seek(SeekFrom::Start(bytes.len() as u64))
            .map_err(|e| Error::io("seek", path, e))?;
        file.read_to_end(bytes)
            .map_err(|e| Error::io("read", path, e))?;
        Ok(())
    }
}

impl SegmentBytes {
    /// Whether the bytes are a map of the file (not a copy).
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, SegmentBytes::Mapped(_))
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

impl Deref for SegmentBytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            SegmentBytes::Mapped(m) => m,
            SegmentBytes::Read(v) => v,
        }
    }
}
