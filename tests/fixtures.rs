//! Checked-in stores (made by `examples/make_fixture.rs`): this build and
//! every later one must read them exactly as below, or refuse them with a
//! clear error when the format moves on.
//!
//! - `v1/clean`: every record kind, NaN and infinite values, two lanes, a
//!   sealed segment; `v1/clean.jsonl` is its expected replay.
//! - `v1/damaged`: the same with one bit flipped in a sealed segment and a
//!   torn entry at the end of lane 2.
//! - `v3/compacted`: that content compacted into generation 1 (a manifest,
//!   chunks, no segment left), then a later session's points, param and
//!   run end in a raw segment; `v3/compacted.jsonl` is its expected replay.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::path::PathBuf;

use common::*;
use runlog::engine::{Replay, Store};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v1")
        .join(name)
}

fn fixture_v3(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/v3")
        .join(name)
}

/// Asserts that `store` replays as the JSON lines of `jsonl`, and that
/// `verify` finds it clean; returns the verify summary.
fn assert_replays_as(
    store: &std::path::Path,
    jsonl: &std::path::Path,
) -> runlog::engine::ReplayReport {
    let expected = std::fs::read_to_string(jsonl).unwrap();
    let got: Vec<String> = Replay::open(store)
        .unwrap()
        .map(|r| serde_json::to_string(&r.unwrap()).unwrap())
        .collect();
    let expected: Vec<&str> = expected.lines().collect();
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "line {}", i + 1);
    }
    let summary = runlog::engine::verify(store).unwrap();
    assert!(summary.corrupt.is_empty() && summary.torn.is_empty());
    summary
}

#[test]
fn the_compacted_v3_store_replays_exactly_as_recorded() {
    let summary = assert_replays_as(&fixture_v3("compacted"), &fixture_v3("compacted.jsonl"));
    assert_eq!(summary.metric_points, 209);
    let manifest = runlog::log::manifest::Manifest::load(&fixture_v3("compacted")).unwrap();
    assert_eq!(manifest.generations.len(), 1);
    assert_eq!(manifest.generations[0].segments.len(), 4);
}

#[test]
fn the_compacted_v3_store_answers_history_from_chunks_and_segment() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_v3("compacted"), dir.path());
    let client = runlog::Client::builder()
        .store(dir.path())
        .read_only()
        .open()
        .unwrap();
    let run = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let t0 = 1_700_000_000_000;
    let history = client.get_metric_history(run, "loss").unwrap();
    // 200 compacted points (steps 0..199, 2 / (step + 1)) and 4 live ones
    // (steps 50, 199, 200, 201, -step), by step, then timestamp.
    assert_eq!(history.len(), 204);
    let point = |i: usize| (history[i].step, history[i].timestamp, history[i].value);
    assert_eq!(point(0), (0, t0 + 10, 2.0));
    assert_eq!(point(50), (50, t0 + 60, 2.0 / 51.0));
    assert_eq!(point(51), (50, t0 + 1_050, -50.0));
    assert_eq!(point(200), (199, t0 + 209, 2.0 / 200.0));
    assert_eq!(point(201), (199, t0 + 1_199, -199.0));
    assert_eq!(point(203), (201, t0 + 1_201, -201.0));
    let streamed: Vec<_> = client
        .metric_history_iter(run, "loss", &runlog::HistoryQuery::new())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(streamed, history);
    let range = runlog::HistoryQuery::new().steps(199..=200);
    assert_eq!(client.metric_history(run, "loss", &range).unwrap().len(), 3);

    let r = client.get_run(run).unwrap();
    assert_eq!(r.info.status, runlog::RunStatus::Failed);
    assert_eq!(r.data.metrics["loss"].step, 201);
    assert!(r.data.metrics["odd"].value.is_sign_negative());
    assert_eq!(r.data.params["lr"], "0.01");
    assert_eq!(r.data.params["epochs"], "3");
}

#[test]
fn a_v3_store_compacted_again_is_marked_v4_and_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_v3("compacted"), dir.path());
    let run = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let history = |path: &std::path::Path| {
        let client = runlog::Client::builder()
            .store(path)
            .read_only()
            .open()
            .unwrap();
        let plot = runlog::HistoryQuery::new().max_points(20);
        (
            client.get_metric_history(run, "loss").unwrap(),
            client.metric_history(run, "loss", &plot).unwrap(),
        )
    };
    let before = history(dir.path());
    let marker = |path: &std::path::Path| std::fs::read(path.join("RUNLOG")).unwrap()[8];
    assert_eq!(marker(dir.path()), 3);
    runlog::compact::compact(dir.path()).unwrap();
    assert_eq!(marker(dir.path()), 4);
    let manifest = runlog::log::manifest::Manifest::load(dir.path()).unwrap();
    assert_eq!(manifest.generations.len(), 2, "the version 3 file is kept");
    let header = |n: u64| std::fs::read(runlog::layout::generation_path(dir.path(), n)).unwrap()[8];
    assert_eq!((header(1), header(2)), (3, 4));
    assert_eq!(history(dir.path()), before);
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert!(summary.corrupt.is_empty() && summary.torn.is_empty());
    assert_eq!(summary.metric_points, 209);
}

#[test]
fn the_clean_v1_store_replays_exactly_as_recorded() {
    let summary = assert_replays_as(&fixture("clean"), &fixture("clean.jsonl"));
    assert_eq!((summary.lanes, summary.segments), (2, 4));
    assert_eq!(summary.metric_points, 205);
}

#[test]
fn the_damaged_v1_store_reports_each_fault_where_it_is() {
    let summary = runlog::engine::verify(fixture("damaged")).unwrap();
    let torn: Vec<_> = summary
        .torn
        .iter()
        .map(|t| (t.lane, t.segment, t.offset, t.bytes))
        .collect();
    assert_eq!(torn, [(2, 1, 201, 20)]);
    let corrupt: Vec<_> = summary
        .corrupt
        .iter()
        .map(|d| (d.lane, d.segment, d.offset, d.len))
        .collect();
    // One report for the one fault: the seal after it cannot count the
    // entry the flip took, and is not checked (FORMAT.md, "Validity").
    assert_eq!(corrupt, [(1, 1, 978, 37)]);

    // Everything but the damaged entry still reads.
    let (events, errors) = replay_lenient(&fixture("damaged"));
    let clean = replay_all(&fixture("clean"));
    assert_eq!(errors, 1);
    assert_eq!(events.len(), clean.len() - 1);

    // Opening a copy cuts the torn tail and keeps the corruption in place.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("damaged"), dir.path());
    let store = Store::open(dir.path()).unwrap();
    let report = store.recovery_report().clone();
    store.close().unwrap();
    assert_eq!(report.torn.len(), 1);
    let after = runlog::engine::verify(dir.path()).unwrap();
    assert!(after.torn.is_empty());
    assert_eq!(after.corrupt.len(), 1);
    // (As JSON: NaN points are equal there, not under f64's `==`.)
    let json = |events: &[runlog::engine::Event]| -> Vec<String> {
        events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect()
    };
    assert_eq!(json(&replay_lenient(dir.path()).0), json(&events));
}

#[test]
fn a_v1_store_opened_by_a_writer_is_marked_6_and_reads_its_old_and_new_points() {
    // Version 1's Metric entries (kind 2) and this build's Points entries
    // (kind 7) in one store: the old lines replay exactly as recorded.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("clean"), dir.path());
    let marker = |path: &std::path::Path| std::fs::read(path.join("RUNLOG")).unwrap()[8];
    assert_eq!(marker(dir.path()), 1);
    let store =
        Store::open_with(dir.path(), runlog::Options::default().auto_compact(None)).unwrap();
    assert_eq!(
        u32::from(marker(dir.path())),
        runlog::format::STORE_VERSION_POINTS,
        "raised before the writer appends"
    );
    let new_run = "00000000000000000000000000000abc";
    let h = store.metric_handle(new_run, "loss").unwrap();
    for step in 0..1_000 {
        h.log(step as f64, step).unwrap();
    }
    store.close().unwrap();
    let expected = std::fs::read_to_string(fixture("clean.jsonl")).unwrap();
    let old: Vec<String> = Replay::open(dir.path())
        .unwrap()
        .map(|r| serde_json::to_string(&r.unwrap()).unwrap())
        .filter(|line| !line.contains(new_run))
        .collect();
    assert_eq!(old, expected.lines().collect::<Vec<_>>());
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert!(summary.corrupt.is_empty() && summary.torn.is_empty());
    assert_eq!(summary.metric_points, 205 + 1_000);
    let (steps, errors) = sink_steps(dir.path(), new_run, "loss");
    assert_eq!((steps, errors), ((0..1_000).collect::<Vec<_>>(), 0));
}
