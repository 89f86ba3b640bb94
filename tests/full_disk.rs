//! A full disk surfaces as an error, never as corruption: the writer fails
//! with ENOSPC, `flush()` and every later call return the error, what was
//! acknowledged stays readable, and once space is freed the store opens
//! and takes new records.
//!
//! The disk is a real 1 MiB tmpfs mounted for the test, which needs root
//! (CI runs as root). Without the right to mount, the test fails under
//! `CI=true` and elsewhere says it checked nothing.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use common::*;
use runlog::engine::{LogError, Store};
use runlog::Metric;
use runlog::Options;

#[test]
fn full_disk_is_an_error_not_corruption() {
    let base = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(base.path(), "1m") else {
        cannot_run("full_disk", "cannot mount a tmpfs here (not root?)");
        return;
    };
    let store_dir = base.path().join("store");
    let options = Options::default().segment_size(128 << 10);
    let store = Store::open_with(&store_dir, options).unwrap();
    let run = run_id(7);
    let h = store.metric_handle(&run, "loss").unwrap();
    let mut acked = 0i64;
    let mut failure = None;
    for step in 0..1_000_000i64 {
        if let Err(e) = h.log(step as f64, step) {
            failure = Some(e);
            break;
        }
        if step % 1000 == 999 {
            match store.flush() {
                Ok(()) => acked = step + 1,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    }
    let failure = failure.expect("1 MiB fills up before 37 MB are written");
    assert_eq!(
        failure.io_kind(),
        Some(std::io::ErrorKind::StorageFull),
        "{failure}"
    );
    assert!(acked > 10_000, "{acked} points fit before the disk filled");
    // Sticky: every later call reports the same failure.
    assert!(matches!(h.log(1.0, 1), Err(LogError::Poisoned { .. })));
    assert!(matches!(store.flush(), Err(LogError::Poisoned { .. })));
    assert!(store.close().is_err());

    // What was acknowledged is intact; nothing is corrupt.
    let summary = runlog::engine::verify(&store_dir).unwrap();
    assert!(summary.corrupt.is_empty(), "{summary:?}");
    let steps: Vec<i64> = points(&replay_all(&store_dir), &run, "loss")
        .iter()
        .map(|p| p.0)
        .collect();
    assert!(steps.len() as i64 >= acked);
    assert_eq!(steps, (0..steps.len() as i64).collect::<Vec<_>>());

    // With room again, the store opens and takes more.
    mount.remount("size=4m");
    let store = Store::open_with(&store_dir, Options::default().segment_size(128 << 10)).unwrap();
    assert!(store.recovery_report().corrupt.is_empty());
    store
        .log_metric(
            &run,
            "after",
            Metric {
                value: 1.0,
                timestamp: 0,
                step: 0,
            },
        )
        .unwrap();
    store.close().unwrap();
    let events = replay_all(&store_dir);
    assert_eq!(points(&events, &run, "after").len(), 1);
    assert!(points(&events, &run, "loss").len() as i64 >= acked);
}
