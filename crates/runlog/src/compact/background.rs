//! The background compaction thread a store starts (see
//! [`Options::auto_compact`](crate::Options::auto_compact)): it compacts
//! the store when it starts if other writers left enough raw segments
//! (what a compaction after exit did not finish, say), then every few
//! segments the writer seals, and now and then when other writers left
//! enough again.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::RecvTimeoutError;

use crate::compact::after_exit::{compactable_bytes, left_by_others, AFTER_EXIT_MIN_BYTES};
use crate::compact::compactor::{compact_steered, CompactOptions, Steering};
use crate::compact::{should_pause, GIVE_WAY_NAP};
use crate::error::{CompactError, StorageError, StorageResult};
use crate::writer::Shared;
use crate::Options;

/// Segment bytes one background compaction takes at most.
pub(super) const AUTO_COMPACT_INPUT_BYTES: u64 = 64 << 20;

/// The background compaction thread: compacts the store at once when its
/// raw segments but the lane `lane`'s last add up to
/// [`AFTER_EXIT_MIN_BYTES`], then every `every` segments the writer seals,
/// and every `options.look_around` when other writers' raw segments add up
/// to as much, until the writer's channel closes.
pub(crate) fn spawn_background(
    path: &Path,
    lane: u64,
    every: u32,
    options: &Options,
    sealed: crossbeam_channel::Receiver<()>,
    shared: Arc<Shared>,
) -> StorageResult<JoinHandle<()>> {
    let store = path.to_owned();
    let look_around = options.look_around;
    let segment_size = options.segment_size;
    let foreground = options.foreground.clone();
    std::thread::Builder::new()
        .name("runlog-compactor".into())
        .spawn(move || {
            let options = CompactOptions {
                max_input_bytes: AUTO_COMPACT_INPUT_BYTES,
                // Readers following the store may lag: they have 30 s.
                keep_replaced_for: std::time::Duration::from_secs(30),
                // Another compaction at work: skip this round, not wait.
                wait_for_other: false,
            };
            let compact = || {
                let counters = shared.counters();
                let sealed_before = counters.segments.load(Ordering::Relaxed);
                let give_way = || {
                    let Some(foreground) = &foreground else {
                        return;
                    };
                    let paused = Instant::now();
                    while should_pause(
                        foreground,
                        shared.is_closed(),
                        counters
                            .segments
                            .load(Ordering::Relaxed)
                            .saturating_sub(sealed_before),
                        segment_size,
                    ) {
                        std::thread::sleep(GIVE_WAY_NAP);
                    }
                    let us = u64::try_from(paused.elapsed().as_micros()).unwrap_or(u64::MAX);
                    counters
                        .compaction_paused_us
                        .fetch_add(us, Ordering::Relaxed);
                };
                let steering = Steering {
                    stop: &|| shared.is_closed(),
                    give_way: &give_way,
                };
                match compact_steered(&store, &options, &steering) {
                    Ok(_) => counters.compactions.fetch_add(1, Ordering::Relaxed),
                    // Another process compacting is no failure.
                    Err(CompactError::Running { .. }) => 0,
                    Err(_) => counters.compaction_errors.fetch_add(1, Ordering::Relaxed),
                };
            };
            // Measured here, not on the opener's path.
            if compactable_bytes(&store, lane).is_ok_and(|b| b >= AFTER_EXIT_MIN_BYTES) {
                compact();
            }
            let mut pending = 0u32;
            // A signal may stand for several seals when they come faster
            // than compactions; counting signals errs on compacting later.
            loop {
                match sealed.recv_timeout(look_around) {
                    Ok(()) => pending += 1,
                    // What exited writers left since (a process too large
                    // to compact after its exit, a killed one): taken
                    // once it is worth a generation.
                    Err(RecvTimeoutError::Timeout) => {
                        if left_by_others(&store, lane).is_ok_and(|b| b >= AFTER_EXIT_MIN_BYTES) {
                            compact();
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
                if pending < every {
                    continue;
                }
                pending = 0;
                compact();
            }
        })
        .map_err(|e| StorageError::io("spawn compactor thread", path, e))
}
