//! The Python package (`python/`): built with maturin and installed into a
//! venv (made on first use under cargo's target directory, with maturin,
//! pytest and numpy from PyPI), then its pytest suite run
//! (`python/tests`: the fluent API and the client, MLflow's docs examples
//! with `import runlog as mlflow`, values, threads, fork and spawn,
//! SIGKILL after flush, data read back by this build's `runlog`).

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn the_python_package_passes_its_tests() {
    // (A new name when the list changes: the venv is made once.)
    let python = common::venv_python(
        "python-package-2",
        &[
            "maturin>=1.9,<2",
            "pytest>=8,<9",
            "numpy>=1.26,<3",
            "pandas>=2,<4",
        ],
    );
    // A store the Python tests write and this test reads back below.
    let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-shared-store");
    let _ = std::fs::remove_dir_all(&shared);
    common::install_runlog_package(&python);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tests = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("python/tests"))
        // Not the source tree's runlog/ (without its native module).
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env("RUNLOG_BIN", env!("CARGO_BIN_EXE_runlog"))
        .env("RUNLOG_SHARED_STORE", &shared)
        .env_remove("MLFLOW_TRACKING_URI")
        .status()
        .unwrap();
    assert!(tests.success(), "the Python package's tests failed");

    // What Python wrote, read by the Rust API: the same store format.
    let client = runlog::Client::builder()
        .store(&shared)
        .read_only()
        .open()
        .unwrap();
    let exp = client
        .get_experiment_by_name("from-python")
        .unwrap()
        .unwrap();
    let runs = client
        .search_runs(&runlog::SearchRuns::new(&[&exp.experiment_id]))
        .unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.info.run_name, "written-by-python");
    assert_eq!(run.info.status, runlog::RunStatus::Finished);
    assert_eq!(run.data.params["lr"], "0.01");
    let history = client.get_metric_history(&run.info.run_id, "loss").unwrap();
    let steps: Vec<i64> = history.iter().map(|m| m.step).collect();
    assert_eq!(steps, (0..1_000).collect::<Vec<_>>());
    assert_eq!(history[10].value, 1.0 / 11.0);
}
