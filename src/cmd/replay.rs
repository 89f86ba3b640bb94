//! `runlog replay`: every valid entry, one per line.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use runlog::engine::{Replay, Replayed};

use super::CliError;
use crate::Outcome;

pub(crate) fn run(store: &Path, json: bool) -> Result<Outcome, CliError> {
    let replay = Replay::open(store)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut damaged = false;
    let mut series = SeriesText::default();
    let bar = super::progress::counter("replaying", "entries");
    for (i, item) in replay.enumerate() {
        if i % 65_536 == 0 {
            bar.set_position(i as u64);
        }
        match item {
            Ok(r) if json => {
                serde_json::to_writer(&mut out, &r).map_err(io::Error::from)?;
                out.write_all(b"\n")?;
            }
            Ok(r) => write_text(&mut out, &r, &mut series)?,
            Err(e @ runlog::engine::StorageError::Corrupt(_)) => {
                damaged = true;
                out.flush()?;
                bar.suspend(|| eprintln!("runlog: {e} (skipped)"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    Ok(if damaged {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

/// The text of metric lines between the position and the value, for the
/// series of the last metric line (consecutive points share their series).
#[derive(Default)]
struct SeriesText {
    series: Option<(Arc<str>, Arc<str>)>,
    text: String,
}

/// `lane/segment@offset type field=value ...`, fields in record order.
fn write_text(out: &mut impl Write, r: &Replayed, cache: &mut SeriesText) -> io::Result<()> {
    let p = r.position;
    write!(out, "{:06}/{:08}@{:<10}", p.lane, p.segment, p.offset)?;
    if let Some((run_id, key, m)) = r.event.metric() {
        // Nearly every entry: written directly, in the form the generic
        // path below gives (through a JSON value, 4x slower).
        let same = cache
            .series
            .as_ref()
            .is_some_and(|(r, k)| Arc::ptr_eq(r, run_id) && Arc::ptr_eq(k, key));
        if !same {
            cache.text = format!(
                " {:<18} run_id={:?} key={:?} value=",
                "metric", &**run_id, &**key
            );
            cache.series = Some((Arc::clone(run_id), Arc::clone(key)));
        }
        out.write_all(cache.text.as_bytes())?;
        super::metrics::write_json_number(out, m.value)?;
        return writeln!(out, " timestamp={} step={}", m.timestamp, m.step);
    }
    let value = serde_json::to_value(&r.event).map_err(io::Error::from)?;
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            match (k.as_str(), v) {
                ("type", serde_json::Value::String(s)) => write!(out, " {s:<18}")?,
                (_, serde_json::Value::String(s)) => write!(out, " {k}={s:?}")?,
                (_, v) => write!(out, " {k}={v}")?,
            }
        }
    }
    writeln!(out)
}
