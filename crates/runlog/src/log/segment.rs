//! Segment files: creating and appending the active segment, reading and
//! checking a segment's header.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{StorageError, StorageResult};
use crate::format::{Entry, SegmentHeader, SEGMENT_HEADER_LEN, SEGMENT_VERSION};
use crate::fs_util::{sync_dir, sync_dir_io};
use crate::log::lane::segment_path;

/// An I/O failure of the writer, with the operation that failed.
pub(crate) type WriteResult<T> = std::result::Result<T, (&'static str, io::Error)>;

/// The segment a writer appends to.
#[derive(Debug)]
pub(crate) struct ActiveSegment {
    file: File,
    path: PathBuf,
    sequence: u64,
    len: u64,
    entries: u64,
}

impl ActiveSegment {
    /// Creates segment `sequence` of a lane: header written and fsynced, the
    /// directory fsynced.
    pub(crate) fn create(lane_dir: &Path, lane: u64, sequence: u64) -> StorageResult<Self> {
        let path = segment_path(lane_dir, sequence);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| StorageError::io("create", &path, e))?;
        let header = SegmentHeader {
            version: SEGMENT_VERSION,
            lane,
            sequence,
        };
        file.write_all(&header.encode())
            .and_then(|()| file.sync_all())
            .map_err(|e| StorageError::io("write segment header", &path, e))?;
        sync_dir(lane_dir)?;
        Ok(ActiveSegment {
            file,
            path,
            sequence,
            len: SEGMENT_HEADER_LEN as u64,
            entries: 0,
        })
    }

    /// Reopens an existing, recovered segment to append after `len` bytes
    /// holding `entries` entries.
    pub(crate) fn reopen(path: &Path, sequence: u64, len: u64, entries: u64) -> StorageResult<Self> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| StorageError::io("open", path, e))?;
        Ok(ActiveSegment {
            file,
            path: path.to_owned(),
            sequence,
            len,
            entries,
        })
    }

    /// The segment's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The segment's sequence number.
    pub(crate) fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Bytes in the file.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Entries in the file.
    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    /// Deletes the segment (it holds no entry): a writer that closes without
    /// having written leaves no empty file behind.
    /// The handle stays open until the segment is dropped; it is never written again.
    pub(crate) fn remove(&mut self) -> WriteResult<()> {
        fs::remove_file(&self.path).map_err(|e| ("remove empty segment", e))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        sync_dir_io(dir).map_err(|e| ("fsync directory", e))
    }

    /// Appends encoded entries with one system call (`write_all` loops only on
    /// short writes). On failure the file is cut back to its last good length,
    /// best effort, so that no torn entry stays behind.
    pub(crate) fn append(&mut self, bytes: &[u8], entries: u64) -> WriteResult<()> {
        if let Err(e) = self.file.write_all(bytes) {
            let _ = self.file.set_len(self.len);
            return Err(("write", e));
        }
        self.len += bytes.len() as u64;
        self.entries += entries;
        Ok(())
    }

    /// Fsyncs the data written so far.
    pub(crate) fn sync(&mut self) -> WriteResult<()> {
        self.file.sync_data().map_err(|e| ("fsync", e))
    }

    /// Appends the seal entry and fsyncs: the segment is never written again.
    pub(crate) fn seal(&mut self) -> WriteResult<()> {
        let mut buf = Vec::with_capacity(32);
        Entry::Seal {
            entries: self.entries,
        }
        .encode(&mut buf)
        .map_err(|e| ("encode seal", io::Error::other(e.to_string())))?;
        self.append(&buf, 1)?;
        self.sync()
    }
}

/// What a segment's header says about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeaderCheck {
    /// Valid, and names the lane and sequence the file is filed under.
    Good,
    /// Fails its magic or CRC (or is cut short): damage to report. Its
    /// fields repeat what the file's path says, and the store marker fixes
    /// the segment version, so the entries after it are read all the same.
    Damaged(String),
    /// Valid, but names another lane or sequence: a file put where it does
    /// not belong. Reported and not read, lest its entries count twice.
    Misfiled(String),
}

/// Checks a segment's header against the lane and sequence it is filed
/// under. `Err` is a version this build cannot read.
pub(crate) fn check_header(
    bytes: &[u8],
    path: &Path,
    lane: u64,
    sequence: u64,
) -> StorageResult<HeaderCheck> {
    let header = match SegmentHeader::decode(bytes) {
        Ok(h) => h,
        Err(e) => {
            return Ok(HeaderCheck::Damaged(format!(
                "segment header: {}; read as lane {lane} segment {sequence}, as its path says",
                e
            )))
        }
    };
    if header.version != SEGMENT_VERSION {
        return Err(StorageError::UnsupportedVersion {
            path: path.to_owned(),
            found: header.version,
            supported: SEGMENT_VERSION,
        });
    }
    if header.lane != lane || header.sequence != sequence {
        return Ok(HeaderCheck::Misfiled(format!(
            "segment header names lane {} segment {}, but the file is lane {lane} segment {sequence}",
            header.lane, header.sequence
        )));
    }
    Ok(HeaderCheck::Good)
}
