//! A run's metric histories in a sync: per key, what was sent is checked
//! to be still the history's prefix, then the rest is streamed in windows
//! recorded as pending before they are sent and as sent once
//! acknowledged; a window whose answer was lost is compared with the
//! server's history before anything of it is sent again.

use std::collections::HashMap;

use serde_json::Value;

use super::RunSync;
use crate::error::{Error, Result};
use crate::remote::state::{point_bytes, points_crc, KeyState, RunState};
use crate::remote::sync::{SyncEvent, SyncReport, MAX_BATCH_METRICS};
use crate::tracking::model::json_number;
use crate::tracking::{Metric, Run};

/// Points sent between two saves of a run's state: a kill costs at most
/// this many points checked against the server's history on resume.
const WINDOW_POINTS: usize = 100_000;

impl RunSync<'_> {
    /// The points of `key` in history order, streamed (memory stays at a
    /// few chunks, whatever the history's length).
    fn history(&self, run: &Run, key: &str) -> Result<impl Iterator<Item = Result<Metric>>> {
        self.client.metric_history_iter(
            &run.info.run_id,
            key,
            &crate::tracking::HistoryQuery::new(),
        )
    }

    pub(super) fn metrics(
        &self,
        run: &Run,
        st: &mut RunState,
        summary: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        // First, per key: is what was sent still the history's prefix, and
        // what of a window sent but not acknowledged reached the server?
        for key in run.data.metrics.keys() {
            let ks = st.metrics.entry(key.clone()).or_default();
            let (mut n, mut crc) = (0u64, 0u32);
            let mut hasher = crc32fast::Hasher::new();
            for m in self.history(run, key)? {
                if n < ks.sent {
                    hasher.update(&point_bytes(&m?));
                }
                n += 1;
            }
            if ks.sent <= n {
                crc = hasher.finalize();
            }
            if ks.sent > n || crc != ks.crc {
                // Points were added inside what was sent (a late point
                // with an earlier step): compare it all with the server.
                *ks = KeyState {
                    sent: 0,
                    crc: 0,
                    pending: Some(n),
                };
            }
            if let Some(p) = ks.pending.filter(|&p| p > ks.sent) {
                let end = p.min(n);
                let (missing, crc) = if self.dry_run {
                    let all: Vec<Metric> = self
                        .history(run, key)?
                        .take(end as usize)
                        .collect::<Result<_>>()?;
                    (all[ks.sent as usize..].to_vec(), 0)
                } else {
                    self.missing_on_server(run, &st.remote_id, key, ks.sent, end)?
                };
                summary.points += missing.len() as u64;
                if !self.dry_run {
                    self.send_key_points(&st.remote_id, &[(key.clone(), missing)], progress)?;
                }
                ks.sent = end;
                ks.crc = crc;
            }
            ks.pending = None;
        }
        // Then the rest of every key, streamed into windows of points of
        // any keys: each window recorded as pending, sent in batches, then
        // recorded as sent.
        let mut window = Window::default();
        for key in run.data.metrics.keys() {
            let sent = st.metrics.get(key).map_or(0, |k| k.sent);
            for m in self.history(run, key)?.skip(sent as usize) {
                window.push(key, m?);
                if window.points == WINDOW_POINTS {
                    self.send_window(run, st, &mut window, summary, progress)?;
                }
            }
        }
        self.send_window(run, st, &mut window, summary, progress)?;
        self.save(run, st)
    }

    /// Records the window's keys as pending up to its end, sends its
    /// points, records them as sent, and empties it.
    fn send_window(
        &self,
        run: &Run,
        st: &mut RunState,
        window: &mut Window,
        summary: &mut SyncReport,
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        if window.points == 0 {
            return Ok(());
        }
        summary.points += window.points as u64;
        let parts = std::mem::take(&mut window.keys);
        window.points = 0;
        if self.dry_run {
            for (key, points) in &parts {
                if let Some(ks) = st.metrics.get_mut(key) {
                    ks.sent += points.len() as u64;
                }
            }
            return Ok(());
        }
        for (key, points) in &parts {
            if let Some(ks) = st.metrics.get_mut(key) {
                ks.pending = Some(ks.sent + points.len() as u64);
            }
        }
        self.save(run, st)?;
        match self.send_key_points(&st.remote_id, &parts, progress) {
            Ok(()) => {}
            Err(Error::Remote(_)) => self.recover_window(run, st, &parts, progress)?,
            Err(e) => return Err(e),
        }
        for (key, points) in &parts {
            if let Some(ks) = st.metrics.get_mut(key) {
                ks.crc = points_crc(ks.crc, points);
                ks.sent += points.len() as u64;
                ks.pending = None;
            }
        }
        self.save(run, st)
    }

    /// Sends the points of each key in batches of at most
    /// [`MAX_BATCH_METRICS`] (points of several keys share a batch).
    fn send_key_points(
        &self,
        remote_id: &str,
        parts: &[(String, Vec<Metric>)],
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        let mut batch = PointsBatch::new(remote_id);
        for (key, points) in parts {
            let key_json = Value::from(key.as_str()).to_string();
            for m in points {
                batch.push(&key_json, m);
                if batch.len() == MAX_BATCH_METRICS {
                    self.send_points(&mut batch, progress)?;
                }
            }
        }
        self.send_points(&mut batch, progress)
    }

    /// Sends the batch's points (if any) and starts it again.
    fn send_points(
        &self,
        batch: &mut PointsBatch,
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        if batch.len() == 0 {
            return Ok(());
        }
        let n = batch.len() as u64;
        // Once: a batch the server stored before the connection broke
        // must not be stored twice (the caller compares with the server's
        // history instead).
        self.server
            .post_json_text_once("runs/log-batch", &batch.take())?;
        progress(SyncEvent::Points(n));
        Ok(())
    }

    /// After a window's batch failed without the server's answer: waits
    /// for the server (the retries of a read), then sends what of the
    /// window it does not have (compared with its histories), so that no
    /// point is stored twice. A second failure stops the sync; the window
    /// stays pending for the next one.
    fn recover_window(
        &self,
        run: &Run,
        st: &RunState,
        parts: &[(String, Vec<Metric>)],
        progress: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        self.server.get("runs/get", &[("run_id", &st.remote_id)])?;
        for (key, points) in parts {
            let from = st.metrics.get(key).map_or(0, |k| k.sent);
            let to = from + points.len() as u64;
            let (missing, _) = self.missing_on_server(run, &st.remote_id, key, from, to)?;
            self.send_key_points(&st.remote_id, &[(key.clone(), missing)], progress)?;
        }
        Ok(())
    }

    /// The points `from..to` of `key`'s history the server does not have:
    /// its history read back, less the points before `from` (acknowledged
    /// before), as multisets of (step, timestamp, value); and the CRC of
    /// the points before `to`.
    fn missing_on_server(
        &self,
        run: &Run,
        remote_id: &str,
        key: &str,
        from: u64,
        to: u64,
    ) -> Result<(Vec<Metric>, u32)> {
        let mut remote: HashMap<(i64, i64, u64), usize> = HashMap::new();
        for p in self.server.metric_history(remote_id, key)? {
            let value = match &p["value"] {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => json_number::from_name(s),
                _ => None,
            };
            if let (Some(v), Some(step), Some(ts)) =
                (value, p["step"].as_i64(), p["timestamp"].as_i64())
            {
                *remote.entry((step, ts, point_bits(v))).or_default() += 1;
            }
        }
        let mut on_server =
            |m: &Metric| match remote.get_mut(&(m.step, m.timestamp, point_bits(m.value))) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            };
        let mut missing = Vec::new();
        let mut crc = crc32fast::Hasher::new();
        for (i, m) in self.history(run, key)?.take(to as usize).enumerate() {
            let m = m?;
            crc.update(&point_bytes(&m));
            if !on_server(&m) && i as u64 >= from {
                missing.push(m);
            }
        }
        Ok((missing, crc.finalize()))
    }
}

/// The value bits a point is matched by: infinities as MLflow's SQL store
/// gives them back (the largest finite doubles), every NaN as one.
fn point_bits(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else if v == f64::INFINITY {
        f64::MAX.to_bits()
    } else if v == f64::NEG_INFINITY {
        f64::MIN.to_bits()
    } else {
        v.to_bits()
    }
}

/// Points of several keys waiting to be sent, in key order.
#[derive(Default)]
struct Window {
    keys: Vec<(String, Vec<Metric>)>,
    points: usize,
}

impl Window {
    fn push(&mut self, key: &str, m: Metric) {
        match self.keys.last_mut() {
            Some((k, points)) if k == key => points.push(m),
            _ => self.keys.push((key.to_owned(), vec![m])),
        }
        self.points += 1;
    }
}

/// The body of a `runs/log-batch` request of metric points, written as
/// JSON text point by point (a JSON tree per point cost more than the
/// request itself).
struct PointsBatch {
    head: String,
    body: Vec<u8>,
    count: usize,
}

impl PointsBatch {
    fn new(remote_id: &str) -> PointsBatch {
        let head = format!("{{\"run_id\":{},\"metrics\":[", Value::from(remote_id));
        PointsBatch {
            body: head.clone().into_bytes(),
            head,
            count: 0,
        }
    }

    fn len(&self) -> usize {
        self.count
    }

    /// Adds a point of the key written as the JSON string `key_json`.
    fn push(&mut self, key_json: &str, m: &Metric) {
        use std::io::Write;
        if self.count > 0 {
            self.body.push(b',');
        }
        self.body.extend_from_slice(b"{\"key\":");
        self.body.extend_from_slice(key_json.as_bytes());
        self.body.extend_from_slice(b",\"value\":");
        match json_number::non_finite_name(m.value) {
            Some(name) => {
                let _ = write!(self.body, "\"{name}\"");
            }
            // A finite f64 always serializes (shortest round-trip form).
            None => {
                let _ = serde_json::to_writer(&mut self.body, &m.value);
            }
        }
        let _ = write!(
            self.body,
            ",\"timestamp\":{},\"step\":{}}}",
            m.timestamp, m.step
        );
        self.count += 1;
    }

    /// The request body, the batch started again empty.
    fn take(&mut self) -> Vec<u8> {
        let mut body = std::mem::replace(&mut self.body, self.head.clone().into_bytes());
        body.extend_from_slice(b"]}");
        self.count = 0;
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::mlflow_json;
    use serde_json::json;

    #[test]
    fn a_points_batch_is_the_json_of_mlflow_json() {
        let points = [
            Metric {
                value: 0.1 + 0.2,
                timestamp: 7,
                step: -3,
            },
            Metric {
                value: f64::NAN,
                timestamp: 0,
                step: 0,
            },
            Metric {
                value: f64::NEG_INFINITY,
                timestamp: 1,
                step: 1 << 40,
            },
        ];
        let mut batch = PointsBatch::new("r\"1");
        for m in &points {
            batch.push(&Value::from("lo\\ss").to_string(), m);
        }
        let got: Value = serde_json::from_slice(&batch.take()).unwrap_or(Value::Null);
        let want = json!({"run_id": "r\"1", "metrics": points
            .iter()
            .map(|m| mlflow_json::metric("lo\\ss", m))
            .collect::<Vec<_>>()});
        assert_eq!(got, want);
        assert_eq!(batch.len(), 0);
    }
}
