//! What logging threads send the writer thread, and how they send it
//! without waking it on every message.

use std::time::Duration;

use crossbeam_channel::Sender;

use crate::error::LogError;

/// A message from the logging threads to the writer. Kept at 32 bytes so the
/// channel moves small slots.
pub(crate) enum Msg {
    /// A metric point of a series defined earlier. The fields are inline
    /// (not a [`Metric`]) so that the series number shares its 8 bytes
    /// with the enum tag.
    Metric {
        series: u32,
        value: f64,
        timestamp: i64,
        step: i64,
    },
    /// Defines series `id` as (run id, key); sent once per series, before
    /// its first point.
    DefineSeries(Box<SeriesDef>),
    /// One framed entry, encoded by the caller.
    Encoded(Box<[u8]>),
    /// Barrier: answer once everything before it is fsynced.
    Flush(Sender<Result<(), LogError>>),
    /// Barrier: answer once everything before it is written to the segment
    /// file (visible to readers, not necessarily fsynced).
    Written(Sender<Result<(), LogError>>),
    /// Write what is queued, fsync, and stop.
    Shutdown,
}

/// A series: the metric `key` of run `run_id`.
pub(crate) struct SeriesDef {
    pub(crate) id: u32,
    pub(crate) run_id: Box<str>,
    pub(crate) key: Box<str>,
}

/// Sends a message without waking the writer, unless the channel is full:
/// then the writer is woken and the caller waits for room.
#[inline]
pub(crate) fn send(tx: &Sender<Msg>, wake: &Sender<()>, msg: Msg) -> Result<(), LogError> {
    match tx.try_send(msg) {
        Ok(()) => Ok(()),
        Err(crossbeam_channel::TrySendError::Full(msg)) => send_when_room(tx, wake, msg),
        Err(crossbeam_channel::TrySendError::Disconnected(_)) => Err(LogError::Closed),
    }
}

/// [`send`] that never waits: `Ok(false)` when the channel is full.
#[inline]
pub(crate) fn try_send(tx: &Sender<Msg>, msg: Msg) -> Result<bool, LogError> {
    match tx.try_send(msg) {
        Ok(()) => Ok(true),
        Err(crossbeam_channel::TrySendError::Full(_)) => Ok(false),
        Err(crossbeam_channel::TrySendError::Disconnected(_)) => Err(LogError::Closed),
    }
}

/// The slow path of [`send`]: the channel is full. Wakes the writer, then
/// retries with a short sleep. A blocking `send` would instead make the
/// writer wake this thread once per message it drains.
#[cold]
#[inline(never)]
fn send_when_room(tx: &Sender<Msg>, wake: &Sender<()>, mut msg: Msg) -> Result<(), LogError> {
    let mut pause = Duration::from_micros(20);
    loop {
        let _ = wake.try_send(());
        std::thread::sleep(pause);
        match tx.try_send(msg) {
            Ok(()) => return Ok(()),
            Err(crossbeam_channel::TrySendError::Full(m)) => msg = m,
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => return Err(LogError::Closed),
        }
        pause = (pause * 2).min(Duration::from_millis(1));
    }
}
