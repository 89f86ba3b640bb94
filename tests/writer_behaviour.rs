//! The writer thread's contract: backpressure never drops a record, each
//! durability policy fsyncs when it says, `flush` is a barrier for every
//! thread, dropping the store writes what is queued, handles outliving the
//! store get a clear error, and the store clock moves.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use runlog::engine::Store;
use runlog::{Durability, Options};

#[test]
fn a_full_channel_makes_callers_wait_and_drops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default()
        .channel_capacity(8)
        .writer_tick(Duration::from_millis(50));
    let store = Arc::new(Store::open_with(dir.path(), options).unwrap());
    let threads: Vec<_> = (0..2u64)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let h = store.metric_handle(&run_id(t), "m").unwrap();
                for step in 0..20_000 {
                    h.log(1.0, step).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    store.flush().unwrap();
    let stats = store.stats();
    assert_eq!(stats.records, 40_000);
    assert!(stats.queue_high_water <= 8, "{stats:?}");
    assert!(
        stats.batches >= 40_000 / 8,
        "a batch never exceeds the channel"
    );
    drop(store);
    let events = replay_all(dir.path());
    for t in 0..2 {
        let steps: Vec<i64> = points(&events, &run_id(t), "m")
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(steps, (0..20_000).collect::<Vec<_>>());
    }
}

/// (fsyncs, batches) before the final flush, for points logged 5 ms apart.
fn fsyncs_for(durability: Durability, points: usize) -> (u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), Options::default().durability(durability)).unwrap();
    let h = store.metric_handle("r", "m").unwrap();
    for step in 0..points as i64 {
        h.log(1.0, step).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    // Every point is written (no fsync asked) before the counters are read;
    // timing alone cannot tell on a loaded machine. From here at most one
    // more fsync happens: a periodic one of the last write, or the flush's.
    store.sync_written().unwrap();
    let stats = store.stats();
    store.flush().unwrap();
    let after = store.stats();
    assert!(
        after.fsyncs <= stats.fsyncs + 1,
        "flush fsyncs once at most: {stats:?} then {after:?}"
    );
    (stats.fsyncs, stats.batches)
}

#[test]
fn durability_policies_fsync_when_they_say() {
    let (fsyncs, batches) = fsyncs_for(Durability::Buffered, 20);
    assert_eq!(fsyncs, 0, "{batches} batches");
    let (fsyncs, batches) = fsyncs_for(Durability::EveryBatch, 20);
    assert_eq!(fsyncs, batches);
    let (fsyncs, _) = fsyncs_for(Durability::Periodic(Duration::from_secs(3600)), 20);
    assert_eq!(fsyncs, 0, "the period has not elapsed");
    let (fsyncs, batches) = fsyncs_for(Durability::Periodic(Duration::from_millis(1)), 20);
    assert!(
        fsyncs >= 1 && fsyncs <= batches,
        "{fsyncs} fsyncs, {batches} batches"
    );
}

#[test]
fn flush_is_a_barrier_for_records_of_other_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        Store::open_with(
            dir.path(),
            Options::default().durability(Durability::Buffered),
        )
        .unwrap(),
    );
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            let h = store.metric_handle("r", "m").unwrap();
            for step in 0..10_000 {
                h.log(1.0, step).unwrap();
            }
        })
    };
    writer.join().unwrap(); // happens-before the flush below
    store.flush().unwrap();
    assert_eq!(store.stats().records, 10_000);
    // Read while the store is still open: everything flushed is on disk.
    assert_eq!(points(&replay_all(dir.path()), "r", "m").len(), 10_000);
}

#[test]
fn dropping_the_store_writes_what_is_queued_and_handles_then_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(
        dir.path(),
        Options::default().writer_tick(Duration::from_secs(5)),
    )
    .unwrap();
    let h = store.metric_handle("r", "m").unwrap();
    for step in 0..1000 {
        h.log(1.0, step).unwrap();
    }
    drop(store); // no flush: drop writes and fsyncs the queue
    assert_eq!(points(&replay_all(dir.path()), "r", "m").len(), 1000);
    assert!(matches!(
        h.log(1.0, 0),
        Err(runlog::engine::LogError::Closed)
    ));
}

#[test]
fn the_store_clock_follows_the_wall_clock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let start = store.now_ms();
    assert!((start - runlog::clock::wall_clock_ms()).abs() < 1000);
    std::thread::sleep(Duration::from_millis(30));
    assert!(
        store.now_ms() >= start + 20,
        "the writer advances the clock on its tick"
    );
    let h = store.metric_handle("r", "m").unwrap();
    h.log(1.0, 0).unwrap();
    store.close().unwrap();
    let events = replay_all(dir.path());
    let runlog::engine::Event::Metric { timestamp, .. } = &events[0] else {
        panic!("a metric")
    };
    assert!((*timestamp - start).abs() < 1000);
}

#[test]
fn try_log_never_waits_and_logs_exactly_what_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), Options::default().channel_capacity(64)).unwrap();
    let handle = store.metric_handle("r", "m").unwrap();
    let mut logged = Vec::new();
    let mut refused = 0;
    for step in 0..200_000 {
        match handle.try_log(step as f64, step).unwrap() {
            true => logged.push(step),
            false => refused += 1,
        }
    }
    assert!(refused > 0, "a 64-record channel fills");
    store.flush().unwrap();
    drop(store);
    let events = common::replay_all(dir.path());
    let steps: Vec<i64> = common::points(&events, "r", "m")
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(steps, logged, "every accepted point, and only those");
}
