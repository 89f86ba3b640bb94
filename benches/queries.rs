#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]
//! Reads of metric history, compacted against the raw log: the full history
//! of one key of 10 M points, a step range of 1,000 of them, a series
//! downsampled to 300 points, the range and the whole history streamed;
//! and compaction itself.
//!
//! `cargo bench --bench queries` (builds two 10 M-point stores first: about
//! a minute and 800 MB of temporary files).

use runlog::NewRun;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use runlog::compact::compact;
use runlog::curves;
use runlog::engine::Store;
use runlog::{Client, Durability, HistoryQuery, Options};

const POINTS: usize = 10_000_000;

/// A store with one run holding `POINTS` points of `loss` (the noisy f64
/// reference curve), compacted or not.
fn store(compacted: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let c = Client::builder()
            .store(dir.path())
            .options(
                Options::default()
                    .durability(Durability::Buffered)
                    .auto_compact(None),
            )
            .open()
            .expect("open");
        let run = c
            .create_run(NewRun::new("0").run_name("bench").start_time(1))
            .expect("run");
        drop(run);
        drop(c);
    }
    let store = Store::open_with(
        dir.path(),
        Options::default()
            .durability(Durability::Buffered)
            .auto_compact(None),
    )
    .expect("store");
    let id = runlog_run_id(dir.path());
    let h = store.metric_handle(&id, "loss").expect("handle");
    for m in curves::curve("noisy_loss_f64", POINTS) {
        h.log_at(m).expect("log");
    }
    store.close().expect("close");
    if compacted {
        let t = Instant::now();
        let report = compact(dir.path()).expect("compact");
        eprintln!(
            "compaction of {} points: {:.2} s, {:.2} bytes per point in the generation ({} bytes of segments in, {} out)",
            report.points,
            t.elapsed().as_secs_f64(),
            report.bytes_out as f64 / report.points as f64,
            report.bytes_in,
            report.bytes_out
        );
    }
    dir
}

fn runlog_run_id(path: &std::path::Path) -> String {
    let c = Client::builder()
        .store(path)
        .options(Options::default().auto_compact(None))
        .open()
        .expect("open");
    c.list_runs("0", runlog::ViewType::All).expect("runs")[0]
        .info
        .run_id
        .clone()
}

fn queries(c: &mut Criterion) {
    for (name, compacted) in [("compacted", true), ("raw_log", false)] {
        let dir = store(compacted);
        let client = Client::builder()
            .store(dir.path())
            .options(Options::default().auto_compact(None))
            .open()
            .expect("client");
        let id = runlog_run_id(dir.path());
        let mut g = c.benchmark_group(format!("history_{name}"));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(8));
        g.throughput(Throughput::Elements(POINTS as u64));
        g.bench_function("full_10M", |b| {
            b.iter(|| {
                let h = client.get_metric_history(&id, "loss").expect("history");
                assert_eq!(h.len(), POINTS);
                black_box(h)
            })
        });
        // The same into one buffer kept between calls (a plot that
        // refreshes): no fresh pages for the kernel to clear.
        let mut reused = Vec::new();
        g.bench_function("full_10M_reused_buffer", |b| {
            b.iter(|| {
                client
                    .metric_history_into(&id, "loss", &HistoryQuery::new(), &mut reused)
                    .expect("history");
                assert_eq!(reused.len(), POINTS);
                black_box(&reused);
            })
        });
        g.throughput(Throughput::Elements(1_000));
        g.bench_function("step_range_1000_of_10M", |b| {
            let q = HistoryQuery::new().steps(5_000_000..=5_000_999);
            b.iter(|| {
                let h = client.metric_history(&id, "loss", &q).expect("history");
                assert_eq!(h.len(), 1_000);
                black_box(h)
            })
        });
        g.throughput(Throughput::Elements(POINTS as u64));
        g.bench_function("downsampled_300_of_10M", |b| {
            let q = HistoryQuery::new().max_points(300);
            b.iter(|| {
                let h = client.metric_history(&id, "loss", &q).expect("history");
                assert!(h.len() <= 300);
                black_box(h)
            })
        });
        // A chart 5,000 points wide: buckets of 2,000 points, narrower than
        // a chunk, so each chunk counts as its Blocks entry's extremes
        // (FORMAT.md version 4; decoded before).
        g.bench_function("downsampled_10000_of_10M", |b| {
            let q = HistoryQuery::new().max_points(10_000);
            b.iter(|| {
                let h = client.metric_history(&id, "loss", &q).expect("history");
                assert!(h.len() <= 10_000);
                black_box(h)
            })
        });
        // Streamed (flat memory): a step range, then the whole history.
        g.throughput(Throughput::Elements(1_000));
        g.bench_function("stream_step_range_1000_of_10M", |b| {
            let q = HistoryQuery::new().steps(5_000_000..=5_000_999);
            b.iter(|| {
                let mut n = 0;
                for m in client.metric_history_iter(&id, "loss", &q).expect("stream") {
                    black_box(m.expect("point"));
                    n += 1;
                }
                assert_eq!(n, 1_000);
            })
        });
        g.throughput(Throughput::Elements(POINTS as u64));
        g.bench_function("stream_full_10M", |b| {
            b.iter(|| {
                let all = HistoryQuery::new();
                let mut n = 0;
                for m in client
                    .metric_history_iter(&id, "loss", &all)
                    .expect("stream")
                {
                    black_box(m.expect("point"));
                    n += 1;
                }
                assert_eq!(n, POINTS);
            })
        });
        g.finish();
    }
}

criterion_group!(benches, queries);
criterion_main!(benches);
