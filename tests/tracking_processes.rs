#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! Several processes on one store: racing `set_experiment` with one new
//! name, runs logged in parallel by child processes, a process killed in
//! the middle of a run, and the experiment chosen by environment variables.
//!
//! The children are this test binary run again, with a role in the
//! environment.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runlog::{Client, RunStatus, StartRun, ViewType};

const ROLE: &str = "RUNLOG_TEST_ROLE";
const START_AT: &str = "RUNLOG_TEST_START_AT";
/// Set to a value of its own for each child, which its forks inherit.
const TOKEN: &str = "RUNLOG_TEST_TOKEN";
/// Points the `exit_compaction` role logs.
const EXIT_COMPACTION_POINTS: i64 = 150_000;

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Runs `role` in a child process with the store as its tracking URI.
fn child(role: &str, store: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_entry",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROLE, role)
    .env("MLFLOW_TRACKING_URI", store)
    .env_remove("MLFLOW_EXPERIMENT_NAME")
    .env_remove("MLFLOW_EXPERIMENT_ID");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The value of an `OUT ` line (the test harness may print its own text
/// before it on the same line).
fn out_value(line: &str) -> Option<String> {
    line.find("OUT ").map(|i| line[i + 4..].to_owned())
}

/// Runs `n` children of a role at once and collects their `OUT` values.
fn run_children(n: usize, role: &str, store: &Path, env: &[(&str, &str)]) -> Vec<String> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            child(role, store, env)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .flat_map(|c| stdout_lines(&c.wait_with_output().unwrap()))
        .collect()
}

fn stdout_lines(out: &Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(out_value)
        .collect()
}

/// The children's bodies, run only by `child` (with `--ignored`).
#[test]
#[ignore = "child process: run by the tests below with a role"]
fn child_entry() {
    let role = std::env::var(ROLE).expect("run by the tests below, which set a role");
    match role.as_str() {
        "set_experiment" => {
            // Start together, to race for the name.
            let at: u128 = std::env::var(START_AT).unwrap().parse().unwrap();
            while now_ms() < at {
                std::hint::spin_loop();
            }
            let e = runlog::set_experiment("race").unwrap();
            println!("OUT {}", e.experiment_id);
        }
        "train" => {
            runlog::set_experiment("parallel").unwrap();
            let run = runlog::start_run().unwrap();
            runlog::log_param("pid", std::process::id()).unwrap();
            let loss = run.metric_handle("loss").unwrap();
            for step in 0..5_000 {
                loss.log(1.0 / (step + 1) as f64, step).unwrap();
            }
            println!("OUT {}", run.run_id());
        }
        "crash" => {
            let run = runlog::start_run_with(StartRun::new().run_name("doomed")).unwrap();
            runlog::log_param("lr", 0.1).unwrap();
            let loss = run.metric_handle("loss").unwrap();
            for step in 0..1_000 {
                loss.log(step as f64, step).unwrap();
            }
            runlog::flush().unwrap();
            println!("OUT {}", run.run_id());
            // Paced like a training loop until killed; gives up after a
            // minute so that a parent that never kills cannot fill the disk.
            for step in 1_000..61_000 {
                loss.log(step as f64, step).unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        "env_run" => match runlog::start_run() {
            Ok(run) => println!("OUT {}", run.run().unwrap().info.experiment_id),
            Err(e) => println!("OUT error: {e}"),
        },
        "auto_exit" => {
            // No start_run, no end_run: the first call starts a run, the
            // process exit ends it.
            runlog::log_param("mode", "auto").unwrap();
            for step in 0..10_000 {
                runlog::log_metric("loss", 1.0 / (step + 1) as f64, step).unwrap();
            }
        }
        "exit_compaction" => {
            // 5.5 MiB of raw log: the exit compacts it in a child.
            let run = runlog::start_run().unwrap();
            let loss = run.metric_handle("loss").unwrap();
            for step in 0..EXIT_COMPACTION_POINTS {
                loss.log(step as f64, step).unwrap();
            }
            println!("OUT {}", run.run_id());
        }
        "exit_compaction_large" => {
            // 320 MiB of its own, touched and held to the exit: above the
            // bound, the exit forks nothing.
            let ballast: &'static mut [u8] = Box::leak(vec![1u8; 320 << 20].into_boxed_slice());
            std::hint::black_box(&ballast);
            let run = runlog::start_run().unwrap();
            let loss = run.metric_handle("loss").unwrap();
            for step in 0..EXIT_COMPACTION_POINTS {
                loss.log(step as f64, step).unwrap();
            }
            println!("OUT {}", run.run_id());
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn processes_racing_set_experiment_end_with_one_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    Client::builder().store(&store).open().unwrap(); // created once, so children race only for the name
    for round in 0..5 {
        let at = (now_ms() + 400).to_string();
        let ids = run_children(4, "set_experiment", &store, &[(START_AT, &at)]);
        assert_eq!(ids.len(), 4, "round {round}");
        assert!(ids.iter().all(|id| *id == ids[0]), "round {round}: {ids:?}");
        let c = Client::builder().store(&store).open().unwrap();
        let named: Vec<_> = c
            .search_experiments(ViewType::All)
            .unwrap()
            .into_iter()
            .filter(|e| e.name == "race")
            .collect();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].experiment_id, ids[0]);
        if round < 4 {
            // Next round races for the same name again after a rename.
            c.rename_experiment(&ids[0], &format!("race-{round}"))
                .unwrap();
        }
    }
}

#[test]
fn child_processes_log_parallel_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let ids = run_children(3, "train", &store, &[]);
    let c = Client::builder().store(&store).open().unwrap();
    let e = c.get_experiment_by_name("parallel").unwrap().unwrap();
    let runs = c.list_runs(&e.experiment_id, ViewType::All).unwrap();
    assert_eq!(runs.len(), 3);
    let mut pids = std::collections::HashSet::new();
    for id in &ids {
        let run = c.get_run(id).unwrap();
        assert_eq!(run.info.status, RunStatus::Finished);
        assert_eq!(run.data.metrics["loss"].step, 4_999);
        pids.insert(run.data.params["pid"].clone());
        assert_eq!(c.get_metric_history(id, "loss").unwrap().len(), 5_000);
    }
    assert_eq!(pids.len(), 3);
}

#[test]
fn a_run_killed_midway_reads_back_running_with_its_flushed_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let mut proc = child("crash", &store, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
    let run_id = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(id) = out_value(&line) {
            break id;
        }
    };
    std::thread::sleep(Duration::from_millis(50));
    proc.kill().unwrap(); // SIGKILL
    proc.wait().unwrap();

    let c = Client::builder().store(&store).open().unwrap();
    let run = c.get_run(&run_id).unwrap();
    assert_eq!(
        run.info.status,
        RunStatus::Running,
        "a killed run never ended"
    );
    assert_eq!(run.info.end_time, None);
    assert_eq!(run.info.run_name, "doomed");
    assert_eq!(run.data.params["lr"], "0.1");
    let history = c.get_metric_history(&run_id, "loss").unwrap();
    assert!(
        history.len() >= 1_000,
        "flushed points kept: {}",
        history.len()
    );
    for (i, m) in history.iter().enumerate() {
        assert_eq!(m.step, i as i64, "no gap, no duplicate");
    }
    assert_eq!(c.damaged_entries().unwrap(), 0);
    // The run can be ended (or resumed) afterwards.
    c.set_terminated(&run_id, RunStatus::Killed).unwrap();
    assert_eq!(c.get_run(&run_id).unwrap().info.status, RunStatus::Killed);
}

#[test]
fn environment_variables_choose_the_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let run_in = |env: &[(&str, &str)]| {
        let out = child("env_run", &store, env).output().unwrap();
        stdout_lines(&out).pop().unwrap()
    };
    assert_eq!(run_in(&[]), "0");
    let fraud = run_in(&[("MLFLOW_EXPERIMENT_NAME", "fraud-detection")]);
    let c = Client::builder().store(&store).open().unwrap();
    assert_eq!(
        c.get_experiment_by_name("fraud-detection")
            .unwrap()
            .unwrap()
            .experiment_id,
        fraud
    );
    assert_eq!(run_in(&[("MLFLOW_EXPERIMENT_ID", &fraud)]), fraud);
    assert_eq!(
        run_in(&[
            ("MLFLOW_EXPERIMENT_NAME", "fraud-detection"),
            ("MLFLOW_EXPERIMENT_ID", &fraud)
        ]),
        fraud
    );
    let conflict = run_in(&[
        ("MLFLOW_EXPERIMENT_NAME", "fraud-detection"),
        ("MLFLOW_EXPERIMENT_ID", "0"),
    ]);
    assert!(conflict.starts_with("error:"), "{conflict}");
    let missing = run_in(&[("MLFLOW_EXPERIMENT_ID", "999")]);
    assert!(
        missing.starts_with("error:") && missing.contains("999"),
        "{missing}"
    );
}

#[test]
fn a_run_left_open_is_ended_and_flushed_when_the_process_exits() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let out = child("auto_exit", &store, &[]).output().unwrap();
    assert!(out.status.success());
    let c = Client::builder().store(&store).open().unwrap();
    let runs = c.list_runs("0", ViewType::All).unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.info.status, RunStatus::Finished);
    assert!(run.info.end_time.is_some());
    assert_eq!(run.data.params["mode"], "auto");
    assert_eq!(
        c.get_metric_history(&run.info.run_id, "loss")
            .unwrap()
            .len(),
        10_000
    );
}

/// The processes whose environment holds `TOKEN=token`.
fn processes_with_token(token: &str) -> Vec<u32> {
    let needle = format!("{TOKEN}={token}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue; // ended meanwhile
        };
        if environ.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_compaction_after_exit_killed_at_any_moment_loses_nothing() {
    // The process's exit forks a child that compacts the store; the child
    // is SIGKILLed at a different moment in each trial (waiting for its
    // parent's lane, reading, writing the generation, publishing). The
    // store reads the same, and the next compaction takes what is left.
    let mut killed = 0;
    for (trial, delay_ms) in [0u64, 1, 3, 6, 10, 20, 40, 80].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("mlruns");
        let token = format!("{}-{trial}", std::process::id());
        let out = child("exit_compaction", &store, &[(TOKEN, &token)])
            .output()
            .unwrap();
        let run_id = stdout_lines(&out).pop().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        for pid in processes_with_token(&token) {
            let status = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status()
                .unwrap();
            killed += u32::from(status.success());
        }
        // The killed child's locks go with it.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !processes_with_token(&token).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let c = Client::builder().store(&store).open().unwrap();
        let history = c.get_metric_history(&run_id, "loss").unwrap();
        assert_eq!(
            history.len() as i64,
            EXIT_COMPACTION_POINTS,
            "trial {trial}"
        );
        assert!(history.iter().enumerate().all(|(i, m)| m.step == i as i64));
        assert_eq!(c.damaged_entries().unwrap(), 0, "trial {trial}");
        assert_eq!(c.get_run(&run_id).unwrap().info.status, RunStatus::Finished);
        drop(c);
        // Waits for another holder of the lock: the client's background
        // compactor held it a moment ago, and a child another test of this
        // binary forks meanwhile holds a copy until it execs (CI failed on
        // it; run in a loop, the holder had this binary's command line and
        // let go 5 ms later).
        let options = runlog::compact::CompactOptions {
            wait_for_other: true,
            ..Default::default()
        };
        if let Err(e) = runlog::compact::compact_with(&store, &options) {
            panic!("trial {trial}: {e}");
        }
        assert_eq!(
            runlog::compact::compactable_bytes(&store, u64::MAX).unwrap(),
            0,
            "trial {trial}: no raw segment left"
        );
        let c = Client::builder().store(&store).open().unwrap();
        assert_eq!(
            c.get_metric_history(&run_id, "loss").unwrap().len() as i64,
            EXIT_COMPACTION_POINTS
        );
    }
    eprintln!("{killed} of 8 kills found the compaction running");
    assert!(
        killed >= 2,
        "only {killed} of 8 kills found the compaction running"
    );
}

#[test]
fn a_process_too_large_to_fork_cheaply_leaves_its_segments_to_the_next_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mlruns");
    let out = child("exit_compaction_large", &store, &[])
        .output()
        .unwrap();
    let run_id = stdout_lines(&out).pop().unwrap();
    // Had it forked, its child would hold the lock: wait for it first.
    runlog::compact::wait_for_compaction(&store, &|| {}).unwrap();
    assert!(runlog::compact::compactable_bytes(&store, u64::MAX).unwrap() > 4 << 20);
    assert!(runlog::log::manifest::Manifest::load(&store)
        .unwrap()
        .generations
        .is_empty());
    // The same program, small, compacts after its exit what both left.
    let out = child("exit_compaction", &store, &[]).output().unwrap();
    stdout_lines(&out);
    runlog::compact::wait_for_compaction(&store, &|| {}).unwrap();
    assert_eq!(
        runlog::compact::compactable_bytes(&store, u64::MAX).unwrap(),
        0
    );
    let c = Client::builder().store(&store).open().unwrap();
    assert_eq!(
        c.get_metric_history(&run_id, "loss").unwrap().len() as i64,
        EXIT_COMPACTION_POINTS
    );
}
