//! System metrics (`runlog::SystemMetrics`, `StartRun::log_system_metrics`
//! and MLflow's switches): MLflow's names, steps from 0, averaged samples,
//! the last samples logged when the run ends, and no sampling when a run
//! says no. One test per binary run sets MLflow's variables, so this file
//! has a single test.

#![allow(
    clippy::unwrap_used,
    reason = "tests unwrap: a failure is the test failing"
)]

use std::time::Duration;

use runlog::{Client, StartRun, SystemMetrics, SystemMetricsOptions};

const NAMES: [&str; 5] = [
    "cpu_utilization_percentage",
    "system_memory_usage_megabytes",
    "system_memory_usage_percentage",
    "network_receive_megabytes",
    "network_transmit_megabytes",
];

#[test]
fn system_metrics_are_sampled_into_runs_under_mlflows_names() {
    let dir = tempfile::tempdir().unwrap();
    let uri = dir.path().display().to_string();
    let client = Client::new(&uri).unwrap();

    // The client's monitor: every 30 ms, two samples a point.
    let run = client.create_run("0").unwrap().info.run_id;
    let options = SystemMetricsOptions {
        interval: Duration::from_millis(30),
        samples_before_logging: 2,
        node_id: None,
    };
    let monitor = SystemMetrics::start(&client, &run, options).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    monitor.stop();
    let got = client.get_run(&run).unwrap();
    for name in NAMES {
        let key = format!("system/{name}");
        assert!(got.data.metrics.contains_key(&key), "{key}: {got:?}");
        let history = client.get_metric_history(&run, &key).unwrap();
        let steps: Vec<i64> = history.iter().map(|m| m.step).collect();
        assert!(steps.len() >= 3, "{key}: {steps:?}");
        assert_eq!(steps, (0..steps.len() as i64).collect::<Vec<_>>(), "{key}");
    }
    let cpu = got.data.metrics["system/cpu_utilization_percentage"].value;
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");
    let memory = got.data.metrics["system/system_memory_usage_percentage"].value;
    assert!(memory > 0.0 && memory <= 100.0, "{memory}");

    // The fluent API, switched on by MLflow's variables, with a node name.
    std::env::set_var("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "true");
    std::env::set_var("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.03");
    std::env::set_var("MLFLOW_SYSTEM_METRICS_NODE_ID", "node0");
    runlog::set_tracking_uri(&uri).unwrap();
    let sampled = runlog::start_run().unwrap();
    let sampled_id = sampled.run_id().to_owned();
    std::thread::sleep(Duration::from_millis(200));
    runlog::end_run().unwrap();
    let quiet = runlog::start_run_with(StartRun::new().log_system_metrics(false)).unwrap();
    let quiet_id = quiet.run_id().to_owned();
    std::thread::sleep(Duration::from_millis(100));
    runlog::end_run().unwrap();
    // A bad value is refused, naming the variable, before a run is made.
    let runs = || {
        client
            .search_runs(&runlog::SearchRuns::new(&["0"]))
            .unwrap()
            .len()
    };
    let before = runs();
    std::env::set_var("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "soon");
    let err = runlog::start_run().unwrap_err();
    assert!(
        err.to_string()
            .contains("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"),
        "{err}"
    );
    assert_eq!(runs(), before, "no run left behind");
    assert!(runlog::active_run().unwrap().is_none());

    let sampled = client.get_run(&sampled_id).unwrap();
    for name in NAMES {
        assert!(
            sampled
                .data
                .metrics
                .contains_key(&format!("system/node0/{name}")),
            "{name}: {sampled:?}"
        );
    }
    let quiet = client.get_run(&quiet_id).unwrap();
    assert!(quiet.data.metrics.is_empty(), "{quiet:?}");
}
