#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]
//! `runlog server` under load and under SIGKILL: 64 clients at once while
//! another process logs into the same store through the library, and every
//! write acknowledged with a 200 still there after the server is killed.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{http_agent as agent, ServerProcess};
use runlog::{Client, NewRun};
use serde_json::{json, Value};

fn post(agent: &ureq::Agent, url: &str, body: &Value) -> Result<(u16, Value), ureq::Error> {
    let mut r = agent.post(url).send_json(body)?;
    let status = r.status().as_u16();
    Ok((status, r.body_mut().read_json().unwrap_or(Value::Null)))
}

/// A server on a new store (with `flags`) and a run created through it:
/// the store's directory (kept while the first item lives), its path, the
/// server, the API's base URL and the run id.
fn server_with_a_run(
    flags: &[&str],
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    ServerProcess,
    String,
    String,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let server = ServerProcess::start(&store, flags);
    let api = format!("{}/api/2.0/mlflow", server.url);
    let body = json!({"experiment_id": "0"});
    let (_, run) = post(&agent(), &format!("{api}/runs/create"), &body).unwrap();
    let id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
    (dir, store, server, api, id)
}

/// `threads` clients logging batches of 100 points to `run` without pause
/// until the server stops answering; the steps answered 200 go in `acked`.
fn log_until_refused(
    api: &str,
    run: &str,
    threads: usize,
    acked: &Arc<Mutex<BTreeSet<i64>>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|t| {
            let (api, run, acked) = (api.to_owned(), run.to_owned(), Arc::clone(acked));
            std::thread::spawn(move || {
                let a = agent();
                for batch in 0.. {
                    let base = (t * 1_000_000 + batch * 100) as i64;
                    let metrics: Vec<Value> = (0..100)
                        .map(
                            |i| json!({"key": "m", "value": 1.0, "timestamp": 1, "step": base + i}),
                        )
                        .collect();
                    let body = json!({"run_id": run, "metrics": metrics});
                    match post(&a, &format!("{api}/runs/log-batch"), &body) {
                        Ok((200, _)) => acked.lock().unwrap().extend(base..base + 100),
                        _ => return, // the server is gone
                    }
                }
            })
        })
        .collect()
}

#[test]
fn sixty_four_clients_and_a_library_writer_share_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut server = ServerProcess::start(&store, &[]);
    let api = format!("{}/api/2.0/mlflow", server.url);
    // This process logs through the library meanwhile.
    let library = Client::builder().store(&store).open().unwrap();
    let mine = library
        .create_run(NewRun::new("0").run_name("library"))
        .unwrap()
        .info
        .run_id;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let mine = mine.clone();
        std::thread::spawn(move || {
            let mut step = 0;
            while !stop.load(Ordering::Relaxed) {
                library.log_metric(&mine, "lib", 1.0, step).unwrap();
                step += 1;
                if step % 100 == 0 {
                    library.flush().unwrap();
                }
            }
            library.flush().unwrap();
            step
        })
    };
    let clients: Vec<_> = (0..64)
        .map(|i| {
            let api = api.clone();
            std::thread::spawn(move || {
                let a = agent();
                let (status, run) = post(&a, &format!("{api}/runs/create"), &json!({"experiment_id": "0", "run_name": format!("c{i}")})).unwrap();
                assert_eq!(status, 200, "{run}");
                let id = run["run"]["info"]["run_id"].as_str().unwrap().to_owned();
                for step in 0..20 {
                    let body = json!({"run_id": id, "key": "m", "value": step, "timestamp": 1, "step": step});
                    let (status, answer) = post(&a, &format!("{api}/runs/log-metric"), &body).unwrap();
                    assert_eq!(status, 200, "{answer}");
                }
                id
            })
        })
        .collect();
    let ids: Vec<String> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    let lib_points = writer.join().unwrap();
    // Each sees the other's writes: the server the library's run, the
    // library every client's.
    let a = agent();
    let mut r = a
        .get(&format!("{api}/metrics/get-history"))
        .query("run_id", &mine)
        .query("metric_key", "lib")
        .call()
        .unwrap();
    let history: Value = r.body_mut().read_json().unwrap();
    assert_eq!(
        history["metrics"].as_array().unwrap().len(),
        lib_points as usize
    );
    assert!(server.stop().success());
    let c = Client::builder().store(&store).read_only().open().unwrap();
    for id in &ids {
        assert_eq!(c.get_metric_history(id, "m").unwrap().len(), 20, "{id}");
    }
    assert_eq!(c.list_runs("0", runlog::ViewType::All).unwrap().len(), 65);
}

/// A server killed with SIGKILL while clients log: every point of every
/// request answered 200 is in the store afterwards, each once.
#[test]
fn a_killed_server_keeps_every_acknowledged_write() {
    for trial in 0..3 {
        let (_dir, store, mut server, api, id) = server_with_a_run(&[]);
        let acked = Arc::new(Mutex::new(BTreeSet::new()));
        let senders = log_until_refused(&api, &id, 4, &acked);
        std::thread::sleep(std::time::Duration::from_millis(150 + 100 * trial));
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        for s in senders {
            s.join().unwrap();
        }
        let acked = acked.lock().unwrap().clone();
        assert!(
            acked.len() >= 100,
            "trial {trial}: some writes were acknowledged"
        );
        let c = Client::builder().store(&store).open().unwrap();
        let history = c.get_metric_history(&id, "m").unwrap();
        let steps: Vec<i64> = history.iter().map(|m| m.step).collect();
        let unique: BTreeSet<i64> = steps.iter().copied().collect();
        assert_eq!(unique.len(), steps.len(), "trial {trial}: no point twice");
        let lost: Vec<_> = acked.difference(&unique).take(5).collect();
        assert!(
            lost.is_empty(),
            "trial {trial}: acknowledged but lost: {lost:?}"
        );
    }
}

/// SIGTERM while clients log without pause (so that requests are in
/// flight when it lands): the server exits 0, and every batch it answered
/// 200 is in the store.
#[test]
fn sigterm_finishes_requests_in_flight_and_exits_zero() {
    let (_dir, store, mut server, api, id) = server_with_a_run(&["--workers", "2"]);
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let senders = log_until_refused(&api, &id, 8, &acked);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = server.stop();
    assert!(status.success(), "exit 0 on SIGTERM: {status:?}");
    for s in senders {
        s.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 100, "writes were answered before the signal");
    let c = Client::builder().store(&store).read_only().open().unwrap();
    let steps: BTreeSet<i64> = c
        .get_metric_history(&id, "m")
        .unwrap()
        .iter()
        .map(|m| m.step)
        .collect();
    let lost: Vec<_> = acked.difference(&steps).take(5).collect();
    assert!(lost.is_empty(), "answered 200 but not stored: {lost:?}");
}

/// A server killed with SIGKILL while clients create logged models (100
/// params and 20 tags each) and register versions of them: every model and
/// version answered 200 is there afterwards, and every model or version
/// there is whole (all its params and tags: a creation is one record), and
/// version numbers are never given twice.
#[test]
fn a_killed_server_keeps_models_and_versions_whole() {
    for trial in 0..3 {
        let (_dir, store, mut server, api, _run) = server_with_a_run(&[]);
        let a = agent();
        post(
            &a,
            &format!("{api}/registered-models/create"),
            &json!({"name": "m"}),
        )
        .unwrap();
        let acked_models = Arc::new(Mutex::new(Vec::<String>::new()));
        let acked_versions = Arc::new(Mutex::new(Vec::<i64>::new()));
        let senders: Vec<_> = (0..4)
            .map(|t| {
                let (api, models, versions) = (
                    api.clone(),
                    Arc::clone(&acked_models),
                    Arc::clone(&acked_versions),
                );
                std::thread::spawn(move || {
                    let a = agent();
                    for i in 0.. {
                        let params: Vec<Value> = (0..100)
                            .map(|p| json!({"key": format!("p{p}"), "value": format!("{t}-{i}-{p}")}))
                            .collect();
                        let tags: Vec<Value> = (0..20)
                            .map(|p| json!({"key": format!("t{p}"), "value": "x"}))
                            .collect();
                        let body = json!({"experiment_id": "0", "params": params, "tags": tags});
                        let id = match post(&a, &format!("{api}/logged-models"), &body) {
                            Ok((200, v)) => v["model"]["info"]["model_id"].as_str().unwrap().to_owned(),
                            _ => return,
                        };
                        models.lock().unwrap().push(id.clone());
                        let body = json!({"name": "m", "source": format!("models:/{id}"),
                            "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]});
                        match post(&a, &format!("{api}/model-versions/create"), &body) {
                            Ok((200, v)) => versions.lock().unwrap().push(
                                v["model_version"]["version"].as_str().unwrap().parse().unwrap(),
                            ),
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(300 + 150 * trial));
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        for s in senders {
            s.join().unwrap();
        }
        let acked_models = acked_models.lock().unwrap().clone();
        let acked_versions = acked_versions.lock().unwrap().clone();
        assert!(!acked_models.is_empty(), "trial {trial}: models were made");
        let c = Client::builder().store(&store).open().unwrap();
        for id in &acked_models {
            assert!(c.get_logged_model(id).is_ok(), "trial {trial}: {id} lost");
        }
        let all = c
            .search_logged_models(&runlog::SearchModels {
                experiment_ids: vec!["0".into()],
                max_results: Some(50_000),
                ..Default::default()
            })
            .unwrap();
        for m in all.iter() {
            assert_eq!(m.params.len(), 100, "trial {trial}: {} whole", m.model_id);
            // Its own 20, and the server's note of its versions.
            let own = m
                .tags
                .keys()
                .filter(|k| *k != "mlflow.modelVersions")
                .count();
            assert_eq!(own, 20, "trial {trial}: {} whole", m.model_id);
        }
        let versions = c
            .search_model_versions(&runlog::tracking::SearchRegistry {
                filter: "name = 'm'".into(),
                ..Default::default()
            })
            .unwrap();
        let numbers: BTreeSet<i64> = versions.iter().map(|v| v.version).collect();
        assert_eq!(
            numbers.len(),
            versions.len(),
            "trial {trial}: a number once"
        );
        for v in versions.iter() {
            assert_eq!(
                v.tags.len(),
                2,
                "trial {trial}: version {} whole",
                v.version
            );
        }
        for n in &acked_versions {
            assert!(numbers.contains(n), "trial {trial}: version {n} lost");
        }
        // The store takes new versions after the crash, numbered on.
        let next = c
            .create_model_version(&runlog::tracking::NewModelVersion {
                name: "m".into(),
                source: "/x".into(),
                ..Default::default()
            })
            .unwrap();
        assert!(numbers.iter().all(|n| *n < next.version), "trial {trial}");
    }
}
