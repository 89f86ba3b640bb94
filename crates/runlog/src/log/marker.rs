//! The store marker (FORMAT.md, "Store marker"): the file that makes a
//! directory a runlog store and names its format version. Read, checked,
//! created and mended here, for every process that opens a store.

use std::fs;
use std::io;
use std::path::Path;

use crate::error::{StorageError, StorageResult};
use crate::format::{
    StoreMarker, FORMAT_VERSION, STORE_MARKER_LEN, STORE_VERSION_PLAIN, STORE_VERSION_POINTS,
};
use crate::fs_util::write_atomic;
use crate::layout::{LANES_DIR, MARKER_FILE};
use crate::log::recovery::Damage;

/// Makes `path` a store directory, or checks that it is one, for a writer:
/// a marker with one flipped bit is mended (its damage returned), and one
/// below version 6 raised to it, as the writer writes Points entries
/// (FORMAT.md, "Versions").
pub(crate) fn ensure_store_dir(path: &Path) -> StorageResult<Option<Damage>> {
    check_not_a_file(path)?;
    fs::create_dir_all(path).map_err(|e| StorageError::io("create directory", path, e))?;
    let marker = path.join(MARKER_FILE);
    let checked = match fs::read(&marker) {
        Ok(bytes) => check_marker(&marker, &bytes)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let Some(reason) = foreign_content(path)? else {
                let bytes = StoreMarker {
                    version: STORE_VERSION_POINTS,
                }
                .encode();
                write_atomic(&marker, &bytes)?;
                return Ok(None);
            };
            // Another process may have made the store since the marker was
            // looked for: its marker decides.
            match fs::read(&marker) {
                Ok(bytes) => check_marker(&marker, &bytes)?,
                Err(_) => {
                    return Err(StorageError::NotAStore {
                        path: path.to_owned(),
                        reason,
                    })
                }
            }
        }
        Err(e) => return Err(StorageError::io("read", &marker, e)),
    };
    let version = checked.version;
    let damage = mend_marker(&marker, checked)?;
    if version < STORE_VERSION_POINTS {
        raise_marker(path, STORE_VERSION_POINTS)?;
    }
    Ok(damage)
}

/// Raises the store's marker to `version` unless it says that or more
/// already (a compaction: version 4; a writer opening the store: version
/// 6, which a compaction leaves as it is). Writers and compactors raise
/// it under an exclusive lock on the store directory, so that one never
/// lowers what another just raised.
pub(crate) fn raise_marker(store: &Path, version: u32) -> StorageResult<()> {
    let dir = fs::File::open(store).map_err(|e| StorageError::io("open", store, e))?;
    dir.lock()
        .map_err(|e| StorageError::io("lock", store, e))?;
    let path = store.join(MARKER_FILE);
    let bytes = fs::read(&path).map_err(|e| StorageError::io("read", &path, e))?;
    let checked = check_marker(&path, &bytes)?;
    if checked.version >= version {
        return Ok(());
    }
    write_atomic(&path, &StoreMarker { version }.encode())
    // The lock goes with `dir`.
}

/// Rewrites a marker read past one flipped bit (atomically), returning its
/// damage; nothing for an intact one.
fn mend_marker(marker: &Path, checked: CheckedMarker) -> StorageResult<Option<Damage>> {
    let Some(damage) = checked.damage else {
        return Ok(None);
    };
    let bytes = StoreMarker {
        version: checked.version,
    }
    .encode();
    write_atomic(marker, &bytes)?;
    Ok(Some(damage))
}

/// Checks that `path` is a store this build reads, for a process that
/// writes to it: a marker with one flipped bit is mended, and its damage
/// returned.
pub(crate) fn check_and_mend_marker(path: &Path) -> StorageResult<Option<Damage>> {
    mend_marker(&path.join(MARKER_FILE), read_marker(path)?)
}

/// Reads and checks the marker of the store at `path`, which must exist:
/// a file, or a directory without a marker, is not a store.
pub(crate) fn read_marker(path: &Path) -> StorageResult<CheckedMarker> {
    check_not_a_file(path)?;
    let marker = path.join(MARKER_FILE);
    match fs::read(&marker) {
        Ok(bytes) => check_marker(&marker, &bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::NotAStore {
            path: path.to_owned(),
            reason: format!("it has no {MARKER_FILE} marker"),
        }),
        Err(e) => Err(StorageError::io("read", &marker, e)),
    }
}

/// Refuses a store path that names a file (a store is a directory), with
/// that reason rather than the OS's "File exists" or "Not a directory".
pub(crate) fn check_not_a_file(path: &Path) -> StorageResult<()> {
    match fs::metadata(path) {
        Ok(m) if !m.is_dir() => Err(StorageError::NotAStore {
            path: path.to_owned(),
            reason: "it is a file; a store is a directory".into(),
        }),
        _ => Ok(()),
    }
}

/// A store marker as read: its version, and its damage when one flipped
/// bit had to be read past.
#[derive(Debug)]
pub(crate) struct CheckedMarker {
    pub(crate) version: u32,
    pub(crate) damage: Option<Damage>,
}

/// Checks the bytes of a store's marker file. A marker one flipped bit away
/// from a valid one of a version this build reads is read as that one, and
/// its damage reported (lane 0, segment 0, its 16 bytes).
pub(crate) fn check_marker(marker: &Path, bytes: &[u8]) -> StorageResult<CheckedMarker> {
    let store = marker.parent().unwrap_or(marker);
    let readable = STORE_VERSION_PLAIN..=FORMAT_VERSION;
    match StoreMarker::decode(bytes) {
        Ok(m) if readable.contains(&m.version) => Ok(CheckedMarker {
            version: m.version,
            damage: None,
        }),
        Ok(m) => Err(StorageError::UnsupportedVersion {
            path: marker.to_owned(),
            found: m.version,
            supported: FORMAT_VERSION,
        }),
        Err(e) => match StoreMarker::recover(bytes, readable) {
            Some(m) => Ok(CheckedMarker {
                version: m.version,
                damage: Some(Damage {
                    lane: 0,
                    segment: 0,
                    offset: 0,
                    len: STORE_MARKER_LEN as u64,
                    reason: format!(
                        "{}: {} (one flipped bit: read as version {})",
                        marker.display(),
                        e,
                        m.version
                    ),
                }),
            }),
            None => Err(StorageError::NotAStore {
                path: store.to_owned(),
                reason: format!(
                    "its {MARKER_FILE} file ({} bytes, {STORE_MARKER_LEN} expected) is damaged: {}",
                    bytes.len(),
                    e
                ),
            }),
        },
    }
}

/// Why a directory without a marker cannot become a store (it holds files
/// of something else), or `None` when it is empty.
fn foreign_content(path: &Path) -> StorageResult<Option<String>> {
    let read = fs::read_dir(path).map_err(|e| StorageError::io("read directory", path, e))?;
    let mut names = Vec::new();
    for item in read {
        let item = item.map_err(|e| StorageError::io("read directory", path, e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        // Another process creating the store at the same moment leaves these.
        if name == LANES_DIR || name.starts_with(&format!(".{MARKER_FILE}.tmp")) {
            continue;
        }
        names.push(name);
    }
    if names.is_empty() {
        return Ok(None);
    }
    names.sort();
    if names.iter().any(|n| n == ".trash") || path.join("0").join("meta.yaml").exists() {
        return Ok(Some(
            "it holds an MLflow file store; runlog never mixes its data with another format".into(),
        ));
    }
    Ok(Some(format!(
        "it is not empty and has no {MARKER_FILE} marker (found {})",
        names.join(", ")
    )))
}
