"""System metrics from Python, switched on as MLflow switches them: a run's
``log_system_metrics=True``, ``enable_system_metrics_logging()`` (and
``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``), MLflow's sampling variables;
logged under MLflow's names until the run ends."""

from __future__ import annotations

import time

import runlog

NAMES = (
    "cpu_utilization_percentage",
    "system_memory_usage_megabytes",
    "system_memory_usage_percentage",
    "network_receive_megabytes",
    "network_transmit_megabytes",
)


def test_system_metrics_as_mlflow_switches_them(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", raising=False)
    runlog.set_tracking_uri(tmp_path / "store")
    runlog.set_system_metrics_sampling_interval(0.03)
    runlog.set_system_metrics_samples_before_logging(2)
    try:
        with runlog.start_run(log_system_metrics=True) as asked:
            time.sleep(0.3)
        with runlog.start_run() as plain:
            time.sleep(0.1)
        runlog.enable_system_metrics_logging()
        with runlog.start_run() as enabled:
            time.sleep(0.2)
        with runlog.start_run(log_system_metrics=False) as refused:
            time.sleep(0.1)
        runlog.disable_system_metrics_logging()
    finally:
        runlog.set_system_metrics_sampling_interval(None)
        runlog.set_system_metrics_samples_before_logging(None)
        monkeypatch.delenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", raising=False)
    client = runlog.MlflowClient()
    got = client.get_run(asked.info.run_id)
    for name in NAMES:
        assert f"system/{name}" in got.data.metrics, got.data.metrics
    steps = [m.step for m in client.get_metric_history(asked.info.run_id, "system/cpu_utilization_percentage")]
    assert steps == list(range(len(steps))) and len(steps) >= 2, steps
    assert 0 <= got.data.metrics["system/cpu_utilization_percentage"] <= 100
    assert client.get_run(plain.info.run_id).data.metrics == {}
    assert "system/cpu_utilization_percentage" in client.get_run(enabled.info.run_id).data.metrics
    assert client.get_run(refused.info.run_id).data.metrics == {}
