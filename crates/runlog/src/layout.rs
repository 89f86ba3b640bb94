//! The store's directory layout (FORMAT.md, "Store layout"): every file and
//! directory name of a store is made here, and nowhere else.
//!
//! ```text
//! <store>/RUNLOG                    marker: format version
//! <store>/lanes/<id:06>/LOCK        held by the lane's writer
//! <store>/lanes/<id:06>/<seq:08>.seg
//! <store>/compact/MANIFEST          the published generations
//! <store>/compact/<number:08>.gen   generation files
//! <store>/compact/LOCK              held by a running compaction
//! <store>/TRACKING.lock             serialises tracking checks across processes
//! <store>/artifacts/<run id>/...    run artifacts
//! <store>/sync/<server>/LOCK         held by a sync or background sync sending to it
//! <store>/sync/<server>/*.json       what that server acknowledged
//! <store>/SPOOL                      in a spool: the server it syncs to
//! <store>/OWNER                      in a spool: held by its owner
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{StorageError, StorageResult};

/// Name of the marker file that makes a directory a runlog store.
pub const MARKER_FILE: &str = "RUNLOG";

/// Directory of the lanes inside a store.
pub const LANES_DIR: &str = "lanes";

/// File a lane's writer holds locked, in the lane's directory.
pub const LANE_LOCK_FILE: &str = "LOCK";

/// Extension of segment files.
pub const SEGMENT_EXT: &str = "seg";

/// Directory of the compacted data inside a store.
pub const COMPACT_DIR: &str = "compact";

/// The manifest's file name, in [`COMPACT_DIR`].
pub const MANIFEST_FILE: &str = "MANIFEST";

/// File locked by a running compaction, in [`COMPACT_DIR`].
pub const COMPACT_LOCK_FILE: &str = "LOCK";

/// Extension of generation files.
pub const GENERATION_EXT: &str = "gen";

/// File that serialises the tracking layer's read-check-append sequences
/// across processes, in the store directory.
pub const TRACKING_LOCK_FILE: &str = "TRACKING.lock";

/// Directory of run artifacts inside a store (`artifacts/<run id>/`).
pub const ARTIFACTS_DIR: &str = "artifacts";

/// Under a store: what `runlog sync` and a spool's background sync recorded per
/// server.
#[cfg(feature = "remote")]
pub const SYNC_DIR: &str = "sync";

/// In a server's sync state: the lock one sync or background sync at a time holds.
#[cfg(feature = "remote")]
pub const SYNC_LOCK_FILE: &str = "LOCK";

/// In a spool store: the URI of the server it syncs to.
#[cfg(feature = "remote")]
pub const SPOOL_FILE: &str = "SPOOL";

/// In a spool store: the lock its owning process holds.
#[cfg(feature = "remote")]
pub const SPOOL_OWNER_FILE: &str = "OWNER";

/// The sync state of one server (`name`: its directory name) in `store`.
#[cfg(feature = "remote")]
pub fn sync_state_path(store: &Path, name: &str) -> PathBuf {
    store.join(SYNC_DIR).join(name)
}

/// Where the server writes uploads in progress, under an artifact root:
/// hidden from listings and downloads, with short names of their own (so
/// that a legal 255-byte file name still fits), renamed into place once
/// complete. A crash leaves its files there, never beside artifacts. No
/// artifact path may name it.
pub const UPLOADS_DIR: &str = ".runlog-uploads";

/// The directory of lane `id`.
pub fn lane_path(store: &Path, id: u64) -> PathBuf {
    store.join(LANES_DIR).join(format!("{id:06}"))
}

/// Segment `sequence` of the lane directory `lane`.
pub fn segment_path(lane: &Path, sequence: u64) -> PathBuf {
    lane.join(format!("{sequence:08}.{SEGMENT_EXT}"))
}

/// `compact/MANIFEST` of a store.
pub fn manifest_path(store: &Path) -> PathBuf {
    store.join(COMPACT_DIR).join(MANIFEST_FILE)
}

/// The file of generation `number`.
pub fn generation_path(store: &Path, number: u64) -> PathBuf {
    store
        .join(COMPACT_DIR)
        .join(format!("{number:08}.{GENERATION_EXT}"))
}

/// The numbers of the generation files (`<number>.gen`) in a store's
/// `compact` directory, listed by the manifest or not, in order.
pub fn generation_files(store: &Path) -> StorageResult<Vec<u64>> {
    let dir = store.join(COMPACT_DIR);
    let read = match fs::read_dir(&dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::io("read directory", dir, e)),
    };
    let mut numbers = Vec::new();
    for item in read {
        let item = item.map_err(|e| StorageError::io("read directory", &dir, e))?;
        let name = item.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_suffix(GENERATION_EXT))
            .and_then(|n| n.strip_suffix('.'))
            .and_then(|n| n.parse::<u64>().ok())
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}
