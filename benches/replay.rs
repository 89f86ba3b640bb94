#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]
//! Replay speed, in points a second: `scan` decodes and CRC-checks every
//! entry of a 1 M-point segment held in memory and reads each point; `events` is the full `Replay` (file read,
//! dictionary resolution, lane merge) of the same store; `verify` checks a
//! 1 M-point store of 4 MiB segments, segments in parallel.
//!
//! `cargo bench --bench replay`

use runlog::Metric;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use runlog::engine::{Replay, Store};
use runlog::format::Entry;
use runlog::log::{ScanItem, SegmentScan};
use runlog::{Durability, Options};

const POINTS: i64 = 1_000_000;

fn sample_store() -> (tempfile::TempDir, Vec<u8>) {
    let dir = points_store(Options::default());
    let lane = &runlog::log::list_lanes(dir.path()).expect("lanes")[0];
    let seg = &runlog::log::list_segments(&lane.path).expect("segments")[0];
    let bytes = std::fs::read(&seg.path).expect("read");
    (dir, bytes)
}

/// Reads every point of a segment's bytes (Metric entries of stores
/// written before version 6, Points entries since); how many.
fn scan_points(bytes: &[u8]) -> i64 {
    let mut n = 0;
    for item in SegmentScan::new(bytes) {
        match item {
            ScanItem::Entry {
                entry: Entry::Points(points),
                ..
            } => {
                for point in points.iter() {
                    black_box(point);
                    n += 1;
                }
            }
            ScanItem::Entry {
                entry: entry @ Entry::Metric { .. },
                ..
            } => {
                black_box(&entry);
                n += 1;
            }
            other => {
                black_box(&other);
            }
        }
    }
    n
}

/// A store of `POINTS` points of one metric.
fn points_store(options: Options) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Store::open_with(dir.path(), options.durability(Durability::Buffered)).expect("open");
    let h = store
        .metric_handle("0123456789abcdef0123456789abcdef", "loss")
        .expect("handle");
    for step in 0..POINTS {
        h.log_at(Metric {
            value: (step as f64).sin(),
            timestamp: 1_700_000_000_000 + step,
            step,
        })
        .expect("log");
    }
    store.close().expect("close");
    dir
}

fn replay(c: &mut Criterion) {
    let (dir, bytes) = sample_store();
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(POINTS as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("scan", |b| {
        b.iter(|| assert_eq!(scan_points(black_box(&bytes)), POINTS))
    });
    g.bench_function("events", |b| {
        b.iter(|| {
            let n = Replay::open(dir.path())
                .expect("open")
                .filter(|r| r.is_ok())
                .count();
            assert_eq!(n as i64, POINTS);
        })
    });
    let segmented = points_store(Options::default().segment_size(4 << 20).auto_compact(None));
    g.bench_function("verify", |b| {
        b.iter(|| {
            let s = runlog::engine::verify(segmented.path()).expect("verify");
            assert_eq!(s.metric_points as i64, POINTS);
        })
    });
    g.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
