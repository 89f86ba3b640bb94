//! Following live writers with `Replay::refresh`: new entries of the last
//! segment, new segments, new lanes, and a torn tail that the writer then
//! completes are all picked up, each event once, in order.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use runlog::Metric;
use std::fs::{self, OpenOptions};
use std::io::Write;

use common::*;
use runlog::engine::{Event, MetricHandle, Replay, Store};
use runlog::Options;

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
    let full = runlog::engine::verify(dir).unwrap();
    let counts = |s: &runlog::engine::ReplayReport| {
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

/// Logs `n` points of value 1.0 at steps (and timestamps) `next`,
/// `next + 1`, ..., advancing `next`.
fn log_steps(h: &MetricHandle, next: &mut i64, n: usize) {
    for _ in 0..n {
        let point = Metric {
            value: 1.0,
            timestamp: *next,
            step: *next,
        };
        h.log_at(point).unwrap();
        *next += 1;
    }
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
        log_steps(&h, &mut next, 150);
        store.flush().unwrap();
        replay.refresh().unwrap();
        let got = steps(&drain(&mut replay));
        assert_eq!(got.len(), 150, "round {round}");
        seen.extend(got);
    }
    // A second writer appears: its lane is found on refresh.
    let other = Store::open(dir.path()).unwrap();
    other
        .log_metric(
            "r2",
            "m",
            Metric {
                value: 2.0,
                timestamp: 10_000,
                step: 0,
            },
        )
        .unwrap();
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

/// A dataset input of about `bytes` bytes (one large entry).
fn big_input(run_id: &str, bytes: usize) -> runlog::engine::Record<&str> {
    let schema: &'static str = Box::leak("s".repeat(bytes).into_boxed_str());
    runlog::engine::Record::LogInput {
        run_id,
        input: Box::new(runlog::DatasetInput {
            name: "big",
            digest: "d",
            source_type: "local",
            source: "{}",
            schema: Some(schema),
            profile: None,
            tags: Vec::new(),
        }),
    }
}

#[test]
fn a_live_segment_longer_than_a_reader_window_is_read_whole() {
    // Segments a writer still holds are read a window (8 MiB) at a time:
    // 30 MiB of points with 3 MiB entries between them, so that windows
    // end inside entries, then a torn end.
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default().auto_compact(None);
    let store = Store::open_with(dir.path(), options).unwrap();
    let run = "5f0c6e8e0a3b4c7d9e1f2a3b4c5d6e7f";
    let h = store.metric_handle(run, "m").unwrap();
    let mut next = 0i64;
    let mut inputs = 0;
    for _ in 0..4 {
        log_steps(&h, &mut next, 200_000);
        store.append(&big_input(run, 3 << 20)).unwrap();
        inputs += 1;
    }
    store.flush().unwrap();
    let mut replay = Replay::open(dir.path()).unwrap();
    let events = drain(&mut replay);
    let got = steps(&events);
    assert_eq!(got.len() as i64, next, "every point");
    assert!(got.iter().copied().eq(0..next), "in order");
    assert_eq!(events.len() - got.len(), inputs);
    assert_caught_up(&replay, dir.path());
    // Followed on: the window moves past what was read.
    log_steps(&h, &mut next, 100_000);
    store.flush().unwrap();
    replay.refresh().unwrap();
    assert_eq!(steps(&drain(&mut replay)).len(), 100_000);
    assert_caught_up(&replay, dir.path());
    store.close().unwrap();

    // The same segment unsealed, with half a seal at its end: a torn tail
    // after 30 MiB, found through the windows.
    let seg = segments(dir.path()).pop().unwrap();
    let bytes = fs::read(&seg).unwrap();
    assert!(bytes.len() > 3 * (8 << 20), "{} bytes", bytes.len());
    let seal_len = runlog::format::SEAL_FRAME_LEN;
    fs::write(&seg, &bytes[..bytes.len() - seal_len + 7]).unwrap();
    let mut replay = Replay::open(dir.path()).unwrap();
    assert_eq!(steps(&drain(&mut replay)).len(), next as usize);
    let summary = replay.summary();
    assert!(summary.corrupt.is_empty(), "{summary:?}");
    assert_eq!(summary.torn.len(), 1, "{summary:?}");
    assert_eq!(summary.bytes, (bytes.len() - seal_len + 7) as u64);
    let verified = runlog::engine::verify(dir.path()).unwrap();
    assert_eq!((verified.torn.len(), verified.corrupt.len()), (1, 0));

    // Damage around where windows end: each region is reported once,
    // as corruption, and reading goes on after it.
    let mut damaged = fs::read(&seg).unwrap();
    for at in [(16 << 20) - 3, (24 << 20) + 5] {
        damaged[at..at + 30].fill(0xff);
    }
    // And a bad checksum on the last entry that ends inside the first
    // window, the next one running past it: the scan finds no valid
    // entry before the window's end.
    let mut at = runlog::format::SEGMENT_HEADER_LEN;
    loop {
        let len = runlog::format::claimed_frame_len(&damaged, at).unwrap();
        let next = runlog::format::claimed_frame_len(&damaged, at + len).unwrap();
        if at + len + next > 8 << 20 {
            break;
        }
        at += len;
    }
    damaged[at] ^= 1;
    fs::write(&seg, &damaged).unwrap();
    let mut replay = Replay::open(dir.path()).unwrap();
    let events: Vec<Event> = replay
        .by_ref()
        .filter_map(|r| r.ok())
        .map(|r| r.event)
        .collect();
    let points = steps(&events).len() as i64;
    let summary = replay.summary().clone();
    assert_eq!(
        (summary.corrupt.len(), summary.torn.len()),
        (3, 1),
        "{summary:?}"
    );
    // 30 bytes touch at most two entries and a flipped bit one; an entry
    // holds at most a Points entry's points.
    let most_lost = ((2 + 2 + 1) * runlog::format::MAX_POINTS_PER_ENTRY) as i64;
    assert!(
        points >= next - most_lost && points < next,
        "{points} of {next}"
    );
    let verified = runlog::engine::verify(dir.path()).unwrap();
    assert_eq!(verified.corrupt, summary.corrupt);
    assert_eq!(verified.torn, summary.torn);
}

#[test]
fn lanes_merge_by_time_with_ties_to_the_first_lane() {
    // Three writers at once, timestamps out of order within each lane and
    // often equal across lanes, params (no time: their lane's clock) in
    // between. The replay's order must be the merge that takes, each time,
    // the lane whose next item has the least time (an item without one
    // takes its lane's last), the first lane on ties.
    let dir = tempfile::tempdir().unwrap();
    let options = || Options::default().segment_size(2048).auto_compact(None);
    let stores: Vec<Store> = (0..3)
        .map(|_| Store::open_with(dir.path(), options()).unwrap())
        .collect();
    let mut seed = 7u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    for i in 0..3_000i64 {
        let store = &stores[(next() % 3) as usize];
        if next() % 5 == 0 {
            let record = runlog::engine::Record::Param {
                run_id: "r",
                key: &format!("p{i}"),
                value: "v",
            };
            store.append(&record).unwrap();
        } else {
            store
                .log_metric(
                    "r",
                    "m",
                    Metric {
                        value: i as f64,
                        timestamp: (next() % 20) as i64,
                        step: i,
                    },
                )
                .unwrap();
        }
    }
    for store in stores {
        store.close().unwrap();
    }
    let replayed: Vec<runlog::engine::Replayed> = Replay::open(dir.path())
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    // The reference merge, from each lane's items in their order.
    let mut lanes: Vec<u64> = replayed.iter().map(|r| r.position.lane).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let mut queues: Vec<std::collections::VecDeque<&runlog::engine::Replayed>> = lanes
        .iter()
        .map(|l| replayed.iter().filter(|r| r.position.lane == *l).collect())
        .collect();
    let time = |r: &runlog::engine::Replayed| match &r.event {
        Event::Metric { timestamp, .. } => Some(*timestamp),
        Event::Record(record) => record.time(),
    };
    let mut clocks = vec![i64::MIN; queues.len()];
    let mut expected = Vec::new();
    loop {
        let mut best: Option<(usize, i64)> = None;
        for (i, q) in queues.iter().enumerate() {
            if let Some(r) = q.front() {
                let key = time(r).unwrap_or(clocks[i]);
                if best.is_none_or(|(_, k)| key < k) {
                    best = Some((i, key));
                }
            }
        }
        let Some((i, _)) = best else { break };
        let r = queues[i].pop_front().unwrap();
        if let Some(t) = time(r) {
            clocks[i] = t;
        }
        expected.push(r.position);
    }
    let got: Vec<runlog::engine::Position> = replayed.iter().map(|r| r.position).collect();
    assert_eq!((got.len(), expected.len()), (3_000, 3_000));
    assert!(got == expected, "the replay's order is the reference merge");
}
