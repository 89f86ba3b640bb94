//! The engine's read view of a store: what a reader has read of the log
//! (the replay's position in every lane, the generations taken on), the
//! live points by series (the tail, for history reads), and the chunk
//! indexes of the generations, with the rules that keep them right while
//! compactions run.
//!
//! A reader asks the view to catch up and is handed what the log gained:
//! its records, and each series' latest point ([`Follower`]). A compaction
//! published meanwhile is taken in place: the view read the segments it
//! replaced (they are kept a while for readers following the store), so
//! only the live points move from the tail to the generation. When a
//! compaction deleted a segment the view had not read, the view is built
//! again from scratch and the follower told to start over; after three
//! such races the view holds compactions off for one last read, so that a
//! read never fails because of a concurrent compaction. The layers above
//! never take the compaction lock themselves.
//!
//! A history read takes its sources from the view in one hold of it: the
//! chunk indexes of the view's generations and the live points the query
//! selects ([`ReadView::sources`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result, StorageError};
use crate::format::Metric;
use crate::index::chunks::ChunkIndex;
use crate::index::plan::Sources;
use crate::index::query::HistoryQuery;
use crate::index::tail::{self, drop_replaced, SegmentId, TailIndex};
use crate::layout::generation_path;
use crate::log::generation::Generation;
use crate::replay::{Event, Position, Replay};
use crate::store::Store;

/// What a catch-up hands the reader above as it reads the log.
pub(crate) trait Follower {
    /// The view was built again from scratch: everything handed before is
    /// handed again, so the reader forgets it.
    fn restart(&mut self);
    /// A record, in log order (metric points are not records).
    fn record(&mut self, event: &Event);
    /// The latest point (MLflow's rule) of a series among the points read.
    fn latest_point(&mut self, run_id: &Arc<str>, key: &Arc<str>, point: Metric);
}

/// A reader's view of one store (see the module's description).
pub(crate) struct ReadView {
    root: PathBuf,
    replay: Replay,
    /// Damaged entries skipped while following the log.
    damaged: u64,
    /// Generations published when the view was built, and taken on since:
    /// the view's data is theirs plus the segments they do not replace.
    generations: Vec<u64>,
    /// Every metric point read from segments (not from generations), by
    /// series, once a history query asked for it: history then needs no
    /// scan of the log.
    tail: Option<TailIndex>,
    /// Times the view was built again because a compaction deleted a
    /// segment it had not read (a figure for tests and benches).
    rebuilds: u64,
}

/// The points of one series met in one catch-up.
struct SeriesBatch {
    run_id: Arc<str>,
    key: Arc<str>,
    /// The latest by MLflow's rule.
    latest: Metric,
    /// Every point with its segment, in log order, for the tail.
    points: Vec<(Metric, SegmentId)>,
}

impl ReadView {
    /// A view of the store at `root` from scratch: the generations'
    /// records and latest points, then the segments they do not replace
    /// (read by the first catch-up).
    pub(crate) fn open(root: &Path, with_tail: bool) -> Result<ReadView> {
        let replay = Replay::open_latest(root)?;
        let generations = replay
            .published()
            .iter()
            .map(|g| g.number)
            .take(replay.generations())
            .collect();
        Ok(ReadView {
            root: root.to_owned(),
            replay,
            damaged: 0,
            generations,
            tail: with_tail.then(TailIndex::new),
            rebuilds: 0,
        })
    }

    /// Damaged entries skipped while reading the log.
    pub(crate) fn damaged(&self) -> u64 {
        self.damaged
    }

    /// Times the view was built again because of a compaction.
    #[cfg(test)]
    pub(crate) fn rebuilds(&self) -> u64 {
        self.rebuilds
    }

    /// Reads what the log gained since the last catch-up (`store`, this
    /// process's writer, first writes what it has queued), handing it to
    /// `follower`, despite compactions.
    pub(crate) fn catch_up(
        &mut self,
        store: Option<&Store>,
        follower: &mut dyn Follower,
    ) -> Result<()> {
        if let Some(store) = store {
            store.sync_written()?;
        }
        for attempt in 0..3 {
            match self.read_on(attempt > 0, follower) {
                Err(e) if compaction_raced(&e) => continue,
                other => return other,
            }
        }
        // After three races with compactions, one last read with them held
        // off (the compaction lock is created only by a writer).
        let _held = crate::compact::hold_compactions(&self.root, store.is_some())?;
        self.read_on(true, follower)
    }

    /// One read of what the log gained; `again` after a compaction raced
    /// the last one, when the view is counted as rebuilt and built again.
    fn read_on(&mut self, again: bool, follower: &mut dyn Follower) -> Result<()> {
        if again {
            self.rebuilds += 1;
            self.reopen(follower)?;
        }
        self.follow(follower)?;
        self.take_generations();
        Ok(())
    }

    /// Starts keeping the live points by series (the tail), when the view
    /// does not yet: built again from scratch to gather them, then caught
    /// up.
    pub(crate) fn keep_tail(
        &mut self,
        store: Option<&Store>,
        follower: &mut dyn Follower,
    ) -> Result<()> {
        if self.tail.is_some() {
            return Ok(());
        }
        self.tail = Some(TailIndex::new());
        let built = self
            .reopen(follower)
            .and_then(|()| self.catch_up(store, follower));
        if built.is_err() {
            self.tail = None;
        }
        built
    }

    /// The view from scratch, keeping its tail if it has one; the follower
    /// starts over.
    fn reopen(&mut self, follower: &mut dyn Follower) -> Result<()> {
        let rebuilds = self.rebuilds;
        *self = ReadView::open(&self.root, self.tail.is_some())?;
        self.rebuilds = rebuilds;
        follower.restart();
        Ok(())
    }

    /// The generations of the view and each run's live points of `key`
    /// the query selects (runs in their slots' order), taken at once; the
    /// generations' chunk indexes come from `indexes`.
    pub(crate) fn sources(
        &self,
        runs: &[&str],
        key: &Arc<str>,
        query: &HistoryQuery,
    ) -> (Vec<u64>, Vec<Vec<Metric>>) {
        let live = runs
            .iter()
            .map(|run| match &self.tail {
                Some(t) => tail::select(t, run, key, query),
                None => Vec::new(),
            })
            .collect();
        (self.generations.clone(), live)
    }

    /// The generations the view has taken on (for tests).
    #[cfg(test)]
    pub(crate) fn generations(&self) -> &[u64] {
        &self.generations
    }

    /// The live points of a series in the tail (for tests).
    #[cfg(test)]
    pub(crate) fn tail_points(&self, run_id: &str, key: &str) -> Option<usize> {
        let tail = self.tail.as_ref()?;
        Some(
            tail.get(&(Arc::from(run_id), Arc::from(key)))
                .map_or(0, |s| s.points.len()),
        )
    }

    /// Reads what the log gained since the view last read it.
    fn follow(&mut self, follower: &mut dyn Follower) -> Result<()> {
        self.replay.refresh()?;
        let ReadView {
            replay,
            damaged,
            tail,
            ..
        } = self;
        // Points are gathered per series (its run id and key are the same
        // shared strings for every point of a segment, so the series is
        // found by their addresses, not by hashing them) and handed once
        // per series at the end: the latest value is the greatest point by
        // MLflow's rule, whatever the order, and no record removes one.
        // Keys are addresses of strings the values hold: none is reused.
        let mut batches: HashMap<(usize, usize), SeriesBatch, foldhash::fast::RandomState> =
            HashMap::default();
        let keep_points = tail.is_some();
        let mut on_point = |at: Position, run_id: &Arc<str>, key: &Arc<str>, point: Metric| {
            let address = (
                Arc::as_ptr(run_id) as *const u8 as usize,
                Arc::as_ptr(key) as *const u8 as usize,
            );
            let batch = batches.entry(address).or_insert_with(|| SeriesBatch {
                run_id: Arc::clone(run_id),
                key: Arc::clone(key),
                latest: point,
                points: Vec::new(),
            });
            if point.is_later_than(&batch.latest) {
                batch.latest = point;
            }
            // Lane 0 is compacted data (only latest points).
            if keep_points && at.lane != 0 {
                batch.points.push((point, (at.lane, at.segment)));
            }
        };
        let mut failed = None;
        while let Some(item) = replay.next_record(&mut on_point) {
            match item {
                Ok(replayed) => match &replayed.event {
                    Event::Metric { .. } => {
                        if let Some((run_id, key, point)) = replayed.event.metric() {
                            on_point(replayed.position, run_id, key, point);
                        }
                    }
                    Event::Record(_) => follower.record(&replayed.event),
                },
                Err(StorageError::Corrupt(_)) => *damaged += 1,
                Err(e) => {
                    failed = Some(Error::from(e));
                    break;
                }
            }
        }
        // Also after a failure: the replay has moved past these points.
        for batch in batches.into_values() {
            follower.latest_point(&batch.run_id, &batch.key, batch.latest);
            if let (Some(tail), false) = (tail.as_mut(), batch.points.is_empty()) {
                let series = tail.entry((batch.run_id, batch.key)).or_default();
                series.points.reserve(batch.points.len());
                for (point, origin) in batch.points {
                    series.push(point, origin);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Takes on the generations published since the view's last ones
    /// whose replaced segments the view has read to their end (all of
    /// them, after a catch-up): their points leave the tail, as history
    /// now reads them from the generation's chunks. The follower already
    /// has their records.
    fn take_generations(&mut self) {
        while let Some(g) = self.replay.published().get(self.generations.len()) {
            if !g.segments.iter().all(|&(l, s)| self.replay.has_read(l, s)) {
                break; // read on first
            }
            if let Some(tail) = &mut self.tail {
                drop_replaced(tail, &g.segments.iter().copied().collect());
            }
            self.generations.push(g.number);
        }
    }
}

/// The chunk indexes of a store's published generations, built once each
/// (generation files are immutable) and shared by its readers.
#[derive(Default)]
pub(crate) struct ChunkIndexes {
    built: Mutex<HashMap<u64, Arc<ChunkIndex>>>,
}

impl ChunkIndexes {
    /// The chunk index of generation `number` of the store at `root`.
    pub(crate) fn get(&self, root: &Path, number: u64) -> Result<Arc<ChunkIndex>> {
        let cached = self
            .built
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&number)
            .cloned();
        if let Some(index) = cached {
            return Ok(index);
        }
        let generation = Generation::open(&generation_path(root, number), number)?;
        let index = Arc::new(ChunkIndex::build(generation)?);
        self.built
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(number, Arc::clone(&index));
        Ok(index)
    }

    /// A history read's sources: the chunk indexes of `generations` and
    /// the live points taken with them.
    pub(crate) fn sources(
        &self,
        root: &Path,
        (generations, live): (Vec<u64>, Vec<Vec<Metric>>),
    ) -> Result<Sources> {
        let indexes = generations
            .into_iter()
            .map(|number| self.get(root, number))
            .collect::<Result<Vec<_>>>()?;
        Ok(Sources { indexes, live })
    }
}

/// Whether an error means a compaction changed the store under a reader
/// (published a generation, deleted a segment not read yet).
fn compaction_raced(e: &Error) -> bool {
    matches!(e, Error::CompactionRaced(_)) || e.io_kind() == Some(std::io::ErrorKind::NotFound)
}
