//! `runlog ingest`: JSON lines (from a file or stdin) into the store, so
//! that runs logged by programs in other languages can be read with runlog.
//!
//! One JSON object a line, by `"type"`:
//!
//! | type | fields (optional in brackets) |
//! | --- | --- |
//! | `experiment` | `experiment_name`, [`tags`] (created when missing) |
//! | `run_start` | `run_id` (the file's own name for the run), [`experiment_name` or `experiment_id`], [`run_name`], [`start_time`], [`tags`], [`parent_run_id`] |
//! | `param` | `run_id`, `key`, `value` |
//! | `tag` | `run_id`, `key`, `value` |
//! | `metric` | `run_id`, `key`, `value` (number, or `"NaN"`, `"Infinity"`, `"-Infinity"`), [`step`] (0), [`timestamp`] (now) |
//! | `run_end` | `run_id`, [`status`] (`FINISHED`), [`end_time`] |
//!
//! A `run_id` names a run started earlier in the input, or an existing run
//! of the store. Blank lines are skipped. The first bad line stops the
//! ingest with its line number; every line before it is written and
//! flushed first.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use runlog::engine::MetricHandle;
use runlog::{Client, Metric, RunStatus};
use serde::{Deserialize, Serialize};

use super::table::write_json;
use super::tracking::client;
use super::CliError;
use crate::Outcome;

/// One input line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    run_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    key: Option<Cow<'a, str>>,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default)]
    step: Option<i64>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(borrow, default)]
    experiment_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    experiment_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    run_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    parent_run_id: Option<Cow<'a, str>>,
    #[serde(default)]
    tags: Option<HashMap<String, String>>,
    #[serde(default)]
    start_time: Option<i64>,
    #[serde(default)]
    end_time: Option<i64>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
}

/// What an ingest wrote.
#[derive(Default, Serialize)]
struct Report {
    lines: u64,
    experiments_created: u64,
    runs_started: u64,
    runs_ended: u64,
    params: u64,
    tags: u64,
    metrics: u64,
    /// The file's run ids and the store's.
    runs: Vec<RunMapping>,
}

#[derive(Serialize)]
struct RunMapping {
    input_run_id: String,
    run_id: String,
}

/// The ingest's state: runs by the file's ids, metric handles.
struct Ingest {
    client: Client,
    runs: HashMap<String, String>,
    /// Metric handles by the input's run id, then key.
    handles: HashMap<String, HashMap<String, MetricHandle>>,
    report: Report,
}

pub(crate) fn run(store: &Path, input: &Path, json: bool) -> Result<Outcome, CliError> {
    let reader: Box<dyn Read> = if input == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(input)
                .map_err(|e| CliError::Usage(format!("{}: {e}", input.display())))?,
        )
    };
    let mut ingest = Ingest {
        client: client(store)?,
        runs: HashMap::new(),
        handles: HashMap::new(),
        report: Report::default(),
    };
    let result = ingest.read(BufReader::with_capacity(1 << 16, reader));
    // Whatever came before a bad line is kept.
    ingest.client.flush()?;
    result?;
    let mut runs: Vec<RunMapping> = ingest
        .runs
        .iter()
        .map(|(input_run_id, run_id)| RunMapping {
            input_run_id: input_run_id.clone(),
            run_id: run_id.clone(),
        })
        .collect();
    runs.sort_by(|a, b| a.input_run_id.cmp(&b.input_run_id));
    ingest.report.runs = runs;
    let r = &ingest.report;
    let mut out = io::stdout().lock();
    if json {
        write_json(&mut out, r)?;
    } else {
        writeln!(
            out,
            "{} lines: {} experiments created, {} runs started, {} ended, {} params, {} tags, {} metric points",
            r.lines, r.experiments_created, r.runs_started, r.runs_ended, r.params, r.tags, r.metrics
        )?;
        for m in &r.runs {
            writeln!(out, "  {} -> {}", m.input_run_id, m.run_id)?;
        }
    }
    Ok(Outcome::Ok)
}

impl Ingest {
    fn read(&mut self, mut reader: impl BufRead) -> Result<(), CliError> {
        let mut buf = String::new();
        let mut number = 0u64;
        loop {
            buf.clear();
            let n = reader
                .read_line(&mut buf)
                .map_err(|e| CliError::Usage(format!("reading line {}: {e}", number + 1)))?;
            if n == 0 {
                return Ok(());
            }
            number += 1;
            let text = buf.trim();
            if text.is_empty() {
                continue;
            }
            self.line(text).map_err(|e| {
                CliError::Runlog(runlog::Error::InvalidArgument(format!(
                    "line {number}: {e}"
                )))
            })?;
            self.report.lines += 1;
        }
    }

    /// Applies one line; the error says what is wrong with it.
    fn line(&mut self, text: &str) -> Result<(), String> {
        let line: Line<'_> =
            serde_json::from_str(text).map_err(|e| format!("not a record: {e}"))?;
        match line.kind.as_ref() {
            "experiment" => {
                let name = need(&line.experiment_name, "experiment_name")?;
                let existing = self.client.get_experiment_by_name(name).map_err(text_of)?;
                if existing.is_none() {
                    let tags: Vec<(&str, &str)> = line
                        .tags
                        .iter()
                        .flatten()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    self.client
                        .create_experiment(runlog::NewExperiment::new(name).tags(&tags))
                        .map_err(text_of)?;
                    self.report.experiments_created += 1;
                }
            }
            "run_start" => {
                let input_id = need(&line.run_id, "run_id")?;
                if self.runs.contains_key(input_id) {
                    return Err(format!("run '{input_id}' was started before"));
                }
                let experiment_id = match (&line.experiment_id, &line.experiment_name) {
                    (Some(id), _) => id.to_string(),
                    (None, Some(name)) => {
                        self.client
                            .get_or_create_experiment(name)
                            .map_err(text_of)?
                            .experiment_id
                    }
                    (None, None) => "0".to_owned(),
                };
                let parent = match &line.parent_run_id {
                    Some(p) => Some(self.run_id(p)?),
                    None => None,
                };
                let mut tags: Vec<(&str, &str)> = line
                    .tags
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                if let Some(p) = &parent {
                    tags.push(("mlflow.parentRunId", p));
                }
                let mut new = runlog::NewRun::new(experiment_id).tags(&tags);
                if let Some(start) = line.start_time {
                    new = new.start_time(start);
                }
                if let Some(name) = line.run_name.as_deref() {
                    new = new.run_name(name);
                }
                let run = self.client.create_run(new).map_err(text_of)?;
                self.runs.insert(input_id.to_owned(), run.info.run_id);
                self.report.runs_started += 1;
            }
            "param" => {
                let run = self.run_id(need(&line.run_id, "run_id")?)?;
                let value = string_value(&line.value)?;
                self.client
                    .log_param(&run, need(&line.key, "key")?, value)
                    .map_err(text_of)?;
                self.report.params += 1;
            }
            "tag" => {
                let run = self.run_id(need(&line.run_id, "run_id")?)?;
                let value = string_value(&line.value)?;
                self.client
                    .set_tag(&run, need(&line.key, "key")?, &value)
                    .map_err(text_of)?;
                self.report.tags += 1;
            }
            "metric" => {
                let input_id = need(&line.run_id, "run_id")?;
                let key = need(&line.key, "key")?;
                let value = number_value(&line.value)?;
                let step = line.step.unwrap_or(0);
                let timestamp = line.timestamp.unwrap_or_else(runlog::clock::wall_clock_ms);
                // A handle per series: no allocation or run lookup per point.
                let cached = self.handles.get(input_id).and_then(|keys| keys.get(key));
                let handle = match cached {
                    Some(h) => h,
                    None => {
                        let run = self.run_id(input_id)?;
                        let h = self.client.metric_handle(&run, key).map_err(text_of)?;
                        self.handles
                            .entry(input_id.to_owned())
                            .or_default()
                            .entry(key.to_owned())
                            .or_insert(h)
                    }
                };
                handle
                    .log_at(Metric {
                        value,
                        timestamp,
                        step,
                    })
                    .map_err(text_of)?;
                self.report.metrics += 1;
            }
            "run_end" => {
                let run = self.run_id(need(&line.run_id, "run_id")?)?;
                let status = match line.status.as_deref() {
                    None => RunStatus::Finished,
                    Some(s) => parse_status(s)?,
                };
                let end = line.end_time.unwrap_or_else(runlog::clock::wall_clock_ms);
                self.client
                    .set_terminated_at(&run, status, end)
                    .map_err(text_of)?;
                self.report.runs_ended += 1;
            }
            other => {
                return Err(format!(
                    "unknown type '{other}' (experiment, run_start, param, tag, metric, run_end)"
                ))
            }
        }
        Ok(())
    }

    /// The store's run id for a run id of the input: a run started earlier
    /// in the input, or an existing run of the store.
    fn run_id(&self, input_id: &str) -> Result<String, String> {
        if let Some(id) = self.runs.get(input_id) {
            return Ok(id.clone());
        }
        match self.client.get_run(input_id) {
            Ok(run) => Ok(run.info.run_id),
            Err(_) => Err(format!(
                "run '{input_id}' was not started by an earlier line and is not in the store"
            )),
        }
    }
}

fn need<'l>(field: &'l Option<Cow<'_, str>>, name: &str) -> Result<&'l str, String> {
    field
        .as_deref()
        .ok_or_else(|| format!("'{name}' is missing"))
}

fn text_of(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A param or tag value: a string, or a number or boolean written as text.
fn string_value(value: &Option<serde_json::Value>) -> Result<String, String> {
    match value {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Ok(v.to_string()),
        Some(other) => Err(format!("'value' must be a string, found {other}")),
        None => Err("'value' is missing".into()),
    }
}

/// A metric value: a number, or MLflow's strings for non-finite values.
fn number_value(value: &Option<serde_json::Value>) -> Result<f64, String> {
    match value {
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| format!("'value' {n} is not a 64-bit float")),
        Some(serde_json::Value::String(s)) => runlog::tracking::json_number::from_name(s)
            .ok_or_else(|| format!("'value' must be a number, found \"{s}\"")),
        Some(other) => Err(format!("'value' must be a number, found {other}")),
        None => Err("'value' is missing".into()),
    }
}

fn parse_status(s: &str) -> Result<RunStatus, String> {
    [RunStatus::Finished, RunStatus::Failed, RunStatus::Killed]
        .into_iter()
        .find(|status| status.as_str().eq_ignore_ascii_case(s))
        .ok_or_else(|| format!("status '{s}' is not FINISHED, FAILED or KILLED"))
}
