//! A child process logs metrics and tags into a store, acknowledging each
//! `flush()` on stdout; the parent kills it with SIGKILL at a random moment.
//! After every kill the store opens, verifies clean, and holds every point
//! the child acknowledged, in order, with no gap and no duplicate. Each trial
//! reuses the store, so crashed lanes are recovered and adopted again and
//! again. Segments are small (64 KiB) so kills also land during rotation.
//!
//! `RUNLOG_CRASH_TRIALS=500 cargo test --release --test crash_sigkill` runs
//! a longer campaign (the suite runs 20).

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use runlog::engine::{Record, Store};
use runlog::Options;

const CHILD_ENV: &str = "RUNLOG_CRASH_CHILD_DIR";
const RUN_ENV: &str = "RUNLOG_CRASH_CHILD_RUN";

/// The child's body, run only when the parent re-executes this test binary
/// with `--ignored` (so it never counts as a test that passed).
#[test]
#[ignore = "child process: run by the SIGKILL trials below"]
fn crash_child() {
    let dir = std::env::var(CHILD_ENV).expect("run by the SIGKILL trials, which set the store");
    let run = std::env::var(RUN_ENV).expect("run by the SIGKILL trials, which set the run");
    let store = Store::open_with(&dir, Options::default().segment_size(64 << 10)).unwrap();
    let loss = store.metric_handle(&run, "loss").unwrap();
    let mut step = 0i64;
    loop {
        loss.log(step as f64, step).unwrap();
        if step % 37 == 0 {
            store
                .append(&Record::SetTag {
                    run_id: run.as_str(),
                    key: "last_tagged_step",
                    value: &step.to_string(),
                })
                .unwrap();
        }
        if step % 500 == 499 {
            store.flush().unwrap();
            println!("ACK {step}");
            // Paced like a training loop, so that the store stays small.
            std::thread::sleep(std::time::Duration::from_micros(500));
        }
        step += 1;
    }
}

fn run_trial(dir: &Path, run: &str, delay: Duration) -> Option<i64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .env(RUN_ENV, run)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut acked = None;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(n) = line.strip_prefix("ACK ") {
                acked = Some(n.trim().parse::<i64>().unwrap());
            }
        }
        acked
    });
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap()
}

#[test]
fn every_flushed_record_survives_sigkill() {
    let trials: u64 = std::env::var("RUNLOG_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut acked_total = 0;
    for trial in 0..trials {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(20 + seed % 280);
        let run = run_id(trial);
        let acked = run_trial(dir.path(), &run, delay);

        // The store opens (recovering the killed lane) and verifies clean.
        let store = Store::open(dir.path()).expect("store opens after SIGKILL");
        let report = store.recovery_report().clone();
        store.close().unwrap();
        assert!(report.corrupt.is_empty(), "trial {trial}: {report:?}");
        let summary = runlog::engine::verify(dir.path()).unwrap();
        assert!(
            summary.corrupt.is_empty() && summary.torn.is_empty(),
            "trial {trial}: {summary:?}"
        );

        let events = replay_all(dir.path());
        let steps: Vec<i64> = points(&events, &run, "loss").iter().map(|p| p.0).collect();
        let expected: Vec<i64> = (0..steps.len() as i64).collect();
        assert_eq!(
            steps, expected,
            "trial {trial}: points out of order, duplicated or with a gap"
        );
        if let Some(acked) = acked {
            assert!(
                steps.len() as i64 > acked,
                "trial {trial}: acknowledged step {acked} lost ({} points kept)",
                steps.len()
            );
            acked_total += 1;
        }
    }
    assert!(
        acked_total >= trials / 2,
        "too few trials reached a flush: {acked_total}"
    );
}
