//! Opening a client by tracking URI: a store directory (a path or a
//! `file:` URI), or a tracking server (`http://`, `https://`; feature
//! `remote`), logged to through a local spool.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::tracking::Client;
use crate::uri::{is_server_uri, store_path, tracking_uri_from_env};

impl Client {
    /// The client of a tracking URI, as MLflow's `MlflowClient(uri)`:
    ///
    /// - a directory path or a `file:` URI: the store there, created when
    ///   missing, with the default experiment `"0"` (`Default`);
    /// - `http://` or `https://`: a tracking server (MLflow's, or `runlog
    ///   server`), with MLflow's credential variables. Creating experiments
    ///   and runs, and every read, are REST calls; log calls go to a local
    ///   spool at the local store's cost and sync in the background (see
    ///   [`wait_synced`](Client::wait_synced) and
    ///   [`remote::connect`](crate::remote::connect)).
    ///
    /// The same as `Client::builder().tracking_uri(uri).open()`; the
    /// [`builder`](Client::builder) takes store options, a directory that
    /// is not UTF-8, and read-only opening.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let client = runlog::Client::new(&dir.path().display().to_string())?;
    /// assert!(!client.is_remote());
    /// # Ok::<(), runlog::Error>(())
    /// ```
    pub fn new(tracking_uri: &str) -> Result<Client> {
        Client::builder().tracking_uri(tracking_uri).open()
    }

    /// How to open a client: a tracking URI (by default
    /// `MLFLOW_TRACKING_URI`, else `mlruns`) or a store directory, store
    /// options, read-only.
    ///
    /// ```
    /// # fn main() -> runlog::Result<()> {
    /// let dir = tempfile::tempdir().unwrap();
    /// let options = runlog::Options::default().segment_size(1 << 20);
    /// let writer = runlog::Client::builder().store(dir.path()).options(options).open()?;
    /// let run = writer.create_run(runlog::NewRun::new("0").run_name("archived"))?;
    /// writer.log_metric(&run.info.run_id, "loss", 0.25, 1)?;
    /// writer.flush()?;
    ///
    /// // An existing store read without writing a byte (read-only media).
    /// let reader = runlog::Client::builder().store(dir.path()).read_only().open()?;
    /// assert_eq!(reader.get_metric_history(&run.info.run_id, "loss")?.len(), 1);
    /// assert!(matches!(
    ///     reader.log_metric(&run.info.run_id, "loss", 0.5, 2),
    ///     Err(runlog::Error::ReadOnly { .. })
    /// ));
    /// let missing = dir.path().join("missing");
    /// assert!(runlog::Client::builder().store(missing).read_only().open().is_err());
    /// # Ok(()) }
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
}

/// How a [`Client`] is opened ([`Client::builder`]).
#[derive(Debug, Clone, Default)]
#[must_use = "a builder opens nothing until `open`"]
pub struct ClientBuilder {
    uri: Option<String>,
    store: Option<PathBuf>,
    options: Options,
    read_only: bool,
    default_artifact_root: Option<PathBuf>,
}

impl ClientBuilder {
    /// The tracking URI: a store directory, a `file:` URI, or an
    /// `http(s)://` server (see [`Client::new`]). Default:
    /// `MLFLOW_TRACKING_URI`, else `mlruns`. With [`store`](Self::store)
    /// too, it is only the name the client reports.
    pub fn tracking_uri(mut self, uri: impl Into<String>) -> ClientBuilder {
        self.uri = Some(uri.into());
        self
    }

    /// The store directory, which need not be UTF-8 (instead of a tracking
    /// URI).
    pub fn store(mut self, dir: impl AsRef<Path>) -> ClientBuilder {
        self.store = Some(dir.as_ref().to_owned());
        self
    }

    /// Store options (segment size, durability, compaction) for a store
    /// this client writes.
    pub fn options(mut self, options: Options) -> ClientBuilder {
        self.options = options;
        self
    }

    /// Opens an existing store for reading only: no lane, no lock, no file
    /// created or changed, so a store on read-only media (or one another
    /// user owns) can be read. Refuses a directory that is not a store.
    /// Every read works as on a client that writes, and sees what writers
    /// append; every write fails with [`Error::ReadOnly`].
    pub fn read_only(mut self) -> ClientBuilder {
        self.read_only = true;
        self
    }

    /// Where a Default experiment made when the store is created keeps its
    /// artifacts (`<root>/0`; a server whose artifacts live elsewhere);
    /// default under the store.
    pub fn default_artifact_root(mut self, root: impl Into<PathBuf>) -> ClientBuilder {
        self.default_artifact_root = Some(root.into());
        self
    }

    /// Opens the client.
    pub fn open(self) -> Result<Client> {
        let (uri, path) = match (self.uri, self.store) {
            (uri, Some(path)) => (uri.unwrap_or_else(|| path.display().to_string()), path),
            (uri, None) => {
                let uri = uri.unwrap_or_else(tracking_uri_from_env);
                if is_server_uri(&uri) {
                    if self.read_only {
                        return Err(Error::InvalidArgument(format!(
                            "a tracking server ({uri}) is not opened read-only: its client \
                             writes to a local spool; open the server's store itself instead"
                        )));
                    }
                    return connect_server(&uri);
                }
                let path = store_path(&uri)?;
                (uri, path)
            }
        };
        if self.read_only {
            Client::open_read_only_at(uri, &path)
        } else {
            let root = self.default_artifact_root.as_deref();
            Client::open_at(uri, &path, self.options, root)
        }
    }
}

#[cfg(feature = "remote")]
fn connect_server(uri: &str) -> Result<Client> {
    crate::remote::connect(uri, &crate::remote::SpoolConfig::from_env()?)
}

#[cfg(not(feature = "remote"))]
fn connect_server(uri: &str) -> Result<Client> {
    Err(crate::error::Error::InvalidArgument(format!(
        "tracking URI {uri:?} names a tracking server: this build of runlog has no client of \
         one (build it with the feature `remote`)"
    )))
}
