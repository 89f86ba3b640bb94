//! Opening a client by tracking URI: a store directory (a path or a
//! `file:` URI), or a tracking server (`http://`, `https://`; feature
//! `remote`), logged to through a local spool.

use crate::error::Result;
use crate::options::Options;
use crate::tracking::Client;
use crate::uri::{is_server_uri, tracking_uri_from_env};

impl Client {
    /// The client of a tracking URI, as MLflow's `MlflowClient(uri)`:
    ///
    /// - a directory path or a `file:` URI: the store there, created when
    ///   missing, with the default experiment `"0"` (`Default`);
    /// - `http://` or `https://`: a tracking server (MLflow's, or `runlog
    ///   server`), with MLflow's credential variables. Creating experiments
    ///   and runs, and every read, are REST calls; log calls go to a local
    ///   spool at the local store's cost and ship in the background (see
    ///   [`wait_shipped`](Client::wait_shipped) and
    ///   [`remote::connect`](crate::remote::connect)).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let client = runlog::Client::new(&dir.path().display().to_string())?;
    /// assert!(!client.is_remote());
    /// # Ok::<(), runlog::Error>(())
    /// ```
    pub fn new(tracking_uri: &str) -> Result<Client> {
        open(tracking_uri, Options::default())
    }

    /// The client of `MLFLOW_TRACKING_URI` (default `mlruns`).
    pub fn from_env() -> Result<Client> {
        Client::new(&tracking_uri_from_env())
    }
}

/// The client of a tracking URI; `options` apply to a local store.
pub(crate) fn open(tracking_uri: &str, options: Options) -> Result<Client> {
    if is_server_uri(tracking_uri) {
        return connect_server(tracking_uri);
    }
    Client::open_uri(tracking_uri, options)
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
