//! The one clock of runlog: MLflow's timestamps, in milliseconds since the
//! Unix epoch. [`wall_clock_ms`] reads the system clock; a store keeps a
//! coarse copy (`StoreClock`) that its writer thread advances on every
//! wake-up, so that a log call reads the time without a system call.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock in milliseconds since the Unix epoch (0 before it).
///
/// ```
/// assert!(runlog::clock::wall_clock_ms() > 1_700_000_000_000);
/// ```
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A store's clock: the wall clock as its writer thread last read it.
#[derive(Debug)]
pub(crate) struct StoreClock(AtomicI64);

impl StoreClock {
    /// A clock set to now.
    pub(crate) fn new() -> StoreClock {
        StoreClock(AtomicI64::new(wall_clock_ms()))
    }

    /// Reads the wall clock into it (the writer, on every wake-up).
    pub(crate) fn advance(&self) {
        self.0.store(wall_clock_ms(), Ordering::Relaxed);
    }

    /// The time it holds; no system call.
    #[inline]
    pub(crate) fn now_ms(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}
