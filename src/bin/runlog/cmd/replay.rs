//! `runlog replay`: every valid entry, one per line.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use runlog::{Replay, Replayed};

use super::CliError;
use crate::Outcome;

pub(crate) fn run(store: &Path, json: bool) -> Result<Outcome, CliError> {
    let replay = Replay::open(store)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut damaged = false;
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
            Ok(r) => write_text(&mut out, &r)?,
            Err(e @ runlog::Error::Corrupt { .. }) => {
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

/// `lane/segment@offset type field=value ...`, fields in record order.
fn write_text(out: &mut impl Write, r: &Replayed) -> io::Result<()> {
    let p = r.position;
    write!(out, "{:06}/{:08}@{:<10}", p.lane, p.segment, p.offset)?;
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
