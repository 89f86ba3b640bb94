//! Following live writers with `Replay::refresh`: new entries of the last
//! segment, new segments, new lanes, and a torn tail that the writer then
//! completes are all picked up, each event once, in order.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the test failing

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;

use common::*;
use runlog::{Event, Options, Replay, Store};

fn steps(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Metric { step, .. } => Some(*step),
            Event::Record(_) => None,
        })
        .collect()
}

/// The followed replay saw what a fresh check of the store sees: no damage,
/// no torn tail, the same lanes, segments, entries, events and bytes.
fn assert_caught_up(replay: &Replay, dir: &std::path::Path) {
    let summary = replay.summary();
    assert!(
        summary.torn.is_empty() && summary.corrupt.is_empty(),
        "{summary:?}"
    );
    let full = runlog::verify(dir).unwrap();
    let counts = |s: &runlog::ReplaySummary| {
        (
            s.lanes,
            s.segments,
            s.entries,
            s.events,
            s.metric_points,
            s.bytes,
        )
    };
    assert_eq!(
        counts(summary),
        counts(&full),
        "a followed replay counts what a fresh one does"
    );
}

fn drain(replay: &mut Replay) -> Vec<Event> {
    replay.by_ref().map(|r| r.unwrap().event).collect()
}

#[test]
fn a_reader_follows_a_live_writer_across_segments_and_lanes() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default().segment_size(4096).auto_compact(None);
    let store = Store::open_with(dir.path(), options).unwrap();
    let h = store.metric_handle("r", "m").unwrap();
    let mut replay = Replay::open(dir.path()).unwrap();
    let mut seen = Vec::new();
    let mut next = 0i64;
    for round in 0..6 {
        // Rounds of 150 points cross a 4 KiB segment boundary each time.
        for _ in 0..150 {
            h.log_at(1.0, next, next).unwrap();
            next += 1;
        }
        store.flush().unwrap();
        replay.refresh().unwrap();
        let got = steps(&drain(&mut replay));
        assert_eq!(got.len(), 150, "round {round}");
        seen.extend(got);
    }
    // A second writer appears: its lane is found on refresh.
    let other = Store::open(dir.path()).unwrap();
    other.log_metric("r2", "m", 2.0, 10_000, 0).unwrap();
    other.close().unwrap();
    store.close().unwrap();
    replay.refresh().unwrap();
    let last = drain(&mut replay);
    assert_eq!(steps(&last), [0], "only the other lane's point is new");
    assert_eq!(seen, (0..next).collect::<Vec<_>>());

    assert_caught_up(&replay, dir.path());
}

#[test]
fn a_torn_tail_that_the_writer_completes_is_read_once_complete() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 10);
    let seg = segments(dir.path()).pop().unwrap();
    let bytes = fs::read(&seg).unwrap();
    // Remove the seal, then write it back in two halves, as a writer
    // caught mid-write would.
    let seal_len = runlog::format::SEAL_FRAME_LEN;
    let (body, seal) = bytes.split_at(bytes.len() - seal_len);
    fs::write(&seg, body).unwrap();
    let mut file = OpenOptions::new().append(true).open(&seg).unwrap();
    file.write_all(&seal[..7]).unwrap();

    let mut replay = Replay::open(dir.path()).unwrap();
    let first = drain(&mut replay);
    assert_eq!(steps(&first).len(), 10);
    assert_eq!(replay.summary().torn.len(), 1);

    file.write_all(&seal[7..]).unwrap();
    replay.refresh().unwrap();
    assert!(drain(&mut replay).is_empty(), "the seal is no event");
    assert_caught_up(&replay, dir.path());
}

#[test]
fn a_segment_caught_while_created_is_read_once_it_has_a_header() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 3);
    let seg = segments(dir.path()).pop().unwrap();
    let next = seg.with_file_name("00000002.seg");
    let header = runlog::format::SegmentHeader {
        version: runlog::format::SEGMENT_VERSION,
        lane: 1,
        sequence: 2,
    }
    .encode();
    fs::write(&next, &header[..10]).unwrap();

    let mut replay = Replay::open(dir.path()).unwrap();
    assert_eq!(steps(&drain(&mut replay)).len(), 3);
    assert_eq!(replay.summary().torn.len(), 1, "the short segment");

    fs::write(&next, header).unwrap();
    replay.refresh().unwrap();
    assert!(drain(&mut replay).is_empty());
    assert_caught_up(&replay, dir.path());
}

#[test]
fn a_torn_tail_that_recovery_cuts_and_seals_is_followed_without_damage() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 10);
    let seg = segments(dir.path()).pop().unwrap();
    let bytes = fs::read(&seg).unwrap();
    // A dead writer's tail: no seal, 5 bytes of a torn entry.
    let body = &bytes[..bytes.len() - runlog::format::SEAL_FRAME_LEN];
    let mut torn = body.to_vec();
    torn.extend_from_slice(&[0x55; 5]);
    fs::write(&seg, &torn).unwrap();

    let mut replay = Replay::open(dir.path()).unwrap();
    assert_eq!(steps(&drain(&mut replay)).len(), 10);
    assert_eq!(replay.summary().torn.len(), 1);

    // Recovery cuts the 5 bytes and appends a 17-byte seal in their place.
    Store::open(dir.path()).unwrap().close().unwrap();
    replay.refresh().unwrap();
    assert!(drain(&mut replay).is_empty());
    assert_caught_up(&replay, dir.path());
}
