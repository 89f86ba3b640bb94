//! `metrics/get-history` (paged) and `metrics/get-history-bulk-interval`
//! (several runs, downsampled: what MLflow's UI charts ask for).

use std::fmt::Write;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::message::{required_str, step_range, strings, Int};
use crate::api::runs::run_id;
use crate::api::Api;
use crate::api::Reply;
use crate::tracking::{mlflow_json, HistoryQuery};

/// Most points in one `get-history` page, as in MLflow.
pub const MAX_HISTORY_PAGE: usize = 25_000;
/// Most runs in one `get-history-bulk-interval`, as in MLflow.
pub const MAX_BULK_RUNS: usize = 100;
/// Most points per run in one `get-history-bulk-interval`, as in MLflow.
pub const MAX_BULK_POINTS_PER_RUN: usize = 2_500;

/// `metrics/get-history`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GetHistory {
    run_id: Option<String>,
    run_uuid: Option<String>,
    metric_key: Option<String>,
    max_results: Option<Int>,
    page_token: Option<String>,
}

/// `GET metrics/get-history?run_id=&metric_key=&max_results=&page_token=`:
/// the points by step, then timestamp; a page of `max_results` (at most
/// 25,000; without it, everything) and a token for the next one.
///
/// A page token names where the next page starts: a step, and how many
/// points of that step earlier pages returned. A page then reads the
/// history from that step on (through the chunk index and the live tail),
/// not every point before it. The answer is written as text directly
/// (25,000 points as a JSON tree would cost more than reading them).
pub fn history(s: &Api, m: GetHistory) -> Result<Reply, ApiError> {
    let run_id = run_id(&m.run_id, &m.run_uuid)?;
    let key = required_str("metric_key", &m.metric_key)?;
    let page = match m.max_results.map(|Int(n)| n) {
        None => usize::MAX,
        Some(n) if n >= 1 => usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(MAX_HISTORY_PAGE),
        Some(n) => {
            return Err(ApiError::invalid(format!(
                "Invalid value {n} for parameter 'max_results' supplied: it must be at least 1"
            )))
        }
    };
    let start = match m.page_token.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => Some(PageStart::parse(token).ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid page token {token:?}: pass the next_page_token of the previous page"
            ))
        })?),
    };
    let points = match start {
        Some(start) if page != usize::MAX => {
            // Enough for the page and one more point, to know there is more.
            let want = start.seen.saturating_add(page).saturating_add(1);
            from_step(s, run_id, key, start.step, want)?
        }
        Some(start) => s.client.metric_history(
            run_id,
            key,
            &HistoryQuery::new().steps(start.step..=i64::MAX),
        )?,
        None => s.client.metric_history(run_id, key, &HistoryQuery::new())?,
    };
    let mut points = points;
    dedup_points(&mut points);
    let skip = start.map_or(0, |start| {
        let same = points.partition_point(|m| m.step == start.step);
        start.seen.min(same)
    });
    let rest = &points[skip..];
    let more = rest.len() > page;
    let shown = if more { &rest[..page] } else { rest };
    let key_json = Value::from(key).to_string();
    let mut out = String::with_capacity(shown.len() * (key_json.len() + 64) + 64);
    out.push('{');
    for (i, m) in shown.iter().enumerate() {
        out.push_str(if i == 0 { "\"metrics\":[" } else { "," });
        let value = mlflow_json::number(m.value);
        let _ = write!(
            out,
            "{{\"key\":{key_json},\"value\":{value},\"timestamp\":{},\"step\":{}}}",
            m.timestamp, m.step
        );
    }
    if !shown.is_empty() {
        out.push(']');
    }
    if let (true, Some(last)) = (more, shown.last()) {
        // Points of the last step shown: on this page, and on earlier ones
        // when the whole page is that step.
        let on_page = shown.len() - shown.partition_point(|m| m.step < last.step);
        let before = match start {
            Some(start) if start.step == last.step => skip,
            _ => 0,
        };
        let next = PageStart {
            step: last.step,
            seen: before + on_page,
        };
        if !shown.is_empty() {
            out.push(',');
        }
        let _ = write!(out, "\"next_page_token\":\"{}\"", next.token());
    }
    out.push('}');
    Ok(Reply::Text(out))
}

/// The same point logged twice (same step, timestamp and value, as
/// MLflow's autolog callbacks do at step 0) kept once, as MLflow's SQL
/// store keeps it (the point is its table's key). Points come by step and
/// timestamp, so equal points are in one run of equal (step, timestamp).
pub fn dedup_points(points: &mut Vec<crate::tracking::Metric>) {
    let mut group_start = 0;
    let mut kept = 0;
    for i in 0..points.len() {
        let p = points[i];
        if kept > 0 {
            let last = points[kept - 1];
            if (last.step, last.timestamp) != (p.step, p.timestamp) {
                group_start = kept;
            }
        }
        let seen = points[group_start..kept].iter().any(|q| {
            q.value.to_bits() == p.value.to_bits() || (q.value.is_nan() && p.value.is_nan())
        });
        if !seen {
            points[kept] = p;
            kept += 1;
        }
    }
    points.truncate(kept);
}

/// At least the first `want` points from step `from` on (all there are when
/// fewer), in history order: a step window as wide as `want`, then one 16
/// times wider, then every step on; so that a page of a long history with
/// about a point a step decodes about a page of points, not everything
/// after it, and the last page costs at most three reads of what is left.
/// A window holds every point of its steps, and every later point sorts
/// after them: its first `want` points are the history's.
fn from_step(
    s: &Api,
    run_id: &str,
    key: &str,
    from: i64,
    want: usize,
) -> Result<Vec<crate::tracking::Metric>, ApiError> {
    let width = i64::try_from(want).unwrap_or(i64::MAX).max(1);
    let mut span = Some(width);
    loop {
        let to = span.and_then(|span| from.checked_add(span));
        let query = HistoryQuery::new().steps(from..=to.unwrap_or(i64::MAX));
        let points = s.client.metric_history(run_id, key, &query)?;
        if points.len() >= want || to.is_none() {
            return Ok(points);
        }
        span = match span {
            Some(w) if w == width => width.checked_mul(16),
            _ => None,
        };
    }
}

/// Where a `get-history` page starts: the first point of `step` after the
/// `seen` ones earlier pages returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageStart {
    step: i64,
    seen: usize,
}

impl PageStart {
    /// The token: `<step>:<seen>`.
    fn token(&self) -> String {
        format!("{}:{}", self.step, self.seen)
    }

    fn parse(token: &str) -> Option<PageStart> {
        let (step, seen) = token.split_once(':')?;
        Some(PageStart {
            step: step.parse().ok()?,
            seen: seen.parse().ok()?,
        })
    }
}

/// `metrics/get-history-bulk-interval`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GetHistoryBulkInterval {
    #[serde(deserialize_with = "strings")]
    run_ids: Vec<String>,
    metric_key: Option<String>,
    start_step: Option<Int>,
    end_step: Option<Int>,
    max_results: Option<Int>,
}

/// `GET metrics/get-history-bulk-interval?run_ids=..&metric_key=&
/// start_step=&end_step=&max_results=`: up to `max_results` points per run
/// (default and most 2,500), downsampled with each bucket's extremes kept,
/// each point with its `run_id`.
pub fn history_bulk_interval(s: &Api, m: GetHistoryBulkInterval) -> Result<Value, ApiError> {
    let run_ids = m.run_ids;
    if run_ids.is_empty() {
        return Err(crate::api::request::missing("run_ids"));
    }
    if run_ids.len() > MAX_BULK_RUNS {
        return Err(ApiError::invalid(format!(
            "GetMetricHistoryBulkInterval request must specify at most {MAX_BULK_RUNS} run_ids. \
             Received {} run_ids.",
            run_ids.len()
        )));
    }
    let key = required_str("metric_key", &m.metric_key)?;
    let per_run = match m.max_results.map(|Int(n)| n) {
        None => MAX_BULK_POINTS_PER_RUN,
        Some(n) if (1..=MAX_BULK_POINTS_PER_RUN as i64).contains(&n) => n as usize,
        Some(_) => {
            return Err(ApiError::invalid(format!(
                "max_results must be between 1 and {MAX_BULK_POINTS_PER_RUN}."
            )))
        }
    };
    let mut query = HistoryQuery::new();
    if let Some(steps) = step_range(m.start_step, m.end_step)? {
        query = query.steps(steps);
    }
    let ids: Vec<&str> = run_ids.iter().map(String::as_str).collect();
    let mut points = Vec::new();
    for (run_id, history) in s.client.get_metric_history_bulk(&ids, key, &query)? {
        let mut history = history;
        dedup_points(&mut history);
        for m in &sample_as_mlflow(history, per_run) {
            let mut point = mlflow_json::metric(key, m);
            point["run_id"] = Value::from(run_id.as_str());
            points.push(point);
        }
    }
    if points.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({"metrics": points}))
}

/// The points MLflow 3.17's SQL store picks for `get-history-bulk-interval`:
/// the history ordered by step, timestamp and value (NaN as MLflow stores
/// it: 0 with a flag, after the 0 of the same step and time), cut into
/// `max` buckets as SQL's `NTILE` cuts (the first `n % max` one row
/// longer), the first point of each, and the last point of all in place
/// of the last pick when it is not one already. The same steps on
/// `runlog server` as on `mlflow server`, so that MLflow's UI draws the
/// same chart.
pub fn sample_as_mlflow(
    mut points: Vec<crate::tracking::Metric>,
    max: usize,
) -> Vec<crate::tracking::Metric> {
    let sort_key = |m: &crate::tracking::Metric| {
        let (value, nan) = if m.value.is_nan() {
            (0.0, true)
        } else {
            (m.value, false)
        };
        (m.step, m.timestamp, value, nan)
    };
    points.sort_by(|a, b| {
        let (a, b) = (sort_key(a), sort_key(b));
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then(a.2.total_cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    let n = points.len();
    let max = max.max(1);
    if n <= max {
        return points;
    }
    let (size, longer) = (n / max, n % max);
    let mut picked: Vec<crate::tracking::Metric> =
        (0..max).map(|b| points[b * size + b.min(longer)]).collect();
    let last = points[n - 1];
    let same = |a: &crate::tracking::Metric, b: &crate::tracking::Metric| {
        let (a, b) = (sort_key(a), sort_key(b));
        a.0 == b.0 && a.1 == b.1 && a.2.to_bits() == b.2.to_bits() && a.3 == b.3
    };
    if picked.last().is_none_or(|p| !same(p, &last)) {
        if let Some(slot) = picked.last_mut() {
            *slot = last; // at `max` already: the last pick gives way
        }
    }
    picked
}

/// `metrics/get-history-bulk`'s message (the UI's older bulk call).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GetHistoryBulk {
    #[serde(deserialize_with = "strings")]
    run_id: Vec<String>,
    metric_key: Option<String>,
    max_results: Option<Int>,
}

/// `GET metrics/get-history-bulk?run_id=..&metric_key=&max_results=`: every
/// point of the key for each run (by run id, each run's points by
/// timestamp, step, value), each with its `run_id`, at most `max_results`
/// (and 25,000) in all, as MLflow answers it.
pub fn history_bulk(s: &Api, m: GetHistoryBulk) -> Result<Value, ApiError> {
    if m.run_id.is_empty() {
        return Err(ApiError::invalid(
            "GetMetricHistoryBulk request must specify at least one run_id.",
        ));
    }
    if m.run_id.len() > MAX_BULK_RUNS {
        return Err(ApiError::invalid(format!(
            "GetMetricHistoryBulk request cannot specify more than {MAX_BULK_RUNS} run_ids. \
             Received {} run_ids.",
            m.run_id.len()
        )));
    }
    let key = m.metric_key.as_deref().ok_or_else(|| {
        ApiError::invalid("GetMetricHistoryBulk request must specify a metric_key.")
    })?;
    let most = m.max_results.map_or(MAX_HISTORY_PAGE, |Int(n)| {
        usize::try_from(n).unwrap_or(0).min(MAX_HISTORY_PAGE)
    });
    let mut run_ids = m.run_id.clone();
    run_ids.sort();
    let mut points = Vec::new();
    for run_id in &run_ids {
        let mut history = s.client.metric_history(run_id, key, &HistoryQuery::new())?;
        dedup_points(&mut history);
        history.truncate(most);
        history.sort_by(|a, b| {
            (a.timestamp, a.step)
                .cmp(&(b.timestamp, b.step))
                .then(a.value.total_cmp(&b.value))
        });
        for p in &history {
            let mut point = mlflow_json::metric(key, p);
            point["run_id"] = Value::from(run_id.as_str());
            points.push(point);
        }
    }
    points.truncate(most);
    Ok(json!({"metrics": points}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::Metric;

    fn m(step: i64, timestamp: i64, value: f64) -> Metric {
        Metric {
            value,
            timestamp,
            step,
        }
    }

    #[test]
    fn a_point_logged_twice_is_kept_once_as_in_mlflow() {
        let mut points = vec![
            m(0, 1, 5.0),
            m(0, 1, 5.0),
            m(0, 1, 6.0),
            m(0, 1, 5.0),
            m(0, 2, 5.0),
            m(1, 2, f64::NAN),
            m(1, 2, -f64::NAN),
        ];
        dedup_points(&mut points);
        let kept: Vec<(i64, i64)> = points.iter().map(|p| (p.step, p.timestamp)).collect();
        assert_eq!(kept, [(0, 1), (0, 1), (0, 2), (1, 2)]);
        assert_eq!(points[1].value, 6.0);
    }

    #[test]
    fn sampling_keeps_ntile_firsts_and_the_last_point() {
        let points: Vec<Metric> = (0..10).map(|i| m(i, 0, i as f64)).collect();
        let steps = |v: Vec<Metric>| v.iter().map(|p| p.step).collect::<Vec<_>>();
        // 10 rows in 4 buckets: 3, 3, 2, 2 -> firsts 0, 3, 6, 8; the last
        // point (9) in place of the last pick.
        assert_eq!(steps(sample_as_mlflow(points.clone(), 4)), [0, 3, 6, 9]);
        assert_eq!(steps(sample_as_mlflow(points.clone(), 1)), [9]);
        assert_eq!(steps(sample_as_mlflow(points, 20)).len(), 10);
    }
}
