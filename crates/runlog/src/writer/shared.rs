//! The state the store, its metric handles and the writer thread share:
//! open, full, closed or failed (one atomic load on the hot path), the
//! store clock, and the writer's counters.

use std::io;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use crate::clock::StoreClock;
use crate::error::LogError;

/// Counters of the writer, readable while it runs.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(super) records: AtomicU64,
    pub(super) batches: AtomicU64,
    pub(super) bytes: AtomicU64,
    pub(super) fsyncs: AtomicU64,
    pub(crate) segments: AtomicU64,
    pub(super) queue_high_water: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) compaction_errors: AtomicU64,
    pub(crate) compaction_paused_us: AtomicU64,
}

/// A snapshot of the writer's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriterStats {
    /// Records written (metric points and other records; not dictionary or seal entries).
    pub records: u64,
    /// Batches written (one write system call each).
    pub batches: u64,
    /// Bytes appended to segments.
    pub bytes: u64,
    /// Fsyncs of segment data.
    pub fsyncs: u64,
    /// Segments begun by this writer.
    pub segments: u64,
    /// Most messages seen queued in the channel at once.
    pub queue_high_water: u64,
    /// Background compactions run (see [`Options::auto_compact`](crate::Options::auto_compact)).
    pub compactions: u64,
    /// Background compactions that failed (the store stays as it was).
    pub compaction_errors: u64,
    /// Milliseconds background compactions paused, giving way to
    /// foreground work (see [`Options::give_way_to`](crate::Options::give_way_to)).
    pub compaction_paused_ms: u64,
}

const OPEN: u8 = 0;
/// Open, but refusing new records (a spool past its size bound).
const FULL: u8 = 1;
const CLOSED: u8 = 2;
const POISONED: u8 = 3;

/// State shared by the store, its metric handles and the writer thread.
#[derive(Debug)]
pub(crate) struct Shared {
    /// [`OPEN`], [`FULL`], [`CLOSED`] or [`POISONED`]: one load on the hot
    /// path.
    state: AtomicU8,
    poison: Mutex<Option<(&'static str, Arc<io::Error>)>>,
    /// Why the store is [`FULL`].
    full: Mutex<String>,
    pub(super) clock: StoreClock,
    pub(super) counters: Counters,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Shared {
            state: AtomicU8::new(OPEN),
            poison: Mutex::new(None),
            full: Mutex::new(String::new()),
            clock: StoreClock::new(),
            counters: Counters::default(),
        }
    }

    /// The store clock: milliseconds since the epoch, advanced by the writer
    /// thread on every wake-up (so reading it makes no system call).
    #[inline]
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// `Err(Poisoned)` once the writer has failed, `Err(Closed)` once the
    /// store is closing, `Err(Full)` while it refuses new records.
    #[inline]
    pub(crate) fn check(&self) -> Result<(), LogError> {
        match self.state.load(Ordering::Relaxed) {
            OPEN => Ok(()),
            state => Err(self.refusal(state)),
        }
    }

    /// Why a store not [`OPEN`] refuses a record (out of the hot path).
    #[cold]
    #[inline(never)]
    fn refusal(&self, state: u8) -> LogError {
        match state {
            FULL => LogError::Full(self.full.lock().unwrap_or_else(|p| p.into_inner()).clone()),
            CLOSED => LogError::Closed,
            _ => self.poison_error(),
        }
    }

    /// [`check`](Shared::check) for what is not a new record (a flush):
    /// a full store still writes what it took.
    pub(crate) fn check_alive(&self) -> Result<(), LogError> {
        match self.check() {
            Err(LogError::Full(_)) => Ok(()),
            other => other,
        }
    }

    /// Refuses new records with [`LogError::Full`] and `reason` (`Some`), or
    /// takes them again (`None`). No effect on a closed or failed store.
    pub(crate) fn set_full(&self, reason: Option<String>) {
        match reason {
            Some(reason) => {
                *self.full.lock().unwrap_or_else(|p| p.into_inner()) = reason;
                let _ =
                    self.state
                        .compare_exchange(OPEN, FULL, Ordering::AcqRel, Ordering::Acquire);
            }
            None => {
                let _ =
                    self.state
                        .compare_exchange(FULL, OPEN, Ordering::AcqRel, Ordering::Acquire);
            }
        }
    }

    /// The writer's failure, if it failed.
    pub(crate) fn failure(&self) -> Option<LogError> {
        (self.state.load(Ordering::Acquire) == POISONED).then(|| self.poison_error())
    }

    /// Whether the writer was closed (or poisoned): the background
    /// compactor stops after the generation it is writing.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) >= CLOSED
    }

    pub(super) fn set_closed(&self) {
        self.state.fetch_max(CLOSED, Ordering::AcqRel);
    }

    pub(crate) fn poison_error(&self) -> LogError {
        let guard = self.poison.lock().unwrap_or_else(|p| p.into_inner());
        match &*guard {
            Some((op, source)) => LogError::Poisoned {
                op,
                source: Arc::clone(source),
            },
            None => LogError::Closed,
        }
    }

    pub(super) fn set_poison(&self, op: &'static str, e: io::Error) {
        let mut guard = self.poison.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            *guard = Some((op, Arc::new(e)));
        }
        self.state.fetch_max(POISONED, Ordering::AcqRel);
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(crate) fn stats(&self) -> WriterStats {
        let c = &self.counters;
        WriterStats {
            records: c.records.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            fsyncs: c.fsyncs.load(Ordering::Relaxed),
            segments: c.segments.load(Ordering::Relaxed),
            queue_high_water: c.queue_high_water.load(Ordering::Relaxed),
            compactions: c.compactions.load(Ordering::Relaxed),
            compaction_errors: c.compaction_errors.load(Ordering::Relaxed),
            compaction_paused_ms: c.compaction_paused_us.load(Ordering::Relaxed) / 1000,
        }
    }
}
