"""Framework loggers that import ``mlflow`` log into runlog through the
store plugin, unchanged: Optuna's ``MLflowCallback`` (optuna-integration)
on a seeded study gives the same runs on ``runlog:`` as on MLflow's SQLite
store."""

from __future__ import annotations

from conftest import run_program

PROGRAM = """
import json, sys
import mlflow
import optuna
from optuna_integration.mlflow import MLflowCallback

optuna.logging.set_verbosity(optuna.logging.WARNING)
uri = sys.argv[1]
callback = MLflowCallback(tracking_uri=uri, metric_name="loss", create_experiment=True)


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    depth = trial.suggest_int("depth", 1, 8)
    return (x - 2) ** 2 + depth


study = optuna.create_study(study_name="quadratic", sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(objective, n_trials=8, callbacks=[callback])
client = mlflow.MlflowClient(uri)
experiment = client.get_experiment_by_name("quadratic")
runs = client.search_runs([experiment.experiment_id], order_by=["params.x ASC"])
print(json.dumps([
    {
        "status": r.info.status,
        "params": r.data.params,
        "metrics": r.data.metrics,
        "tags": {k: v for k, v in r.data.tags.items()
                 if k in ("number", "state", "direction", "x_distribution", "depth_distribution")},
    }
    for r in runs
]))
"""


def study_runs(uri, cwd):
    return run_program(PROGRAM, uri, cwd)


def test_optunas_mlflow_callback_logs_what_it_logs_on_mlflows_sqlite_store(tmp_path):
    ours = study_runs(f"runlog:{tmp_path / 'store'}", tmp_path)
    theirs = study_runs(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)
    assert len(ours) == 8
    assert all(r["status"] == "FINISHED" and "loss" in r["metrics"] for r in ours)
    assert ours == theirs
