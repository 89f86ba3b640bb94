//! Remote MLflow tracking servers (MLflow's own over PostgreSQL, MySQL or
//! SQLite, or `runlog server`): an HTTP client of MLflow's REST API
//! ([`MlflowServer`], with MLflow's credential and TLS variables) and
//! [`sync`], which pushes a local store to one, resumable and idempotent.
//!
//! ```no_run
//! use runlog::remote::{sync, Connection, MlflowServer, SyncOptions};
//! let client = runlog::Client::builder().store("mlruns").read_only().open()?;
//! let server = MlflowServer::new(Connection::from_env("http://127.0.0.1:5000"))?;
//! let summary = sync(&client, &server, &SyncOptions::default(), &mut |_| {})?;
//! println!("{} points sent", summary.points);
//! # Ok::<(), runlog::Error>(())
//! ```

mod background_sync;
mod connect;
pub mod http;
pub mod state;
mod sync;
mod sync_models;
mod sync_registry;
mod sync_run;

pub use connect::{
    connect, spool_server, SpoolConfig, DEFAULT_SPOOL_MAX_BYTES, SPOOL_DIR_ENV, SPOOL_FILE,
    SPOOL_MAX_BYTES_ENV,
};
pub use http::{Connection, MlflowServer};
pub use sync::{
    sync, SyncEvent, SyncOptions, SyncReport, MAX_BATCH_METRICS, MAX_BATCH_PARAMS_OR_TAGS,
    SOURCE_RUN_TAG,
};
pub use sync_models::SOURCE_MODEL_TAG;
pub use sync_registry::SOURCE_VERSION_TAG;
