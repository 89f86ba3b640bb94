//! The crate's error, [`Error`], and the engine operations' own errors
//! ([`StorageError`], [`LogError`], [`ReplayError`], [`CompactError`]),
//! which convert into it.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

mod operations;

pub use operations::{
    CompactError, InvalidRecord, LogError, ReplayError, StorageError, StorageResult,
};

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in runlog: what the tracking API fails
/// with. The engine's operations fail with their own, narrower errors
/// ([`StorageError`] for opening and reading a store, [`LogError`] for log
/// calls, [`ReplayError`], [`CompactError`]); `?` converts each into this
/// one, onto the variant of the same name.
///
/// Errors caused by bytes on disk name the place (lane, segment, byte offset);
/// errors caused by I/O name the operation and the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "write", "fsync", ...).
        op: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The writer thread hit an I/O error earlier; the store accepts no more
    /// records. Close it and open it again (recovery keeps everything that was
    /// acknowledged by a successful `flush`).
    #[error("the store's writer failed earlier and accepts no more records ({op}): {source}")]
    Poisoned {
        /// The operation that failed first.
        op: &'static str,
        /// The first error.
        #[source]
        source: Arc<io::Error>,
    },

    /// The store was closed (or its writer thread is gone).
    #[error("the store is closed")]
    Closed,

    /// The directory exists and holds something that is not a runlog store.
    #[error("{} is not a runlog store ({reason})", path.display())]
    NotAStore {
        /// The directory.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },

    /// The store or a segment was written by a newer (or unknown) format version.
    #[error("{} has format version {found}; this runlog reads version {supported}", path.display())]
    UnsupportedVersion {
        /// The file with the version.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },

    /// Bytes on disk fail a validity rule of FORMAT.md: where (lane,
    /// segment or generation, byte offset, length) and which rule
    /// ([`StorageError::Corrupt`] in the engine).
    #[error("{0}")]
    Corrupt(Damage),

    /// A record cannot be encoded (a field exceeds a limit of the format).
    #[error("invalid record: {0}")]
    InvalidRecord(String),

    /// An argument is out of its documented range, or names a run or
    /// experiment that takes no writes (deleted): MLflow's
    /// `INVALID_PARAMETER_VALUE`.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A search filter or `order_by` item is malformed, or compares what
    /// MLflow's filter language does not allow.
    #[error("invalid filter at character {position}: {message}")]
    InvalidFilter {
        /// Character position (from 1) of the problem.
        position: usize,
        /// What was expected, and what was found.
        message: String,
    },

    /// An experiment, run or artifact does not exist (MLflow's
    /// `RESOURCE_DOES_NOT_EXIST`).
    #[error("{0}")]
    NotFound(String),

    /// An experiment name is taken (MLflow's `RESOURCE_ALREADY_EXISTS`). A
    /// param logged again with another value is [`Error::InvalidArgument`],
    /// MLflow's `INVALID_PARAMETER_VALUE`.
    #[error("{0}")]
    AlreadyExists(String),

    /// The operation does not fit the current state: starting a run while
    /// one is active, ending a run that is not active (MLflow's
    /// `INVALID_STATE`). Writes to a deleted run or into a
    /// deleted experiment are [`Error::InvalidArgument`], as MLflow answers
    /// them with `INVALID_PARAMETER_VALUE`.
    #[error("{0}")]
    InvalidState(String),

    /// Another compaction holds the store (its `compact/LOCK`): this one
    /// did nothing. Wait and try again, or pass
    /// [`CompactOptions::wait_for_other`](crate::compact::CompactOptions::wait_for_other).
    #[error("another compaction of {} is running", store.display())]
    CompactionRunning {
        /// The store directory.
        store: PathBuf,
    },

    /// A compaction changed the store under a reader following it (deleted
    /// a segment not read yet, or published a manifest that does not extend
    /// the one read): open the reader again. The tracking client does so
    /// itself.
    #[error("the store was compacted under this read: {0}")]
    CompactionRaced(String),

    /// An internal invariant failed (a worker thread panicked, a decoder
    /// produced another count than it checked): a bug, reported rather
    /// than answered wrongly.
    #[error("internal error: {0}")]
    Internal(String),

    /// The store refuses new records: a spool (the local background sync of an
    /// `http(s)://` tracking URI) past its size bound while the server does
    /// not take what it holds. The message says how big and where.
    #[error("{0}")]
    Full(String),

    /// A remote tracking server could not be reached after retries, or
    /// answered something MLflow's API does not (the URL and the answer).
    #[error("remote server: {0}")]
    Remote(String),

    /// A tracking server refused a request with MLflow's error answer: its
    /// HTTP status and MLflow error code, as the server gave them.
    #[error("{0}")]
    Refused(Box<Refusal>),

    /// A write through a client opened read-only
    /// ([`ClientBuilder::read_only`](crate::ClientBuilder::read_only)).
    #[error("{} is open read-only: {op} needs a client opened for writing", path.display())]
    ReadOnly {
        /// What was asked ("log_metric", "create_run", ...).
        op: &'static str,
        /// The store directory.
        path: PathBuf,
    },
}

impl Error {
    /// Wraps an I/O error with the operation and path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// MLflow's error code when the error is a violation of MLflow's rules
    /// (what MLflow's REST API and Python client report for it):
    /// `INVALID_PARAMETER_VALUE`, `RESOURCE_DOES_NOT_EXIST`,
    /// `RESOURCE_ALREADY_EXISTS` or `INVALID_STATE`. `None` for a storage
    /// error (I/O, damage on disk, a closed or poisoned store, a version
    /// this build does not read, an internal error), which MLflow would
    /// answer as `INTERNAL_ERROR`: the store failed, not the request. A
    /// tracking server's refusal gives the code the server answered.
    ///
    /// ```
    /// let e = runlog::Error::NotFound("no run 'x'".into());
    /// assert_eq!(e.mlflow_code(), Some("RESOURCE_DOES_NOT_EXIST"));
    /// assert_eq!(runlog::Error::Closed.mlflow_code(), None);
    /// ```
    pub fn mlflow_code(&self) -> Option<&str> {
        match self {
            Error::Refused(r) => Some(&r.error_code),
            Error::InvalidArgument(_) | Error::InvalidFilter { .. } | Error::InvalidRecord(_) => {
                Some("INVALID_PARAMETER_VALUE")
            }
            Error::NotFound(_) => Some("RESOURCE_DOES_NOT_EXIST"),
            Error::AlreadyExists(_) => Some("RESOURCE_ALREADY_EXISTS"),
            // A second compaction is refused as MLflow refuses an operation
            // the current state does not allow.
            Error::InvalidState(_) | Error::CompactionRunning { .. } => Some("INVALID_STATE"),
            Error::Io { .. }
            | Error::Poisoned { .. }
            | Error::Closed
            | Error::NotAStore { .. }
            | Error::UnsupportedVersion { .. }
            | Error::Corrupt(_)
            | Error::CompactionRaced(_)
            | Error::Internal(_)
            | Error::Remote(_)
            | Error::Full(_)
            | Error::ReadOnly { .. } => None,
        }
    }

    /// Whether the error says a resource does not exist, here or on a
    /// tracking server (MLflow's `RESOURCE_DOES_NOT_EXIST`).
    pub fn is_not_found(&self) -> bool {
        self.mlflow_code() == Some("RESOURCE_DOES_NOT_EXIST")
    }

    /// Whether the error says a resource exists already, here or on a
    /// tracking server (MLflow's `RESOURCE_ALREADY_EXISTS`).
    pub fn is_already_exists(&self) -> bool {
        self.mlflow_code() == Some("RESOURCE_ALREADY_EXISTS")
    }

    /// The underlying I/O error kind, when this error comes from the OS.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Error::Io { source, .. } => Some(source.kind()),
            Error::Poisoned { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// A tracking server's refusal ([`Error::Refused`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The request's URL.
    pub url: String,
    /// The HTTP status the server answered (404, 400, 403, ...).
    pub status: u16,
    /// MLflow's error code (`RESOURCE_DOES_NOT_EXIST`, `PERMISSION_DENIED`,
    /// ...).
    pub error_code: String,
    /// The server's message.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Refusal {
            url,
            status,
            error_code,
            message,
        } = self;
        write!(f, "{url}: {status} {error_code}: {message}")
    }
}

/// Invalid bytes on disk: where they are and the rule they break. Damage
/// with valid entries after it is left in place and reported (a replay
/// goes on after it); as an error it is [`Error::Corrupt`]. Lane 0 is
/// compacted data: `segment` is then the generation number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    /// Lane id.
    pub lane: u64,
    /// Segment sequence number.
    pub segment: u64,
    /// Offset of the first bad byte.
    pub offset: u64,
    /// Number of bad bytes.
    pub len: u64,
    /// The rule they break.
    pub reason: String,
}

impl Damage {
    /// The damage an [`Error::Corrupt`] stands for; `None` for any other
    /// error.
    pub fn from_error(e: &Error) -> Option<Damage> {
        match e {
            Error::Corrupt(d) => Some(d.clone()),
            _ => None,
        }
    }

    /// The damage as an [`Error::Corrupt`].
    pub fn to_error(&self) -> Error {
        Error::Corrupt(self.clone())
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "corrupt data in lane {}, segment {}, at byte {} ({} bytes): {}",
            self.lane, self.segment, self.offset, self.len, self.reason
        )
    }
}
