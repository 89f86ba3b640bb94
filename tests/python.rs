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
    let python = common::venv_python(
        "python-package",
        &["maturin>=1.9,<2", "pytest>=8,<9", "numpy>=1.26,<3"],
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Its own target directory: this test's cargo holds the workspace's.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-target");
    let install = Command::new(&python)
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
        .env("PATH", path_with(python.parent().unwrap()))
        .status()
        .unwrap();
    assert!(install.success(), "pip install ./python failed");
    let tests = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root.join("python/tests"))
        // Not the source tree's runlog/ (without its native module).
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env("RUNLOG_BIN", env!("CARGO_BIN_EXE_runlog"))
        .env_remove("MLFLOW_TRACKING_URI")
        .status()
        .unwrap();
    assert!(tests.success(), "the Python package's tests failed");
}

/// `$PATH` with `dir` first.
fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_owned()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}
