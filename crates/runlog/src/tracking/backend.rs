//! Where a [`Client`]'s answers come from: one trait, two implementations.
//!
//! Every client writes to a local store: its log calls (params, metrics,
//! tags, a run's end) append there at the store's cost. What differs is
//! who holds the catalog of experiments and runs and answers reads:
//!
//! - [`Local`]: the store itself (a `file:` or path tracking URI);
//! - `Rest` (in `rest`, with the feature `remote`): a tracking server (an
//!   `http(s)://` URI), whose runs the local store spools until the
//!   background sync pushes what was logged to them.
//!
//! The trait is split by concern, each part beside the API methods it
//! serves: [`ExperimentBackend`], [`RunBackend`], [`SearchBackend`],
//! [`HistoryBackend`] and [`ArtifactBackend`]. Each method takes the
//! client it serves, whose store a backend reads, writes or spools to.

use std::time::Duration;

use crate::error::Result;
use crate::tracking::artifacts::ArtifactBackend;
use crate::tracking::client::Client;
use crate::tracking::experiments::ExperimentBackend;
use crate::tracking::history::HistoryBackend;
use crate::tracking::runs::RunBackend;
use crate::tracking::search::SearchBackend;

/// What [`Client::wait_synced`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncRefusals {
    /// Records the server refused (a 4xx answer, e.g. a param logged with
    /// another value by another client) since the last report, one line
    /// each: the rest was synced.
    pub refused: Vec<String>,
    /// Records refused since the client connected.
    pub refused_total: u64,
}

impl Client {
    /// Whether this client logs to a tracking server (an `http(s)://`
    /// tracking URI) through a local spool.
    pub fn is_remote(&self) -> bool {
        self.backend.is_remote()
    }

    /// Blocks until the tracking server acknowledged every record this
    /// client logged before the call, or `timeout` passed
    /// ([`Error::Remote`](crate::Error::Remote), naming the server's last
    /// failure; the records stay in the spool and sync later). Returns the
    /// records the server refused meanwhile. On a local store:
    /// [`flush`](Client::flush).
    pub fn wait_synced(&self, timeout: Duration) -> Result<SyncRefusals> {
        self.flush()?;
        self.backend.wait_synced(self, timeout)
    }
}

/// The catalog and reads of a [`Client`]: the local store, or a tracking
/// server through a spool.
pub(crate) trait Backend:
    ExperimentBackend + RunBackend + SearchBackend + HistoryBackend + ArtifactBackend + Send + Sync
{
    /// The tracking URI the client answers to.
    fn tracking_uri<'a>(&'a self, client: &'a Client) -> &'a str;

    /// Whether a tracking server answers (the store is then its spool).
    fn is_remote(&self) -> bool;

    /// Waits until every record logged before the call is where this
    /// backend keeps it (synced to the server, for a remote one).
    fn wait_synced(&self, client: &Client, timeout: Duration) -> Result<SyncRefusals>;

    /// Takes a run the store does not hold yet into it (a run of the
    /// server another client created), so that it takes log calls: `false`
    /// when no such run can exist (a local store holds every run).
    fn take_in_run(&self, client: &Client, run_id: &str) -> Result<bool>;

    /// Refuses logged models and the registry where they cannot be kept.
    fn check_models_reachable(&self) -> Result<()>;
}

/// The local store holds the catalog and answers every read.
pub(crate) struct Local;

impl Backend for Local {
    fn tracking_uri<'a>(&'a self, client: &'a Client) -> &'a str {
        client.store_uri()
    }

    fn is_remote(&self) -> bool {
        false
    }

    fn wait_synced(&self, _client: &Client, _timeout: Duration) -> Result<SyncRefusals> {
        Ok(SyncRefusals::default())
    }

    fn take_in_run(&self, _client: &Client, _run_id: &str) -> Result<bool> {
        Ok(false)
    }

    fn check_models_reachable(&self) -> Result<()> {
        Ok(())
    }
}
