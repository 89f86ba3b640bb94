//! The REST calls of a client connected to a tracking server: MLflow's
//! endpoints as MLflow's own client calls them, their answers read into
//! runlog's entities.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::Remote;
use crate::error::{Error, Result};
use crate::format::Record;
use crate::index::{downsample, HistoryQuery, MetricHistoryIter};
use crate::tracking::artifacts::FileInfo;
use crate::tracking::client::{Client, Fresh};
use crate::tracking::experiments::NewExperiment;
use crate::tracking::mlflow_json;
use crate::tracking::model::{Experiment, Metric, Run, ViewType};
use crate::tracking::runs::NewRun;
use crate::tracking::search::{Page, SearchExperiments, SearchRuns};
use crate::validation::{validate_experiment_name, validate_experiment_tag};

pub(crate) fn create_experiment(r: &dyn Remote, e: &NewExperiment) -> Result<String> {
    validate_experiment_name(&e.name)?;
    for (k, v) in &e.tags {
        validate_experiment_tag(k, v)?;
    }
    let mut body = json!({"name": e.name, "tags": key_values(e.tags.iter().map(|(k, v)| (k, v)))});
    if let Some(location) = &e.artifact_location {
        body["artifact_location"] = location.clone().into();
    } else if let Some(root) = &e.artifact_root {
        body["artifact_location"] = format!("file://{}", root.display()).into();
    }
    let answer = r.post("experiments/create", &body)?;
    field(&answer, "experiment_id")
}

pub(crate) fn get_experiment(r: &dyn Remote, id: &str) -> Result<Experiment> {
    let answer = r.get("experiments/get", &[("experiment_id", id)])?;
    mlflow_json::experiment_from(&answer["experiment"])
}

pub(crate) fn get_experiment_by_name(r: &dyn Remote, name: &str) -> Result<Option<Experiment>> {
    match r.get("experiments/get-by-name", &[("experiment_name", name)]) {
        Ok(answer) => mlflow_json::experiment_from(&answer["experiment"]).map(Some),
        Err(err) if err.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn search_experiments(
    r: &dyn Remote,
    q: &SearchExperiments,
) -> Result<Page<Experiment>> {
    let mut body = json!({"view_type": view_name(q.view)});
    search_fields(
        &mut body,
        q.max_results,
        &q.order_by,
        &q.filter,
        &q.page_token,
    );
    search_page(
        r,
        "experiments/search",
        &body,
        "experiments",
        mlflow_json::experiment_from,
    )
}

pub(crate) fn create_run(client: &Client, r: &dyn Remote, run: &NewRun) -> Result<Run> {
    let mut tags = BTreeMap::new();
    for (key, value) in &run.tags {
        let value = crate::tracking::tags::check_user_tag(key, value)?;
        tags.insert(key.clone(), value.into_owned());
    }
    let user = match &run.user_id {
        Some(user) => user.clone(),
        None => tags
            .get(crate::context::TAG_USER)
            .cloned()
            .unwrap_or_else(crate::context::current_user),
    };
    let mut body = json!({
        "experiment_id": run.experiment_id,
        "user_id": user,
        "start_time": run.start_time.unwrap_or_else(crate::clock::wall_clock_ms),
        "tags": key_values(&tags),
    });
    if let Some(name) = &run.run_name {
        body["run_name"] = name.clone().into();
    }
    let answer = r.post("runs/create", &body)?;
    let created = mlflow_json::run_from(&answer["run"])?;
    client.spool_run(r, &created)?;
    Ok(created)
}

pub(crate) fn get_run(r: &dyn Remote, run_id: &str) -> Result<Run> {
    crate::validation::validate_run_id(run_id)?;
    let answer = r.get("runs/get", &[("run_id", run_id)])?;
    mlflow_json::run_from(&answer["run"])
}

pub(crate) fn search_runs(r: &dyn Remote, q: &SearchRuns) -> Result<Page<Run>> {
    let mut body = json!({
        "experiment_ids": q.experiment_ids,
        "run_view_type": view_name(q.view),
    });
    search_fields(
        &mut body,
        q.max_results,
        &q.order_by,
        &q.filter,
        &q.page_token,
    );
    search_page(r, "runs/search", &body, "runs", mlflow_json::run_from)
}

/// Every run of an experiment in `view`, page after page.
pub(crate) fn list_runs(r: &dyn Remote, experiment_id: &str, view: ViewType) -> Result<Vec<Run>> {
    get_experiment(r, experiment_id)?;
    let mut query = SearchRuns::new(&[experiment_id]).view(view);
    let mut runs = Vec::new();
    loop {
        let page = search_runs(r, &query)?;
        runs.extend(page.items);
        match page.next_page_token {
            Some(t) => query = query.page_token(t),
            None => return Ok(runs),
        }
    }
}

/// Deletes or restores a run on the server, and in the spool (whose
/// background sync then stops, or resumes, syncing it).
pub(crate) fn run_call(client: &Client, r: &dyn Remote, run_id: &str, delete: bool) -> Result<()> {
    crate::validation::validate_run_id(run_id)?;
    let endpoint = if delete {
        "runs/delete"
    } else {
        "runs/restore"
    };
    r.post(endpoint, &json!({"run_id": run_id}))?;
    let spool = client.spool();
    if spool.view(Fresh::Now)?.state.run(run_id).is_some() {
        let time = crate::clock::wall_clock_ms();
        spool.append(&match delete {
            true => Record::DeleteRun { run_id, time },
            false => Record::RestoreRun { run_id, time },
        })?;
        spool.flush()?;
    }
    Ok(())
}

/// A metric history as the server has it (every page), in step order,
/// then cut and downsampled as `query` asks.
pub(crate) fn metric_history(
    r: &dyn Remote,
    run_id: &str,
    key: &str,
    query: &HistoryQuery,
) -> Result<Vec<Metric>> {
    query.check()?;
    let points = server_history(r, run_id, key, query)?;
    Ok(match query.max_points {
        Some(n) => downsample(&points, n),
        None => points,
    })
}

/// [`metric_history`] as a stream (read whole from the server first).
pub(crate) fn metric_history_iter(
    r: &dyn Remote,
    run_id: &str,
    key: &str,
    query: &HistoryQuery,
) -> Result<MetricHistoryIter> {
    let points = server_history(r, run_id, key, query)?;
    let series = (run_id.into(), key.into());
    Ok(MetricHistoryIter::new(&[], points, series, query))
}

fn server_history(
    r: &dyn Remote,
    run_id: &str,
    key: &str,
    query: &HistoryQuery,
) -> Result<Vec<Metric>> {
    crate::validation::validate_run_id(run_id)?;
    let mut points = Vec::new();
    for m in history_pages(&mut |q| r.get("metrics/get-history", q), run_id, key)? {
        let (_, point) = mlflow_json::metric_from(&m)?;
        let in_steps = query.steps.as_ref().is_none_or(|s| s.contains(&point.step));
        let in_times = query
            .timestamps
            .as_ref()
            .is_none_or(|t| t.contains(&point.timestamp));
        if in_steps && in_times {
            points.push(point);
        }
    }
    // History order, as a local store gives it: by step, then time.
    points.sort_by_key(|m| (m.step, m.timestamp));
    Ok(points)
}

/// A GET of the server with a query, as [`history_pages`] makes it.
pub(crate) type GetRequest<'a> = dyn FnMut(&[(&str, &str)]) -> Result<Value> + 'a;

/// Every point of a metric as the server sends it (`metrics/get-history`,
/// 25,000 a page, the pages followed): `get` makes the request with the
/// query it is given.
pub(crate) fn history_pages(
    get: &mut GetRequest<'_>,
    run_id: &str,
    key: &str,
) -> Result<Vec<Value>> {
    let mut points = Vec::new();
    let mut page_token = String::new();
    loop {
        let mut q = vec![
            ("run_id", run_id),
            ("metric_key", key),
            ("max_results", "25000"),
        ];
        if !page_token.is_empty() {
            q.push(("page_token", &page_token));
        }
        let page = get(&q)?;
        if let Some(Value::Array(m)) = page.get("metrics") {
            points.extend(m.iter().cloned());
        }
        match token(&page) {
            Some(t) => page_token = t,
            None => return Ok(points),
        }
    }
}

/// The files and directories directly under `path` of a run's artifacts.
pub(crate) fn list_artifacts(
    r: &dyn Remote,
    run_id: &str,
    path: Option<&str>,
) -> Result<Vec<FileInfo>> {
    crate::validation::validate_run_id(run_id)?;
    let mut query = vec![("run_id", run_id)];
    if let Some(p) = path {
        query.push(("path", p));
    }
    let answer = r.get("artifacts/list", &query)?;
    let mut files: Vec<FileInfo> = answer["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            Some(FileInfo {
                path: f["path"].as_str()?.to_owned(),
                is_dir: f["is_dir"].as_bool().unwrap_or(false),
                file_size: f["file_size"]
                    .as_u64()
                    .or_else(|| f["file_size"].as_str().and_then(|s| s.parse().ok())),
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Copies a run's artifact (a file, or a directory and everything under
/// it) from the server into `dst_dir`; returns the local path.
pub(crate) fn download_artifacts(
    r: &dyn Remote,
    run_id: &str,
    path: Option<&str>,
    dst_dir: &std::path::Path,
) -> Result<std::path::PathBuf> {
    let run = get_run(r, run_id)?;
    let base = proxied_path(&run.info.artifact_uri).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "run {run_id}'s artifacts are at {:?}, which this client cannot read: only the \
             server's proxied artifact store (mlflow-artifacts:) and local paths are supported",
            run.info.artifact_uri
        ))
    })?;
    let rel = path
        .map(|p| p.trim_matches('/').to_owned())
        .unwrap_or_default();
    let listed = list_artifacts(r, run_id, path)?;
    // A file lists as nothing under itself (or as itself).
    let is_file = !rel.is_empty() && listed.iter().all(|f| f.path == rel && !f.is_dir);
    let target = match rel.rsplit('/').next() {
        Some(name) if !rel.is_empty() => dst_dir.join(name),
        _ => dst_dir.to_owned(),
    };
    if is_file {
        fetch_file(r, &base, &rel, &target)?;
        return Ok(target);
    }
    let mut stack = vec![(rel, target.clone())];
    while let Some((dir, local)) = stack.pop() {
        std::fs::create_dir_all(&local).map_err(|e| Error::io("create directory", &local, e))?;
        let at = (!dir.is_empty()).then_some(dir.as_str());
        for f in list_artifacts(r, run_id, at)? {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path).to_owned();
            if f.is_dir {
                stack.push((f.path.clone(), local.join(&name)));
            } else {
                fetch_file(r, &base, &f.path, &local.join(&name))?;
            }
        }
    }
    Ok(target)
}

fn fetch_file(r: &dyn Remote, base: &str, rel: &str, to: &std::path::Path) -> Result<()> {
    let path = if base.is_empty() {
        rel.to_owned()
    } else {
        format!("{base}/{rel}")
    };
    let bytes = r.download_artifact(&path)?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create directory", parent, e))?;
    }
    Ok(crate::fs_util::write_atomic(to, &bytes)?)
}

/// The path inside the server's proxied artifact store of an
/// `mlflow-artifacts:` URI (`mlflow-artifacts:/p` or
/// `mlflow-artifacts://host:port/p`).
pub(crate) fn proxied_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    let rest = match rest.strip_prefix("//") {
        Some(after) => after.find('/').map_or("", |i| &after[i..]),
        None => rest,
    };
    Some(rest.trim_matches('/').to_owned())
}

/// The fields both searches share: `max_results`, `order_by`, and
/// `filter` and `page_token` when given.
fn search_fields(
    body: &mut Value,
    max_results: usize,
    order_by: &[String],
    filter: &str,
    page_token: &Option<String>,
) {
    body["max_results"] = max_results.into();
    body["order_by"] = order_by.into();
    if !filter.is_empty() {
        body["filter"] = filter.into();
    }
    if let Some(t) = page_token {
        body["page_token"] = t.clone().into();
    }
}

fn view_name(view: ViewType) -> &'static str {
    match view {
        ViewType::ActiveOnly => "ACTIVE_ONLY",
        ViewType::DeletedOnly => "DELETED_ONLY",
        ViewType::All => "ALL",
    }
}

fn key_values<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    mlflow_json::key_values(pairs.into_iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn field(v: &Value, name: &str) -> Result<String> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::Remote(format!("the server's answer has no {name:?}: {v}")))
}

fn token(page: &Value) -> Option<String> {
    page["next_page_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// One page of a search: `body` posted to `endpoint`, the items of the
/// answer's `field` read by `read`, and the next page's token.
fn search_page<T>(
    r: &dyn Remote,
    endpoint: &str,
    body: &Value,
    field: &str,
    read: fn(&Value) -> Result<T>,
) -> Result<Page<T>> {
    let answer = r.post(endpoint, body)?;
    let items = answer[field]
        .as_array()
        .into_iter()
        .flatten()
        .map(read)
        .collect::<Result<_>>()?;
    Ok(Page {
        items,
        next_page_token: token(&answer),
    })
}
