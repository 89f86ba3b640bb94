"""``import runlog as mlflow`` with MLflow installed: the names runlog does
not implement are MLflow's own, logging into runlog's store, and the run
``runlog.start_run()`` opens is the one MLflow's autolog logs into. The
docs' autolog example, run both ways, logs the same."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

EXAMPLE = """
import {module} as mlflow
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import train_test_split

mlflow.set_tracking_uri({uri!r})
mlflow.autolog()
X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
with mlflow.start_run(run_name="autolog") as run:
    RandomForestRegressor(n_estimators=20, max_depth=4, max_features=3, random_state=0).fit(X_train, y_train)
    mlflow.log_metric("extra", 1.5, step=2)
print(run.info.run_id)
"""


def run_example(module, uri, cwd):
    out = subprocess.run(
        [sys.executable, "-c", EXAMPLE.format(module=module, uri=uri)],
        cwd=cwd, capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def summary(uri, run_id):
    import mlflow

    c = mlflow.MlflowClient(uri)
    r = c.get_run(run_id)
    models = c.search_logged_models([r.info.experiment_id])
    return {
        "status": r.info.status,
        "name": r.info.run_name,
        "params": r.data.params,
        "metrics": r.data.metrics,
        "tags": sorted(k for k in r.data.tags if k != "mlflow.source.name"),
        "datasets": sorted((d.dataset.name, d.dataset.digest) for d in r.inputs.dataset_inputs),
        "models": [(m.name, str(m.status), m.source_run_id == run_id) for m in models],
    }


def test_the_docs_autolog_example_logs_what_mlflow_logs(tmp_path):
    store = tmp_path / "store"
    ours_id = run_example("runlog", str(store), tmp_path)
    theirs_id = run_example("mlflow", f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)
    ours = summary(f"runlog:{store}", ours_id)
    theirs = summary(f"sqlite:///{tmp_path / 'mlflow.db'}", theirs_id)
    assert ours["status"] == "FINISHED"
    assert len(ours["params"]) == 18 and ours["metrics"]["extra"] == 1.5
    assert ours["models"] == [("model", "READY", True)]
    assert ours == theirs


def test_mlflows_functions_log_into_runlogs_active_run(tmp_path):
    pd = pytest.importorskip("pandas")
    code = textwrap.dedent(f"""
        import runlog as mlflow
        import pandas as pd
        mlflow.set_tracking_uri({str(tmp_path / "store")!r})
        with mlflow.start_run(run_name="mixed") as run:
            mlflow.log_metric("native", 1.0)
            mlflow.log_table(pd.DataFrame({{"a": [1, 2]}}), "table.json")
            mlflow.log_dict({{"k": 1}}, "d.json")
            ds = mlflow.data.from_pandas(pd.DataFrame({{"x": [1.0]}}), name="d")
            mlflow.log_input(ds, context="training")
            mlflow.set_experiment_tag("team", "a")
        print(run.info.run_id)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip().splitlines()[-1]
    import mlflow

    c = mlflow.MlflowClient(f"runlog:{tmp_path / 'store'}")
    r = c.get_run(run_id)
    assert r.info.status == "FINISHED"
    assert r.data.metrics == {"native": 1.0}
    assert sorted(f.path for f in c.list_artifacts(run_id)) == ["d.json", "table.json"]
    assert [d.dataset.name for d in r.inputs.dataset_inputs] == ["d"]
    assert c.get_experiment(r.info.experiment_id).tags.get("team") == "a"
    # Only the one run: MLflow made no run of its own.
    assert len(c.search_runs([r.info.experiment_id])) == 1


def test_every_name_runlog_hands_to_mlflow_is_mlflows():
    import mlflow
    from runlog import _mlflow_bridge

    missing = sorted(n for n in _mlflow_bridge.MLFLOW_NAMES if not hasattr(mlflow, n))
    assert missing == []


def test_probing_runlogs_attributes_binds_nothing(tmp_path, monkeypatch):
    """A library walking sys.modules (skops does) gets AttributeError and
    leaves MLflow's tracking URI alone."""
    import mlflow
    import runlog

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    mlflow.set_tracking_uri(uri)
    try:
        assert getattr(runlog, "ufunc", None) is None
        assert not hasattr(runlog, "Foo")
        assert mlflow.get_tracking_uri() == uri
    finally:
        mlflow.set_tracking_uri(None)
