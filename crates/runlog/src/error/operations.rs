//! The errors of the engine's operations, one type per operation (redb's
//! shape): what opening or reading a store, a log call, and a compaction
//! can each fail with, and nothing else. Each converts into the crate's
//! [`Error`] with `?`, onto the variant of the same name.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Damage, Error};

/// `Result` with [`StorageError`]: what opening and reading a store
/// answer (the log, replay and verify use it throughout).
pub type StorageResult<T> = std::result::Result<T, StorageError>;

/// What the disk or the operating system can make any operation on a
/// store fail with. [`Store::open`](crate::engine::Store::open) and
/// [`verify`](crate::engine::verify) fail with this and nothing else.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A system call failed ([`Error::Io`]).
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

    /// Bytes on disk break a rule of FORMAT.md ([`Error::Corrupt`]).
    #[error("{0}")]
    Corrupt(Damage),

    /// The directory holds something that is not a runlog store
    /// ([`Error::NotAStore`]).
    #[error("{} is not a runlog store ({reason})", path.display())]
    NotAStore {
        /// The directory.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },

    /// A file has a format version this build does not read
    /// ([`Error::UnsupportedVersion`]).
    #[error("{} has format version {found}; this runlog reads version {supported}", path.display())]
    UnsupportedVersion {
        /// The file with the version.
        path: PathBuf,
        /// The version found on disk.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },

    /// An internal invariant failed: a bug, reported rather than answered
    /// wrongly ([`Error::Internal`]).
    #[error("internal error: {0}")]
    Internal(String),
}

impl StorageError {
    /// Wraps an I/O error with the operation and path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// The underlying I/O error kind, when the error comes from the OS.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            StorageError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// The damage on disk this error stands for, if it is
    /// [`StorageError::Corrupt`].
    pub fn damage(&self) -> Option<&Damage> {
        match self {
            StorageError::Corrupt(damage) => Some(damage),
            _ => None,
        }
    }
}

/// A record the format cannot hold: a field past one of FORMAT.md's
/// limits. Encoding refuses it before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid record: {0}")]
pub struct InvalidRecord(pub String);

/// Why a log call, a flush or a close failed: every method of
/// [`Store`](crate::engine::Store) and
/// [`MetricHandle`](crate::engine::MetricHandle) that takes records.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The store was closed, or its writer thread is gone
    /// ([`Error::Closed`]).
    #[error("the store is closed")]
    Closed,

    /// The writer thread failed earlier and takes no more records; what a
    /// successful flush acknowledged stays readable ([`Error::Poisoned`]).
    #[error("the store's writer failed earlier and accepts no more records ({op}): {source}")]
    Poisoned {
        /// The operation that failed first.
        op: &'static str,
        /// The first error.
        #[source]
        source: Arc<io::Error>,
    },

    /// The store refuses new records for now (a spool past its size
    /// bound); flushes still write what it took ([`Error::Full`]).
    #[error("{0}")]
    Full(String),

    /// The record cannot be encoded ([`Error::InvalidRecord`]).
    #[error("invalid record: {0}")]
    InvalidRecord(String),

    /// The writer thread panicked: a bug ([`Error::Internal`]).
    #[error("internal error: {0}")]
    Internal(String),
}

impl LogError {
    /// The operating system's error kind of the writer's failure, when it
    /// failed ([`LogError::Poisoned`]): `StorageFull` for a full disk.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            LogError::Poisoned { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

impl From<InvalidRecord> for LogError {
    fn from(InvalidRecord(reason): InvalidRecord) -> Self {
        LogError::InvalidRecord(reason)
    }
}

/// Why a [`Replay`](crate::engine::Replay) could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The disk or the operating system failed the read.
    #[error(transparent)]
    Storage(#[from] StorageError),

    /// A compaction deleted a segment this replay had not read, or
    /// published a manifest that does not extend the one it read: open
    /// the replay again ([`Error::CompactionRaced`]).
    #[error("the store was compacted under this read: {0}")]
    CompactionRaced(String),
}

/// Why a [`compact`](crate::compact::compact) did nothing or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompactError {
    /// The disk or the operating system failed it.
    #[error(transparent)]
    Storage(#[from] StorageError),

    /// Another compaction holds the store's `compact/LOCK`: this one did
    /// nothing ([`Error::CompactionRunning`]).
    #[error("another compaction of {} is running", store.display())]
    Running {
        /// The store directory.
        store: PathBuf,
    },
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Io { op, path, source } => Error::Io { op, path, source },
            StorageError::Corrupt(damage) => Error::Corrupt(damage),
            StorageError::NotAStore { path, reason } => Error::NotAStore { path, reason },
            StorageError::UnsupportedVersion {
                path,
                found,
                supported,
            } => Error::UnsupportedVersion {
                path,
                found,
                supported,
            },
            StorageError::Internal(what) => Error::Internal(what),
        }
    }
}

impl From<LogError> for Error {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Closed => Error::Closed,
            LogError::Poisoned { op, source } => Error::Poisoned { op, source },
            LogError::Full(reason) => Error::Full(reason),
            LogError::InvalidRecord(reason) => Error::InvalidRecord(reason),
            LogError::Internal(what) => Error::Internal(what),
        }
    }
}

impl From<ReplayError> for Error {
    fn from(e: ReplayError) -> Self {
        match e {
            ReplayError::Storage(e) => e.into(),
            ReplayError::CompactionRaced(what) => Error::CompactionRaced(what),
        }
    }
}

impl From<CompactError> for Error {
    fn from(e: CompactError) -> Self {
        match e {
            CompactError::Storage(e) => e.into(),
            CompactError::Running { store } => Error::CompactionRunning { store },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn damage() -> Damage {
        Damage {
            lane: 2,
            segment: 7,
            offset: 4096,
            len: 37,
            reason: "CRC mismatch".into(),
        }
    }

    #[test]
    fn each_error_becomes_the_crate_error_of_the_same_name_and_message() {
        let cases: Vec<(String, Error)> = vec![
            {
                let e = StorageError::io("fsync", "/s/lane-1", io::ErrorKind::StorageFull.into());
                (e.to_string(), e.into())
            },
            {
                let e = StorageError::Corrupt(damage());
                (e.to_string(), e.into())
            },
            {
                let e = StorageError::UnsupportedVersion {
                    path: "/s/RUNLOG".into(),
                    found: 9,
                    supported: 5,
                };
                (e.to_string(), e.into())
            },
            {
                let e = LogError::Full("the spool holds 2 GiB".into());
                (e.to_string(), e.into())
            },
            {
                let e = LogError::from(InvalidRecord("a tag of 70000 bytes".into()));
                (e.to_string(), e.into())
            },
            {
                let e = ReplayError::CompactionRaced("segment 3 of lane 1".into());
                (e.to_string(), e.into())
            },
            {
                let e = CompactError::Running { store: "/s".into() };
                (e.to_string(), e.into())
            },
        ];
        for (typed, crate_error) in &cases {
            assert_eq!(typed, &crate_error.to_string());
        }
        let kinds: Vec<&str> = cases
            .iter()
            .map(|(_, e)| match e {
                Error::Io { .. } => "io",
                Error::Corrupt(d) if *d == damage() => "corrupt",
                Error::UnsupportedVersion { found: 9, .. } => "version",
                Error::Full(_) => "full",
                Error::InvalidRecord(_) => "invalid record",
                Error::CompactionRaced(_) => "raced",
                Error::CompactionRunning { .. } => "running",
                other => panic!("converted onto another variant: {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "io",
                "corrupt",
                "version",
                "full",
                "invalid record",
                "raced",
                "running"
            ]
        );
        assert_eq!(cases[0].1.io_kind(), Some(io::ErrorKind::StorageFull));
        assert_eq!(cases[4].1.mlflow_code(), Some("INVALID_PARAMETER_VALUE"));
        assert_eq!(cases[6].1.mlflow_code(), Some("INVALID_STATE"));
        assert_eq!(
            cases[1].1.mlflow_code(),
            None,
            "damage is the store's failure"
        );
    }

    #[test]
    fn a_writer_failure_keeps_its_cause() {
        let e = LogError::Poisoned {
            op: "write",
            source: Arc::new(io::ErrorKind::StorageFull.into()),
        };
        assert_eq!(e.io_kind(), Some(io::ErrorKind::StorageFull));
        let e = Error::from(e);
        assert!(matches!(e, Error::Poisoned { op: "write", .. }));
        assert_eq!(e.io_kind(), Some(io::ErrorKind::StorageFull));
        assert_eq!(LogError::Closed.io_kind(), None);
    }
}
