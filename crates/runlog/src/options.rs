//! Options of an open store: segment size, channel capacity, durability.

use std::time::Duration;

use crate::foreground::Foreground;

/// When the writer thread fsyncs. Whatever the policy, every batch is
/// written to the OS at once (so a killed process loses nothing the writer
/// has drained), and [`Store::flush`](crate::engine::Store::flush) always fsyncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Never fsync except in `flush` and when a segment is sealed. A process
    /// crash loses nothing written; a power loss may lose everything since
    /// the last `flush`.
    Buffered,
    /// Fsync at most this long after a batch was written. A power loss loses
    /// at most this window (plus the queue).
    Periodic(Duration),
    /// Fsync after every batch. A power loss loses only what was still queued.
    EveryBatch,
}

/// How a store is opened. Build with [`Options::default`] and the setters.
///
/// ```
/// use std::time::Duration;
/// use runlog::{Durability, Options};
/// let options = Options::default()
///     .segment_size(16 << 20)
///     .durability(Durability::Periodic(Duration::from_millis(10)));
/// assert_eq!(options.get_segment_size(), 16 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) segment_size: u64,
    pub(crate) channel_capacity: usize,
    pub(crate) durability: Durability,
    pub(crate) writer_tick: Duration,
    pub(crate) auto_compact: Option<u32>,
    pub(crate) look_around: Duration,
    pub(crate) foreground: Option<Foreground>,
}

/// Smallest accepted segment size (so that a segment holds more than its header).
pub const MIN_SEGMENT_SIZE: u64 = 4096;

impl Default for Options {
    fn default() -> Self {
        Options {
            segment_size: 64 << 20,
            channel_capacity: 1 << 16,
            durability: Durability::Periodic(Duration::from_millis(100)),
            writer_tick: Duration::from_millis(1),
            auto_compact: Some(4),
            look_around: Duration::from_secs(60),
            foreground: None,
        }
    }
}

impl Options {
    /// Size at which the active segment is sealed and a new one begun
    /// (default 64 MiB; at least [`MIN_SEGMENT_SIZE`], smaller values are raised to it).
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes.max(MIN_SEGMENT_SIZE);
        self
    }

    /// Records the channel holds before a log call waits (default 65,536; at least 1).
    pub fn channel_capacity(mut self, records: usize) -> Self {
        self.channel_capacity = records.max(1);
        self
    }

    /// When to fsync (default: every 100 ms).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// How often the idle writer thread wakes to drain the channel and
    /// advance the store clock (default 1 ms; at least 100 us). Log calls never
    /// wake the writer, so this bounds both the queue's latency and the
    /// staleness of default timestamps.
    pub fn writer_tick(mut self, tick: Duration) -> Self {
        self.writer_tick = tick.max(Duration::from_micros(100));
        self
    }

    /// Compact in the background every `segments` segments this store
    /// seals (default 4: every 256 MiB of log with the default segment
    /// size), and once when the store opens if writers that are gone left
    /// at least 4 MiB of raw segments; or never with `None` (compact on
    /// demand with [`compact`](crate::compact::compact) or `runlog
    /// compact`). A background compaction takes at most 64 MiB of segments
    /// at a time (about 60 MiB of memory while it sorts), runs on its own
    /// thread, never blocks a log call, skips a round while another
    /// process compacts, and leaves replaced segments 30 seconds for
    /// readers following the store; closing the store waits for the
    /// generation it is writing, not for the rest. It also has the fluent
    /// API's exit hook compact the store after the process exits (see
    /// [`compact_after_exit`](crate::compact::compact_after_exit)).
    pub fn auto_compact(mut self, segments: Option<u32>) -> Self {
        self.auto_compact = segments.map(|n| n.max(1));
        self
    }

    /// The background compaction policy.
    pub fn get_auto_compact(&self) -> Option<u32> {
        self.auto_compact
    }

    /// How often the background compactor looks at what writers that
    /// exited left (default 60 s; at least 10 ms): when the raw segments
    /// of lanes no writer holds add up to 4 MiB (a process too large to
    /// compact after its exit, a killed one), it compacts the store. A
    /// long-lived store (`runlog server`) so takes what processes that
    /// logged beside it left.
    pub fn compact_look_around(mut self, every: Duration) -> Self {
        self.look_around = every.max(Duration::from_millis(10));
        self
    }

    /// How often the background compactor looks at what other writers left.
    pub fn get_compact_look_around(&self) -> Duration {
        self.look_around
    }

    /// Foreground work the background compactor gives way to (default
    /// none): while any is in progress, a compaction pauses between the
    /// steps of its work (about a third of a millisecond each), unless
    /// the writer sealed [`GIVE_WAY_MAX_BACKLOG`] of segments since it
    /// began. `runlog server` counts its requests here, so that compaction
    /// runs in the gaps between them.
    ///
    /// [`GIVE_WAY_MAX_BACKLOG`]: crate::compact::GIVE_WAY_MAX_BACKLOG
    pub fn give_way_to(mut self, foreground: Foreground) -> Self {
        self.foreground = Some(foreground);
        self
    }

    /// The segment size.
    pub fn get_segment_size(&self) -> u64 {
        self.segment_size
    }

    /// The channel capacity.
    pub fn get_channel_capacity(&self) -> usize {
        self.channel_capacity
    }

    /// The durability policy.
    pub fn get_durability(&self) -> Durability {
        self.durability
    }
}
