#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! `runlog metrics plot`, `runlog ingest`, and every reading command run
//! against a store another process is writing, through the built binary.

use runlog::NewRun;
use std::io::Write;
mod common;

use std::process::{Command, Output, Stdio};

use common::{ok, runlog_at as runlog};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use runlog::{Client, HistoryQuery, Options, RunStatus, ViewType};

/// `runlog ingest -` on a store with `input` as standard input, without
/// the environment variables named (nor `MLFLOW_TRACKING_URI`).
fn ingest_stdin(store: &std::path::Path, input: &[u8], unset: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runlog"));
    command
        .arg("--tracking-uri")
        .arg(store)
        .args(["ingest", "-"])
        .env_remove("MLFLOW_TRACKING_URI");
    for name in unset {
        command.env_remove(name);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Two named runs of 5,000 points of "loss" (one NaN), one of "acc".
fn two_runs(dir: &std::path::Path) -> (String, String) {
    let c = Client::builder().store(dir).open().unwrap();
    let a = c
        .create_run(NewRun::new("0").run_name("alpha-run"))
        .unwrap()
        .info
        .run_id;
    let b = c
        .create_run(NewRun::new("0").run_name("beta-run"))
        .unwrap()
        .info
        .run_id;
    for step in 0..5_000 {
        c.log_metric(&a, "loss", 1.0 / (step + 1) as f64, step)
            .unwrap();
        let v = if step == 2_500 {
            f64::NAN
        } else {
            2.0 / (step + 1) as f64
        };
        c.log_metric(&b, "loss", v, step).unwrap();
    }
    c.log_metric(&a, "acc", 0.9, 0).unwrap();
    c.flush().unwrap();
    (a, b)
}

#[test]
fn plots_go_to_svg_png_or_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let (a, b) = two_runs(s);
    let svg = s.join("chart.svg");
    ok(&runlog(
        s,
        &[
            "metrics",
            "plot",
            "--run-id",
            &a,
            "--run-id",
            &b,
            "--key",
            "loss",
            "-o",
            svg.to_str().unwrap(),
        ],
    ));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{}", &text[..40.min(text.len())]);
    assert!(
        text.contains("alpha-run") && text.contains("beta-run"),
        "legend"
    );
    assert!(text.contains("<polyline"), "lines");

    let png = s.join("chart.PNG");
    ok(&runlog(
        s,
        &[
            "metrics",
            "plot",
            "--run-id",
            &a,
            "--key",
            "loss",
            "--size",
            "800x400",
            "-o",
            png.to_str().unwrap(),
        ],
    ));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (800, 400));

    let term = ok(&runlog(
        s,
        &[
            "metrics", "plot", "--run-id", &a, "--run-id", &b, "--key", "loss", "--steps", "0:999",
            "--size", "60x15",
        ],
    ));
    assert!(
        term.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "{term}"
    );
    assert!(
        term.contains("alpha-run") && term.contains("beta-run"),
        "{term}"
    );
    assert!(!term.contains('\x1b'), "no colors when not on a terminal");
    assert!(term.lines().count() <= 15 + 3, "{term}");

    // Bad requests.
    let bad = runlog(
        s,
        &[
            "metrics", "plot", "--run-id", &a, "--key", "loss", "-o", "x.jpg",
        ],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains(".svg or .png"));
    let bad = runlog(
        s,
        &[
            "metrics", "plot", "--run-id", &a, "--key", "loss", "--size", "3x3",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let bad = runlog(s, &["metrics", "plot", "--run-id", &a, "--key", "nope"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("no finite point"), "{}", stderr(&bad));
    let bad = runlog(
        s,
        &[
            "metrics",
            "plot",
            "--run-id",
            "0123456789abcdef0123456789abcdef",
            "--key",
            "loss",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let bad = runlog(s, &["metrics", "plot", "--key", "loss"]);
    assert_eq!(bad.status.code(), Some(2), "a run is required");
    let nowhere = s.join("no-such-dir").join("chart.png");
    let bad = runlog(
        s,
        &[
            "metrics",
            "plot",
            "--run-id",
            &a,
            "--key",
            "loss",
            "-o",
            nowhere.to_str().unwrap(),
        ],
    );
    assert_eq!(bad.status.code(), Some(1), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("drawing the chart"),
        "{}",
        stderr(&bad)
    );
}

const INPUT: &str = r#"{"type":"experiment","experiment_name":"from-python","tags":{"team":"ml"}}
{"type":"run_start","run_id":"a","experiment_name":"from-python","run_name":"baseline","start_time":1700000000000}
{"type":"param","run_id":"a","key":"lr","value":0.01}
{"type":"tag","run_id":"a","key":"lang","value":"python"}

{"type":"metric","run_id":"a","key":"loss","value":1.5,"step":0,"timestamp":1700000000100}
{"type":"metric","run_id":"a","key":"loss","value":"NaN","step":1,"timestamp":1700000000200}
{"type":"run_start","run_id":"b","experiment_name":"from-python","parent_run_id":"a"}
{"type":"metric","run_id":"b","key":"loss","value":0.5,"step":2}
{"type":"run_end","run_id":"b","status":"FAILED","end_time":1700000009000}
{"type":"run_end","run_id":"a"}
"#;

#[test]
fn ingest_reads_json_lines_into_runs() {
    let dir = tempfile::tempdir().unwrap();
    let s = &dir.path().join("store");
    let inputs = tempfile::tempdir().unwrap();
    let file = inputs.path().join("in.jsonl");
    std::fs::write(&file, INPUT).unwrap();
    let out = ok(&runlog(s, &["ingest", file.to_str().unwrap(), "--json"]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["lines"], 10);
    assert_eq!(report["metrics"], 3);
    let runs = report["runs"].as_array().unwrap();
    let id_of = |input: &str| {
        runs.iter().find(|r| r["input_run_id"] == input).unwrap()["run_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (a, b) = (id_of("a"), id_of("b"));

    let c = Client::builder().store(s).open().unwrap();
    let exp = c.get_experiment_by_name("from-python").unwrap().unwrap();
    assert_eq!(exp.tags["team"], "ml");
    let run_a = c.get_run(&a).unwrap();
    assert_eq!(run_a.info.run_name, "baseline");
    assert_eq!(run_a.info.start_time, 1_700_000_000_000);
    assert_eq!(run_a.info.status, RunStatus::Finished);
    assert_eq!(run_a.data.params["lr"], "0.01");
    assert_eq!(run_a.data.tags["lang"], "python");
    let history = c.get_metric_history(&a, "loss").unwrap();
    assert_eq!(history.len(), 2);
    assert!(history[1].value.is_nan() && history[1].timestamp == 1_700_000_000_200);
    let run_b = c.get_run(&b).unwrap();
    assert_eq!(run_b.info.status, RunStatus::Failed);
    assert_eq!(run_b.info.end_time, Some(1_700_000_009_000));
    assert_eq!(run_b.data.tags["mlflow.parentRunId"], a);
    assert_eq!(
        c.list_runs(&exp.experiment_id, ViewType::All)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_bad_line_is_named_and_what_came_before_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let input = "{\"type\":\"run_start\",\"run_id\":\"r\",\"run_name\":\"kept\"}\n\
                 {\"type\":\"metric\",\"run_id\":\"r\",\"key\":\"m\",\"value\":1,\"step\":0}\n\
                 {\"type\":\"metric\",\"run_id\":\"r\",\"key\":\"m\",\"value\":2,\"step\":1}\n\
                 {\"type\":\"metric\",\"run_id\":\"r\",\"key\":\"m\",\"value\":\"high\"}\n\
                 {\"type\":\"metric\",\"run_id\":\"r\",\"key\":\"m\",\"value\":3,\"step\":2}\n";
    let out = ingest_stdin(s, input.as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("line 4") && err.contains("must be a number"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let c = Client::builder().store(s).open().unwrap();
    let run = &c.list_runs("0", ViewType::All).unwrap()[0];
    assert_eq!(run.info.run_name, "kept");
    let history = c.get_metric_history(&run.info.run_id, "m").unwrap();
    assert_eq!(history.len(), 2, "the lines before the bad one");

    let inputs = tempfile::tempdir().unwrap();
    for (bad, says) in [
        (
            "{\"type\":\"metric\",\"run_id\":\"nobody\",\"key\":\"m\",\"value\":1}",
            "not started",
        ),
        ("{\"type\":\"mystery\"}", "unknown type"),
        ("{\"type\":\"param\",\"run_id\":\"r\"", "not a record"),
        (
            "{\"type\":\"param\",\"run_id\":\"r\",\"key\":\"k\",\"value\":1,\"extra\":1}",
            "unknown field",
        ),
    ] {
        let file = inputs.path().join("bad.jsonl");
        std::fs::write(&file, bad).unwrap();
        let out = runlog(s, &["ingest", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(stderr(&out).contains(says), "{bad}: {}", stderr(&out));
    }
    let absent = inputs.path().join("absent.jsonl");
    let missing = runlog(s, &["ingest", absent.to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn every_reading_command_works_while_another_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().to_owned();
    // Segments sealed every few hundred ms, compacted in the background.
    let options = Options::default().segment_size(1 << 20);
    let c = Client::builder().store(&s).options(options).open().unwrap();
    let run = c
        .create_run(NewRun::new("0").run_name("live"))
        .unwrap()
        .info
        .run_id;
    let h = c.metric_handle(&run, "loss").unwrap();
    h.log(1.0, 0).unwrap();
    c.flush().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut step = 1i64;
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..100 {
                    h.log(1.0 / step as f64, step).unwrap();
                    step += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            step
        })
    };
    let mut last_len = 0;
    for round in 0..4 {
        let csv = ok(&runlog(
            &s,
            &["metrics", "history", "--run-id", &run, "--key", "loss"],
        ));
        let steps: Vec<i64> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            steps.windows(2).all(|w| w[0] + 1 == w[1]),
            "no gap, no repeat"
        );
        assert!(steps.len() >= last_len, "round {round}");
        last_len = steps.len();
        let listed = ok(&runlog(&s, &["runs", "list", "-x", "0"]));
        assert!(listed.contains("live"));
        ok(&runlog(&s, &["runs", "describe", "--run-id", &run]));
        ok(&runlog(
            &s,
            &["runs", "search", "-x", "0", "--filter", "metrics.loss < 2"],
        ));
        ok(&runlog(
            &s,
            &[
                "metrics", "plot", "--run-id", &run, "--key", "loss", "--size", "40x10",
            ],
        ));
        let verify = runlog(&s, &["verify", "--json"]);
        let summary: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
        assert!(
            summary["corrupt"].as_array().unwrap().is_empty(),
            "{summary}"
        );
        ok(&runlog(&s, &["stats", "--json"]));
        let replay = ok(&runlog(&s, &["replay", "--json"]));
        assert!(replay.lines().count() > 1);
        ok(&runlog(&s, &["compact"]));
        std::thread::sleep(std::time::Duration::from_millis(200)); // more segments
    }
    stop.store(true, Ordering::Relaxed);
    let steps = writer.join().unwrap();
    c.flush().unwrap();
    let all = c
        .metric_history(&run, "loss", &HistoryQuery::new())
        .unwrap();
    assert_eq!(
        all.len() as i64,
        steps,
        "every point, across the compactions"
    );
    assert!(all.iter().enumerate().all(|(i, m)| m.step == i as i64));
}

#[test]
fn the_readmes_python_example_ingests() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/from_python.jsonl");
    let out = ok(&runlog(dir.path(), &["ingest", example]));
    assert!(out.starts_with("6 lines: 1 experiments created, 1 runs started, 1 ended, 1 params, 0 tags, 2 metric points"), "{out}");
    let c = runlog::Client::builder()
        .store(dir.path())
        .read_only()
        .open()
        .unwrap();
    let exp = c.get_experiment_by_name("from-python").unwrap().unwrap();
    let runs = c
        .list_runs(&exp.experiment_id, runlog::ViewType::All)
        .unwrap();
    assert_eq!(runs[0].info.run_name, "python-run");
    let loss = c.get_metric_history(&runs[0].info.run_id, "loss").unwrap();
    assert!(loss[0].value == 0.9 && loss[1].value.is_nan());
}

#[test]
fn charts_of_one_step_many_runs_and_unwritable_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let c = Client::builder().store(s).open().unwrap();
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = c
            .create_run(NewRun::new("0").run_name(format!("run-{i}")))
            .unwrap()
            .info
            .run_id;
        c.log_metric(&id, "acc", 0.5 + i as f64 / 100.0, 7).unwrap();
        ids.push(id);
    }
    c.flush().unwrap();
    // One step: integer ticks around it, no ticks at halves.
    let svg = s.join("one.svg");
    let mut args = vec![
        "metrics",
        "plot",
        "--key",
        "acc",
        "-o",
        svg.to_str().unwrap(),
    ];
    for id in &ids {
        args.extend(["--run-id", id.as_str()]);
    }
    ok(&runlog(s, &args));
    let text = std::fs::read_to_string(&svg).unwrap();
    let labels: Vec<&str> = text
        .split("</text>")
        .filter_map(|t| t.rsplit('>').next())
        .map(str::trim)
        .collect();
    for tick in ["6", "7", "8"] {
        assert!(labels.contains(&tick), "tick {tick} in {labels:?}");
    }
    for half in ["6.5", "7.5"] {
        assert!(!labels.contains(&half), "tick {half} in {labels:?}");
    }
    // Twelve runs, twelve colors.
    let mut colors: Vec<&str> = text
        .split("stroke=\"")
        .skip(1)
        .filter_map(|t| t.split('"').next())
        .filter(|c| c.starts_with('#'))
        .collect();
    let fills: Vec<&str> = text
        .split("fill=\"")
        .skip(1)
        .filter_map(|t| t.split('"').next())
        .filter(|c| c.starts_with('#') && *c != "#FFFFFF" && *c != "#000000")
        .collect();
    colors.extend(fills);
    colors.sort_unstable();
    colors.dedup();
    assert!(colors.len() >= 12, "{colors:?}");
    // A file that cannot be written: one plain line, no debug text.
    let out = runlog(
        s,
        &[
            "metrics",
            "plot",
            "--run-id",
            &ids[0],
            "--key",
            "acc",
            "-o",
            "/nonexistent/dir/c.png",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot write /nonexistent/dir/c.png"), "{err}");
    assert!(!err.contains("Os {") && err.lines().count() == 1, "{err}");
}

#[test]
fn without_user_variables_the_user_comes_from_the_user_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = ingest_stdin(
        dir.path(),
        b"{\"type\":\"run_start\",\"run_id\":\"r\"}\n",
        &["LOGNAME", "USER", "LNAME", "USERNAME"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = Command::new("id").arg("-un").output().unwrap();
    let expected = String::from_utf8_lossy(&expected.stdout).trim().to_owned();
    let c = Client::builder()
        .store(dir.path())
        .read_only()
        .open()
        .unwrap();
    let run = &c.list_runs("0", ViewType::All).unwrap()[0];
    assert_eq!(run.info.user_id, expected);
    assert_ne!(run.info.user_id, "unknown");
}

/// The x axis of a terminal chart: at every height (the axis falls at a
/// different pixel of its character cell) and at the default size from
/// `COLUMNS`/`LINES`, the row under the axis holds the tick numbers and
/// nothing else.
#[test]
fn terminal_charts_keep_their_x_tick_numbers_at_every_size() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    let c = Client::builder().store(s).open().unwrap();
    let run = c
        .create_run(NewRun::new("0").run_name("r"))
        .unwrap()
        .info
        .run_id;
    for step in 0..2_000 {
        c.log_metric(&run, "loss", 2.0 / (step + 1) as f64, step)
            .unwrap();
    }
    c.flush().unwrap();
    drop(c);
    let braille = |c: char| ('\u{2800}'..='\u{28ff}').contains(&c);
    let check = |term: &str, what: &str| {
        let lines: Vec<&str> = term.lines().collect();
        let legend = lines.iter().position(|l| l.contains("x: step")).unwrap();
        let ticks = lines[legend - 1];
        let words: Vec<&str> = ticks.split_whitespace().collect();
        assert_eq!(words, ["0", "500", "1k", "1.5k"], "{what}:\n{term}");
        assert!(!ticks.chars().any(braille), "{what}: stray dots\n{term}");
        // The axis itself is the row above, all Braille.
        let axis = lines[legend - 2].trim();
        assert!(axis.chars().all(braille), "{what}:\n{term}");
    };
    for rows in 10..=40 {
        for cols in [40, 80, 120] {
            let size = format!("{cols}x{rows}");
            let term = ok(&runlog(
                s,
                &[
                    "metrics", "plot", "--run-id", &run, "--key", "loss", "--size", &size,
                ],
            ));
            check(&term, &size);
        }
    }
    for (cols, lines) in [("80", "24"), ("80", "28"), ("100", "30"), ("", "")] {
        let out = Command::new(env!("CARGO_BIN_EXE_runlog"))
            .arg("--tracking-uri")
            .arg(s)
            .args(["metrics", "plot", "--run-id", &run, "--key", "loss"])
            .env("COLUMNS", cols)
            .env("LINES", lines)
            .output()
            .unwrap();
        check(&ok(&out), &format!("COLUMNS={cols} LINES={lines}"));
    }
}
