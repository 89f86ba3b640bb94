//! `GET /ajax-api/2.0/runlog/follow?run_ids=..&keys=..&after=STEP`: the
//! points of the given runs' series logged after step `after`, pushed as
//! server-sent events while the connection stays open, so that a chart
//! appends what a training process logs without fetching its curves again.
//! Each event (`event: points`) is one JSON `{"series": [...]}` in the
//! columns of `runlog/series`, with only the points new since the last
//! event, and a comment every 15 s keeps proxies from closing a quiet
//! stream. A request error is one `event: failed` with MLflow's error
//! JSON, then the end of the stream.
//!
//! A stream reads histories only when one of its runs changed. One watcher
//! per server ([`watch`]) brings the store up to date when the server
//! itself wrote (a write request nudges it) and every [`LOOK_EVERY`] for
//! other processes' writers, compares the runs' change numbers, and wakes
//! the streams whose runs moved: an idle stream costs nothing, and a
//! hundred streams cost one look at the store. At most
//! [`Limits::max_streams`](crate::Limits) are open; past that a
//! stream is refused with 503.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Notify;

use crate::extract::ErrorResponse;
use crate::extract::Msg;
use crate::ui::{series_json, series_request};
use crate::{blocking, State};
use runlog::api::error::ApiError;
use runlog::api::message::{strings, Int};
use runlog::tracking::HistoryQuery;

/// How often the store is looked at for other processes' writes while
/// streams are open.
pub(crate) const LOOK_EVERY: Duration = Duration::from_millis(100);

/// Most points per series in one event (more are downsampled, extremes
/// kept: a chart shows them the same).
const MAX_POINTS_PER_EVENT: usize = 10_000;

/// One open stream, as the watcher sees it.
struct Follower {
    run_ids: Vec<String>,
    /// The change numbers of its runs as of its last read (`None` until
    /// its first read, which takes them itself).
    seen: Option<Vec<u64>>,
    /// The runs that changed since its last read.
    changed: HashSet<String>,
    wake: Arc<Notify>,
}

/// The open streams.
pub(crate) struct Followers {
    open: Mutex<HashMap<u64, Follower>>,
    next: AtomicU64,
    max: usize,
    /// Nudged by every write the server acknowledges.
    written: Notify,
    /// Nudged when a stream opens: the watcher sleeps while there is none.
    joined: Notify,
}

impl Followers {
    /// No stream open; at most `max` at once.
    pub(crate) fn new(max: usize) -> Followers {
        Followers {
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            max,
            written: Notify::new(),
            joined: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Follower>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells the watcher the store changed (a write was acknowledged).
    pub(crate) fn nudge(&self) {
        self.written.notify_one();
    }

    /// Opens a stream over `run_ids`; `None` at the cap.
    fn join(self: &Arc<Self>, run_ids: &[String]) -> Option<Membership> {
        let mut open = self.lock();
        if open.len() >= self.max {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let wake = Arc::new(Notify::new());
        open.insert(
            id,
            Follower {
                run_ids: run_ids.to_vec(),
                seen: None,
                changed: HashSet::new(),
                wake: Arc::clone(&wake),
            },
        );
        self.joined.notify_one();
        Some(Membership {
            followers: Arc::clone(self),
            id,
            wake,
        })
    }
}

impl Followers {
    /// A stream read its runs as of these change numbers.
    fn read_at(&self, id: u64, numbers: Vec<u64>) {
        if let Some(f) = self.lock().get_mut(&id) {
            f.seen = Some(numbers);
        }
    }

    /// The runs of a stream that changed since its last read (emptied).
    fn take_changed(&self, id: u64) -> HashSet<String> {
        self.lock()
            .get_mut(&id)
            .map(|f| std::mem::take(&mut f.changed))
            .unwrap_or_default()
    }
}

/// A stream's place among the followers, given up when dropped.
struct Membership {
    followers: Arc<Followers>,
    id: u64,
    wake: Arc<Notify>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.followers.lock().remove(&self.id);
    }
}

/// The watcher (see the module's documentation); ends with the server.
pub(crate) async fn watch(state: Arc<State>) {
    let mut stopping = state.stopping.subscribe();
    loop {
        if state.followers.lock().is_empty() {
            // Nothing to look for: no timer, no work until a stream opens.
            tokio::select! {
                _ = state.followers.joined.notified() => {}
                _ = stopping.changed() => return,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            _ = state.followers.written.notified() => {}
            _ = stopping.changed() => return,
        }
        let ids: Vec<String> = {
            let open = state.followers.lock();
            let mut ids: Vec<String> = open
                .values()
                .filter(|f| f.seen.is_some())
                .flat_map(|f| f.run_ids.clone())
                .collect();
            if ids.is_empty() {
                continue;
            }
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let st = Arc::clone(&state);
        let looked = ids.clone();
        let numbers = blocking(move || {
            let refs: Vec<&str> = looked.iter().map(String::as_str).collect();
            Ok(st.api.client().change_numbers(&refs)?)
        })
        .await;
        let Ok(numbers) = numbers else {
            // The store could not be read now: wake every stream, whose own
            // read reports the error to its client.
            state
                .followers
                .lock()
                .values()
                .for_each(|f| f.wake.notify_one());
            continue;
        };
        let by_id: HashMap<&str, u64> = ids.iter().map(String::as_str).zip(numbers).collect();
        for follower in state.followers.lock().values_mut() {
            let Some(seen) = &mut follower.seen else {
                continue; // its first read is under way
            };
            let mut moved = false;
            for (i, run) in follower.run_ids.iter().enumerate() {
                let now = by_id.get(run.as_str()).copied().unwrap_or(0);
                if seen.get(i) != Some(&now) {
                    if let Some(slot) = seen.get_mut(i) {
                        *slot = now;
                    }
                    follower.changed.insert(run.clone());
                    moved = true;
                }
            }
            if moved {
                follower.wake.notify_one();
            }
        }
    }
}

/// `runlog/follow`'s message: the runs and keys to follow, and the last
/// step the client has.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Follow {
    #[serde(deserialize_with = "strings")]
    run_ids: Vec<String>,
    #[serde(deserialize_with = "strings")]
    keys: Vec<String>,
    after: Option<Int>,
}

/// The stream of new points (see the module's documentation).
pub(crate) async fn follow(
    AxumState(state): AxumState<Arc<State>>,
    Msg(m): Msg<Follow>,
) -> Response {
    let (run_ids, keys) = match series_request(m.run_ids, m.keys) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let after = m.after.map_or(i64::MIN, |Int(n)| n);
    let Some(membership) = state.followers.join(&run_ids) else {
        return ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
            code: "TEMPORARILY_UNAVAILABLE",
            message: format!(
                "the server has {} event streams open, as many as it takes (--max-streams)",
                state.followers.max
            ),
        }
        .into_response();
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(4);
    let mut stopping = state.stopping.subscribe();
    tokio::spawn(async move {
        let membership = membership;
        // The last step sent of each series.
        let mut sent: HashMap<(String, String), i64> = HashMap::new();
        let mut first = true;
        loop {
            if !first {
                tokio::select! {
                    _ = membership.wake.notified() => {}
                    _ = tx.closed() => return,
                    _ = stopping.changed() => return, // the server is shutting down
                }
            }
            if *stopping.borrow() {
                return;
            }
            // The first read takes every run (what was logged after
            // `after`) and the change numbers it read at; later ones only
            // the runs that moved (all of them after a failed look).
            let changed = state.followers.take_changed(membership.id);
            let ids: Vec<String> = match first || changed.is_empty() {
                true => run_ids.clone(),
                false => run_ids
                    .iter()
                    .filter(|r| changed.contains(*r))
                    .cloned()
                    .collect(),
            };
            let (st, ks, seen, numbers_too) =
                (Arc::clone(&state), keys.clone(), sent.clone(), first);
            let found = blocking(move || {
                let numbers = match numbers_too {
                    true => {
                        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
                        Some(st.api.client().change_numbers(&refs)?)
                    }
                    false => None,
                };
                Ok((numbers, new_points(&st, &ids, &ks, after, &seen)?))
            })
            .await
            .map(|(numbers, points)| {
                if let Some(numbers) = numbers {
                    state.followers.read_at(membership.id, numbers);
                }
                points
            });
            first = false;
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
) -> Result<Vec<(String, String, Vec<runlog::Metric>)>, ApiError> {
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
        for (run_id, mut points) in s.api.client().get_metric_history_bulk(&ids, key, &query)? {
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
