//! `Replay::next_record` (points to a sink, through the reader's fast path)
//! against the iterator (every event): the same points, the same records in
//! the same order, the same damage, on stores with damage, several lanes
//! and live segments longer than a read window.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

use std::path::Path;
use std::sync::Arc;

use runlog::engine::{Event, Position, Record, Replay, StorageError, Store};
use runlog::{Damage, Durability, Metric, Options};

/// What a replay read: points and damage sorted (their order between lanes
/// is free when points go aside), records in order.
#[derive(Debug)]
struct Read {
    points: Vec<Point>,
    records: Vec<(Position, Event)>,
    damage: Vec<Damage>,
}

/// A point as compared: where it was read (offset included), its names and
/// its bits.
type Point = (u64, u64, u64, String, String, u64, i64, i64);

fn point(at: Position, run_id: &str, key: &str, p: Metric) -> Point {
    let bits = p.value.to_bits();
    let names = (run_id.to_owned(), key.to_owned());
    (
        at.lane,
        at.segment,
        at.offset,
        names.0,
        names.1,
        bits,
        p.timestamp,
        p.step,
    )
}

fn by_iterator(path: &Path) -> Read {
    let mut replay = Replay::open(path).unwrap();
    let mut read = Read {
        points: Vec::new(),
        records: Vec::new(),
        damage: Vec::new(),
    };
    for item in replay.by_ref() {
        match item {
            Ok(r) => match r.event.metric() {
                Some((run_id, key, p)) => read.points.push(point(r.position, run_id, key, p)),
                None => read.records.push((r.position, r.event)),
            },
            Err(StorageError::Corrupt(d)) => read.damage.push(d),
            Err(e) => panic!("{e}"),
        }
    }
    read.points.sort();
    read.damage.sort_by_key(|d| (d.lane, d.segment, d.offset));
    assert_eq!(replay.summary().metric_points as usize, read.points.len());
    read
}

/// Fails with the first difference (the reads are too long to print).
fn assert_same(got: &Read, want: &Read, what: &str) {
    assert_eq!(got.damage, want.damage, "{what}: damage");
    assert_eq!(got.records, want.records, "{what}: records");
    assert_eq!(got.points.len(), want.points.len(), "{what}: points");
    if let Some((g, w)) = got.points.iter().zip(&want.points).find(|(g, w)| g != w) {
        panic!("{what}: point {g:?} where the iterator read {w:?}");
    }
}

fn by_next_record(path: &Path) -> Read {
    let mut replay = Replay::open(path).unwrap();
    let mut points = Vec::new();
    let mut sink = |at: Position, run_id: &Arc<str>, key: &Arc<str>, p: Metric| {
        points.push(point(at, run_id, key, p));
    };
    let mut records = Vec::new();
    let mut damage = Vec::new();
    while let Some(item) = replay.next_record(&mut sink) {
        match item {
            Ok(r) => {
                assert!(
                    r.event.metric().is_none(),
                    "a live point reached the caller"
                );
                records.push((r.position, r.event));
            }
            Err(StorageError::Corrupt(d)) => damage.push(d),
            Err(e) => panic!("{e}"),
        }
    }
    points.sort();
    damage.sort_by_key(|d| (d.lane, d.segment, d.offset));
    let read = Read {
        points,
        records,
        damage,
    };
    assert_eq!(replay.summary().metric_points as usize, read.points.len());
    read
}

fn tag(run: &str, i: i64) -> Record<String> {
    Record::SetTag {
        run_id: run.into(),
        key: format!("t{i}"),
        value: i.to_string(),
    }
}

/// Three lanes of small segments, points and records interleaved.
fn lanes_store(dir: &Path) {
    let options = Options::default()
        .segment_size(64 << 10)
        .auto_compact(None)
        .durability(Durability::Buffered);
    let stores: Vec<Store> = (0..3)
        .map(|_| Store::open_with(dir, options.clone()).unwrap())
        .collect();
    for (n, store) in stores.iter().enumerate() {
        let run = format!("{n:032x}");
        let handles = [
            store.metric_handle(&run, "loss").unwrap(),
            store.metric_handle(&run, "acc").unwrap(),
        ];
        for step in 0..20_000i64 {
            for (k, h) in handles.iter().enumerate() {
                h.log_at(Metric {
                    value: step as f64 * (k + 1) as f64,
                    timestamp: 1_000 + step / 7,
                    step,
                })
                .unwrap();
            }
            if step % 997 == 0 {
                store.append(&tag(&run, step)).unwrap();
            }
        }
    }
    for store in stores {
        store.close().unwrap();
    }
}

fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for lane in runlog::log::list_lanes(dir).unwrap() {
        for seg in runlog::log::list_segments(&lane.path).unwrap() {
            files.push(seg.path);
        }
    }
    files
}

#[test]
fn points_aside_read_what_the_iterator_reads_undamaged() {
    let dir = tempfile::tempdir().unwrap();
    lanes_store(dir.path());
    let read = by_iterator(dir.path());
    assert_eq!(read.points.len(), 3 * 2 * 20_000);
    assert!(read.damage.is_empty());
    assert_same(&by_next_record(dir.path()), &read, "undamaged");
}

#[test]
fn points_aside_read_what_the_iterator_reads_past_damage() {
    let pristine = tempfile::tempdir().unwrap();
    lanes_store(pristine.path());
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..12 {
        let dir = tempfile::tempdir().unwrap();
        for seg in segment_files(pristine.path()) {
            let to = dir.path().join(seg.strip_prefix(pristine.path()).unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&seg, &to).unwrap();
        }
        std::fs::copy(
            pristine.path().join(runlog::layout::MARKER_FILE),
            dir.path().join(runlog::layout::MARKER_FILE),
        )
        .unwrap();
        // A few flipped bits, zeroed runs and cut files, anywhere after
        // the segment headers (seals and bindings included).
        let files = segment_files(dir.path());
        for _ in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let file = &files[(seed % files.len() as u64) as usize];
            let mut bytes = std::fs::read(file).unwrap();
            let at = 32 + (seed >> 20) as usize % (bytes.len() - 32);
            let len = bytes.len();
            match round % 3 {
                0 => bytes[at] ^= 1 << (seed % 8),
                1 => bytes[at..(at + 100).min(len)].fill(0),
                _ => bytes.truncate(at),
            }
            std::fs::write(file, bytes).unwrap();
        }
        let read = by_iterator(dir.path());
        assert!(
            !read.damage.is_empty() || round % 3 == 2,
            "round {round}: damage made"
        );
        assert_same(
            &by_next_record(dir.path()),
            &read,
            &format!("round {round}"),
        );
    }
}

#[test]
fn points_aside_read_a_live_segment_longer_than_a_window() {
    // A lane's last segment, unsealed, read 8 MiB at a time: windows end
    // inside runs of points and inside records.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), Options::default().auto_compact(None)).unwrap();
    let run = "5f0c6e8e0a3b4c7d9e1f2a3b4c5d6e7f";
    let h = store.metric_handle(run, "m").unwrap();
    for step in 0..600_000i64 {
        h.log_at(Metric {
            value: step as f64,
            timestamp: step,
            step,
        })
        .unwrap();
        if step % 50_000 == 0 {
            store.append(&tag(run, step)).unwrap();
        }
    }
    store.flush().unwrap();
    let read = by_iterator(dir.path());
    assert_eq!(read.points.len(), 600_000);
    assert_same(&by_next_record(dir.path()), &read, "windows");
    store.close().unwrap();
}
