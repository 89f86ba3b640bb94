//! Small file-system helpers: directory fsync, atomic file creation, and
//! the files of a directory tree.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
#[cfg(any(feature = "remote", feature = "import"))]
use std::path::PathBuf;

use crate::error::{StorageError, StorageResult};

/// Fsyncs a directory so that a file created or renamed in it survives a
/// power loss.
pub(crate) fn sync_dir(dir: &Path) -> StorageResult<()> {
    sync_dir_io(dir).map_err(|e| StorageError::io("fsync directory", dir, e))
}

/// [`sync_dir`] with the bare I/O error, for the writer thread.
pub(crate) fn sync_dir_io(dir: &Path) -> std::io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, fsynced, renamed over `path`, then the directory fsynced.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> StorageResult<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| StorageError::io("create", &tmp, e))?;
    file.write_all(bytes)
        .map_err(|e| StorageError::io("write", &tmp, e))?;
    file.sync_all()
        .map_err(|e| StorageError::io("fsync", &tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| StorageError::io("rename", &tmp, e))?;
    sync_dir(dir)
}

/// Opens (creating it if needed) an empty file used only for its `flock`.
pub(crate) fn open_lock_file(path: &Path) -> StorageResult<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| StorageError::io("open", path, e))
}

/// A file found by [`files_under`].
#[cfg(any(feature = "remote", feature = "import"))]
#[derive(Debug, Clone)]
pub(crate) struct TreeFile {
    /// Its path relative to the root, `/`-separated.
    pub(crate) rel: String,
    /// Its path.
    pub(crate) path: PathBuf,
    /// Its size in bytes.
    #[cfg_attr(
        not(feature = "remote"),
        allow(dead_code, reason = "read by sync only")
    )]
    pub(crate) len: u64,
    /// Its modification time in ms since the Unix epoch (0 when unknown).
    #[cfg_attr(
        not(feature = "remote"),
        allow(dead_code, reason = "read by sync only")
    )]
    pub(crate) modified_ms: i64,
}

/// Every regular file under `root` (recursively, symbolic links not
/// followed), sorted by relative path; none when `root` does not exist. A
/// directory that cannot be read is an error naming it. (For `sync` and
/// `import`.)
#[cfg(any(feature = "remote", feature = "import"))]
pub(crate) fn files_under(root: &Path) -> StorageResult<Vec<TreeFile>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<TreeFile>) -> StorageResult<()> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir == root => return Ok(()),
            Err(e) => return Err(StorageError::io("read directory", dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| StorageError::io("read directory", dir, e))?;
            let path = entry.path();
            let meta = entry
                .metadata()
                .map_err(|e| StorageError::io("stat", &path, e))?;
            if meta.is_dir() {
                walk(root, &path, out)?;
            } else if meta.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .map_err(|_| {
                        StorageError::Internal(format!("{} outside its root", path.display()))
                    })?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let modified_ms = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as i64);
                out.push(TreeFile {
                    rel,
                    path,
                    len: meta.len(),
                    modified_ms,
                });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}
