#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]
//! The tracking API's costs: log calls through the fluent functions and the
//! client (key strings, validation, run check), a metric handle from the
//! tracking API, params, reads (`get_run`, metric history), run creation,
//! and opening a client on a store (which replays its log).
//!
//! Log calls are timed in bursts of 10,000 that fit the channel, with the
//! writer drained (untimed) between bursts: the figure is the caller's
//! cost, not the writer's throughput (that is `benches/ingest.rs`).
//!
//! `cargo bench --bench tracking`

use runlog::NewRun;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use runlog::{Batch, Client, Durability, Options};

#[path = "bursts.rs"]
mod bursts;
use bursts::{bursts_of, BURST};

fn client(dir: &std::path::Path) -> Client {
    Client::builder()
        .store(dir)
        .options(Options::default().durability(Durability::Buffered))
        .open()
        .expect("open")
}

/// Times `per_call` in bursts, draining the writer between them.
fn bursts(c: &Client, iters: u64, per_call: impl FnMut(i64)) -> Duration {
    bursts_of(c, iters, BURST, per_call)
}

fn log_calls(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cl = client(dir.path());
    runlog::set_tracking_uri(&dir.path().display().to_string()).expect("uri");
    let fluent_client = runlog::client().expect("fluent client");
    let run = runlog::start_run().expect("run");
    let id = run.run_id().to_owned();
    let mut g = c.benchmark_group("tracking_log_call");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("fluent_log_metric", |b| {
        b.iter_custom(|iters| {
            bursts(&fluent_client, iters, |step| {
                runlog::log_metric(black_box("loss"), 0.5, step).expect("log")
            })
        })
    });
    // Ten keys a call, as a training loop logs a step's metrics; per call
    // (compare with ten fluent_log_metric calls). Bursts of a tenth, to fit
    // the channel.
    let keys: Vec<String> = (0..10).map(|k| format!("m{k}")).collect();
    g.bench_function("fluent_log_metrics_10_keys", |b| {
        b.iter_custom(|iters| {
            bursts_of(&fluent_client, iters, BURST / 10, |step| {
                runlog::log_metrics(keys.iter().map(|k| (k.as_str(), 0.5)), step).expect("log")
            })
        })
    });
    g.bench_function("client_log_metric", |b| {
        b.iter_custom(|iters| {
            bursts(&cl, iters, |step| {
                cl.log_metric(black_box(&id), black_box("acc"), 0.5, step)
                    .expect("log")
            })
        })
    });
    let handle = run.metric_handle("fast").expect("handle");
    g.bench_function("metric_handle", |b| {
        b.iter_custom(|iters| {
            bursts(&fluent_client, iters, |step| {
                handle.log(black_box(0.5), step).expect("log")
            })
        })
    });
    let mut n = 0u64;
    g.bench_function("client_log_param_new_key", |b| {
        b.iter(|| {
            n += 1;
            cl.log_param(&id, &format!("p{n}"), n).expect("param")
        })
    });
    // `iters` calls of `log_batch(batch)`, timed, the writer drained
    // (untimed) when it falls behind.
    let time_batches = |iters: u64, batch: &Batch| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let t = Instant::now();
            cl.log_batch(&id, batch).expect("batch");
            total += t.elapsed();
            let store = cl.store().expect("a client that writes");
            if store.stats().queue_high_water > 30_000 {
                store.sync_written().expect("drain");
            }
        }
        total
    };
    g.bench_function("client_log_batch_100_metrics", |b| {
        let batch = (0..100).fold(Batch::new(), |b, i| b.metric(format!("m{i}"), 1.0, i));
        b.iter_custom(|iters| time_batches(iters, &batch))
    });
    // MLflow's shape of a batch: many points of one key (a history sent at
    // once, as the store plugin and `MlflowClient.log_batch` send it).
    g.bench_function("client_log_batch_1000_points_one_key", |b| {
        let batch = (0..1000).fold(Batch::new(), |b, i| b.metric("batch", 1.0, i));
        b.iter_custom(|iters| time_batches(iters, &batch))
    });
    // A point about a logged model (MLflow 3's `log_metric(...,
    // model_id=...)`) when the model already has 100,000: the check that
    // it is new must not scan them.
    let model = cl
        .create_logged_model(runlog::NewLoggedModel::new("0").source_run_id(id.clone()))
        .expect("model")
        .model_id;
    let point = |step: i64| runlog::ModelPoint {
        key: "val_loss".into(),
        metric: runlog::Metric {
            value: 0.5,
            timestamp: 1_700_000_000_000,
            step,
        },
        model_id: model.clone(),
        dataset_name: None,
        dataset_digest: None,
    };
    let existing: Vec<_> = (0..100_000).map(point).collect();
    for chunk in existing.chunks(1000) {
        cl.log_model_metrics(&id, chunk).expect("points");
        cl.flush().expect("flush");
    }
    let mut step = 100_000;
    g.bench_function("client_log_model_metric_100k_existing", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                step += 1;
                let p = [point(step)];
                let t = Instant::now();
                cl.log_model_metrics(&id, &p).expect("point");
                total += t.elapsed();
                if step % 10_000 == 0 {
                    cl.flush().expect("flush");
                }
            }
            total
        })
    });
    g.finish();
    drop(run);
}

fn reads(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cl = client(dir.path());
    let id = cl.create_run("0").expect("run").info.run_id;
    let batch = (0..50).fold(Batch::new(), |b, i| {
        b.param(format!("p{i}"), i).tag(format!("t{i}"), "v")
    });
    cl.log_batch(&id, &batch).expect("batch");
    let h = cl.metric_handle(&id, "loss").expect("handle");
    for step in 0..100_000 {
        h.log((step as f64).sin(), step).expect("log");
    }
    for k in 0..20 {
        cl.log_metric(&id, &format!("k{k}"), 1.0, 0).expect("log");
    }
    cl.flush().expect("flush");
    let mut g = c.benchmark_group("tracking_read");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("get_run_50_params_50_tags_21_metrics", |b| {
        b.iter(|| black_box(cl.get_run(&id).expect("get")))
    });
    g.sample_size(20);
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("get_metric_history_100k_points", |b| {
        b.iter(|| {
            let history = cl.get_metric_history(&id, "loss").expect("history");
            assert_eq!(history.len(), 100_000);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("tracking_runs");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("create_run", |b| {
        b.iter(|| {
            black_box(
                cl.create_run(NewRun::new("0").tags(&[("k", "v")]))
                    .expect("run"),
            )
        })
    });
    g.sample_size(20);
    g.bench_function("open_client_1M_points_100_runs", |b| {
        let big = tempfile::tempdir().expect("tempdir");
        {
            let cl = client(big.path());
            for _ in 0..100 {
                let id = cl.create_run("0").expect("run").info.run_id;
                let h = cl.metric_handle(&id, "loss").expect("handle");
                for step in 0..10_000 {
                    h.log(1.0, step).expect("log");
                }
            }
            cl.flush().expect("flush");
        }
        // Opened without background compaction, so that the store stays
        // raw: a compacting opener would compact it at once (4 MiB of
        // segments an exited writer left) and the later opens would time
        // a compacted store.
        let raw = Options::default()
            .durability(Durability::Buffered)
            .auto_compact(None);
        b.iter_batched(
            || (),
            |()| {
                black_box(
                    Client::builder()
                        .store(big.path())
                        .options(raw.clone())
                        .open()
                        .expect("open"),
                )
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, log_calls, reads);
criterion_main!(benches);
