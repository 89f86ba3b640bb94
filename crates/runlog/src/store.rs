//! An open store: the lane this process writes, its writer thread, and the
//! log calls that feed it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Sender};

use crate::error::{LogError, StorageError};
use crate::format::{encode_record, Metric, Record, MAX_SERIES_PAYLOAD_LEN};
use crate::held_lock::HeldLock;
use crate::log::lane::{create_lane, list_lanes, try_lock};
use crate::log::manifest::Manifest;
use crate::log::marker::ensure_store_dir;
use crate::log::recovery::{recover_lane, RecoveryReport};
use crate::log::segment::ActiveSegment;
use crate::options::Options;
use crate::writer::{self, Msg, SeriesDef, Shared, WriterSetup, WriterStats};

/// An open store directory, appending through one lane and one writer thread.
///
/// Log calls queue records on a bounded channel and return; the writer thread
/// writes them in batches. [`flush`](Store::flush) is the durability barrier.
/// Dropping the store flushes and joins the writer; [`close`](Store::close)
/// does the same and returns the writer's error, if any.
///
/// ```
/// # fn main() -> runlog::Result<()> {
/// let dir = tempfile::tempdir().unwrap();
/// let store = runlog::engine::Store::open(dir.path())?;
/// let loss = store.metric_handle("0123456789abcdef0123456789abcdef", "loss")?;
/// for step in 0..100 {
///     loss.log(1.0 / (step + 1) as f64, step)?;
/// }
/// store.flush()?; // everything above is on disk now
/// # Ok(()) }
/// ```
pub struct Store {
    path: PathBuf,
    lane: u64,
    tx: Sender<Msg>,
    wake: Sender<()>,
    shared: Arc<Shared>,
    series: Mutex<SeriesTable>,
    writer: Option<JoinHandle<()>>,
    /// The background compaction thread, when the options ask for one.
    compactor: Option<JoinHandle<()>>,
    /// Whether the options asked for background compaction (the exit
    /// hook then compacts after the process exits, too).
    compacts_in_background: bool,
    _lock: HeldLock,
    report: RecoveryReport,
}

/// A map with foldhash: `log_metric` hashes a run id and a key per call, and
/// SipHash would cost more than the rest of the call.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Series numbers handed out by this store: run id -> key -> number.
#[derive(Default)]
struct SeriesTable {
    by_run: FastMap<Box<str>, FastMap<Box<str>, u32>>,
    next: u32,
}

/// A cheap, cloneable handle that logs points of one metric of one run.
///
/// A log call copies 32 bytes into the channel: no allocation, no string
/// hashing, no system call, no wake-up of the writer.
#[derive(Clone)]
pub struct MetricHandle {
    tx: Sender<Msg>,
    wake: Sender<()>,
    shared: Arc<Shared>,
    series: u32,
}

impl MetricHandle {
    /// Logs `value` at `step`, timestamped with the store clock (milliseconds
    /// since the epoch, advanced by the writer about every millisecond).
    #[inline]
    pub fn log(&self, value: f64, step: i64) -> Result<(), LogError> {
        self.log_at(Metric {
            value,
            timestamp: self.shared.now_ms(),
            step,
        })
    }

    /// Logs a point with an explicit timestamp (ms since the epoch).
    #[inline]
    pub fn log_at(&self, point: Metric) -> Result<(), LogError> {
        let Metric {
            value,
            timestamp,
            step,
        } = point;
        self.shared.check()?;
        writer::send(
            &self.tx,
            &self.wake,
            Msg::Metric {
                series: self.series,
                value,
                timestamp,
                step,
            },
        )
    }
}

impl MetricHandle {
    /// [`log`](MetricHandle::log) that never waits: `Ok(false)`, nothing
    /// logged, when the channel is full (the writer is behind). For a
    /// caller that must let go of something before it waits, such as
    /// Python's GIL.
    #[inline]
    pub fn try_log(&self, value: f64, step: i64) -> Result<bool, LogError> {
        self.shared.check()?;
        let timestamp = self.shared.now_ms();
        let logged = writer::try_send(
            &self.tx,
            Msg::Metric {
                series: self.series,
                value,
                timestamp,
                step,
            },
        )?;
        if !logged {
            let _ = self.wake.try_send(());
        }
        Ok(logged)
    }
}

impl Store {
    /// Opens (or creates) the store at `path` with default [`Options`].
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StorageError> {
        Store::open_with(path, Options::default())
    }

    /// Opens (or creates) the store at `path`.
    ///
    /// Lanes left by dead writers are recovered: a torn tail is cut,
    /// corruption is reported and left in place (see
    /// [`recovery_report`](Store::recovery_report)), the segment is sealed.
    /// This process then appends a new segment to a free lane, or to a new
    /// lane; closing the store seals that segment.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Store, StorageError> {
        let path = path.as_ref().to_owned();
        let mut report = RecoveryReport::default();
        report.corrupt.extend(ensure_store_dir(&path)?);
        let mut adopted = None;
        for lane in list_lanes(&path)? {
            let Some(lock) = try_lock(&lane.path)? else {
                continue; // a live writer owns it
            };
            let next = recover_lane(&lane, &mut report)?;
            if adopted.is_none() {
                adopted = Some((lane, lock, next));
            }
        }
        let (lane, lock, next) = match adopted {
            Some(a) => a,
            None => {
                let (lane, lock) = create_lane(&path)?;
                (lane, lock, 1)
            }
        };
        // Compaction may have replaced the lane's last segments: number
        // after them. Read after the lane was listed (by its recovery), as
        // a compaction publishes the manifest before it deletes segments.
        let next = match Manifest::load(&path)?.last_sequence(lane.id) {
            Some(replaced) => next.max(replaced + 1),
            None => next,
        };
        let active = ActiveSegment::create(&lane.path, lane.id, next)?;
        let (tx, rx) = bounded(options.channel_capacity);
        let (wake, wake_rx) = bounded(1);
        let shared = Arc::new(Shared::new());
        let compacts_in_background = options.auto_compact.is_some();
        let (sealed, compactor) = match options.auto_compact {
            Some(every) => {
                let (sealed_tx, sealed_rx) = bounded(1);
                let thread = crate::compact::spawn_background(
                    &path,
                    lane.id,
                    every,
                    &options,
                    sealed_rx,
                    Arc::clone(&shared),
                )?;
                (Some(sealed_tx), Some(thread))
            }
            None => (None, None),
        };
        let setup = WriterSetup {
            lane_dir: lane.path.clone(),
            lane: lane.id,
            active,
            options,
            sealed,
        };
        let thread_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name(format!("runlog-writer-{}", lane.id))
            .spawn(move || writer::run(setup, thread_shared, rx, wake_rx))
            .map_err(|e| StorageError::io("spawn writer thread", &path, e))?;
        Ok(Store {
            path,
            lane: lane.id,
            tx,
            wake,
            shared,
            series: Mutex::new(SeriesTable::default()),
            writer: Some(writer),
            compactor,
            compacts_in_background,
            _lock: lock,
            report,
        })
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of the lane this store appends to.
    pub fn lane(&self) -> u64 {
        self.lane
    }

    /// Whether the store was opened to compact in the background
    /// ([`Options::auto_compact`](crate::Options::auto_compact) not `None`).
    pub fn compacts_in_background(&self) -> bool {
        self.compacts_in_background
    }

    /// What opening the store repaired and found.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.report
    }

    /// The store clock in milliseconds since the epoch (the default timestamp
    /// of metric points); reading it makes no system call.
    pub fn now_ms(&self) -> i64 {
        self.shared.now_ms()
    }

    /// A handle for logging metric `key` of run `run_id` from a hot loop.
    pub fn metric_handle(&self, run_id: &str, key: &str) -> Result<MetricHandle, LogError> {
        let series = self.series_id(run_id, key)?;
        Ok(MetricHandle {
            tx: self.tx.clone(),
            wake: self.wake.clone(),
            shared: Arc::clone(&self.shared),
            series,
        })
    }

    /// Logs one metric point by run id and key.
    pub fn log_metric(&self, run_id: &str, key: &str, point: Metric) -> Result<(), LogError> {
        let Metric {
            value,
            timestamp,
            step,
        } = point;
        self.shared.check()?;
        let series = self.series_id(run_id, key)?;
        writer::send(
            &self.tx,
            &self.wake,
            Msg::Metric {
                series,
                value,
                timestamp,
                step,
            },
        )
    }

    /// Appends a record (param, tag, run or experiment change, dataset input).
    /// Fails at once if the record exceeds a limit of the format.
    pub fn append<S: AsRef<str>>(&self, record: &Record<S>) -> Result<(), LogError> {
        self.shared.check()?;
        let mut buf = Vec::new();
        encode_record(&mut buf, record)?;
        writer::send(&self.tx, &self.wake, Msg::Encoded(buf.into_boxed_slice()))
    }

    /// Blocks until every record logged before this call is written and
    /// fsynced, or returns the writer's error.
    pub fn flush(&self) -> Result<(), LogError> {
        self.shared.check_alive()?;
        let (reply, answer) = bounded(1);
        writer::send(&self.tx, &self.wake, Msg::Flush(reply))?;
        let _ = self.wake.try_send(());
        answer.recv().map_err(|_| LogError::Closed)?
    }

    /// Blocks until every record logged before this call is written to its
    /// segment file, without waiting for an fsync: afterwards a [`Replay`]
    /// (in this process or another) reads them, but a power loss may still
    /// take them. Costs a round trip to the writer thread.
    ///
    /// [`Replay`]: crate::engine::Replay
    pub fn sync_written(&self) -> Result<(), LogError> {
        self.shared.check_alive()?;
        let (reply, answer) = bounded(1);
        writer::send(&self.tx, &self.wake, Msg::Written(reply))?;
        let _ = self.wake.try_send(());
        answer.recv().map_err(|_| LogError::Closed)?
    }

    /// Refuses every new record with [`LogError::Full`] carrying `reason`
    /// (`Some`), or takes records again (`None`): the bound of a spool's
    /// size. Flushes still write what was taken.
    pub fn refuse_records(&self, reason: Option<String>) {
        self.shared.set_full(reason);
    }

    /// Counters of the writer thread.
    pub fn stats(&self) -> WriterStats {
        self.shared.stats()
    }

    /// Writes and fsyncs everything queued, seals the segment, stops the
    /// writer thread and releases the lane; returns the writer's error, if
    /// any. Every log call that returned before `close` was called is
    /// written. Metric handles still held get [`LogError::Closed`] afterwards; a
    /// call racing with `close` from another thread may be refused or may be
    /// dropped.
    pub fn close(mut self) -> Result<(), LogError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), LogError> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        // The writer may be gone already (it stops on its own when poisoned
        // channels disconnect); a failed send then is not an error of its own.
        let _ = self.tx.send(Msg::Shutdown);
        let _ = self.wake.try_send(());
        let joined = writer.join();
        // The writer's end dropped the compactor's channel: it finishes a
        // compaction in progress, then stops.
        if let Some(compactor) = self.compactor.take() {
            let _ = compactor.join();
        }
        if joined.is_err() {
            return Err(LogError::Internal(format!(
                "the writer thread of {} panicked",
                self.path.display()
            )));
        }
        self.shared.failure().map_or(Ok(()), Err)
    }

    fn series_id(&self, run_id: &str, key: &str) -> Result<u32, LogError> {
        let mut table = self.series.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = table.by_run.get(run_id).and_then(|keys| keys.get(key)) {
            return Ok(*id);
        }
        // The writer encodes the series entry; refuse here what it could not
        // encode, so that user input can never fail the writer.
        let payload = 12 + run_id.len() + key.len();
        if payload > MAX_SERIES_PAYLOAD_LEN {
            return Err(LogError::InvalidRecord(format!(
                "run id and metric key take {payload} bytes; a series entry holds at most \
                 {MAX_SERIES_PAYLOAD_LEN}"
            )));
        }
        let id = table.next;
        table.next = id
            .checked_add(1)
            .ok_or_else(|| LogError::InvalidRecord("more than 2^32 metric series".into()))?;
        // Sent under the lock, so no other thread can send a point of this
        // series before its definition.
        writer::send(
            &self.tx,
            &self.wake,
            Msg::DefineSeries(Box::new(SeriesDef {
                id,
                run_id: run_id.into(),
                key: key.into(),
            })),
        )?;
        table
            .by_run
            .entry(run_id.into())
            .or_default()
            .insert(key.into(), id);
        Ok(id)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("lane", &self.lane)
            .finish_non_exhaustive()
    }
}
