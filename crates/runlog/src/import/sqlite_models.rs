//! MLflow 3's logged models and model registry in an MLflow SQLite
//! database (`logged_models` and its params, tags and metrics; the run
//! outputs and model inputs of `inputs`; `registered_models`,
//! `model_versions` and their tags and aliases). A database made before
//! MLflow 3 has none of these tables: it has nothing of them to import.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, Row};

use crate::error::Result;
use crate::format::ModelStatus;
use crate::import::models::{
    SourceModel, SourceModelLink, SourceRegisteredModel, SourceVersion, DELETED_STAGE,
};

/// Whether the database has `table`.
fn has_table(db: &Connection, table: &str) -> bool {
    db.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |_| Ok(()),
    )
    .is_ok()
}

/// Every row of `sql`, read by `read`; a row that cannot be read is noted
/// in `problems` (by `path` and `what`) and skipped.
fn rows<T>(
    db: &Connection,
    path: &Path,
    what: &str,
    sql: &str,
    problems: &mut Vec<String>,
    read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let error = |e| super::sqlite::db_error(path, what, e);
    let mut stmt = db.prepare(sql).map_err(error)?;
    let mut out = Vec::new();
    for row in stmt.query_map([], |r| read(r)).map_err(error)? {
        match row {
            Ok(v) => out.push(v),
            Err(e) => problems.push(format!("{}: a row of {what}: {e}; skipped", path.display())),
        }
    }
    Ok(out)
}

/// Text of a column that may be an integer (MLflow's ids are).
fn text(r: &Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(match r.get_ref(i)? {
        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
        other => other.as_str().map(str::to_owned).unwrap_or_default(),
    })
}

/// The logged models, and the runs' links to them.
pub(crate) fn read_models(
    db: &Connection,
    path: &Path,
    problems: &mut Vec<String>,
) -> Result<(Vec<SourceModel>, Vec<SourceModelLink>)> {
    if !has_table(db, "logged_models") {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut models: BTreeMap<String, SourceModel> = BTreeMap::new();
    for m in rows(
        db,
        path,
        "logged_models",
        "SELECT model_id, experiment_id, name, artifact_location, creation_timestamp_ms, \
         last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id \
         FROM logged_models",
        problems,
        |r| {
            Ok(SourceModel {
                id: r.get(0)?,
                experiment_id: text(r, 1)?,
                name: r.get(2)?,
                artifact_location: r.get(3)?,
                creation_time: r.get(4)?,
                last_updated_time: r.get(5)?,
                status: ModelStatus::from_code(u8::try_from(r.get::<_, i64>(6)?).unwrap_or(0))
                    .unwrap_or(ModelStatus::Pending),
                deleted: r.get::<_, Option<String>>(7)?.as_deref() == Some("deleted"),
                model_type: r.get(8)?,
                source_run_id: r.get(9)?,
                params: BTreeMap::new(),
                tags: BTreeMap::new(),
                metrics: Vec::new(),
            })
        },
    )? {
        models.insert(m.id.clone(), m);
    }
    let pair = |r: &Row<'_>| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?));
    for (id, k, v) in rows(
        db,
        path,
        "logged_model_params",
        "SELECT model_id, param_key, param_value FROM logged_model_params",
        problems,
        pair,
    )? {
        if let Some(m) = models.get_mut(&id) {
            m.params.insert(k, v);
        }
    }
    for (id, k, v) in rows(
        db,
        path,
        "logged_model_tags",
        "SELECT model_id, tag_key, tag_value FROM logged_model_tags",
        problems,
        pair,
    )? {
        if let Some(m) = models.get_mut(&id) {
            m.tags.insert(k, v);
        }
    }
    for (id, p) in rows(
        db,
        path,
        "logged_model_metrics",
        "SELECT model_id, run_id, metric_name, metric_value, metric_timestamp_ms, metric_step, \
         dataset_name, dataset_digest FROM logged_model_metrics \
         ORDER BY model_id, metric_name, metric_timestamp_ms, metric_step",
        problems,
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                crate::tracking::ModelMetric {
                    run_id: r.get(1)?,
                    key: r.get(2)?,
                    value: r.get::<_, Option<f64>>(3)?.unwrap_or(f64::NAN),
                    timestamp: r.get(4)?,
                    step: r.get(5)?,
                    dataset_name: r.get(6)?,
                    dataset_digest: r.get(7)?,
                },
            ))
        },
    )? {
        if let Some(m) = models.get_mut(&id) {
            m.metrics.push(p);
        }
    }
    let links = if has_table(db, "inputs") {
        rows(
            db,
            path,
            "inputs",
            "SELECT source_id, destination_id, destination_type, step FROM inputs \
             WHERE (source_type = 'RUN_OUTPUT' AND destination_type = 'MODEL_OUTPUT') \
             OR (source_type = 'RUN_INPUT' AND destination_type = 'MODEL_INPUT')",
            problems,
            |r| {
                let output = r.get::<_, String>(2)? == "MODEL_OUTPUT";
                Ok(SourceModelLink {
                    run_id: r.get(0)?,
                    model_id: r.get(1)?,
                    output_step: output
                        .then(|| r.get::<_, Option<i64>>(3))
                        .transpose()?
                        .map(|s| s.unwrap_or(0)),
                })
            },
        )?
    } else {
        Vec::new()
    };
    Ok((models.into_values().collect(), links))
}

/// The registered models with their versions, tags and aliases.
pub(crate) fn read_registry(
    db: &Connection,
    path: &Path,
    problems: &mut Vec<String>,
) -> Result<Vec<SourceRegisteredModel>> {
    if !has_table(db, "registered_models") {
        return Ok(Vec::new());
    }
    let mut registered: BTreeMap<String, SourceRegisteredModel> = BTreeMap::new();
    for r in rows(
        db,
        path,
        "registered_models",
        "SELECT name, description, creation_time FROM registered_models",
        problems,
        |r| {
            Ok(SourceRegisteredModel {
                name: r.get(0)?,
                description: r.get::<_, Option<String>>(1)?.filter(|d| !d.is_empty()),
                creation_time: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                tags: BTreeMap::new(),
                aliases: BTreeMap::new(),
                versions: Vec::new(),
            })
        },
    )? {
        registered.insert(r.name.clone(), r);
    }
    for (name, k, v) in rows(
        db,
        path,
        "registered_model_tags",
        "SELECT name, key, value FROM registered_model_tags",
        problems,
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        },
    )? {
        if let Some(m) = registered.get_mut(&name) {
            m.tags.insert(k, v.unwrap_or_default());
        }
    }
    for (name, alias, version) in rows(
        db,
        path,
        "registered_model_aliases",
        "SELECT name, alias, version FROM registered_model_aliases",
        problems,
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        },
    )? {
        if let Some(m) = registered.get_mut(&name) {
            m.aliases.insert(alias, version);
        }
    }
    let mut version_tags: BTreeMap<(String, i64), BTreeMap<String, String>> = BTreeMap::new();
    for (name, version, k, v) in rows(
        db,
        path,
        "model_version_tags",
        "SELECT name, version, key, value FROM model_version_tags",
        problems,
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        },
    )? {
        version_tags
            .entry((name, version))
            .or_default()
            .insert(k, v.unwrap_or_default());
    }
    for (name, v) in rows(
        db,
        path,
        "model_versions",
        "SELECT name, version, source, storage_location, run_id, run_link, description, \
         creation_time, last_updated_time, current_stage FROM model_versions",
        problems,
        |r| {
            let created = r.get::<_, Option<i64>>(7)?.unwrap_or(0);
            let stage = r
                .get::<_, Option<String>>(9)?
                .unwrap_or_else(|| "None".into());
            Ok((
                r.get::<_, String>(0)?,
                SourceVersion {
                    version: r.get(1)?,
                    source: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    storage_location: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    run_id: r.get::<_, Option<String>>(4)?.filter(|s| !s.is_empty()),
                    run_link: r.get::<_, Option<String>>(5)?.filter(|s| !s.is_empty()),
                    description: r.get::<_, Option<String>>(6)?.filter(|s| !s.is_empty()),
                    creation_time: created,
                    last_updated_time: r.get::<_, Option<i64>>(8)?.unwrap_or(created),
                    deleted: stage == DELETED_STAGE,
                    stage,
                    tags: BTreeMap::new(),
                },
            ))
        },
    )? {
        if let Some(m) = registered.get_mut(&name) {
            let tags = version_tags.remove(&(name, v.version)).unwrap_or_default();
            m.versions.push(SourceVersion { tags, ..v });
        }
    }
    Ok(registered.into_values().collect())
}
