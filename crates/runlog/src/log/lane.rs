//! Lanes: one directory per writer, holding that writer's segments and a
//! `LOCK` file (FORMAT.md, "Store layout").

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{StorageError, StorageResult};
use crate::held_lock::HeldLock;
pub(crate) use crate::layout::{lane_path, segment_path};
use crate::layout::{LANES_DIR, LANE_LOCK_FILE, SEGMENT_EXT};

/// A lane directory of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneDir {
    /// The lane id (its directory name, in decimal).
    pub id: u64,
    /// The lane directory.
    pub path: PathBuf,
}

/// A segment file of a lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    /// Sequence number within the lane (from the file name).
    pub sequence: u64,
    /// Path of the file.
    pub path: PathBuf,
}

/// Lists the lanes of a store, ordered by id. Entries that are not lane
/// directories are ignored.
pub fn list_lanes(store: &Path) -> StorageResult<Vec<LaneDir>> {
    let dir = store.join(LANES_DIR);
    let read = match fs::read_dir(&dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::io("read directory", dir, e)),
    };
    let mut lanes = Vec::new();
    for item in read {
        let item = item.map_err(|e| StorageError::io("read directory", &dir, e))?;
        let name = item.file_name();
        let Some(id) = name.to_str().and_then(parse_decimal) else {
            continue;
        };
        if item.path().is_dir() {
            lanes.push(LaneDir {
                id,
                path: item.path(),
            });
        }
    }
    lanes.sort_by_key(|l| l.id);
    Ok(lanes)
}

/// Lists the segment files of a lane, ordered by sequence number.
pub fn list_segments(lane: &Path) -> StorageResult<Vec<SegmentFile>> {
    let read = fs::read_dir(lane).map_err(|e| StorageError::io("read directory", lane, e))?;
    let mut segments = Vec::new();
    for item in read {
        let item = item.map_err(|e| StorageError::io("read directory", lane, e))?;
        let name = item.file_name();
        let Some(sequence) = name
            .to_str()
            .and_then(|n| n.strip_suffix(SEGMENT_EXT))
            .and_then(|n| n.strip_suffix('.'))
            .and_then(parse_decimal)
        else {
            continue;
        };
        segments.push(SegmentFile {
            sequence,
            path: item.path(),
        });
    }
    segments.sort_by_key(|s| s.sequence);
    Ok(segments)
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Tries to take the lane's exclusive lock. `Ok(None)` means another open
/// writer (in this or another process) holds it. The lock is released when
/// the returned lock is dropped or the process dies (a child it forks
/// without exec lets go of its copy: [`HeldLock`]).
pub(crate) fn try_lock(lane: &Path) -> StorageResult<Option<HeldLock>> {
    let path = lane.join(LANE_LOCK_FILE);
    let file = crate::fs_util::open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(HeldLock::new(file))),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(StorageError::io("lock", &path, e)),
    }
}

/// Creates a fresh lane directory with the lowest unused id and locks it.
pub(crate) fn create_lane(store: &Path) -> StorageResult<(LaneDir, HeldLock)> {
    let parent = store.join(LANES_DIR);
    fs::create_dir_all(&parent).map_err(|e| StorageError::io("create directory", &parent, e))?;
    let mut id = list_lanes(store)?.last().map_or(1, |l| l.id + 1);
    loop {
        let path = lane_path(store, id);
        match fs::create_dir(&path) {
            Ok(()) => {
                crate::fs_util::sync_dir(&parent)?;
                // Another process may adopt the empty lane before we lock it;
                // then try the next id.
                if let Some(lock) = try_lock(&path)? {
                    return Ok((LaneDir { id, path }, lock));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StorageError::io("create directory", &path, e)),
        }
        id += 1;
    }
}
