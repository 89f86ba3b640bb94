//! Connecting to a tracking server (an `http://` or `https://` tracking
//! URI): the client's spool and its background sync.
//!
//! Each connected client logs into a spool of its own, a runlog store at
//! `<spool root>/<server>/<start ms>-<pid>/` (the root is
//! [`SPOOL_DIR_ENV`], else `$XDG_CACHE_HOME/runlog/spool`, else
//! `~/.cache/runlog/spool`), which it holds locked while it lives. A spool
//! whose owner is gone (a process that was killed, or that exited before
//! the server took everything) is synced by the next client that
//! connects to the same server, then deleted.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::remote::background_sync::BackgroundSync;
use crate::remote::http::{Connection, MlflowServer};
use crate::remote::state::{legacy_dir_name, server_dir_name};
use crate::tracking::Client;

/// The environment variable naming the spool root directory.
pub const SPOOL_DIR_ENV: &str = "RUNLOG_SPOOL_DIR";
/// The environment variable giving a spool's size bound in bytes.
pub const SPOOL_MAX_BYTES_ENV: &str = "RUNLOG_SPOOL_MAX_BYTES";
/// A spool's size bound when [`SPOOL_MAX_BYTES_ENV`] is not set: 8 GiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 8 << 30;
pub use crate::layout::SPOOL_FILE;
use crate::layout::SPOOL_OWNER_FILE;

/// Where spools live and how big one may grow.
#[derive(Debug, Clone, PartialEq)]
pub struct SpoolConfig {
    /// The spool root: one directory per server under it.
    pub root: PathBuf,
    /// A spool's size bound: past it, log calls fail with
    /// [`Error::Full`] until the server takes what the spool holds.
    pub max_bytes: u64,
}

impl SpoolConfig {
    /// The root and bound from [`SPOOL_DIR_ENV`] and
    /// [`SPOOL_MAX_BYTES_ENV`], with their defaults; a bound that is not a
    /// number of bytes is an error.
    ///
    /// ```
    /// let config = runlog::remote::SpoolConfig::from_env()?;
    /// assert!(config.max_bytes > 0);
    /// # Ok::<(), runlog::Error>(())
    /// ```
    pub fn from_env() -> Result<SpoolConfig> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let root = match var(SPOOL_DIR_ENV) {
            Some(dir) => PathBuf::from(dir),
            None => default_spool_root(),
        };
        let max_bytes = match var(SPOOL_MAX_BYTES_ENV) {
            Some(text) => text.trim().parse::<u64>().map_err(|_| {
                Error::InvalidArgument(format!(
                    "{SPOOL_MAX_BYTES_ENV}={text:?} is not a number of bytes"
                ))
            })?,
            None => DEFAULT_SPOOL_MAX_BYTES,
        };
        Ok(SpoolConfig { root, max_bytes })
    }
}

/// `$XDG_CACHE_HOME/runlog/spool`, else `~/.cache/runlog/spool`, else
/// `<temp>/runlog-spool`.
fn default_spool_root() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(cache) = var("XDG_CACHE_HOME") {
        return PathBuf::from(cache).join("runlog").join("spool");
    }
    if let Some(home) = var("HOME") {
        return PathBuf::from(home)
            .join(".cache")
            .join("runlog")
            .join("spool");
    }
    std::env::temp_dir().join("runlog-spool")
}

/// A client of the tracking server at `uri` (with MLflow's credential
/// variables), logging through a new spool under `config.root`. Nothing
/// is sent before the first call that needs the server.
///
/// ```no_run
/// use runlog::remote::{connect, SpoolConfig};
/// let client = connect("http://127.0.0.1:5000", &SpoolConfig::from_env()?)?;
/// let run = client.create_run("0")?;
/// client.log_metric(&run.info.run_id, "loss", 0.5, 1)?; // local speed
/// client.set_terminated(&run.info.run_id, runlog::RunStatus::Finished)?;
/// client.wait_synced(std::time::Duration::from_secs(30))?;
/// # Ok::<(), runlog::Error>(())
/// ```
pub fn connect(uri: &str, config: &SpoolConfig) -> Result<Client> {
    let connection = Connection::from_env(uri);
    // The background sync waits between its own attempts (and a log call never
    // waits for it): two tries per request.
    let syncing = MlflowServer::new(Connection {
        attempts: 2,
        ..connection.clone()
    })?;
    let server = MlflowServer::new(connection)?;
    let server_dir = config.root.join(server_dir_name(server.uri()));
    std::fs::create_dir_all(&server_dir)
        .map_err(|e| Error::io("create directory", &server_dir, e))?;
    // Spools an earlier version kept under the URI as spelled.
    let legacy = config.root.join(legacy_dir_name(server.uri()));
    let dir = new_spool_dir(&server_dir)?;
    // The store first (it is made in an empty directory), then its owner's
    // lock, then the file that makes it a spool for other clients.
    let spool = Client::builder()
        .store(&dir)
        .options(Options::default())
        .open()?;
    let owner = try_lock_owner(&dir)?.ok_or_else(|| {
        Error::Internal(format!("{}: a new spool locked by another", dir.display()))
    })?;
    crate::fs_util::write_atomic(&dir.join(SPOOL_FILE), server.uri().as_bytes())?;
    let mut orphans = orphan_spools(&server_dir, &dir)?;
    if legacy != server_dir && legacy.is_dir() {
        orphans.extend(orphan_spools(&legacy, &dir)?);
    }
    let background =
        BackgroundSync::start(&spool, server, syncing, config.max_bytes, owner, orphans)?;
    Ok(Client::with_remote(spool, background))
}

/// A new, empty spool directory under `server_dir`.
fn new_spool_dir(server_dir: &Path) -> Result<PathBuf> {
    let stamp = crate::clock::wall_clock_ms();
    for attempt in 0..100u32 {
        let name = match attempt {
            0 => format!("{stamp}-{}", std::process::id()),
            n => format!("{stamp}-{}-{n}", std::process::id()),
        };
        let dir = server_dir.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("create directory", &dir, e)),
        }
    }
    Err(Error::Internal(format!(
        "{}: no free spool name",
        server_dir.display()
    )))
}

/// The spools under `server_dir` whose owner is gone (not `own`).
fn orphan_spools(server_dir: &Path, own: &Path) -> Result<Vec<PathBuf>> {
    let read =
        std::fs::read_dir(server_dir).map_err(|e| Error::io("read directory", server_dir, e))?;
    let mut orphans = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| Error::io("read directory", server_dir, e))?;
        let path = entry.path();
        if path == own {
            continue;
        }
        if !path.join(SPOOL_FILE).is_file() {
            remove_if_unfinished(&path);
            continue;
        }
        // Held by a live client: not an orphan (checked again when synced).
        if try_lock_owner(&path)?.is_some() {
            orphans.push(path);
        }
    }
    orphans.sort();
    Ok(orphans)
}

/// How long a spool directory may lack its `SPOOL` file before it is
/// taken for the leftover of a client killed while making it (a live
/// client writes the file right after creating the directory).
const UNFINISHED_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Removes a spool directory its client never finished making (killed
/// between creating it and writing its `SPOOL` file): nothing was logged
/// into it, since logging starts after that file. Left alone while young
/// or while a client holds it.
fn remove_if_unfinished(dir: &Path) {
    let old_enough = std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age >= UNFINISHED_GRACE);
    if !old_enough || !dir.is_dir() {
        return;
    }
    if let Ok(Some(lock)) = try_lock_owner(dir) {
        if !dir.join(SPOOL_FILE).exists() {
            let _ = std::fs::remove_dir_all(dir);
        }
        drop(lock);
    }
}

/// The owner lock of a spool, or `None` when a live client holds it.
pub(crate) fn try_lock_owner(dir: &Path) -> Result<Option<File>> {
    let path = dir.join(SPOOL_OWNER_FILE);
    let file = crate::fs_util::open_lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
    }
}

/// The server a spool syncs to, when `store` is a spool.
pub fn spool_server(store: &Path) -> Option<String> {
    std::fs::read_to_string(store.join(SPOOL_FILE))
        .ok()
        .map(|s| s.trim().to_owned())
}
