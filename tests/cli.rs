//! The `runlog` binary, driven as a user would: replay and verify on good,
//! damaged, empty and foreign stores; exit codes 0, 1 and 2.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::process::{Command, Output};

use common::*;

fn runlog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runlog"))
        .args(args)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn replay_prints_every_entry_as_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let events = write_sample(dir.path(), 25);
    let uri = dir.path().to_str().unwrap();
    let out = runlog(&["replay", "--tracking-uri", uri]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines.len(), events.len());
    assert!(
        lines[0].contains("metric") && lines[0].contains("key=\"loss\""),
        "{}",
        lines[0]
    );

    let file_uri = format!("file://{uri}");
    let out = runlog(&["--tracking-uri", &file_uri, "replay", "--json"]);
    assert!(out.status.success());
    let docs: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), events.len());
    assert_eq!(docs[0]["type"], "metric");
    assert_eq!(docs[0]["step"], 0);
    assert_eq!(docs[0]["lane"], 1);
    assert!(docs
        .iter()
        .any(|d| d["type"] == "param" && d["key"] == "p10"));
}

#[test]
fn tracking_uri_comes_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 3);
    let out = Command::new(env!("CARGO_BIN_EXE_runlog"))
        .args(["verify", "--json"])
        .env("MLFLOW_TRACKING_URI", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["metric_points"], 3);
}

#[test]
fn verify_exits_1_on_corruption_and_names_the_place() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 40);
    let uri = dir.path().to_str().unwrap();
    let out = runlog(&["verify", "--tracking-uri", uri]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("metric points  40"));
    assert!(text(&out.stdout).trim_end().ends_with("ok"));

    let seg = segments(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[200] ^= 0x40;
    std::fs::write(&seg, bytes).unwrap();
    let out = runlog(&["verify", "--tracking-uri", uri]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("CORRUPT") && stdout.contains("lane 1 segment 1 at byte"),
        "{stdout}"
    );

    let out = runlog(&["replay", "--tracking-uri", uri]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("corrupt data in lane 1, segment 1"));
    assert!(
        text(&out.stdout).lines().count() >= 40,
        "replay skips the damage and goes on"
    );
}

#[test]
fn bad_input_gets_one_clear_line_and_the_right_exit_code() {
    let out = runlog(&["replay", "--tracking-uri", "http://localhost:5000"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("needs a store directory") && err.lines().count() == 1,
        "{err}"
    );
    let out = runlog(&["replay", "--tracking-uri", "s3://bucket/x"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("not supported") && err.lines().count() == 1,
        "{err}"
    );

    let empty = tempfile::tempdir().unwrap();
    let out = runlog(&["verify", "--tracking-uri", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a runlog store"));

    let out = runlog(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = runlog(&["replay", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_ends_replay_quietly() {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path(), 20_000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_runlog"))
        .args(["replay", "--tracking-uri", dir.path().to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn every_command_has_its_own_help() {
    // Each command's help begins with its own summary (a doc comment put
    // before the wrong variant would hand one command's text to another).
    for (command, summary) in [
        ("server", "Serve MLflow's tracking REST API"),
        ("ui", "Open the dashboard"),
        ("sync", "Push the store to an MLflow tracking server"),
        ("import", "Bring experiments and runs in from MLflow"),
        ("compact", "Compact every sealed segment"),
    ] {
        let out = runlog(&[command, "--help"]);
        assert!(out.status.success());
        let help = text(&out.stdout);
        assert!(help.starts_with(summary), "{command}: {help}");
    }
}
