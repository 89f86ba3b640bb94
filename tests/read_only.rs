//! An archived store on read-only media is read through the tracking API
//! and every reading command; nothing takes a lock or writes a byte.
//!
//! The media is a real tmpfs remounted read-only, which needs root (CI
//! runs as root). Without the right to mount, the test fails under
//! `CI=true` and elsewhere says it checked nothing. Root ignores file permissions, so a read-only mount is the only
//! honest test here.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use common::*;
use runlog::NewRun;
use runlog::{Client, HistoryQuery, Options, ViewType};

#[test]
fn a_store_on_read_only_media_is_read_by_every_reading_path() {
    let base = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::tmpfs(base.path(), "64m") else {
        cannot_run("read_only", "cannot mount a tmpfs here (not root?)");
        return;
    };
    let store = base.path().join("archive");
    let options = || Options::default().segment_size(64 << 10).auto_compact(None);
    // Compacted data and raw segments both.
    let client = Client::builder()
        .store(&store)
        .options(options())
        .open()
        .unwrap();
    let exp = client.create_experiment("archived").unwrap();
    let old = client
        .create_run(NewRun::new(&exp).run_name("old"))
        .unwrap()
        .info
        .run_id;
    for step in 0..5_000 {
        client
            .log_metric(&old, "loss", 1.0 / (step + 1) as f64, step)
            .unwrap();
    }
    client.log_param(&old, "lr", 0.1).unwrap();
    drop(client);
    runlog::compact::compact(&store).unwrap();
    let client = Client::builder()
        .store(&store)
        .options(options())
        .open()
        .unwrap();
    let new = client
        .create_run(NewRun::new(&exp).run_name("new"))
        .unwrap()
        .info
        .run_id;
    for step in 0..3_000 {
        client.log_metric(&new, "loss", step as f64, step).unwrap();
    }
    drop(client);
    mount.remount("ro");

    // The library.
    let c = Client::builder().store(&store).read_only().open().unwrap();
    assert!(c.is_read_only());
    assert_eq!(c.get_metric_history(&old, "loss").unwrap().len(), 5_000);
    assert_eq!(c.get_metric_history(&new, "loss").unwrap().len(), 3_000);
    let part = c
        .metric_history(&new, "loss", &HistoryQuery::new().steps(10..=19))
        .unwrap();
    assert_eq!(part.len(), 10);
    assert_eq!(c.get_run(&old).unwrap().data.params["lr"], "0.1");
    assert_eq!(c.list_runs(&exp, ViewType::All).unwrap().len(), 2);
    let streamed = c
        .metric_history_iter(&old, "loss", &HistoryQuery::new())
        .unwrap()
        .count();
    assert_eq!(streamed, 5_000);
    // Writes say why they cannot be done.
    let err = c.log_metric(&new, "loss", 1.0, 9_000).unwrap_err();
    assert!(matches!(err, runlog::Error::ReadOnly { .. }), "{err}");
    let err = c.create_experiment("more").unwrap_err();
    assert!(matches!(err, runlog::Error::ReadOnly { .. }), "{err}");
    // A client that writes cannot open it, and says so (no panic).
    let err = Client::builder().store(&store).open().unwrap_err();
    assert_eq!(
        err.io_kind(),
        Some(std::io::ErrorKind::ReadOnlyFilesystem),
        "{err}"
    );

    // The command line.
    let out_dir = tempfile::tempdir().unwrap();
    let svg = out_dir.path().join("loss.svg");
    let svg = svg.to_str().unwrap();
    for args in [
        vec!["experiments", "search"],
        vec!["runs", "list", "-x", exp.as_str()],
        vec!["runs", "describe", "--run-id", old.as_str()],
        vec![
            "runs",
            "search",
            "-x",
            exp.as_str(),
            "--filter",
            "metrics.loss > 1",
        ],
        vec![
            "metrics",
            "history",
            "--run-id",
            old.as_str(),
            "--key",
            "loss",
        ],
        vec![
            "metrics",
            "plot",
            "--run-id",
            new.as_str(),
            "--key",
            "loss",
            "-o",
            svg,
        ],
        vec!["stats"],
        vec!["verify"],
        vec!["replay"],
    ] {
        let out = runlog_at(&store, &args);
        assert!(
            out.status.success(),
            "runlog {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let history = ok(&runlog_at(
        &store,
        &["metrics", "history", "--run-id", &new, "--key", "loss"],
    ));
    assert_eq!(history.lines().count(), 3_001);
    drop(mount);
}

#[test]
fn reading_commands_refuse_a_missing_store_and_create_nothing() {
    let base = tempfile::tempdir().unwrap();
    let missing = base.path().join("typo");
    for args in [
        vec!["experiments", "search"],
        vec!["runs", "list", "-x", "0"],
        vec!["runs", "describe", "--run-id", "abc"],
        vec!["metrics", "history", "--run-id", "abc", "--key", "loss"],
        vec!["stats"],
    ] {
        let out = runlog_at(&missing, &args);
        assert_eq!(out.status.code(), Some(1), "runlog {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("not a runlog store") && err.lines().count() == 1,
            "{err}"
        );
        assert!(!missing.exists(), "runlog {args:?} created the store");
    }
}
