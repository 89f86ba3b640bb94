//! MLflow 3's logged models and model registry in an MLflow file store:
//! `<experiment>/models/<model_id>/meta.yaml` with `params/`, `tags/` and
//! `metrics/` (lines `timestamp value step run_id [dataset_name
//! dataset_digest]`); a run's `outputs/<model_id>/meta.yaml` (its step);
//! `models/<name>/meta.yaml` with `tags/`, `aliases/<alias>` (the version)
//! and `version-<n>/meta.yaml` with `tags/` (a deleted version's stage is
//! `Deleted_Internal`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::format::ModelStatus;
use crate::import::file_store::{field, file_paths, meta, subdirs, text_files};
use crate::import::models::{SourceModel, SourceModelLink, SourceRegisteredModel, SourceVersion};
use crate::import::yaml::Yaml;

/// The logged models of the experiment directories, and the runs' links
/// to them.
pub(crate) fn read_models(
    experiment_dirs: &[&Path],
    problems: &mut Vec<String>,
) -> crate::error::Result<(Vec<SourceModel>, Vec<SourceModelLink>)> {
    let mut models = Vec::new();
    let mut links = Vec::new();
    for exp_dir in experiment_dirs {
        for model_dir in subdirs(&exp_dir.join("models"))? {
            if let Some(m) = read_model(&model_dir, problems) {
                models.push(m);
            }
        }
        for run_dir in subdirs(exp_dir)? {
            let Some(run_id) = run_dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            for out_dir in subdirs(&run_dir.join("outputs"))? {
                let Some(m) = meta(&out_dir.join("meta.yaml"), problems) else {
                    continue;
                };
                let model_id = field(&m, "destination_id")
                    .or_else(|| out_dir.file_name().and_then(|n| n.to_str()))
                    .unwrap_or_default();
                links.push(SourceModelLink {
                    run_id: run_id.to_owned(),
                    model_id: model_id.to_owned(),
                    output_step: Some(number(&m, "step").unwrap_or(0)),
                });
            }
            for in_dir in subdirs(&run_dir.join("inputs"))? {
                let Some(m) = meta(&in_dir.join("meta.yaml"), problems) else {
                    continue;
                };
                if field(&m, "destination_type") == Some("MODEL_INPUT") {
                    links.push(SourceModelLink {
                        run_id: run_id.to_owned(),
                        model_id: field(&m, "destination_id").unwrap_or_default().to_owned(),
                        output_step: None,
                    });
                }
            }
        }
    }
    Ok((models, links))
}

fn number(m: &BTreeMap<String, Yaml>, key: &str) -> Option<i64> {
    field(m, key).and_then(|t| t.parse().ok())
}

fn read_model(dir: &Path, problems: &mut Vec<String>) -> Option<SourceModel> {
    let path = dir.join("meta.yaml");
    let m = meta(&path, problems)?;
    let (Some(id), Some(experiment_id)) = (field(&m, "model_id"), field(&m, "experiment_id"))
    else {
        problems.push(format!(
            "{}: no model_id or experiment_id; skipped",
            path.display()
        ));
        return None;
    };
    let created = number(&m, "creation_timestamp").unwrap_or(0);
    let mut metrics = Vec::new();
    for (key, file) in file_paths(&dir.join("metrics"), problems) {
        let text = match fs::read(&file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                problems.push(format!("{}: {e}; skipped", file.display()));
                continue;
            }
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match model_metric(&key, line) {
                Some(p) => metrics.push(p),
                None => problems.push(format!(
                    "{}: the line {line:?} is not `timestamp value step run_id \
                     [dataset_name dataset_digest]`; skipped",
                    file.display()
                )),
            }
        }
    }
    let optional = |k: &str| field(&m, k).filter(|v| !v.is_empty()).map(str::to_owned);
    Some(SourceModel {
        id: id.to_owned(),
        experiment_id: experiment_id.to_owned(),
        name: field(&m, "name").unwrap_or(id).to_owned(),
        artifact_location: field(&m, "artifact_location")
            .unwrap_or_default()
            .to_owned(),
        model_type: optional("model_type"),
        source_run_id: optional("source_run_id"),
        creation_time: created,
        last_updated_time: number(&m, "last_updated_timestamp").unwrap_or(created),
        status: field(&m, "status")
            .and_then(ModelStatus::parse)
            .unwrap_or(ModelStatus::Pending),
        deleted: field(&m, "lifecycle_stage") == Some("deleted"),
        params: text_files(&dir.join("params"), problems),
        tags: text_files(&dir.join("tags"), problems),
        metrics,
    })
}

/// One line of a logged model's metric file.
fn model_metric(key: &str, line: &str) -> Option<crate::tracking::ModelMetric> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    if parts.len() != 4 && parts.len() != 6 {
        return None;
    }
    Some(crate::tracking::ModelMetric {
        run_id: parts[3].to_owned(),
        key: key.to_owned(),
        value: parts[1].parse().ok()?,
        timestamp: parts[0].parse().ok()?,
        step: parts[2].parse().ok()?,
        dataset_name: parts.get(4).map(|s| (*s).to_owned()),
        dataset_digest: parts.get(5).map(|s| (*s).to_owned()),
    })
}

/// The registry under `<store>/models/`.
pub(crate) fn read_registry(
    store: &Path,
    problems: &mut Vec<String>,
) -> crate::error::Result<Vec<SourceRegisteredModel>> {
    let mut out = Vec::new();
    for dir in subdirs(&store.join("models"))? {
        let path = dir.join("meta.yaml");
        let Some(m) = meta(&path, problems) else {
            continue;
        };
        let Some(name) = field(&m, "name") else {
            problems.push(format!("{}: no name; skipped", path.display()));
            continue;
        };
        let mut aliases = BTreeMap::new();
        for (alias, version) in text_files(&dir.join("aliases"), problems) {
            match version.trim().parse() {
                Ok(v) => {
                    aliases.insert(alias, v);
                }
                Err(_) => problems.push(format!(
                    "{}: alias {alias:?} names no version; skipped",
                    dir.display()
                )),
            }
        }
        let mut versions = Vec::new();
        for vdir in subdirs(&dir)? {
            let is_version = vdir
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("version-"));
            if !is_version {
                continue;
            }
            let vpath = vdir.join("meta.yaml");
            let Some(v) = meta(&vpath, problems) else {
                continue;
            };
            let Some(version) = number(&v, "version") else {
                problems.push(format!("{}: no version; skipped", vpath.display()));
                continue;
            };
            let text = |k: &str| field(&v, k).filter(|t| !t.is_empty()).map(str::to_owned);
            let tags = text_files(&vdir.join("tags"), problems);
            versions.push(SourceVersion::from_fields(
                version,
                &text,
                &|k| number(&v, k),
                tags,
            ));
        }
        out.push(SourceRegisteredModel {
            name: name.to_owned(),
            description: field(&m, "description")
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            creation_time: number(&m, "creation_timestamp").unwrap_or(0),
            tags: text_files(&dir.join("tags"), problems),
            aliases,
            versions,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_metric_lines() {
        let p = model_metric("acc", "17 0.5 2 r1").unwrap();
        assert_eq!(
            (p.timestamp, p.value, p.step, p.run_id.as_str()),
            (17, 0.5, 2, "r1")
        );
        assert_eq!(p.dataset_name, None);
        let p = model_metric("acc", "17 nan 2 r1 eval d1").unwrap();
        assert!(p.value.is_nan());
        assert_eq!(p.dataset_digest.as_deref(), Some("d1"));
        assert!(model_metric("acc", "17 0.5 2").is_none());
        assert!(model_metric("acc", "x 0.5 2 r1").is_none());
    }
}
