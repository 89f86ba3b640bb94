//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    reason = "each test binary uses a part of the shared helpers"
)]
#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

use runlog::Metric;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;

use runlog::engine::{Event, Record, Replay, Store};
use runlog::Options;

/// A run id as MLflow makes them: 32 lowercase hex characters.
pub fn run_id(n: u64) -> String {
    format!("{:032x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Every event of a store, panicking on any error (corruption included).
pub fn replay_all(path: &Path) -> Vec<Event> {
    Replay::open(path)
        .expect("replay opens")
        .map(|r| r.expect("no corruption").event)
        .collect()
}

/// Every event of a store, with the errors counted apart.
pub fn replay_lenient(path: &Path) -> (Vec<Event>, usize) {
    let mut events = Vec::new();
    let mut errors = 0;
    for r in Replay::open(path).expect("replay opens") {
        match r {
            Ok(r) => events.push(r.event),
            Err(_) => errors += 1,
        }
    }
    (events, errors)
}

/// The steps of the points of one metric as a replay's point sink gets
/// them (the path of the tracking API's index), and the errors counted.
pub fn sink_steps(path: &Path, run: &str, metric: &str) -> (Vec<i64>, usize) {
    let mut replay = Replay::open(path).expect("replay opens");
    let mut steps = Vec::new();
    let mut errors = 0;
    loop {
        let mut sink = |_at: runlog::engine::Position,
                        run_id: &std::sync::Arc<str>,
                        key: &std::sync::Arc<str>,
                        m: Metric| {
            if &**run_id == run && &**key == metric {
                steps.push(m.step);
            }
        };
        match replay.next_record(&mut sink) {
            Some(Ok(_)) => {}
            Some(Err(_)) => errors += 1,
            None => break,
        }
    }
    (steps, errors)
}

/// The (step, value) points of one metric, in replay order.
pub fn points(events: &[Event], run: &str, metric: &str) -> Vec<(i64, f64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Metric {
                run_id,
                key,
                value,
                step,
                ..
            } if &**run_id == run && &**key == metric => Some((*step, *value)),
            _ => None,
        })
        .collect()
}

/// Writes `n` metric points (steps 0..n of `loss`) and a param per 10 points,
/// then closes the store.
pub fn write_sample(path: &Path, n: i64) -> Vec<Event> {
    let store = Store::open(path).expect("open");
    let run = run_id(1);
    let loss = store.metric_handle(&run, "loss").expect("handle");
    for step in 0..n {
        loss.log_at(Metric {
            value: step as f64 * 0.5,
            timestamp: 1_700_000_000_000 + step,
            step,
        })
        .expect("log");
        if step % 10 == 0 {
            store
                .append(&Record::Param {
                    run_id: run.as_str(),
                    key: &format!("p{step}"),
                    value: "v",
                })
                .expect("append");
        }
    }
    store.close().expect("close");
    replay_all(path)
}

/// The segment files of a store, in lane then sequence order.
pub fn segments(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lane in runlog::log::list_lanes(path).expect("lanes") {
        for seg in runlog::log::list_segments(&lane.path).expect("segments") {
            out.push(seg.path);
        }
    }
    out
}

/// Copies a store directory (files only, recursively).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for item in std::fs::read_dir(from).expect("read_dir") {
        let item = item.expect("entry");
        let target = to.join(item.file_name());
        if item.file_type().expect("type").is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), target).expect("copy");
        }
    }
}

/// Runs the built `runlog` binary on the store at `store` (without
/// `MLFLOW_TRACKING_URI` from the environment).
pub fn runlog_at(store: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_runlog"))
        .arg("--tracking-uri")
        .arg(store)
        .args(args)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap()
}

/// Starts `runlog sync --to url` on the store once per wait and SIGKILLs
/// it after that many milliseconds if it is still running; returns how
/// many were killed mid-way.
pub fn kill_syncs(store: &Path, url: &str, waits_ms: &[u64]) -> usize {
    let mut killed = 0;
    for &wait_ms in waits_ms {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_runlog"))
            .arg("--tracking-uri")
            .arg(store)
            .args(["sync", "--to", url])
            .env_remove("MLFLOW_TRACKING_URI")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(wait_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
    }
    killed
}

/// The standard output of a command that must have succeeded (else its
/// exit code and standard error fail the test).
pub fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Store options with 4 KiB segments and no background compaction: a few
/// hundred points make many sealed segments.
pub fn small_segments() -> Options {
    Options::default().segment_size(4096).auto_compact(None)
}

/// Logs metric `m` of run `r` at `steps`, each point's value and
/// timestamp its step.
pub fn log_steps(store: &Store, steps: Range<i64>) {
    let h = store.metric_handle("r", "m").unwrap();
    for step in steps {
        h.log_at(Metric {
            value: step as f64,
            timestamp: step,
            step,
        })
        .unwrap();
    }
}

/// A closed store of `n` points of `m` (see [`log_steps`]) in 4 KiB
/// segments.
pub fn small_segment_store(path: &Path, n: i64) {
    let store = Store::open_with(path, small_segments()).unwrap();
    log_steps(&store, 0..n);
    store.close().unwrap();
}

/// (run, key) -> points (step, timestamp, value bits) sorted; records in order.
pub type Series = BTreeMap<(String, String), Vec<(i64, i64, u64)>>;
/// What a store holds, compared across compactions and damage.
pub type Snapshot = (Series, Vec<String>);

/// Every point of a store by series, sorted, and every record in order
/// (as JSON); panics on damage.
pub fn snapshot(path: &Path) -> Snapshot {
    let mut series = Series::new();
    let mut records = Vec::new();
    for item in Replay::open(path).unwrap() {
        let event = item.unwrap().event;
        if let Some((run_id, key, m)) = event.metric() {
            series
                .entry((run_id.to_string(), key.to_string()))
                .or_default()
                .push((m.step, m.timestamp, m.value.to_bits()));
        } else if let Event::Record(r) = &event {
            records.push(serde_json::to_string(r).unwrap());
        }
    }
    for points in series.values_mut() {
        points.sort();
    }
    (series, records)
}

/// A tmpfs mounted for a test (needs root), unmounted when dropped.
pub struct Mount(PathBuf);

impl Mount {
    /// Mounts a tmpfs of `size` (`1m`, `64m`) at `dir`; `None` without the
    /// right to mount.
    pub fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Mount(dir.to_owned()))
    }

    /// Remounts with other options (`size=4m`, `ro`). A read-only remount
    /// fails while a file on it is open for writing; the store's threads
    /// close theirs a moment after it is dropped (sooner or later under
    /// load), so it is tried again for up to 10 s before it fails.
    pub fn remount(&self, options: &str) {
        let mut last = String::new();
        for _ in 0..200 {
            let out = Command::new("mount")
                .args(["-o", &format!("remount,{options}")])
                .arg(&self.0)
                .output()
                .unwrap();
            if out.status.success() {
                return;
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("remount {options} of {}: {last}", self.0.display());
    }
}

impl Drop for Mount {
    /// Unmounts, lazily when something still holds a file open, so that a
    /// failing test never leaves a mount behind.
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

/// Whether the tests run under CI (`CI` set, and not `false` or `0`),
/// where every test must run its checks.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A test that cannot run its checks on this machine (`why`): under CI it
/// fails; elsewhere it says it was skipped, and returns.
pub fn cannot_run(test: &str, why: &str) {
    assert!(
        !under_ci(),
        "{test}: {why}; under CI (CI={}) every test must run its checks",
        std::env::var("CI").unwrap_or_default()
    );
    eprintln!("{test}: {why}; test skipped (it fails under CI=true)");
}

/// Compacts until no raw segment is left (at most 200 tries, 10 ms apart),
/// and returns the reports added up. A lane closed a moment ago in this
/// process can stay locked a little longer when another test forks a child
/// process meanwhile (the child holds copies of this process's descriptors
/// until it execs); compaction leaves a lane it cannot lock to a later
/// round, as it should, so a test that wants everything compacted asks
/// again.
pub fn compact_closed(path: &Path) -> runlog::compact::CompactionReport {
    let mut total = runlog::compact::compact(path).unwrap();
    for _ in 0..200 {
        if segments(path).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        let r = runlog::compact::compact(path).unwrap();
        total.generations += r.generations;
        total.segments += r.segments;
        total.bytes_in += r.bytes_in;
        total.bytes_out += r.bytes_out;
        total.records += r.records;
        total.points += r.points;
        total.damaged_segments += r.damaged_segments;
        total.leftovers_removed += r.leftovers_removed;
        total
            .recovery
            .lanes_recovered
            .extend(r.recovery.lanes_recovered);
        total.recovery.torn.extend(r.recovery.torn);
        total.recovery.corrupt.extend(r.recovery.corrupt);
    }
    total
}

/// The first admin's password of the signed-in servers the tests start
/// (`runlog server` and `mlflow server` alike).
pub const TEST_ADMIN_PASSWORD: &str = "admin-password-1";

/// A `runlog server` process on a free loopback port, stopped (SIGTERM,
/// then waited for) when dropped.
pub struct ServerProcess {
    /// The child.
    pub child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl ServerProcess {
    /// Starts `runlog server --port 0` on `store` with `extra` flags and
    /// waits for the line that gives its address.
    pub fn start(store: &Path, extra: &[&str]) -> ServerProcess {
        let mut args = vec!["server", "--port", "0"];
        args.extend_from_slice(extra);
        ServerProcess::start_command(store, &args)
    }

    /// Starts `runlog <args>` on `store` (a command that serves, such as
    /// `ui --port 0`) and waits for the line that gives its address.
    pub fn start_command(store: &Path, args: &[&str]) -> ServerProcess {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_runlog"))
            .arg("--tracking-uri")
            .arg(store)
            .args(args)
            .env_remove("MLFLOW_TRACKING_URI")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        ServerProcess { child, url }
    }

    /// Starts a prepared `runlog ... server` command and waits for the
    /// line that gives its address.
    pub fn spawn(mut command: Command) -> ServerProcess {
        use std::io::BufRead;
        let mut child = command
            .env_remove("MLFLOW_TRACKING_URI")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://") || w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        ServerProcess { child, url }
    }

    /// `runlog server --app-name basic-auth` on `store`, its first admin
    /// (`admin`) given [`TEST_ADMIN_PASSWORD`] as MLflow 3.17 gives it.
    pub fn start_signed_in(store: &Path) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_runlog"));
        command
            .arg("--tracking-uri")
            .arg(store)
            .args(["server", "--port", "0", "--app-name", "basic-auth"])
            .env("MLFLOW_AUTH_ADMIN_PASSWORD", TEST_ADMIN_PASSWORD);
        ServerProcess::spawn(command)
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP client that returns 4xx and 5xx answers instead of failing.
pub fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// The pinned MLflow client the tests run (`mlflow-skinny`, the official
/// client package without the server).
pub const MLFLOW_CLIENT_PIN: &str = "mlflow-skinny==3.17.2";

/// A Python with MLflow's client: `$RUNLOG_MLFLOW_PYTHON`, else a venv
/// under cargo's target directory, made with pip on first use (about 20 s;
/// kept for later runs).
pub fn mlflow_python() -> PathBuf {
    if let Some(python) = std::env::var_os("RUNLOG_MLFLOW_PYTHON") {
        return PathBuf::from(python);
    }
    venv_python("mlflow-client-3.17.2", &[MLFLOW_CLIENT_PIN])
}

/// The Python of the venv `name` under cargo's target directory, with
/// `packages` installed by pip when it is first made. Built beside, then
/// renamed, one thread of a process at a time: a half-made venv is never
/// taken for one, and two tests never build into one directory.
pub fn venv_python(name: &str, packages: &[&str]) -> PathBuf {
    static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = venv.join("bin/python");
    if python.exists() {
        return python;
    }
    let _one = BUILDING.lock().unwrap_or_else(|p| p.into_inner());
    if python.exists() {
        return python; // made by another thread meanwhile
    }
    let building = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}.building.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    let run = |cmd: &mut Command| assert!(cmd.status().unwrap().success(), "{cmd:?}");
    run(Command::new("python3").args(["-m", "venv"]).arg(&building));
    run(Command::new(building.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(packages));
    if std::fs::rename(&building, &venv).is_err() {
        // Another process made it meanwhile.
        let _ = std::fs::remove_dir_all(&building);
    }
    python
}

/// The pinned MLflow server the sync test runs against (the full package:
/// `mlflow server` with its SQL store, and its basic-auth app's extra).
pub const MLFLOW_SERVER_PIN: &str = "mlflow[auth]==3.17.2";

/// The ML frameworks whose MLflow autolog the tests run (small CPU wheels:
/// LightGBM, XGBoost's CPU build; scikit-learn comes with MLflow), Optuna
/// with its MLflow callback, Keras 3 on JAX's CPU build (about 85 MB), and
/// what builds runlog's package into the same
/// venv and runs its MLflow suite (maturin, pytest).
pub const FRAMEWORK_PINS: &[&str] = &[
    "lightgbm==4.7.0",
    "xgboost-cpu==3.2.0",
    "maturin>=1.9,<2",
    "pytest>=8,<9",
    "optuna==5.1.0",
    "optuna-integration==5.0.0",
    "keras==3.15.1",
    "jax==0.10.2",
    "jaxlib==0.10.2",
];

/// A Python with the full MLflow package and [`FRAMEWORK_PINS`]:
/// `$RUNLOG_MLFLOW_SERVER_PYTHON`, else a venv under cargo's target
/// directory, made with pip on first use (a minute or two; kept for later
/// runs).
pub fn mlflow_server_python() -> std::path::PathBuf {
    if let Some(python) = std::env::var_os("RUNLOG_MLFLOW_SERVER_PYTHON") {
        return python.into();
    }
    let mut packages = vec![MLFLOW_SERVER_PIN];
    packages.extend_from_slice(FRAMEWORK_PINS);
    venv_python("mlflow-server-frameworks-3.17.2-d", &packages)
}

/// `mlflow server` over SQLite on a free loopback port, killed when dropped
/// (over `$RUNLOG_MLFLOW_BACKEND_URI` instead when set: an empty database,
/// as `tests/mlflow/postgres.sh` makes).
pub struct MlflowServerProcess {
    /// The child (its own process group).
    pub child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl MlflowServerProcess {
    /// Starts it with its database and artifacts in `dir`; waits until it answers.
    pub fn start(dir: &Path) -> MlflowServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        MlflowServerProcess::start_on(dir, &port.to_string())
    }

    /// [`start`](MlflowServerProcess::start) with more `mlflow server` flags.
    pub fn start_with(dir: &Path, extra: &[&str]) -> MlflowServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        MlflowServerProcess::spawn(dir, &port.to_string(), extra, &[])
    }

    /// [`start`](MlflowServerProcess::start) with more environment
    /// variables (MLflow's `MLFLOW_WEBHOOK_*` settings, say).
    pub fn start_with_env(dir: &Path, env: &[(&str, &str)]) -> MlflowServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        MlflowServerProcess::spawn(dir, &port.to_string(), &[], env)
    }

    /// [`start`](MlflowServerProcess::start) on a given port (a restart).
    pub fn start_on(dir: &Path, port: &str) -> MlflowServerProcess {
        MlflowServerProcess::spawn(dir, port, &[], &[])
    }

    fn spawn(dir: &Path, port: &str, extra: &[&str], env: &[(&str, &str)]) -> MlflowServerProcess {
        use std::os::unix::process::CommandExt;
        let python = mlflow_server_python();
        let child = std::process::Command::new(python)
            .args([
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--workers",
                "1",
            ])
            .args(["--port", port])
            .args(extra)
            // Its basic-auth app wants a fixed key for its CSRF tokens and
            // a first admin password.
            .env("MLFLOW_FLASK_SERVER_SECRET_KEY", "runlog-tests")
            .env("MLFLOW_AUTH_ADMIN_PASSWORD", TEST_ADMIN_PASSWORD)
            .envs(env.iter().copied())
            .arg("--backend-store-uri")
            .arg(
                std::env::var("RUNLOG_MLFLOW_BACKEND_URI")
                    .unwrap_or_else(|_| format!("sqlite:///{}", dir.join("mlflow.db").display())),
            )
            .arg("--artifacts-destination")
            .arg(dir.join("artifacts"))
            .current_dir(dir)
            // Its own process group: the server's workers and job runner
            // are stopped with it.
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("server.log"))
                    .unwrap(),
            )
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let server = MlflowServerProcess { child, url };
        for _ in 0..240 {
            if let Ok(r) = http_agent().get(format!("{}/health", server.url)).call() {
                if r.status() == 200 {
                    return server;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!(
            "mlflow server did not start: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
    }
}

impl Drop for MlflowServerProcess {
    fn drop(&mut self) {
        // The whole group: killing the parent alone leaves its uvicorn
        // and huey children running (about 190 MB each).
        let group = format!("-{}", self.child.id());
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &group])
            .status();
        let _ = self.child.wait();
    }
}

/// Builds runlog's Python package (`python/`) with maturin and installs it
/// into `python`'s venv (pip, no build isolation: maturin from the venv).
/// Each test binary builds into one target directory under cargo's own,
/// shared by all (cargo's lock serialises them, later builds are cached).
pub fn install_runlog_package(python: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-target");
    let mut path = vec![python.parent().unwrap().to_owned()];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let install = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-build-isolation",
            "--force-reinstall",
            "--no-deps",
        ])
        .arg(root.join("python"))
        .env("CARGO_TARGET_DIR", &target)
        // maturin's build backend runs its binary from the venv.
        .env("PATH", std::env::join_paths(path).unwrap())
        .status()
        .unwrap();
    assert!(install.success(), "pip install ./python failed");
}

/// Runs one of the MLflow comparison scripts (`tests/mlflow/*.py`) with
/// `python` and `uri` as its tracking URI, in `dir`, and reads the JSON
/// summary it writes (`$RUNLOG_SUMMARY`); fails with its output unless it
/// says "all checks passed".
pub fn mlflow_script_summary(
    python: &Path,
    script: &str,
    uri: &str,
    dir: &Path,
) -> serde_json::Value {
    let summary = dir.join("summary.json");
    let out = Command::new(python)
        .arg(script)
        .env("MLFLOW_TRACKING_URI", uri)
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        .env("RUNLOG_SUMMARY", &summary)
        .env_remove("MLFLOW_REGISTRY_URI")
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all checks passed"),
        "{uri}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap()
}
