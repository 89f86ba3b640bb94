//! `GET /ajax-api/2.0/runlog/follow?run_ids=..&keys=..&after=STEP`: the
//! points of the given runs' series logged after step `after`, pushed as
//! server-sent events while the connection stays open, so that a chart
//! appends what a training process logs without fetching its curves again.
//! Each event (`event: points`) is one JSON `{"series": [...]}` in the
//! columns of `runlog/series`, with only the points new since the last
//! event; the store is looked at every [`LOOK_EVERY`] (its writers are
//! other processes: there is nothing to wait on), and a comment every
//! 15 s keeps proxies from closing a quiet stream. A request error is one
//! `event: failed` with MLflow's error JSON, then the end of the stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::server::error::ApiError;
use crate::server::request::Fields;
use crate::server::ui::{series_json, series_request};
use crate::server::{blocking, State};
use crate::tracking::HistoryQuery;

/// How often the store is looked at for new points.
pub(crate) const LOOK_EVERY: Duration = Duration::from_millis(100);

/// Most points per series in one event (more are downsampled, extremes
/// kept: a chart shows them the same).
const MAX_POINTS_PER_EVENT: usize = 10_000;

/// The stream of new points (see the module's documentation).
pub(crate) async fn follow(state: Arc<State>, query: &str) -> Response {
    let request = Fields::from_query(query).and_then(|f| {
        let (run_ids, keys) = series_request(&f)?;
        let after = f.opt_i64("after")?.unwrap_or(i64::MIN);
        Ok((run_ids, keys, after))
    });
    let (run_ids, keys, after) = match request {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(4);
    let mut stopping = state.stopping.subscribe();
    tokio::spawn(async move {
        // The last step sent of each series.
        let mut sent: HashMap<(String, String), i64> = HashMap::new();
        loop {
            if *stopping.borrow() {
                return;
            }
            let (st, ids, ks, seen) = (
                Arc::clone(&state),
                run_ids.clone(),
                keys.clone(),
                sent.clone(),
            );
            let found = blocking(move || new_points(&st, &ids, &ks, after, &seen)).await;
            let event = match found {
                Ok(new) if new.is_empty() => None,
                Ok(new) => {
                    let mut series = Vec::with_capacity(new.len());
                    for (run_id, key, points) in new {
                        if let Some(last) = points.last() {
                            sent.insert((run_id.clone(), key.clone()), last.step);
                        }
                        series.push(series_json(&run_id, &key, &points));
                    }
                    Some(
                        Event::default()
                            .event("points")
                            .data(json!({"series": series}).to_string()),
                    )
                }
                Err(e) => {
                    let body = json!({"error_code": e.code, "message": e.message});
                    let _ = tx
                        .send(Event::default().event("failed").data(body.to_string()))
                        .await;
                    return;
                }
            };
            if let Some(event) = event {
                if tx.send(event).await.is_err() {
                    return; // the client went away
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(LOOK_EVERY) => {}
                _ = tx.closed() => return,
                _ = stopping.changed() => return, // the server is shutting down
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The points of each (run, key) after the last step sent of it (or
/// `after` for one not sent yet), in step order.
fn new_points(
    s: &State,
    run_ids: &[String],
    keys: &[String],
    after: i64,
    sent: &HashMap<(String, String), i64>,
) -> Result<Vec<(String, String, Vec<crate::Metric>)>, ApiError> {
    let ids: Vec<&str> = run_ids.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for key in keys {
        let from = run_ids
            .iter()
            .map(|r| {
                sent.get(&(r.clone(), key.clone()))
                    .copied()
                    .unwrap_or(after)
            })
            .min()
            .unwrap_or(after);
        let Some(first) = from.checked_add(1) else {
            continue; // nothing comes after i64::MAX
        };
        let query = HistoryQuery::new()
            .steps(first..=i64::MAX)
            .max_points(MAX_POINTS_PER_EVENT);
        for (run_id, mut points) in s.client.get_metric_history_bulk(&ids, key, &query)? {
            let last = sent
                .get(&(run_id.clone(), key.clone()))
                .copied()
                .unwrap_or(after);
            points.retain(|m| m.step > last);
            if !points.is_empty() {
                out.push((run_id, key.clone(), points));
            }
        }
    }
    Ok(out)
}
