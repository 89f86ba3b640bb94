//! `runlog metrics history`: one metric of a run, as CSV or JSON;
//! `runlog metrics plot` is in `plot`.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use runlog::HistoryQuery;

use super::table::write_table;
use super::tracking::read_client;
use super::CliError;
use crate::args::{HistoryFormat, Metrics};
use crate::Outcome;

pub(crate) fn run(store: &Path, cmd: &Metrics) -> Result<Outcome, CliError> {
    match cmd {
        Metrics::History {
            run_id,
            key,
            steps,
            format,
            json,
        } => {
            let format = if *json { HistoryFormat::Json } else { *format };
            history(store, run_id, key, *steps, format)
        }
        Metrics::List { run_id, json } => list(store, run_id, *json),
        Metrics::Plot {
            run_ids,
            key,
            steps,
            output,
            size,
        } => super::plot::run(
            store,
            &super::plot::PlotRequest {
                run_ids,
                key,
                steps: *steps,
                output: output.as_deref(),
                size: *size,
            },
        ),
    }
}

fn history(
    store: &Path,
    run_id: &str,
    key: &str,
    steps: Option<(i64, i64)>,
    format: HistoryFormat,
) -> Result<Outcome, CliError> {
    let c = read_client(store)?;
    let mut query = HistoryQuery::new();
    if let Some((a, b)) = steps {
        query = query.steps(a..=b);
    }
    // Streamed: memory stays flat however long the history is.
    let points = c.metric_history_iter(run_id, key, &query)?;
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match format {
        HistoryFormat::Csv => {
            writeln!(out, "step,timestamp,value")?;
            for m in points {
                let m = m?;
                write!(out, "{},{},", m.step, m.timestamp)?;
                write_csv_number(&mut out, m.value)?;
                out.write_all(b"\n")?;
            }
        }
        HistoryFormat::Json => {
            // MLflow's get-history answer, streamed: {"metrics": [...]}.
            let key_json = serde_json::to_string(key).map_err(io::Error::from)?;
            out.write_all(b"{\"metrics\":[")?;
            for (i, m) in points.enumerate() {
                let m = m?;
                if i > 0 {
                    out.write_all(b",")?;
                }
                write!(out, "{{\"key\":{key_json},\"value\":")?;
                write_json_number(&mut out, m.value)?;
                write!(out, ",\"timestamp\":{},\"step\":{}}}", m.timestamp, m.step)?;
            }
            out.write_all(b"]}\n")?;
        }
    }
    out.flush()?;
    warn_if_damaged(&c)?;
    Ok(Outcome::Ok)
}

/// One metric key of a run, as `metrics list` prints it.
struct KeySummary {
    key: String,
    points: u64,
    first_step: i64,
    last_step: i64,
    latest_value: f64,
}

/// `runlog metrics list`: each key of a run with its point count and step
/// range (the histories are streamed: compacted chunks one at a time, the
/// live points from the client's tail).
fn list(store: &Path, run_id: &str, json: bool) -> Result<Outcome, CliError> {
    let c = read_client(store)?;
    let run = c.get_run(run_id)?;
    let mut keys = Vec::with_capacity(run.data.metrics.len());
    for (key, latest) in &run.data.metrics {
        let (mut points, mut first, mut last) = (0u64, i64::MAX, i64::MIN);
        for m in c.metric_history_iter(run_id, key, &HistoryQuery::new())? {
            let m = m?;
            points += 1;
            first = first.min(m.step);
            last = last.max(m.step);
        }
        keys.push(KeySummary {
            key: key.clone(),
            points,
            first_step: first,
            last_step: last,
            latest_value: latest.value,
        });
    }
    let mut out = io::stdout().lock();
    if json {
        // Non-finite values as MLflow's strings, as everywhere else.
        out.write_all(b"[")?;
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write!(
                out,
                "{{\"key\":{},\"points\":{},\"first_step\":{},\"last_step\":{},\"latest_value\":",
                serde_json::to_string(&k.key).map_err(io::Error::from)?,
                k.points,
                k.first_step,
                k.last_step
            )?;
            write_json_number(&mut out, k.latest_value)?;
            out.write_all(b"}")?;
        }
        out.write_all(b"]\n")?;
    } else {
        let rows: Vec<Vec<String>> = keys
            .iter()
            .map(|k| {
                vec![
                    k.key.clone(),
                    k.points.to_string(),
                    k.first_step.to_string(),
                    k.last_step.to_string(),
                    k.latest_value.to_string(),
                ]
            })
            .collect();
        write_table(
            &mut out,
            &["key", "points", "first_step", "last_step", "latest_value"],
            &rows,
        )?;
    }
    warn_if_damaged(&c)?;
    Ok(Outcome::Ok)
}

/// Says on stderr that damaged entries were skipped: the answer is what
/// the rest of the store holds (each damaged entry costs only itself).
pub(crate) fn warn_if_damaged(c: &runlog::Client) -> Result<(), CliError> {
    let damaged = c.damaged_entries()?;
    if damaged > 0 {
        eprintln!(
            "runlog: warning: {damaged} damaged entr{} of the store skipped; `runlog verify` \
             says where",
            if damaged == 1 { "y" } else { "ies" }
        );
    }
    Ok(())
}

/// A metric value in JSON: non-finite values as the strings MLflow's REST
/// API uses.
pub(crate) fn write_json_number(out: &mut impl Write, v: f64) -> io::Result<()> {
    match runlog::tracking::json_number::non_finite_name(v) {
        Some(name) => write!(out, "\"{name}\""),
        // serde_json prints the shortest form that reads back exactly.
        None => serde_json::to_writer(out, &v).map_err(io::Error::from),
    }
}

/// A metric value in CSV: integers without a fraction (`3`, `-0`), other
/// finite values in their shortest exact form, `NaN`, `inf`, `-inf`.
fn write_csv_number(out: &mut impl Write, v: f64) -> io::Result<()> {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        if v == 0.0 && v.is_sign_negative() {
            return out.write_all(b"-0");
        }
        write!(out, "{}", v as i64)
    } else if v.is_finite() {
        write_json_number(out, v) // shortest form that reads back exactly
    } else {
        write!(out, "{v}")
    }
}
