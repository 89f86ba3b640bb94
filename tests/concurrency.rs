//! Several writers at once: threads sharing one store, and processes each
//! with its own lane in one store directory. Nothing is lost or reordered.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use runlog::Metric;
use std::process::Command;
use std::sync::Arc;

use common::*;
use runlog::engine::{Record, Store};

const CHILD_ENV: &str = "RUNLOG_CONCURRENCY_CHILD_DIR";
const RUN_ENV: &str = "RUNLOG_CONCURRENCY_CHILD_RUN";
const POINTS: i64 = 50_000;

#[test]
fn four_threads_share_a_store_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let run = run_id(t);
                let h = store.metric_handle(&run, "loss").unwrap();
                for step in 0..POINTS {
                    h.log(step as f64, step).unwrap();
                    if step % 1000 == 0 {
                        // Mixed with records and by-key logging.
                        store
                            .log_metric(
                                &run,
                                "lr",
                                Metric {
                                    value: 0.1,
                                    timestamp: 0,
                                    step,
                                },
                            )
                            .unwrap();
                        store
                            .append(&Record::SetTag {
                                run_id: run.as_str(),
                                key: "t",
                                value: "x",
                            })
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    store.flush().unwrap();
    let stats = store.stats();
    assert_eq!(stats.records, 4 * (POINTS as u64 + 2 * 50));
    Arc::into_inner(store).unwrap().close().unwrap();
    let events = replay_all(dir.path());
    for t in 0..4 {
        let steps: Vec<i64> = points(&events, &run_id(t), "loss")
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(steps, (0..POINTS).collect::<Vec<_>>());
        assert_eq!(points(&events, &run_id(t), "lr").len(), 50);
    }
}

/// The body of a writer process, run only when re-executed by the test
/// below with `--ignored`.
#[test]
#[ignore = "child process: run by three_processes_append_to_one_store_at_once"]
fn writer_process() {
    let dir = std::env::var(CHILD_ENV).expect("run by the test below, which sets the store");
    let run = std::env::var(RUN_ENV).expect("run by the test below, which sets the run");
    let store = Store::open(&dir).unwrap();
    let h = store.metric_handle(&run, "loss").unwrap();
    for step in 0..POINTS {
        h.log(step as f64, step).unwrap();
    }
    store.close().unwrap();
}

#[test]
fn three_processes_append_to_one_store_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..3u64)
        .map(|p| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "writer_process", "--ignored", "--test-threads=1"])
                .env(CHILD_ENV, dir.path())
                .env(RUN_ENV, run_id(100 + p))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let lanes = runlog::log::list_lanes(dir.path()).unwrap();
    assert!(
        lanes.len() >= 2,
        "processes running together used separate lanes"
    );
    let summary = runlog::engine::verify(dir.path()).unwrap();
    assert!(summary.corrupt.is_empty() && summary.torn.is_empty());
    let events = replay_all(dir.path());
    for p in 0..3 {
        let steps: Vec<i64> = points(&events, &run_id(100 + p), "loss")
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(steps, (0..POINTS).collect::<Vec<_>>());
    }
}
