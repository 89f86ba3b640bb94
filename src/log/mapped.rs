//! The bytes of a segment for reading: memory-mapped when the segment is
//! sealed, read into memory when it may still change. The only `unsafe`
//! code of the crate.
#![allow(unsafe_code)]

use std::fs::File;
use std::ops::Deref;
use std::path::Path;

use memmap2::Mmap;

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
