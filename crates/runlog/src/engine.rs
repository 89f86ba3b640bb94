//! The storage engine under the tracking API, for programs that log and
//! read records themselves: a [`Store`] and its [`MetricHandle`]s (log
//! calls on a bounded channel, drained by a writer thread into a segmented
//! log, every entry under a CRC), [`Replay`] (every record back, lanes
//! merged by time), [`verify`] (every byte checked); compaction is
//! [`crate::compact`]. The bytes are specified in `FORMAT.md`.
//!
//! ```
//! # fn main() -> runlog::Result<()> {
//! use runlog::engine::{Event, Record, Replay, Store};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path())?;
//! let run = "5f0c6e8e0a3b4c7d9e1f2a3b4c5d6e7f";
//! store.append(&Record::Param { run_id: run, key: "lr", value: "0.01" })?;
//! let loss = store.metric_handle(run, "loss")?;
//! for step in 0..1000 {
//!     loss.log((-(step as f64) / 100.0).exp(), step)?;
//! }
//! store.flush()?;
//! drop(store);
//!
//! let points = Replay::open(dir.path())?
//!     .filter(|r| matches!(r, Ok(e) if matches!(e.event, Event::Metric { .. })))
//!     .count();
//! assert_eq!(points, 1000);
//! # Ok(()) }
//! ```

pub use crate::error::{InvalidRecord, LogError, ReplayError, StorageError, StorageResult};
pub use crate::format::{Record, FORMAT_VERSION};
pub use crate::log::{RecoveryReport, TornTail};
pub use crate::options::MIN_SEGMENT_SIZE;
pub use crate::replay::{Event, PointSink, Position, Replay, ReplayReport, Replayed};
pub use crate::store::{MetricHandle, Store};
pub use crate::verify::{verify, verify_with_progress};
pub use crate::writer::WriterStats;

#[cfg(test)]
mod tests {
    #[test]
    fn the_public_handles_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<super::Store>();
        send_sync::<super::MetricHandle>();
        fn send<T: Send>() {}
        send::<super::Replay>();
    }
}
