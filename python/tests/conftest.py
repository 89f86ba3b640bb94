import os

import pytest

import runlog


@pytest.fixture()
def store(tmp_path, monkeypatch):
    """A fresh store as the tracking URI, no run active, no experiment set."""
    while runlog.active_run() is not None:
        runlog.end_run()
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    uri = str(tmp_path / "mlruns")
    runlog.set_tracking_uri(uri)
    runlog.set_experiment(experiment_id="0")
    yield uri
    while runlog.active_run() is not None:
        runlog.end_run()


def runlog_bin():
    return os.environ.get("RUNLOG_BIN", "runlog")
