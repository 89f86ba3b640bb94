//! Fetches the dashboard's charting library for `runlog server`: uPlot,
//! pinned by `web/package-lock.json`, installed by `npm ci` into `OUT_DIR`
//! (never into the source tree) and embedded into the binary by
//! `src/dashboard.rs`, so the installed binary serves
//! the dashboard with no files beside it and fetches nothing at run time.
//! With it, esbuild (pinned the same way) bundles the page's ES modules
//! (`web/src/*.js`) into one file, which the page loads instead of 20
//! modules one request each (about 0.1 s on a first visit here).
//!
//! Without npm (or with `RUNLOG_NO_NPM=1`) the build still succeeds: the
//! embedded library is then a line that makes the dashboard say what is
//! missing and how to get it, and the page loads its modules one by one.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The files the dashboard embeds, from the installed package.
const UPLOT_JS: &str = "node_modules/uplot/dist/uPlot.iife.min.js";
const UPLOT_CSS: &str = "node_modules/uplot/dist/uPlot.min.css";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=web/package.json");
    println!("cargo:rerun-if-changed=web/package-lock.json");
    println!("cargo:rerun-if-env-changed=RUNLOG_NO_NPM");
    println!("cargo:rerun-if-changed=web/src");
    let Some(out) = env::var_os("OUT_DIR").map(|d| PathBuf::from(d).join("web")) else {
        panic!("cargo sets OUT_DIR for build scripts");
    };
    if let Err(e) = fs::create_dir_all(&out) {
        panic!("cannot create {}: {e}", out.display());
    }
    let (js, css) = match fetch(&out) {
        Ok(()) => (read(&out.join(UPLOT_JS)), read(&out.join(UPLOT_CSS))),
        Err(why) => {
            println!("cargo:warning=the dashboard is built without its charts: {why}");
            let message = format!(
                "The dashboard's charting library (uPlot) is missing from this build: {why}. \
                 Install Node.js and npm, then build runlog again."
            );
            let stub = format!(
                "window.RUNLOG_CHARTS_MISSING = {};\n",
                json_string(&message)
            );
            (stub, String::new())
        }
    };
    write(&out.join("uplot.js"), &js);
    write(&out.join("uplot.css"), &css);
    // The bundle, or nothing (the page then loads the modules themselves).
    let bundle = match bundle(&out) {
        Ok(text) => text,
        Err(why) => {
            println!("cargo:warning=the dashboard's modules are served unbundled: {why}");
            String::new()
        }
    };
    write(&out.join("app.bundle.js"), &bundle);
}

/// `web/src/app.js` and every module it imports as one ES module, by the
/// esbuild that `npm ci` installed (not minified: the same code, in one file).
fn bundle(out: &Path) -> Result<String, String> {
    let esbuild = out.join("node_modules/esbuild/bin/esbuild");
    if !esbuild.exists() {
        return Err("esbuild is not installed".into());
    }
    let entry = Path::new("web/src/app.js")
        .canonicalize()
        .map_err(|e| format!("web/src/app.js: {e}"))?;
    let target = out.join("app.bundle.js");
    let status = Command::new("node")
        .arg(&esbuild)
        .arg(&entry)
        .args([
            "--bundle",
            "--format=esm",
            "--target=es2020",
            "--legal-comments=none",
            "--log-level=warning",
        ])
        .arg(format!("--outfile={}", target.display()))
        .status()
        .map_err(|e| format!("cannot run esbuild ({e})"))?;
    if !status.success() {
        return Err(format!("esbuild failed ({status})"));
    }
    fs::read_to_string(&target).map_err(|e| format!("cannot read the bundle: {e}"))
}

/// `npm ci` of `web/` into `out`, unless done already for this lock file.
fn fetch(out: &Path) -> Result<(), String> {
    if env::var_os("RUNLOG_NO_NPM").is_some_and(|v| v != "0" && !v.is_empty()) {
        return Err("RUNLOG_NO_NPM is set".into());
    }
    let lock = read(Path::new("web/package-lock.json"));
    let installed_lock = out.join("installed-lock.json");
    if out.join(UPLOT_JS).exists() && fs::read_to_string(&installed_lock).ok() == Some(lock.clone())
    {
        return Ok(());
    }
    for file in ["package.json", "package-lock.json"] {
        let from = Path::new("web").join(file);
        fs::copy(&from, out.join(file))
            .map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    }
    let status = Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--prefer-offline",
        ])
        .current_dir(out)
        .status()
        .map_err(|e| format!("cannot run npm ({e})"))?;
    if !status.success() {
        return Err(format!("npm ci failed ({status})"));
    }
    if !out.join(UPLOT_JS).exists() {
        return Err(format!("npm ci installed no {UPLOT_JS}"));
    }
    write(&installed_lock, &lock);
    Ok(())
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// `s` as a JSON (and JavaScript) string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
