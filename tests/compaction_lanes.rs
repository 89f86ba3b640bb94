//! Compaction of lanes whose writers are gone: a finished run is compacted
//! down to no raw segment, a dead writer's last segment is recovered and
//! compacted, a lane reopened afterwards numbers its segments after the
//! ones the manifest lists, and a live writer's segment is never touched.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::path::Path;

use common::*;
use runlog::compact::CompactOptions;
use runlog::engine::Store;
use runlog::log::manifest::Manifest;

/// The example binary `train_loop`, as `cargo test` builds it.
fn train_loop() -> std::path::PathBuf {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_runlog"));
    exe.parent().unwrap().join("examples").join("train_loop")
}

fn raw_segments(store: &Path) -> usize {
    segments(store).len()
}

/// Every point of the store's one series: (step, timestamp, value bits).
fn all_points(store: &Path) -> Vec<(i64, i64, u64)> {
    snapshot(store).0.into_values().flatten().collect()
}

#[test]
fn a_finished_train_loop_run_is_compacted_to_under_8_bytes_a_point() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let out = std::process::Command::new(train_loop())
        .args(["--steps", "250000", "--keys", "4", "--tracking-uri"])
        .arg(&store)
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLFLOW_EXPERIMENT_NAME")
        .env_remove("MLFLOW_EXPERIMENT_ID")
        // What `runlog compact` does to a raw store: no compaction after
        // exit deleting the segment while this test reads it.
        .env("RUNLOG_COMPACT_AT_EXIT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        raw_segments(&store),
        1,
        "one 28 MB segment, sealed on close"
    );
    let before = all_points(&store);
    assert_eq!(before.len(), 1_000_000);

    ok(&runlog_at(&store, &["compact"]));
    assert_eq!(raw_segments(&store), 0, "no raw segment is left");
    let stats: serde_json::Value =
        serde_json::from_str(&ok(&runlog_at(&store, &["stats", "--json"]))).unwrap();
    let per_point = stats["bytes_per_point"].as_f64().unwrap();
    assert!(per_point <= 8.0, "{per_point} bytes per point");
    assert_eq!(stats["metric_points"], 1_000_000);
    assert_eq!(stats["corrupt"], 0);
    assert_eq!(all_points(&store), before, "history intact");
    // A second compaction finds nothing to do.
    let again: serde_json::Value =
        serde_json::from_str(&ok(&runlog_at(&store, &["compact", "--json"]))).unwrap();
    assert_eq!(again["segments"], 0);
}

#[test]
fn a_lane_reopened_after_its_last_segment_was_compacted_numbers_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), small_segments()).unwrap();
    let lane = store.lane();
    log_steps(&store, 0..500);
    store.close().unwrap();
    let last_before = runlog::log::list_segments(&runlog_lane(dir.path(), lane))
        .unwrap()
        .last()
        .unwrap()
        .sequence;
    let report = compact_closed(dir.path());
    assert!(report.segments >= 3, "{report:?}");
    assert_eq!(raw_segments(dir.path()), 0);
    let manifest = Manifest::load(dir.path()).unwrap();
    assert_eq!(manifest.last_sequence(lane), Some(last_before));

    // The same lane is adopted again: its new segment comes after the
    // compacted ones, not at 1 (which readers would skip as replaced).
    let store = Store::open_with(dir.path(), small_segments()).unwrap();
    assert_eq!(store.lane(), lane);
    log_steps(&store, 500..1000);
    store.flush().unwrap();
    let first_new = runlog::log::list_segments(&runlog_lane(dir.path(), lane))
        .unwrap()
        .first()
        .unwrap()
        .sequence;
    assert_eq!(first_new, last_before + 1);
    assert_eq!(
        all_points(dir.path()).len(),
        1000,
        "while the writer is live"
    );
    store.close().unwrap();
    compact_closed(dir.path());
    assert_eq!(raw_segments(dir.path()), 0);
    let steps: Vec<i64> = all_points(dir.path()).iter().map(|p| p.0).collect();
    assert_eq!(steps, (0..1000).collect::<Vec<_>>());
    assert!(runlog::engine::verify(dir.path())
        .unwrap()
        .corrupt
        .is_empty());
}

fn runlog_lane(store: &Path, lane: u64) -> std::path::PathBuf {
    store.join("lanes").join(format!("{lane:06}"))
}

#[test]
fn a_dead_writers_last_segment_is_recovered_then_compacted() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 2_000);
    // What a killed writer leaves: no seal, half an entry at the end.
    let seg = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&seg).unwrap().len();
    let bytes = std::fs::read(&seg).unwrap();
    let last_entry_points = runlog::log::SegmentScan::new(&bytes)
        .filter_map(|item| match item {
            runlog::log::ScanItem::Entry {
                entry: runlog::format::Entry::Points(points),
                ..
            } => Some(points.len()),
            _ => None,
        })
        .last()
        .unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    file.set_len(len - runlog::format::SEAL_FRAME_LEN as u64 - 20)
        .unwrap();
    drop(file);
    let readable = all_points(dir.path()).len();
    assert_eq!(
        readable,
        2_000 - last_entry_points,
        "the torn Points entry's points are lost, nothing else"
    );

    let report = compact_closed(dir.path());
    assert_eq!(report.recovery.lanes_recovered, vec![1]);
    assert_eq!(report.recovery.torn.len(), 1);
    assert_eq!(raw_segments(dir.path()), 0);
    assert_eq!(all_points(dir.path()).len(), readable);
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert!(summary.corrupt.is_empty() && summary.torn.is_empty());
}

#[test]
fn a_live_writers_segment_is_left_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), small_segments()).unwrap();
    log_steps(&store, 0..500);
    store.flush().unwrap();
    let report = runlog::compact::compact_with(dir.path(), &CompactOptions::default()).unwrap();
    assert!(report.segments >= 1);
    assert!(report.recovery.lanes_recovered.is_empty());
    assert_eq!(
        raw_segments(dir.path()),
        1,
        "the writer's own segment stays"
    );
    log_steps(&store, 500..600);
    store.close().unwrap();
    assert_eq!(all_points(dir.path()).len(), 600);
}
