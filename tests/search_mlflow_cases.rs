#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! Filter and `order_by` cases run through MLflow 3.17's SQL store and
//! through runlog, over the same three runs: each must give the same runs
//! in the same order, or be refused by both.
//!
//! The cases are MLflow's own (`tests/utils/test_search_utils.py` and the
//! SQL store's search tests) plus the aliases, quotes and case rules found
//! by running both. `tests/mlflow/search_expected.jsonl` holds MLflow's
//! answers; `tests/mlflow/search_cases.py` writes it again from the two
//! case lists beside it (`python search_cases.py search_filters.txt
//! search_order_by.txt > search_expected.jsonl`, with `mlflow` installed).

use runlog::NewRun;
use runlog::{Batch, Client, RunStatus, SearchRuns};
use serde_json::Value;

/// The runs of `search_cases.py`, logged the same way.
fn three_runs(c: &Client) -> String {
    let exp = c.create_experiment("cases").unwrap();
    type Run<'a> = (
        &'a str,
        RunStatus,
        i64,
        &'a [(&'a str, f64)],
        &'a [(&'a str, &'a str)],
        &'a [(&'a str, &'a str)],
    );
    let runs: [Run; 3] = [
        (
            "alpha",
            RunStatus::Failed,
            1000,
            &[("key1", 121.0), ("spacey name", 1.0), ("acc", f64::NAN)],
            &[("my_param", "A"), ("m", "L'Hosp")],
            &[("source_name", "a notebook")],
        ),
        (
            "beta",
            RunStatus::Finished,
            2000,
            &[("key1", 123.0), ("acc", 0.5)],
            &[("my_param", "A"), ("m", "L''Hosp")],
            &[("tag1", "C")],
        ),
        (
            "gamma",
            RunStatus::Finished,
            3000,
            &[("key1", 125.0)],
            &[("my_param", "B")],
            &[("tag1", "D"), ("t.a.g", "a")],
        ),
    ];
    for (name, status, start, metrics, params, tags) in runs {
        let id = c
            .create_run(NewRun::new(&exp).run_name(name).start_time(start))
            .unwrap()
            .info
            .run_id;
        let mut batch = Batch::new();
        for (k, v) in metrics {
            batch = batch.metric_at(*k, *v, 1, 0);
        }
        for (k, v) in params {
            batch = batch.param(*k, v);
        }
        for (k, v) in tags {
            batch = batch.tag(*k, *v);
        }
        c.log_batch(&id, &batch).unwrap();
        c.set_terminated_at(&id, status, start + 500).unwrap();
    }
    exp
}

#[test]
fn filters_and_order_by_agree_with_mlflow() {
    let dir = tempfile::tempdir().unwrap();
    let c = Client::builder().store(dir.path()).open().unwrap();
    let exp = three_runs(&c);
    let cases = include_str!("mlflow/search_expected.jsonl");
    let mut disagree = Vec::new();
    let mut count = 0;
    for line in cases.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let mut query = SearchRuns::new(&[&exp]);
        let what = if let Some(f) = case.get("filter") {
            query = query.filter(f.as_str().unwrap());
            format!("filter {f}")
        } else {
            let items: Vec<String> = case["order_by"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            let what = format!("order_by {items:?}");
            for item in items {
                query = query.order_by(item);
            }
            what
        };
        let ours = match c.search_runs(&query) {
            Ok(page) => Value::from(
                page.items
                    .iter()
                    .map(|r| r.info.run_name.clone())
                    .collect::<Vec<_>>(),
            ),
            Err(e) => Value::from(format!("error: {e}")),
        };
        let mlflow = &case["result"];
        let same = match (mlflow.as_str(), ours.as_str()) {
            (Some("error"), Some(ours)) => ours.starts_with("error"),
            _ => *mlflow == ours,
        };
        if !same {
            disagree.push(format!("{what}: MLflow {mlflow}, runlog {ours}"));
        }
        count += 1;
    }
    assert!(count > 150, "{count} cases");
    assert!(
        disagree.is_empty(),
        "{} of {count} cases disagree:\n{}",
        disagree.len(),
        disagree.join("\n")
    );
}
