//! The JSON endpoints of the dashboard, where MLflow's API has no
//! equivalent (`/ajax-api/2.0/runlog/...`, documented in the README):
//! experiments with their run counts, and the downsampled series of several
//! runs and keys in one request.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::State;
use runlog::api::error::ApiError;
use runlog::api::message::{step_range, strings, view_type, Int};
use runlog::tracking::{HistoryQuery, SearchExperiments, ViewType, MAX_RESULTS_LIMIT};
use runlog::RunStatus;

/// Most runs, and most keys, in one `series` request.
pub(crate) const MAX_SERIES_RUNS: usize = 100;
pub(crate) const MAX_SERIES_KEYS: usize = 100;

/// Most points per series (a chart a few thousand pixels wide, two points
/// per pixel column), and the default.
pub(crate) const MAX_SERIES_POINTS: i64 = 10_000;
const DEFAULT_SERIES_POINTS: i64 = 1_000;

/// `runlog/experiments`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListExperiments {
    view_type: Option<String>,
}

/// `GET runlog/experiments?view_type=`: every experiment with its run count,
/// how many runs are RUNNING, and its last activity (the latest of its
/// update time, its runs' start and end times and the times of their
/// latest metric points), most recent first.
pub fn experiments(s: &State, m: ListExperiments) -> Result<Value, ApiError> {
    let view = view_type("view_type", m.view_type.as_deref())?;
    let mut query = SearchExperiments::new()
        .view(view)
        .max_results(MAX_RESULTS_LIMIT);
    let mut experiments = Vec::new();
    loop {
        let page = s.api.client().search_experiments(query.clone())?;
        experiments.extend(page.items);
        match page.next_page_token {
            Some(token) => query = query.page_token(token),
            None => break,
        }
    }
    let mut out = Vec::with_capacity(experiments.len());
    for e in &experiments {
        let runs = s
            .api
            .client()
            .list_runs(&e.experiment_id, ViewType::ActiveOnly)?;
        let running = runs
            .iter()
            .filter(|r| r.info.status == RunStatus::Running)
            .count();
        // A run that is logging is active now, not when it started.
        let last_activity = runs
            .iter()
            .flat_map(|r| {
                let logged = r.data.metrics.values().map(|m| m.timestamp);
                logged.chain([r.info.end_time.unwrap_or(r.info.start_time)])
            })
            .chain([e.last_update_time])
            .max()
            .unwrap_or(e.last_update_time);
        let mut json = s.api.experiment_json(e);
        json["run_count"] = json!(runs.len());
        json["running"] = json!(running);
        json["last_activity"] = json!(last_activity);
        out.push((last_activity, json));
    }
    out.sort_by_key(|(last, _)| std::cmp::Reverse(*last));
    Ok(json!({"experiments": out.into_iter().map(|(_, e)| e).collect::<Vec<_>>()}))
}

/// `runlog/series`'s message.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Series {
    #[serde(deserialize_with = "strings")]
    run_ids: Vec<String>,
    #[serde(deserialize_with = "strings")]
    keys: Vec<String>,
    max_points: Option<Int>,
    start_step: Option<Int>,
    end_step: Option<Int>,
}

/// `POST runlog/series` `{"run_ids": [..], "keys": [..], "max_points": n,
/// "start_step": a, "end_step": b}`: for every run and key, the history
/// downsampled to at most `max_points` points (each bucket's extremes
/// kept, so spikes stay visible; default 1,000, most 10,000), optionally
/// only steps `a..=b`, as columns: `{"series": [{"run_id", "key", "step":
/// [..], "timestamp": [..], "value": [..]}]}`, a non-finite value as
/// `null` (a gap in a chart). A run without the key has empty columns.
pub fn series(s: &State, m: Series) -> Result<Value, ApiError> {
    let (run_ids, keys) = series_request(m.run_ids, m.keys)?;
    let points = m.max_points.map_or(DEFAULT_SERIES_POINTS, |Int(n)| n);
    if !(2..=MAX_SERIES_POINTS).contains(&points) {
        return Err(ApiError::invalid(format!(
            "max_points must be between 2 and {MAX_SERIES_POINTS}, not {points}"
        )));
    }
    let mut query = HistoryQuery::new().max_points(points as usize);
    if let Some(steps) = step_range(m.start_step, m.end_step)? {
        query = query.steps(steps);
    }
    let ids: Vec<&str> = run_ids.iter().map(String::as_str).collect();
    let mut series = Vec::with_capacity(ids.len() * keys.len());
    for key in &keys {
        for (run_id, history) in s.api.client().get_metric_history_bulk(&ids, key, &query)? {
            series.push(series_json(&run_id, key, &history));
        }
    }
    Ok(json!({"series": series}))
}

/// The runs and keys of a series request, checked (both given, at most
/// [`MAX_SERIES_RUNS`] and [`MAX_SERIES_KEYS`]).
pub(crate) fn series_request(
    run_ids: Vec<String>,
    keys: Vec<String>,
) -> Result<(Vec<String>, Vec<String>), ApiError> {
    if run_ids.is_empty() || keys.is_empty() {
        return Err(runlog::api::request::missing(if run_ids.is_empty() {
            "run_ids"
        } else {
            "keys"
        }));
    }
    if run_ids.len() > MAX_SERIES_RUNS || keys.len() > MAX_SERIES_KEYS {
        return Err(ApiError::invalid(format!(
            "a series request takes at most {MAX_SERIES_RUNS} run_ids and {MAX_SERIES_KEYS} \
             keys; it has {} and {}",
            run_ids.len(),
            keys.len()
        )));
    }
    Ok((run_ids, keys))
}

/// One series as columns: `{"run_id", "key", "step": [..], "timestamp":
/// [..], "value": [..]}`, a non-finite value as `null`.
pub(crate) fn series_json(run_id: &str, key: &str, points: &[runlog::Metric]) -> Value {
    let value: Vec<Value> = points
        .iter()
        .map(|m| match m.value {
            v if v.is_finite() => json!(v),
            _ => Value::Null,
        })
        .collect();
    json!({
        "run_id": run_id,
        "key": key,
        "step": points.iter().map(|m| m.step).collect::<Vec<_>>(),
        "timestamp": points.iter().map(|m| m.timestamp).collect::<Vec<_>>(),
        "value": value,
    })
}
