//! Reading an MLflow file store: `<id>/meta.yaml` per experiment (deleted
//! ones under `.trash/`), `<experiment>/<run>/meta.yaml` per run, with
//! `params/`, `tags/` and `metrics/` (a file per key, keys with `/` as
//! directories; metric lines `timestamp value step`), `inputs/<id>/meta.yaml`
//! naming a dataset of `<experiment>/datasets/<id>/meta.yaml`; then MLflow
//! 3's logged models and registry (`file_store_models.rs`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::{DatasetInput, RunStatus};
use crate::fs_util;
use crate::import::yaml::{self, Yaml};
use crate::import::{status, Sink, SourceExperiment, SourceRun};
use crate::tracking::Metric;

/// Reads the file store at `dir` into `sink`: its experiments (deleted
/// ones from `.trash/` too), then their runs one at a time; what cannot
/// be read is added to `problems` and skipped.
pub(crate) fn read(dir: &Path, problems: &mut Vec<String>, sink: &mut dyn Sink) -> Result<()> {
    if !dir.join("0").join("meta.yaml").is_file() && !has_experiments(dir)? {
        return Err(Error::InvalidArgument(format!(
            "{} is not an MLflow file store (no <experiment id>/meta.yaml in it)",
            dir.display()
        )));
    }
    let mut experiments = Vec::new();
    for (parent, deleted) in [(dir.to_path_buf(), false), (dir.join(".trash"), true)] {
        for exp_dir in subdirs(&parent)? {
            let meta = exp_dir.join("meta.yaml");
            if !meta.is_file() {
                continue; // not an experiment (.trash, models, ...)
            }
            if let Some(e) = read_experiment(&exp_dir, &meta, deleted, problems) {
                experiments.push((e, exp_dir));
            }
        }
    }
    let list: Vec<SourceExperiment> = experiments.iter().map(|(e, _)| e.clone()).collect();
    sink.experiments(&list)?;
    for (e, exp_dir) in &experiments {
        for run_dir in subdirs(exp_dir)? {
            let run_meta = run_dir.join("meta.yaml");
            if run_dir
                .file_name()
                .is_some_and(|n| n == "tags" || n == "datasets")
                || !run_meta.is_file()
            {
                continue;
            }
            if let Some(run) = read_run(exp_dir, &run_dir, &e.id, problems) {
                sink.run(run)?;
            }
        }
    }
    // MLflow 3's models, once their runs are in.
    let dirs: Vec<&Path> = experiments.iter().map(|(_, d)| d.as_path()).collect();
    let (models, links) = super::file_store_models::read_models(&dirs, problems)?;
    sink.models(&models, &links)?;
    sink.registry(&super::file_store_models::read_registry(dir, problems)?)
}

fn has_experiments(dir: &Path) -> Result<bool> {
    Ok(subdirs(dir)?.iter().any(|d| d.join("meta.yaml").is_file()))
}

/// The subdirectories of `dir` in name order (none when it is missing).
pub(super) fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read directory", dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read directory", dir, e))?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// A `meta.yaml`, or its problem recorded.
pub(super) fn meta(path: &Path, problems: &mut Vec<String>) -> Option<BTreeMap<String, Yaml>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(format!("{}: {e}; skipped", path.display()));
            return None;
        }
    };
    match yaml::parse(&text) {
        Ok(m) => Some(m),
        Err(e) => {
            problems.push(format!("{}: {e}; skipped", path.display()));
            None
        }
    }
}

pub(super) fn field<'a>(m: &'a BTreeMap<String, Yaml>, key: &str) -> Option<&'a str> {
    m.get(key).and_then(Yaml::text)
}

fn read_experiment(
    dir: &Path,
    meta_path: &Path,
    deleted: bool,
    problems: &mut Vec<String>,
) -> Option<SourceExperiment> {
    let m = meta(meta_path, problems)?;
    let (Some(id), Some(name)) = (field(&m, "experiment_id"), field(&m, "name")) else {
        problems.push(format!(
            "{}: no experiment_id or name; skipped",
            meta_path.display()
        ));
        return None;
    };
    let mut tags = text_files(&dir.join("tags"), problems);
    if let Some(Yaml::Map(inline)) = m.get("tags") {
        tags.extend(inline.clone());
    }
    Some(SourceExperiment {
        id: id.to_owned(),
        name: name.to_owned(),
        artifact_location: field(&m, "artifact_location").unwrap_or("").to_owned(),
        creation_time: field(&m, "creation_time")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0),
        deleted: deleted || field(&m, "lifecycle_stage") == Some("deleted"),
        tags,
    })
}

fn read_run(
    exp_dir: &Path,
    dir: &Path,
    experiment_id: &str,
    problems: &mut Vec<String>,
) -> Option<SourceRun> {
    let meta_path = dir.join("meta.yaml");
    let m = meta(&meta_path, problems)?;
    let id = field(&m, "run_id").or_else(|| field(&m, "run_uuid"));
    let run_status = field(&m, "status").and_then(status);
    let (Some(id), Some(run_status)) = (id, run_status) else {
        problems.push(format!(
            "{}: no run_id or a status MLflow does not write; skipped",
            meta_path.display()
        ));
        return None;
    };
    let time = |k: &str| field(&m, k).and_then(|t| t.parse::<i64>().ok());
    let tags = text_files(&dir.join("tags"), problems);
    let name = field(&m, "run_name")
        .filter(|n| !n.is_empty())
        .or_else(|| tags.get("mlflow.runName").map(String::as_str))
        .unwrap_or("")
        .to_owned();
    let deleted = (field(&m, "lifecycle_stage") == Some("deleted")).then(|| {
        time("deleted_time")
            .or(time("end_time"))
            .or(time("start_time"))
            .unwrap_or(0)
    });
    let mut metrics = BTreeMap::new();
    for (key, path) in file_paths(&dir.join("metrics"), problems) {
        metrics.insert(key, metric_file(&path, problems));
    }
    Some(SourceRun {
        id: id.to_owned(),
        experiment_id: experiment_id.to_owned(),
        name,
        user_id: field(&m, "user_id").unwrap_or("").to_owned(),
        status: run_status,
        start_time: time("start_time").unwrap_or(0),
        end_time: time("end_time").filter(|_| run_status != RunStatus::Running),
        deleted,
        params: text_files(&dir.join("params"), problems),
        tags,
        metrics,
        inputs: inputs(exp_dir, dir, problems),
    })
}

/// Every file under `dir` as (key: its `/`-separated path, file path); a
/// directory that cannot be read is a problem, and what it holds skipped.
pub(super) fn file_paths(dir: &Path, problems: &mut Vec<String>) -> Vec<(String, PathBuf)> {
    match fs_util::files_under(dir) {
        Ok(files) => files.into_iter().map(|f| (f.rel, f.path)).collect(),
        Err(e) => {
            problems.push(format!("{e}; skipped"));
            Vec::new()
        }
    }
}

/// Param or tag files: key -> the file's text.
pub(super) fn text_files(dir: &Path, problems: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, path) in file_paths(dir, problems) {
        match fs::read_to_string(&path) {
            Ok(v) => {
                out.insert(key, v);
            }
            Err(e) => problems.push(format!("{}: {e}; skipped", path.display())),
        }
    }
    out
}

/// A metric file's points (`timestamp value step`, or `timestamp value`
/// from old versions: step 0). A line that is not one is reported and
/// skipped (a torn last line of a killed writer), the others kept.
fn metric_file(path: &Path, problems: &mut Vec<String>) -> Vec<Metric> {
    let text = match fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            problems.push(format!("{}: {e}; skipped", path.display()));
            return Vec::new();
        }
    };
    let mut points = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let parsed = match f.as_slice() {
            [t, v, s] => point(t, v, s),
            [t, v] => point(t, v, "0"),
            _ => None,
        };
        match parsed {
            Some(m) => points.push(m),
            None => bad.push(i + 1),
        }
    }
    if !bad.is_empty() {
        problems.push(format!(
            "{}: {} line(s) that are not `timestamp value step` (first: line {}); skipped, \
             {} points read",
            path.display(),
            bad.len(),
            bad[0],
            points.len()
        ));
    }
    points
}

fn point(t: &str, v: &str, s: &str) -> Option<Metric> {
    let value = match v.to_ascii_lowercase().as_str() {
        "nan" => f64::NAN,
        "inf" | "infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => v.parse().ok()?,
    };
    Some(Metric {
        value,
        timestamp: t.parse().ok()?,
        step: s.parse().ok()?,
    })
}

/// A run's dataset inputs: `inputs/<id>/meta.yaml` naming a dataset of
/// the experiment's `datasets/<id>/meta.yaml`.
fn inputs(exp_dir: &Path, run_dir: &Path, problems: &mut Vec<String>) -> Vec<DatasetInput> {
    let mut out = Vec::new();
    let Ok(dirs) = subdirs(&run_dir.join("inputs")) else {
        return out;
    };
    for dir in dirs {
        let Some(m) = meta(&dir.join("meta.yaml"), problems) else {
            continue;
        };
        if field(&m, "source_type") != Some("DATASET") {
            continue;
        }
        let Some(dataset_id) = field(&m, "source_id") else {
            continue;
        };
        let dataset_meta = exp_dir.join("datasets").join(dataset_id).join("meta.yaml");
        let Some(d) = meta(&dataset_meta, problems) else {
            continue;
        };
        let tags = match m.get("tags") {
            Some(Yaml::Map(t)) => t.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => Vec::new(),
        };
        let text = |k: &str| field(&d, k).unwrap_or("").to_owned();
        out.push(DatasetInput {
            name: text("name"),
            digest: text("digest"),
            source_type: text("source_type"),
            source: text("source"),
            schema: field(&d, "schema").map(str::to_owned),
            profile: field(&d, "profile").map(str::to_owned),
            tags,
        });
    }
    out
}
