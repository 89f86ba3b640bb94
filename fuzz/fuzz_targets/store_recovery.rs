//! Arbitrary bytes as the tail segment of a crashed writer's lane: replay
//! and recovery must never panic, recovery must never drop an entry that
//! replay could read before it, and after recovery the store holds no torn
//! tail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runlog::format::{SegmentHeader, StoreMarker, SEGMENT_VERSION, STORE_VERSION_PLAIN};
use runlog::engine::{Replay, Store};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let lane = dir.path().join("lanes").join("000001");
    std::fs::create_dir_all(&lane).expect("mkdir");
    std::fs::write(
        dir.path().join("RUNLOG"),
        StoreMarker { version: STORE_VERSION_PLAIN }.encode(),
    )
    .expect("marker");
    let mut segment = SegmentHeader { version: SEGMENT_VERSION, lane: 1, sequence: 1 }
        .encode()
        .to_vec();
    segment.extend_from_slice(data);
    std::fs::write(lane.join("00000001.seg"), &segment).expect("segment");

    let before: Vec<_> = Replay::open(dir.path())
        .expect("replay opens")
        .filter_map(Result::ok)
        .map(|r| r.event)
        .collect();
    let Ok(store) = Store::open(dir.path()) else {
        return; // a typed error is fine; a panic is not
    };
    drop(store);
    let after: Vec<_> = Replay::open(dir.path())
        .expect("replay opens")
        .filter_map(Result::ok)
        .map(|r| r.event)
        .collect();
    assert_eq!(before, after, "recovery changed what replay reads");
    let summary = runlog::engine::verify(dir.path()).expect("verify");
    assert!(summary.torn.is_empty(), "recovery left a torn tail: {summary:?}");
});
