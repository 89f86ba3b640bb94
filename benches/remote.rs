#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]
//! The cost of a log call with an `http://` tracking URI (records go to the
//! local spool; the background sync pushes them to the server meanwhile) beside the
//! same call on a local store, in one run, against a `runlog server` started
//! in this process on loopback; and the background sync's syncing throughput.
//!
//! Log calls are timed in bursts of 10,000 with the writer drained
//! (untimed) between bursts, as in `benches/tracking.rs`.
//!
//! `cargo bench --bench remote`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use runlog::remote::{connect, SpoolConfig};
use runlog::{Client, Durability, Options};
use runlog_server::{Server, ServerOptions};

#[path = "bursts.rs"]
mod bursts;
use bursts::{bursts_of, BURST};

/// A `runlog server` on a free loopback port, served by a thread of its
/// own until the process ends.
fn start_server(store: &std::path::Path) -> String {
    let mut options = ServerOptions::new(store.display().to_string());
    options.port = 0;
    let server = Server::bind(options).expect("bind");
    let url = format!("http://{}", server.local_addr());
    std::thread::spawn(move || server.run_until(std::future::pending()));
    url
}

/// Times `per_call` in bursts, draining the writer between them.
fn bursts(c: &Client, iters: u64, per_call: impl FnMut(i64)) -> Duration {
    bursts_of(c, iters, BURST, per_call)
}

fn log_calls(c: &mut Criterion) {
    let server_dir = tempfile::tempdir().expect("tempdir");
    let spool_dir = tempfile::tempdir().expect("tempdir");
    let local_dir = tempfile::tempdir().expect("tempdir");
    let url = start_server(server_dir.path());
    let config = SpoolConfig {
        root: spool_dir.path().to_owned(),
        max_bytes: runlog::remote::DEFAULT_SPOOL_MAX_BYTES,
    };
    let remote = connect(&url, &config).expect("connect");
    let local = Client::builder()
        .store(local_dir.path())
        .options(Options::default().durability(Durability::Buffered))
        .open()
        .expect("open");
    let remote_run = remote.create_run("0").expect("run").info.run_id;
    let local_run = local.create_run("0").expect("run").info.run_id;
    let mut g = c.benchmark_group("remote_log_call");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    for (name, client, run) in [
        ("local", &local, &local_run),
        ("http", &remote, &remote_run),
    ] {
        g.bench_function(format!("{name}_client_log_metric"), |b| {
            b.iter_custom(|iters| {
                bursts(client, iters, |step| {
                    client
                        .log_metric(run, black_box("loss"), 0.5, step)
                        .expect("log")
                })
            })
        });
        let handle = client.metric_handle(run, "handle").expect("handle");
        g.bench_function(format!("{name}_metric_handle"), |b| {
            b.iter_custom(|iters| {
                bursts(client, iters, |step| {
                    handle.log(black_box(0.5), step).expect("log")
                })
            })
        });
    }
    // The fluent API (per-thread metric handles), a local store's then a
    // server's tracking URI.
    std::env::set_var(runlog::remote::SPOOL_DIR_ENV, spool_dir.path());
    for (name, uri) in [
        ("local", local_dir.path().display().to_string()),
        ("http", url.clone()),
    ] {
        runlog::set_tracking_uri(&uri).expect("uri");
        let client = runlog::client().expect("client");
        let run = runlog::start_run().expect("run");
        g.bench_function(format!("{name}_fluent_log_metric"), |b| {
            b.iter_custom(|iters| {
                bursts(&client, iters, |step| {
                    runlog::log_metric(black_box("loss"), 0.5, step).expect("log")
                })
            })
        });
        drop(run);
    }
    g.finish();
    remote
        .wait_synced(Duration::from_secs(600))
        .expect("synced");
}

/// Points logged through the http client, then waited for until the server
/// acknowledged them all: the background sync's throughput end to end.
fn syncing(c: &mut Criterion) {
    let server_dir = tempfile::tempdir().expect("tempdir");
    let spool_dir = tempfile::tempdir().expect("tempdir");
    let url = start_server(server_dir.path());
    let config = SpoolConfig {
        root: spool_dir.path().to_owned(),
        max_bytes: runlog::remote::DEFAULT_SPOOL_MAX_BYTES,
    };
    let remote = connect(&url, &config).expect("connect");
    const POINTS: u64 = 200_000;
    let mut g = c.benchmark_group("remote_sync");
    g.throughput(Throughput::Elements(POINTS));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("log_and_sync_200k_points", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let run = remote.create_run("0").expect("run").info.run_id;
                let handle = remote.metric_handle(&run, "loss").expect("handle");
                let t = Instant::now();
                for step in 0..POINTS as i64 {
                    handle.log(0.5, step).expect("log");
                }
                remote
                    .wait_synced(Duration::from_secs(600))
                    .expect("synced");
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, log_calls, syncing);
criterion_main!(benches);
