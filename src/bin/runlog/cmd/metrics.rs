//! `runlog metrics history`: one metric of a run, as CSV or JSON.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use runlog::HistoryQuery;

use super::tracking::client;
use super::CliError;
use crate::args::{HistoryFormat, Metrics};
use crate::Outcome;

pub(crate) fn run(store: &Path, cmd: &Metrics) -> Result<Outcome, CliError> {
    let Metrics::History {
        run_id,
        key,
        steps,
        format,
    } = cmd;
    let c = client(store)?;
    let mut query = HistoryQuery::new();
    if let Some((a, b)) = steps {
        query = query.steps(*a..=*b);
    }
    let points = c.metric_history(run_id, key, &query)?;
    let mut out = BufWriter::new(io::stdout().lock());
    match format {
        HistoryFormat::Csv => {
            writeln!(out, "step,timestamp,value")?;
            for m in &points {
                writeln!(out, "{},{},{}", m.step, m.timestamp, m.value)?;
            }
        }
        HistoryFormat::Json => {
            // Non-finite values as the strings MLflow's REST API uses.
            let rows: Vec<serde_json::Value> = points
                .iter()
                .map(|m| {
                    let value = if m.value.is_finite() {
                        serde_json::json!(m.value)
                    } else if m.value.is_nan() {
                        serde_json::json!("NaN")
                    } else if m.value > 0.0 {
                        serde_json::json!("Infinity")
                    } else {
                        serde_json::json!("-Infinity")
                    };
                    serde_json::json!({"step": m.step, "timestamp": m.timestamp, "value": value})
                })
                .collect();
            serde_json::to_writer(&mut out, &rows).map_err(io::Error::from)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}
