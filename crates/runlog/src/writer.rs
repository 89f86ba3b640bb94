//! The writer thread: drains the bounded channel in batches, encodes,
//! writes each batch with one system call, fsyncs by policy, rotates
//! segments, answers flush barriers, and poisons the store on I/O failure.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::clock::StoreClock;
use crate::error::{Error, Result};
use crate::format::{encode_metric, Entry, Metric};
use crate::log::segment::{ActiveSegment, WriteResult};
use crate::options::{Durability, Options};

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
    Flush(Sender<Result<()>>),
    /// Barrier: answer once everything before it is written to the segment
    /// file (visible to readers, not necessarily fsynced).
    Written(Sender<Result<()>>),
    /// Write what is queued, fsync, and stop.
    Shutdown,
}

/// A series: the metric `key` of run `run_id`.
pub(crate) struct SeriesDef {
    pub(crate) id: u32,
    pub(crate) run_id: Box<str>,
    pub(crate) key: Box<str>,
}

/// Counters of the writer, readable while it runs.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    records: AtomicU64,
    batches: AtomicU64,
    bytes: AtomicU64,
    fsyncs: AtomicU64,
    segments: AtomicU64,
    queue_high_water: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) compaction_errors: AtomicU64,
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
    clock: StoreClock,
    counters: Counters,
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
    pub(crate) fn check(&self) -> Result<()> {
        match self.state.load(Ordering::Relaxed) {
            OPEN => Ok(()),
            state => Err(self.refusal(state)),
        }
    }

    /// Why a store not [`OPEN`] refuses a record (out of the hot path).
    #[cold]
    #[inline(never)]
    fn refusal(&self, state: u8) -> Error {
        match state {
            FULL => Error::Full(self.full.lock().unwrap_or_else(|p| p.into_inner()).clone()),
            CLOSED => Error::Closed,
            _ => self.poison_error(),
        }
    }

    /// [`check`](Shared::check) for what is not a new record (a flush):
    /// a full store still writes what it took.
    pub(crate) fn check_alive(&self) -> Result<()> {
        match self.check() {
            Err(Error::Full(_)) => Ok(()),
            other => other,
        }
    }

    /// Refuses new records with [`Error::Full`] and `reason` (`Some`), or
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
    pub(crate) fn failure(&self) -> Option<Error> {
        (self.state.load(Ordering::Acquire) == POISONED).then(|| self.poison_error())
    }

    fn set_closed(&self) {
        self.state.fetch_max(CLOSED, Ordering::AcqRel);
    }

    pub(crate) fn poison_error(&self) -> Error {
        let guard = self.poison.lock().unwrap_or_else(|p| p.into_inner());
        match &*guard {
            Some((op, source)) => Error::Poisoned {
                op,
                source: Arc::clone(source),
            },
            None => Error::Closed,
        }
    }

    fn set_poison(&self, op: &'static str, e: io::Error) {
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
        }
    }
}

/// Sends a message without waking the writer, unless the channel is full:
/// then the writer is woken and the caller waits for room.
#[inline]
pub(crate) fn send(tx: &Sender<Msg>, wake: &Sender<()>, msg: Msg) -> Result<()> {
    match tx.try_send(msg) {
        Ok(()) => Ok(()),
        Err(crossbeam_channel::TrySendError::Full(msg)) => send_when_room(tx, wake, msg),
        Err(crossbeam_channel::TrySendError::Disconnected(_)) => Err(Error::Closed),
    }
}

/// [`send`] that never waits: `Ok(false)` when the channel is full.
#[inline]
pub(crate) fn try_send(tx: &Sender<Msg>, msg: Msg) -> Result<bool> {
    match tx.try_send(msg) {
        Ok(()) => Ok(true),
        Err(crossbeam_channel::TrySendError::Full(_)) => Ok(false),
        Err(crossbeam_channel::TrySendError::Disconnected(_)) => Err(Error::Closed),
    }
}

/// The slow path of [`send`]: the channel is full. Wakes the writer, then
/// retries with a short sleep. A blocking `send` would instead make the
/// writer wake this thread once per message it drains.
#[cold]
#[inline(never)]
fn send_when_room(tx: &Sender<Msg>, wake: &Sender<()>, mut msg: Msg) -> Result<()> {
    let mut pause = Duration::from_micros(20);
    loop {
        let _ = wake.try_send(());
        std::thread::sleep(pause);
        match tx.try_send(msg) {
            Ok(()) => return Ok(()),
            Err(crossbeam_channel::TrySendError::Full(m)) => msg = m,
            Err(crossbeam_channel::TrySendError::Disconnected(_)) => return Err(Error::Closed),
        }
        pause = (pause * 2).min(Duration::from_millis(1));
    }
}

/// Where the writer appends.
pub(crate) struct WriterSetup {
    pub(crate) lane_dir: PathBuf,
    pub(crate) lane: u64,
    pub(crate) active: ActiveSegment,
    pub(crate) options: Options,
    /// Told after every segment this writer seals (for background compaction).
    pub(crate) sealed: Option<Sender<()>>,
}

/// How many times a segment binds each series it uses, back to back: a
/// damaged binding would otherwise cost every later point of the series in
/// the segment.
const SERIES_COPIES: usize = 2;

/// Most bytes encoded before a batch is written.
const MAX_BATCH_BYTES: usize = 4 << 20;

struct Writer {
    setup: WriterSetup,
    shared: Arc<Shared>,
    buf: Vec<u8>,
    buf_records: u64,
    buf_entries: u64,
    series: Vec<Option<SeriesDef>>,
    /// `bound[id] == epoch` when series `id` is bound in the active segment.
    bound: Vec<u32>,
    epoch: u32,
    dirty_since: Option<Instant>,
    failed: bool,
}

/// The writer thread's body.
pub(crate) fn run(setup: WriterSetup, shared: Arc<Shared>, rx: Receiver<Msg>, wake: Receiver<()>) {
    shared.counters.segments.fetch_add(1, Ordering::Relaxed);
    let tick = match setup.options.durability {
        Durability::Periodic(d) => setup
            .options
            .writer_tick
            .min(d.max(Duration::from_micros(100))),
        _ => setup.options.writer_tick,
    };
    let mut w = Writer {
        setup,
        shared,
        buf: Vec::with_capacity(MAX_BATCH_BYTES + 4096),
        buf_records: 0,
        buf_entries: 0,
        series: Vec::new(),
        bound: Vec::new(),
        epoch: 1,
        dirty_since: None,
        failed: false,
    };
    let batch_limit = w.setup.options.channel_capacity;
    let mut flushes: Vec<Sender<Result<()>>> = Vec::new();
    let mut written: Vec<Sender<Result<()>>> = Vec::new();
    let mut shutdown = false;
    loop {
        w.shared.clock.advance();
        let queued = rx.len() as u64;
        w.shared
            .counters
            .queue_high_water
            .fetch_max(queued, Ordering::Relaxed);
        let mut received = 0usize;
        let mut full = false;
        let mut disconnected = false;
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(crossbeam_channel::TryRecvError::Empty) => break,
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    disconnected = true;
                    break;
                }
            };
            received += 1;
            match msg {
                Msg::Flush(reply) => flushes.push(reply),
                Msg::Written(reply) => written.push(reply),
                Msg::Shutdown => {
                    // Refuse new calls, and go on draining what racing
                    // calls already queued.
                    w.shared.set_closed();
                    shutdown = true;
                }
                other => w.accept(other),
            }
            if received >= batch_limit || w.buf.len() >= MAX_BATCH_BYTES {
                full = true;
                break;
            }
        }
        w.write_batch();
        for reply in written.drain(..) {
            let _ = reply.send(if w.failed {
                Err(w.shared.poison_error())
            } else {
                Ok(())
            });
        }
        let finishing = (shutdown && !full) || disconnected;
        if !flushes.is_empty() || finishing {
            w.sync();
            let ok = !w.failed;
            for reply in flushes.drain(..) {
                let _ = reply.send(if ok {
                    Ok(())
                } else {
                    Err(w.shared.poison_error())
                });
            }
        } else if let (Durability::Periodic(d), Some(since)) =
            (w.setup.options.durability, w.dirty_since)
        {
            if since.elapsed() >= d {
                w.sync();
            }
        }
        if finishing {
            w.close_segment();
            return;
        }
        if full {
            continue; // more is waiting: no sleep
        }
        match wake.recv_timeout(tick) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => std::thread::sleep(tick),
        }
    }
}

impl Writer {
    /// Encodes one message into the batch buffer, rotating the segment first
    /// when the entry would not fit.
    fn accept(&mut self, msg: Msg) {
        if self.failed {
            return; // poisoned: callers see the error; nothing more is written
        }
        match msg {
            Msg::Metric {
                series,
                value,
                timestamp,
                step,
            } => {
                let id = series as usize;
                let bound = self.bound.get(id).copied() == Some(self.epoch);
                let series_len = if bound { 0 } else { self.series_entry_len(id) };
                self.make_room(crate::format::METRIC_FRAME_LEN + series_len);
                // Rotation may have begun a segment in which it is not bound.
                if self.bound.get(id).copied() != Some(self.epoch) {
                    self.bind(id);
                }
                let point = Metric {
                    value,
                    timestamp,
                    step,
                };
                encode_metric(&mut self.buf, series, &point);
                self.buf_records += 1;
                self.buf_entries += 1;
            }
            Msg::DefineSeries(def) => {
                let id = def.id as usize;
                if self.series.len() <= id {
                    self.series.resize_with(id + 1, || None);
                }
                self.series[id] = Some(*def);
            }
            Msg::Encoded(frame) => {
                self.make_room(frame.len());
                self.buf.extend_from_slice(&frame);
                self.buf_records += 1;
                self.buf_entries += 1;
            }
            Msg::Flush(_) | Msg::Written(_) | Msg::Shutdown => {}
        }
    }

    /// Bytes of the dictionary entries of series `id` with their frames.
    fn series_entry_len(&self, id: usize) -> usize {
        self.series.get(id).and_then(Option::as_ref).map_or(0, |d| {
            SERIES_COPIES * (crate::format::FRAME_HEADER_LEN + 12 + d.run_id.len() + d.key.len())
        })
    }

    /// Writes the dictionary entries of series `id` into the batch: the
    /// same entry twice, so that one damaged copy costs no point of the
    /// series (FORMAT.md, "Entry kinds").
    fn bind(&mut self, id: usize) {
        let Some(Some(def)) = self.series.get(id) else {
            // The store sends DefineSeries before any point of the series;
            // a point without one is a bug, recorded as a failure rather than
            // written as an unreadable entry.
            self.fail(
                "encode",
                io::Error::other(format!("metric point of undefined series {id}")),
            );
            return;
        };
        let entry = Entry::Series {
            id: def.id,
            run_id: &def.run_id,
            key: &def.key,
        };
        for _ in 0..SERIES_COPIES {
            if let Err(e) = entry.encode(&mut self.buf) {
                self.fail("encode", io::Error::other(e.to_string()));
                return;
            }
        }
        self.buf_entries += SERIES_COPIES as u64;
        if self.bound.len() <= id {
            self.bound.resize(id + 1, 0);
        }
        self.bound[id] = self.epoch;
    }

    /// Seals the active segment and begins the next when `extra` more bytes
    /// would take it past the segment size (a segment always takes its
    /// first entry, however large).
    fn make_room(&mut self, extra: usize) {
        let active_len = self.setup.active.len() + self.buf.len() as u64;
        let has_entries = active_len > crate::format::SEGMENT_HEADER_LEN as u64;
        // The seal that ends the segment must fit too.
        let needed = active_len + (extra + crate::format::SEAL_FRAME_LEN) as u64;
        if !has_entries || needed <= self.setup.options.segment_size {
            return;
        }
        self.write_batch();
        if self.failed {
            return;
        }
        if let Err((op, e)) = self.setup.active.seal() {
            return self.fail(op, e);
        }
        self.shared.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        let next = self.setup.active.sequence() + 1;
        match ActiveSegment::create(&self.setup.lane_dir, self.setup.lane, next) {
            Ok(seg) => {
                self.setup.active = seg;
                self.epoch = self.epoch.wrapping_add(1).max(1);
                self.dirty_since = None;
                self.shared
                    .counters
                    .segments
                    .fetch_add(1, Ordering::Relaxed);
                if let Some(tx) = &self.setup.sealed {
                    let _ = tx.try_send(()); // a full channel already says so
                }
            }
            Err(e) => {
                let source = match e {
                    Error::Io { source, .. } => source,
                    other => io::Error::other(other.to_string()),
                };
                self.fail("create segment", source);
            }
        }
    }

    fn write_batch(&mut self) {
        if self.buf.is_empty() || self.failed {
            self.buf.clear();
            return;
        }
        let result: WriteResult<()> = self.setup.active.append(&self.buf, self.buf_entries);
        match result {
            Ok(()) => {
                let c = &self.shared.counters;
                c.records.fetch_add(self.buf_records, Ordering::Relaxed);
                c.batches.fetch_add(1, Ordering::Relaxed);
                c.bytes.fetch_add(self.buf.len() as u64, Ordering::Relaxed);
                self.dirty_since.get_or_insert_with(Instant::now);
                if self.setup.options.durability == Durability::EveryBatch {
                    self.sync();
                }
            }
            Err((op, e)) => self.fail(op, e),
        }
        self.buf.clear();
        self.buf_records = 0;
        self.buf_entries = 0;
    }

    /// On shutdown: seals the active segment, or deletes it when it holds no
    /// entry, so that a cleanly closed lane needs no recovery.
    fn close_segment(&mut self) {
        if self.failed {
            return;
        }
        if self.setup.active.entries() == 0 {
            if let Err((op, e)) = self.setup.active.remove() {
                self.fail(op, e);
            }
            return;
        }
        match self.setup.active.seal() {
            Ok(()) => {
                self.shared.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
            }
            Err((op, e)) => self.fail(op, e),
        }
    }

    fn sync(&mut self) {
        if self.failed || self.dirty_since.is_none() {
            return;
        }
        match self.setup.active.sync() {
            Ok(()) => {
                self.shared.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
                self.dirty_since = None;
            }
            Err((op, e)) => self.fail(op, e),
        }
    }

    fn fail(&mut self, op: &'static str, e: io::Error) {
        self.failed = true;
        self.buf.clear();
        let path = self.setup.active.path().display().to_string();
        let e = io::Error::new(e.kind(), format!("{path}: {e}"));
        self.shared.set_poison(op, e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_message_is_32_bytes() {
        // The hot path copies one message per point: keep it small.
        assert_eq!(size_of::<Msg>(), 32);
    }
}
