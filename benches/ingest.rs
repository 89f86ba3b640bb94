#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]
//! Log-call cost and end-to-end ingest.
//!
//! `cargo bench --bench ingest`. Groups:
//! - `log_call/handle_paced`: a training loop's view. Each step logs 16
//!   points through metric handles (timed), then computes for ~5 us
//!   (untimed); the writer drains on its own clock. Reported per call.
//! - `log_call/handle_saturated`: back-to-back calls, producer faster than
//!   the writer: the cost is the writer's throughput (backpressure).
//! - `log_call/log_metric_by_key`: by run id and key string, paced.
//! - `ingest/*`: 1 M points logged then `flush()`ed, per durability policy.
//!
//! A percentile run of single calls (p50/p99/p99.9) prints before criterion.

use runlog::Metric;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use runlog::engine::{MetricHandle, Store};
use runlog::{Durability, Options};

const BURST: u64 = 16;
const RUN: &str = "0123456789abcdef0123456789abcdef";

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn store(options: Options) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    // The log call alone: background compaction (on by default) would share
    // the two cores with the producer (BENCHMARKS.md gives both).
    let store = Store::open_with(dir.path(), options.auto_compact(None)).expect("open");
    (dir, store)
}

fn handles(store: &Store) -> Vec<MetricHandle> {
    (0..BURST)
        .map(|k| {
            store
                .metric_handle(RUN, &format!("metric_{k}"))
                .expect("handle")
        })
        .collect()
}

fn log_call(c: &mut Criterion) {
    let mut g = c.benchmark_group("log_call");
    g.throughput(Throughput::Elements(1));
    let (_dir, s) = store(Options::default().durability(Durability::Buffered));
    let hs = handles(&s);
    let mut step = 0i64;
    g.bench_function("handle_paced", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let bursts = iters.div_ceil(BURST);
            for _ in 0..bursts {
                let t = Instant::now();
                for h in &hs {
                    h.log(black_box(0.5), step).expect("log");
                }
                total += t.elapsed();
                step += 1;
                spin(Duration::from_micros(5));
            }
            total.mul_f64(iters as f64 / (bursts * BURST) as f64)
        })
    });
    g.bench_function("log_metric_by_key", |b| {
        let keys: Vec<String> = (0..BURST).map(|k| format!("metric_{k}")).collect();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let bursts = iters.div_ceil(BURST);
            for _ in 0..bursts {
                let t = Instant::now();
                let now = s.now_ms();
                for k in &keys {
                    s.log_metric(
                        RUN,
                        k,
                        Metric {
                            value: black_box(0.5),
                            timestamp: now,
                            step,
                        },
                    )
                    .expect("log");
                }
                total += t.elapsed();
                step += 1;
                spin(Duration::from_micros(5));
            }
            total.mul_f64(iters as f64 / (bursts * BURST) as f64)
        })
    });
    g.bench_function("handle_saturated", |b| {
        let h = &hs[0];
        b.iter(|| {
            step += 1;
            h.log(black_box(0.5), step).expect("log")
        })
    });
    g.finish();
    s.close().expect("close");
}

fn ingest(c: &mut Criterion) {
    const POINTS: u64 = 1_000_000;
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(POINTS));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    for (name, durability) in [
        ("fsync_off", Durability::Buffered),
        (
            "fsync_10ms",
            Durability::Periodic(Duration::from_millis(10)),
        ),
        ("fsync_every_batch", Durability::EveryBatch),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (_dir, s) = store(Options::default().durability(durability));
                    let hs = handles(&s);
                    let t = Instant::now();
                    for step in 0..(POINTS / BURST) as i64 {
                        for h in &hs {
                            h.log(step as f64, step).expect("log");
                        }
                    }
                    s.flush().expect("flush");
                    total += t.elapsed();
                }
                total
            })
        });
    }
    g.finish();
}

/// Single-call latency percentiles in a paced loop (Instant overhead
/// subtracted), printed to stderr.
fn percentiles() {
    let (_dir, s) = store(Options::default().durability(Durability::Buffered));
    let h = s.metric_handle(RUN, "loss").expect("handle");
    let overhead = {
        let mut v: Vec<u64> = (0..100_000)
            .map(|_| {
                let t = Instant::now();
                t.elapsed().as_nanos() as u64
            })
            .collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let mut lat: Vec<u64> = Vec::with_capacity(1_000_000);
    for step in 0..1_000_000i64 {
        let t = Instant::now();
        h.log(0.5, step).expect("log");
        lat.push((t.elapsed().as_nanos() as u64).saturating_sub(overhead));
        if step % 16 == 15 {
            spin(Duration::from_micros(5));
        }
    }
    lat.sort_unstable();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    eprintln!(
        "single handle.log in a paced loop (1 M calls, timer overhead {overhead} ns subtracted): \
         p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        p(0.5),
        p(0.99),
        p(0.999),
        lat[lat.len() - 1]
    );
}

criterion_group!(benches, log_call, ingest);

fn main() {
    percentiles();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
