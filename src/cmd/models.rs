//! `runlog models list` and `runlog models describe`: MLflow 3's logged
//! models and the model registry from the command line.

use std::io::{self, Write};
use std::path::Path;

use runlog::tracking::mlflow_json;
use runlog::tracking::SearchRegistry;
use runlog::{Client, LoggedModel, SearchExperiments, SearchModels, ViewType};
use serde_json::{json, Value};

use super::table::{time, write_json, write_table};
use super::tracking::read_client;
use super::CliError;
use crate::args::Models;
use crate::Outcome;

pub(crate) fn run(store: &Path, cmd: &Models) -> Result<Outcome, CliError> {
    let c = read_client(store)?;
    let mut out = io::stdout().lock();
    match cmd {
        Models::List {
            experiment_ids,
            filter,
            json,
        } => list(&c, &mut out, experiment_ids, filter.as_deref(), *json)?,
        Models::Describe {
            model_id,
            name,
            json,
        } => match (model_id, name) {
            (Some(id), _) => describe_model(&mut out, &c.get_logged_model(id)?, *json)?,
            (None, Some(name)) => describe_registered(&c, &mut out, name, *json)?,
            (None, None) => {
                return Err(CliError::Usage(
                    "models describe needs --model-id or --name".into(),
                ))
            }
        },
    }
    Ok(Outcome::Ok)
}

fn list(
    c: &Client,
    out: &mut impl Write,
    experiment_ids: &[String],
    filter: Option<&str>,
    as_json: bool,
) -> Result<(), CliError> {
    let ids: Vec<String> = if experiment_ids.is_empty() {
        c.search_experiments(
            SearchExperiments::new()
                .view(ViewType::ActiveOnly)
                .max_results(50_000),
        )?
        .iter()
        .map(|e| e.experiment_id.clone())
        .collect()
    } else {
        experiment_ids.to_vec()
    };
    let mut models: Vec<LoggedModel> = Vec::new();
    let mut token = None;
    loop {
        let page = c.search_logged_models(&SearchModels {
            experiment_ids: ids.clone(),
            filter: filter.unwrap_or_default().to_owned(),
            max_results: Some(1000),
            page_token: token,
            ..Default::default()
        })?;
        models.extend(page.items.iter().cloned());
        match page.next_page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    let registered = c
        .search_registered_models(&SearchRegistry {
            max_results: Some(1000),
            ..Default::default()
        })?
        .items;
    if as_json {
        let models: Vec<Value> = models.iter().map(mlflow_json::logged_model).collect();
        let registered: Vec<Value> = registered
            .iter()
            .map(|r| json!({"name": r.name, "description": r.description, "aliases": r.aliases}))
            .collect();
        write_json(
            out,
            &json!({"models": models, "registered_models": registered}),
        )?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = models
        .iter()
        .map(|m| {
            vec![
                m.model_id.clone(),
                m.name.clone(),
                m.experiment_id.clone(),
                status(m),
                m.source_run_id.clone().unwrap_or_default(),
                time(m.creation_timestamp),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            "model_id",
            "name",
            "experiment",
            "status",
            "source_run",
            "created",
        ],
        &rows,
    )?;
    if !registered.is_empty() {
        writeln!(out)?;
        let rows: Vec<Vec<String>> = registered
            .iter()
            .map(|r| {
                let latest = c
                    .get_latest_versions(&r.name, &[])
                    .unwrap_or_default()
                    .iter()
                    .map(|v| format!("v{} ({})", v.version, v.current_stage))
                    .collect::<Vec<_>>()
                    .join(", ");
                let aliases = r
                    .aliases
                    .iter()
                    .map(|(a, v)| format!("@{a}=v{v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![
                    r.name.clone(),
                    latest,
                    aliases,
                    time(r.last_updated_timestamp),
                ]
            })
            .collect();
        write_table(
            out,
            &["registered_model", "latest_versions", "aliases", "updated"],
            &rows,
        )?;
    }
    Ok(())
}

fn status(m: &LoggedModel) -> String {
    m.status
        .as_str()
        .trim_start_matches("LOGGED_MODEL_")
        .to_owned()
}

fn describe_model(out: &mut impl Write, m: &LoggedModel, as_json: bool) -> io::Result<()> {
    if as_json {
        return write_json(out, &json!({"model": mlflow_json::logged_model(m)}));
    }
    writeln!(out, "model_id      {}", m.model_id)?;
    writeln!(out, "name          {}", m.name)?;
    writeln!(out, "experiment    {}", m.experiment_id)?;
    writeln!(out, "status        {}", status(m))?;
    writeln!(
        out,
        "source_run    {}",
        m.source_run_id.as_deref().unwrap_or("")
    )?;
    writeln!(
        out,
        "model_type    {}",
        m.model_type.as_deref().unwrap_or("")
    )?;
    writeln!(out, "created       {}", time(m.creation_timestamp))?;
    writeln!(out, "artifacts     {}", m.artifact_location)?;
    writeln!(
        out,
        "load with     mlflow.pyfunc.load_model(\"{}\")",
        m.model_uri()
    )?;
    let section =
        |out: &mut dyn Write, title: &str, rows: Vec<(String, String)>| -> io::Result<()> {
            writeln!(out, "\n{title}")?;
            if rows.is_empty() {
                return writeln!(out, "  (none)");
            }
            let width = rows
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (k, v) in rows {
                writeln!(out, "  {k:width$}  {v}")?;
            }
            Ok(())
        };
    let params = m
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    section(out, "params", params)?;
    let metrics = m
        .metrics
        .iter()
        .map(|p| {
            let on = p
                .dataset_name
                .as_deref()
                .map(|d| format!(" on {d}"))
                .unwrap_or_default();
            (p.key.clone(), format!("{} at step {}{on}", p.value, p.step))
        })
        .collect();
    section(out, "metrics", metrics)?;
    let tags = m.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    section(out, "tags", tags)
}

fn describe_registered(
    c: &Client,
    out: &mut impl Write,
    name: &str,
    as_json: bool,
) -> Result<(), CliError> {
    let r = c.get_registered_model(name)?;
    let versions = c
        .search_model_versions(&SearchRegistry {
            filter: format!("name = '{}'", name.replace('\'', "\\'")),
            ..Default::default()
        })?
        .items;
    if as_json {
        let versions: Vec<Value> = versions
            .iter()
            .map(|v| {
                json!({"version": v.version.to_string(), "current_stage": v.current_stage,
                       "source": v.source, "run_id": v.run_id, "model_id": v.model_id,
                       "description": v.description, "tags": v.tags})
            })
            .collect();
        write_json(
            out,
            &json!({"registered_model": {"name": r.name, "description": r.description,
                    "tags": r.tags, "aliases": r.aliases}, "model_versions": versions}),
        )?;
        return Ok(());
    }
    writeln!(out, "name          {}", r.name)?;
    writeln!(
        out,
        "description   {}",
        r.description.as_deref().unwrap_or("")
    )?;
    writeln!(out, "created       {}", time(r.creation_timestamp))?;
    writeln!(out, "updated       {}", time(r.last_updated_timestamp))?;
    for (k, v) in &r.tags {
        writeln!(out, "tag           {k} = {v}")?;
    }
    writeln!(out)?;
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            let aliases = r
                .aliases
                .iter()
                .filter(|(_, n)| **n == v.version)
                .map(|(a, _)| format!("@{a}"))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                v.version.to_string(),
                v.current_stage.clone(),
                aliases,
                v.model_id.clone().unwrap_or_else(|| v.source.clone()),
                v.run_id.clone().unwrap_or_default(),
                time(v.creation_timestamp),
            ]
        })
        .collect();
    write_table(
        out,
        &["version", "stage", "aliases", "from", "run", "created"],
        &rows,
    )?;
    Ok(())
}
