//! `runlog experiments ...` and `runlog runs ...`: the tracking client from
//! the command line.

use std::io::{self, Write};
use std::path::Path;

use runlog::tracking::mlflow_json;
use runlog::{Client, NewExperiment, Options, Run, SearchExperiments, SearchRuns, ViewType};

use super::table::{time, write_json, write_table};
use super::CliError;
use crate::args::{Experiments, Runs, View};
use crate::Outcome;

/// The client of a command that writes: no background compaction for a
/// short-lived process.
pub(crate) fn client(store: &Path) -> Result<Client, CliError> {
    Ok(Client::builder()
        .store(store)
        .options(Options::default().auto_compact(None))
        .open()?)
}

/// The client of a command that only reads: it creates and changes
/// nothing, so it works on read-only media and refuses a missing store.
pub(crate) fn read_client(store: &Path) -> Result<Client, CliError> {
    Ok(Client::builder().store(store).read_only().open()?)
}

fn view_type(v: View) -> ViewType {
    match v {
        View::Active => ViewType::ActiveOnly,
        View::Deleted => ViewType::DeletedOnly,
        View::All => ViewType::All,
    }
}

pub(crate) fn experiments(store: &Path, cmd: &Experiments) -> Result<Outcome, CliError> {
    let c = match cmd {
        Experiments::Search { .. } => read_client(store)?,
        _ => client(store)?,
    };
    let mut out = io::stdout().lock();
    match cmd {
        Experiments::Create {
            experiment_name,
            artifact_location,
        } => {
            let mut new = NewExperiment::new(experiment_name);
            if let Some(location) = artifact_location {
                new = new.artifact_location(location);
            }
            let id = c.create_experiment(new)?;
            writeln!(out, "{id}")?;
        }
        Experiments::Search {
            view,
            filter,
            max_results,
            page_token,
            json,
        } => {
            let mut query = SearchExperiments::new()
                .view(view_type(*view))
                .filter(filter.clone().unwrap_or_default())
                .max_results(*max_results);
            if let Some(token) = page_token {
                query = query.page_token(token.clone());
            }
            let list = c.search_experiments(query)?;
            let token = list.next_page_token.as_deref();
            if *json {
                write_json(&mut out, &mlflow_json::experiments_page(&list.items, token))?;
            } else {
                say_if_cut(list.len(), "experiments", token);
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|e| {
                        vec![
                            e.experiment_id.clone(),
                            e.name.clone(),
                            format!("{:?}", e.lifecycle_stage).to_lowercase(),
                            time(e.creation_time),
                            e.artifact_location.clone(),
                        ]
                    })
                    .collect();
                write_table(
                    &mut out,
                    &[
                        "experiment_id",
                        "name",
                        "lifecycle_stage",
                        "creation_time",
                        "artifact_location",
                    ],
                    &rows,
                )?;
            }
        }
        Experiments::Rename {
            experiment_id,
            new_name,
        } => {
            c.rename_experiment(experiment_id, new_name)?;
            writeln!(
                out,
                "Experiment with id {experiment_id} has been renamed to '{new_name}'."
            )?;
        }
        Experiments::Delete { experiment_id } => {
            c.delete_experiment(experiment_id)?;
            writeln!(out, "Experiment with id {experiment_id} has been deleted.")?;
        }
        Experiments::Restore { experiment_id } => {
            c.restore_experiment(experiment_id)?;
            writeln!(out, "Experiment with id {experiment_id} has been restored.")?;
        }
    }
    c.flush()?;
    Ok(Outcome::Ok)
}

pub(crate) fn runs(store: &Path, cmd: &Runs) -> Result<Outcome, CliError> {
    let c = match cmd {
        Runs::List { .. } | Runs::Describe { .. } | Runs::Search { .. } => read_client(store)?,
        Runs::Delete { .. } | Runs::Restore { .. } => client(store)?,
    };
    let mut out = io::stdout().lock();
    match cmd {
        Runs::List {
            experiment_id,
            experiment_name,
            view,
            json,
        } => {
            let id = match (experiment_id, experiment_name) {
                (Some(id), _) => id.clone(),
                (None, Some(name)) => experiment_named(&c, name)?,
                (None, None) => active_experiment(&c)?,
            };
            let runs = c.list_runs(&id, view_type(*view))?;
            print_runs(&mut out, &runs, None, *json)?;
        }
        Runs::Describe { run_id, json } => {
            let run = c.get_run(run_id)?;
            if *json {
                // MLflow's runs/get answer.
                write_json(
                    &mut out,
                    &serde_json::json!({"run": mlflow_json::run(&run)}),
                )?;
            } else {
                describe(&mut out, &run)?;
            }
        }
        Runs::Search {
            experiment_ids,
            filter,
            order_by,
            max_results,
            page_token,
            view,
            json,
        } => {
            let mut query = order_by.iter().fold(
                SearchRuns::new(experiment_ids)
                    .filter(filter.clone().unwrap_or_default())
                    .max_results(*max_results)
                    .view(view_type(*view)),
                |q, o| q.order_by(o.clone()),
            );
            if let Some(token) = page_token {
                query = query.page_token(token.clone());
            }
            let page = c.search_runs(&query)?;
            print_runs(
                &mut out,
                &page.items,
                page.next_page_token.as_deref(),
                *json,
            )?;
        }
        Runs::Delete { run_id } => {
            c.delete_run(run_id)?;
            writeln!(out, "Run with id {run_id} has been deleted.")?;
        }
        Runs::Restore { run_id } => {
            c.restore_run(run_id)?;
            writeln!(out, "Run with id {run_id} has been restored.")?;
        }
    }
    Ok(Outcome::Ok)
}

fn experiment_named(c: &Client, name: &str) -> Result<String, CliError> {
    Ok(c.get_experiment_by_name(name)?
        .ok_or_else(|| runlog::Error::NotFound(format!("no experiment named '{name}'")))?
        .experiment_id)
}

/// The experiment MLflow would log to: the environment's, else `0`
/// (nothing is created: the client reads only).
fn active_experiment(c: &Client) -> Result<String, CliError> {
    Ok(runlog::fluent::experiment_id_from_env(c)?)
}

/// A table of runs, or MLflow's `runs/search` JSON with its page token.
fn print_runs(
    out: &mut impl Write,
    runs: &[Run],
    next_page_token: Option<&str>,
    json: bool,
) -> Result<(), CliError> {
    if json {
        write_json(out, &mlflow_json::runs_page(runs, next_page_token))?;
        return Ok(());
    }
    say_if_cut(runs.len(), "runs", next_page_token);
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let metrics: Vec<String> = r
                .data
                .metrics
                .iter()
                .map(|(k, m)| format!("{k}={}", m.value))
                .collect();
            vec![
                r.info.run_id.clone(),
                r.info.run_name.clone(),
                r.info.status.as_str().to_owned(),
                time(r.info.start_time),
                metrics.join(" "),
            ]
        })
        .collect();
    write_table(
        out,
        &["run_id", "run_name", "status", "start_time", "metrics"],
        &rows,
    )?;
    Ok(())
}

fn describe(out: &mut impl Write, run: &Run) -> io::Result<()> {
    let i = &run.info;
    writeln!(out, "run_id           {}", i.run_id)?;
    writeln!(out, "run_name         {}", i.run_name)?;
    writeln!(out, "experiment_id    {}", i.experiment_id)?;
    writeln!(out, "status           {}", i.status.as_str())?;
    writeln!(
        out,
        "lifecycle_stage  {}",
        format!("{:?}", i.lifecycle_stage).to_lowercase()
    )?;
    writeln!(out, "user_id          {}", i.user_id)?;
    writeln!(out, "start_time       {}", time(i.start_time))?;
    match i.end_time {
        Some(t) => writeln!(out, "end_time         {}", time(t))?,
        None => writeln!(out, "end_time         -")?,
    }
    writeln!(out, "artifact_uri     {}", i.artifact_uri)?;
    writeln!(out, "metrics (latest)")?;
    for (k, m) in &run.data.metrics {
        writeln!(
            out,
            "  {k} = {} (step {}, {})",
            m.value,
            m.step,
            time(m.timestamp)
        )?;
    }
    writeln!(out, "params")?;
    for (k, v) in &run.data.params {
        writeln!(out, "  {k} = {v}")?;
    }
    writeln!(out, "tags")?;
    for (k, v) in &run.data.tags {
        writeln!(out, "  {k} = {v}")?;
    }
    writeln!(out, "inputs")?;
    for d in &run.inputs {
        writeln!(out, "  {} ({}, digest {})", d.name, d.source_type, d.digest)?;
    }
    Ok(())
}

/// Says on standard error, before a table, that more results match than
/// `--max-results` let through, and how to ask for the next page.
fn say_if_cut(shown: usize, what: &str, next_page_token: Option<&str>) {
    if let Some(token) = next_page_token {
        eprintln!(
            "runlog: showing the first {shown} {what}; more match (--max-results). \
             Next page: --page-token {token}"
        );
    }
}
