//! The writer thread: drains the channel in batches, encodes, writes each
//! batch with one system call, fsyncs by policy, rotates segments, answers
//! flush barriers, and poisons the store on I/O failure.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::message::{Msg, SeriesDef};
use super::shared::Shared;
use crate::error::{LogError, StorageError};
use crate::format::{Entry, Metric, PointsEncoder};
use crate::log::segment::{ActiveSegment, WriteResult};
use crate::options::{Durability, Options};

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
    /// The Points entry being built at the end of `buf`, if any.
    points: PointsEncoder,
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
        points: PointsEncoder::default(),
        buf_records: 0,
        buf_entries: 0,
        series: Vec::new(),
        bound: Vec::new(),
        epoch: 1,
        dirty_since: None,
        failed: false,
    };
    let batch_limit = w.setup.options.channel_capacity;
    let mut flushes: Vec<Sender<Result<(), LogError>>> = Vec::new();
    let mut written: Vec<Sender<Result<(), LogError>>> = Vec::new();
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
                // At most a new Points frame's header and the point (a
                // binding ends the open entry).
                self.make_room(crate::format::METRIC_FRAME_LEN + series_len);
                // Rotation may have begun a segment in which it is not bound.
                if self.bound.get(id).copied() != Some(self.epoch) {
                    self.points.finish(&mut self.buf);
                    self.bind(id);
                }
                let point = Metric {
                    value,
                    timestamp,
                    step,
                };
                self.buf_entries += self.points.push(&mut self.buf, series, &point);
                self.buf_records += 1;
            }
            Msg::DefineSeries(def) => {
                let id = def.id as usize;
                if self.series.len() <= id {
                    self.series.resize_with(id + 1, || None);
                }
                self.series[id] = Some(*def);
            }
            Msg::Encoded(frame) => {
                self.points.finish(&mut self.buf);
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
                    StorageError::Io { source, .. } => source,
                    other => io::Error::other(other.to_string()),
                };
                self.fail("create segment", source);
            }
        }
    }

    fn write_batch(&mut self) {
        self.points.finish(&mut self.buf);
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
        self.points.discard();
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
