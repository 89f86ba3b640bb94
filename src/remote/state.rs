//! What `runlog sync` has sent to one server, kept in the local store
//! (`<store>/sync/<server>/`): the experiments and runs it maps to remote
//! ids, and per run what the server acknowledged (params, tags, status,
//! inputs, artifacts, and per metric key how many points of its history in
//! step order, with a CRC of them). Each file is replaced atomically
//! (temporary file, fsync, rename, directory fsync), so a kill leaves the
//! old or the new state, never a torn one.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::tracking::Metric;

/// The directory of a store's sync states: `<store>/sync`.
pub const SYNC_DIR: &str = "sync";

/// The state directory for the server at `uri`: a readable name and a
/// hash, so that two URIs never share one.
pub fn state_dir(store: &Path, uri: &str) -> PathBuf {
    store.join(SYNC_DIR).join(server_dir_name(uri))
}

/// A directory name for the server at `uri`: readable, with a hash of the
/// whole URI so that two URIs never share one.
pub fn server_dir_name(uri: &str) -> String {
    let readable: String = uri
        .split("://")
        .nth(1)
        .unwrap_or(uri)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let hash = crc32fast::hash(uri.as_bytes());
    format!("{readable}-{hash:08x}")
}

/// The metric points of one key sent so far: a prefix of its history in
/// step order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyState {
    /// Points acknowledged by the server.
    pub sent: u64,
    /// CRC32 of those points (step, timestamp, value bits, little-endian),
    /// to tell that the prefix is unchanged.
    pub crc: u32,
    /// Points up to which requests were sent but not yet acknowledged:
    /// after a kill, these are checked against the server's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
}

/// One run's mapping and what the server has of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The run's id on the server.
    pub remote_id: String,
    /// Params sent.
    pub params: BTreeMap<String, String>,
    /// Tags sent (as the server has them: the parent translated).
    pub tags: BTreeMap<String, String>,
    /// Status, end time and name sent.
    pub status: Option<(String, Option<i64>, String)>,
    /// Dataset inputs sent (name and digest).
    pub inputs: Vec<(String, String)>,
    /// Artifacts sent: relative path -> (size, modification time in ms).
    pub artifacts: BTreeMap<String, (u64, i64)>,
    /// Metric keys.
    pub metrics: BTreeMap<String, KeyState>,
}

/// The mapping of experiments (local id -> remote id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExperimentsState {
    /// The server's URI, for a reader of the directory.
    pub server: String,
    /// Local experiment id -> remote experiment id.
    pub experiments: BTreeMap<String, String>,
}

/// CRC32 of points as [`KeyState::crc`] counts them, continuing `crc`.
pub fn points_crc(crc: u32, points: &[Metric]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(crc);
    for m in points {
        h.update(&point_bytes(m));
    }
    h.finalize()
}

/// A point's bytes as [`points_crc`] hashes them: step, timestamp, value
/// bits, little-endian.
pub(crate) fn point_bytes(m: &Metric) -> [u8; 24] {
    let mut b = [0u8; 24];
    b[..8].copy_from_slice(&m.step.to_le_bytes());
    b[8..16].copy_from_slice(&m.timestamp.to_le_bytes());
    b[16..].copy_from_slice(&m.value.to_bits().to_le_bytes());
    b
}

/// The sync state of one server in one store.
pub struct SyncState {
    dir: PathBuf,
}

impl SyncState {
    /// The state of the server at `uri` in `store` (nothing is read or
    /// made yet).
    pub fn new(store: &Path, uri: &str) -> SyncState {
        SyncState {
            dir: state_dir(store, uri),
        }
    }

    /// The directory the state lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The experiments' mapping (empty before the first sync).
    pub fn experiments(&self) -> Result<ExperimentsState> {
        Ok(self.read("experiments.json")?.unwrap_or_default())
    }

    /// Saves the experiments' mapping.
    pub fn save_experiments(&self, state: &ExperimentsState) -> Result<()> {
        self.write("experiments.json", state)
    }

    /// The state of local run `run_id`, `None` before it is first synced.
    pub fn run(&self, run_id: &str) -> Result<Option<RunState>> {
        self.read(&run_file(run_id)?)
    }

    /// Saves the state of local run `run_id`.
    pub fn save_run(&self, run_id: &str, state: &RunState) -> Result<()> {
        self.write(&run_file(run_id)?, state)
    }

    /// Takes the state's lock (blocking): one sync or outbox at a time
    /// sends to this server from this store.
    pub fn lock(&self) -> Result<fs::File> {
        fs::create_dir_all(&self.dir).map_err(|e| Error::io("create directory", &self.dir, e))?;
        let path = self.dir.join("LOCK");
        let file = crate::fs_util::open_lock_file(&path)?;
        file.lock().map_err(|e| Error::io("lock", &path, e))?;
        Ok(file)
    }

    fn read<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Result<Option<T>> {
        let path = self.dir.join(name);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::InvalidState(format!(
                    "{} is not a sync state runlog wrote ({e}); remove it to sync the run \
                     again (what the server already has is found by the run's \
                     runlog.source_run_id tag and its histories)",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", path, e)),
        }
    }

    fn write<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        fs::create_dir_all(&self.dir).map_err(|e| Error::io("create directory", &self.dir, e))?;
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp.{}", std::process::id()));
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::Internal(format!("sync state as JSON: {e}")))?;
        let mut file = fs::File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        file.write_all(&bytes)
            .map_err(|e| Error::io("write", &tmp, e))?;
        file.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))?;
        crate::fs_util::sync_dir(&self.dir)
    }
}

/// A run's state file name (run ids are hex; anything else is refused).
fn run_file(run_id: &str) -> Result<String> {
    if run_id.is_empty()
        || !run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Error::InvalidArgument(format!(
            "{run_id:?} is not a run id"
        )));
    }
    Ok(format!("run-{run_id}.json"))
}
