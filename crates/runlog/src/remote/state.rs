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
pub use crate::layout::SYNC_DIR;
use crate::layout::{sync_state_path, SYNC_LOCK_FILE};

/// The state directory for the server at `uri`: a readable name and a
/// hash of its normalized form ([`server_key`]), so that one server has
/// one state however its URI is spelled. A state kept under the name an
/// earlier version gave the URI as spelled is moved to it.
pub fn state_dir(store: &Path, uri: &str) -> PathBuf {
    let dir = sync_state_path(store, &server_dir_name(uri));
    let legacy = sync_state_path(store, &legacy_dir_name(uri));
    if legacy != dir && legacy.is_dir() && !dir.exists() {
        let _ = fs::rename(&legacy, &dir);
    }
    dir
}

/// One server's URI however it is spelled: scheme and host in lower case,
/// the host resolved as the client connects (any loopback address is
/// `127.0.0.1`; a name that does not resolve stays a name), the port
/// explicit, no trailing slash. `http://LOCALHOST:80/` and
/// `http://127.0.0.1` are one server.
pub fn server_key(uri: &str) -> String {
    let uri = uri.trim();
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.trim_end_matches('/').to_owned();
    };
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    // Credentials in the URI are not part of which server it is.
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let default_port = if scheme == "https" { 443 } else { 80 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.contains(']') => {
            (h, p.parse::<u16>().unwrap_or(default_port))
        }
        _ => (authority, default_port),
    };
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    let resolved = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .ok()
        .map(|addrs| addrs.map(|a| a.ip()).collect::<Vec<_>>())
        .unwrap_or_default();
    let host = if !resolved.is_empty() && resolved.iter().all(|ip| ip.is_loopback()) {
        "127.0.0.1".to_owned()
    } else {
        match resolved.first() {
            Some(std::net::IpAddr::V6(v6)) => format!("[{v6}]"),
            Some(ip) => ip.to_string(),
            None => host,
        }
    };
    format!("{scheme}://{host}:{port}{path}")
}

/// A directory name for the server at `uri`: readable, with a hash of its
/// normalized form, so that two servers never share one and one server
/// always gets the same.
pub fn server_dir_name(uri: &str) -> String {
    dir_name(&server_key(uri))
}

/// The name earlier versions gave `uri` as spelled (read to move it).
pub(crate) fn legacy_dir_name(uri: &str) -> String {
    dir_name(uri)
}

fn dir_name(uri: &str) -> String {
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
    /// Per logged model (local id): how many of its metric points logged
    /// by this run, in log order, the server has.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub model_metrics: BTreeMap<String, CountState>,
    /// Logged models (local ids) sent as the run's model inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_inputs: Vec<String>,
    /// Outputs sent: local model id and step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<(String, i64)>,
}

/// How many items of an append-only list the server has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CountState {
    /// Items acknowledged.
    pub sent: u64,
    /// Items up to which requests were sent but not acknowledged (sent
    /// again on resume: the server keeps one copy of each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
}

/// One logged model's mapping and what the server has of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelState {
    /// The model's id on the server.
    pub remote_id: String,
    /// Params sent.
    pub params: BTreeMap<String, String>,
    /// Tags sent.
    pub tags: BTreeMap<String, String>,
    /// The final status sent (`LOGGED_MODEL_READY`, ...), once finalized.
    pub status: Option<String>,
    /// Artifacts sent: relative path -> (size, modification time in ms).
    pub artifacts: BTreeMap<String, (u64, i64)>,
    /// Where its artifacts are on the server.
    #[serde(default)]
    pub artifact_uri: String,
}

/// What the server has of the registry: per registered model (by name).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegistryState {
    /// Registered model name -> its state.
    pub models: BTreeMap<String, RegisteredModelState>,
}

/// One registered model's state on the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModelState {
    /// Description sent.
    pub description: Option<String>,
    /// Tags sent.
    pub tags: BTreeMap<String, String>,
    /// Aliases sent: alias -> local version.
    pub aliases: BTreeMap<String, i64>,
    /// Versions sent: local version -> its state.
    pub versions: BTreeMap<i64, VersionState>,
}

/// One model version's state on the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionState {
    /// Its number on the server.
    pub remote: i64,
    /// Description sent.
    pub description: Option<String>,
    /// Tags sent (the source tag included).
    pub tags: BTreeMap<String, String>,
    /// Stage sent.
    pub stage: String,
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

    /// The state of local logged model `model_id`, `None` before it is
    /// first synced.
    pub fn model(&self, model_id: &str) -> Result<Option<ModelState>> {
        self.read(&model_file(model_id)?)
    }

    /// Saves the state of local logged model `model_id`.
    pub fn save_model(&self, model_id: &str, state: &ModelState) -> Result<()> {
        self.write(&model_file(model_id)?, state)
    }

    /// The registry's state (empty before the first sync).
    pub fn registry(&self) -> Result<RegistryState> {
        Ok(self.read("registry.json")?.unwrap_or_default())
    }

    /// Saves the registry's state.
    pub fn save_registry(&self, state: &RegistryState) -> Result<()> {
        self.write("registry.json", state)
    }

    /// Takes the state's lock (blocking): one sync or background sync at a time
    /// sends to this server from this store.
    pub fn lock(&self) -> Result<fs::File> {
        fs::create_dir_all(&self.dir).map_err(|e| Error::io("create directory", &self.dir, e))?;
        let path = self.dir.join(SYNC_LOCK_FILE);
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
        Ok(crate::fs_util::sync_dir(&self.dir)?)
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

/// A logged model's state file name (`m-` and hex; anything else is
/// refused).
fn model_file(model_id: &str) -> Result<String> {
    run_file(model_id).map(|_| format!("model-{model_id}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_one_name_however_spelled() {
        let one = server_dir_name("http://127.0.0.1:5000");
        for spelling in [
            "http://localhost:5000",
            "HTTP://LOCALHOST:5000/",
            "http://127.0.0.1:5000/",
            "http://[::1]:5000",
            "http://user:pw@localhost:5000",
        ] {
            assert_eq!(server_dir_name(spelling), one, "{spelling}");
        }
        assert_eq!(server_key("http://localhost"), "http://127.0.0.1:80");
        assert_eq!(server_key("https://127.0.0.1/"), "https://127.0.0.1:443");
        assert_eq!(
            server_key("http://127.0.0.1:5000/prefix/"),
            "http://127.0.0.1:5000/prefix"
        );
        assert_ne!(server_dir_name("http://127.0.0.1:5001"), one);
        assert_ne!(server_dir_name("https://127.0.0.1:5000"), one);
        assert_ne!(server_dir_name("http://127.0.0.1:5000/other"), one);
    }

    #[test]
    fn a_state_under_the_old_name_is_moved_to_the_new() {
        let dir = tempfile::tempdir().unwrap();
        let uri = "http://localhost:5000";
        let legacy = dir.path().join(SYNC_DIR).join(legacy_dir_name(uri));
        fs::create_dir_all(&legacy).unwrap();
        fs::write(legacy.join("experiments.json"), "{}").unwrap();
        let now = state_dir(dir.path(), uri);
        assert!(now.join("experiments.json").is_file());
        assert!(!legacy.exists());
    }
}
