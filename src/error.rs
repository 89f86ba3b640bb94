//! The one error type of the crate.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in runlog.
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

    /// Bytes on disk fail a validity rule of FORMAT.md.
    #[error(
        "corrupt data in lane {lane}, segment {segment}, at byte {offset} ({len} bytes): {reason}"
    )]
    Corrupt {
        /// The lane id.
        lane: u64,
        /// The segment sequence number.
        segment: u64,
        /// Byte offset of the first bad byte in the segment file.
        offset: u64,
        /// How many bytes are bad (up to the next valid entry).
        len: u64,
        /// Which rule they break.
        reason: String,
    },

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

    /// A write through a client opened read-only
    /// ([`Client::open_read_only`](crate::Client::open_read_only)).
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
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
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
