"""Framework loggers that import ``mlflow`` log into runlog through the
store plugin, unchanged, and give the same runs on ``runlog:`` as on
MLflow's SQLite store: Optuna's ``MLflowCallback`` (optuna-integration) on
a seeded study, and Keras's ``mlflow.keras.MlflowCallback`` and
``mlflow.keras.autolog()`` on a seeded model (Keras 3 on JAX's CPU
build)."""

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


KERAS_PROGRAM = """
import json, os, sys
os.environ["KERAS_BACKEND"] = "jax"
import numpy as np
import keras
import mlflow

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("keras")
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 8)).astype("float32")
y = (x @ rng.normal(size=(8, 1)) > 0).astype("float32")


def classifier():
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


with mlflow.start_run(run_name="callback") as run:
    classifier().fit(x, y, epochs=3, batch_size=64, validation_split=0.25, verbose=0,
                     callbacks=[mlflow.keras.MlflowCallback(run)])

mlflow.keras.autolog()
classifier().fit(x, y, epochs=2, batch_size=64, verbose=0)
mlflow.end_run()

client = mlflow.MlflowClient()
experiment = client.get_experiment_by_name("keras")
runs = []
for r in client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"]):
    models = mlflow.search_logged_models(
        experiment_ids=[experiment.experiment_id],
        filter_string=f"source_run_id = '{r.info.run_id}'", output_format="list")
    predictions = [
        np.round(mlflow.pyfunc.load_model(f"models:/{m.model_id}").predict(x[:4]), 4).tolist()
        for m in models
    ]
    runs.append({
        "status": r.info.status,
        "params": r.data.params,
        "history": {k: [(m.step, round(m.value, 5)) for m in client.get_metric_history(r.info.run_id, k)]
                    for k in r.data.metrics},
        "tags": sorted(k for k in r.data.tags if not k.startswith("mlflow.") or k == "mlflow.autologging"),
        "artifacts": sorted(a.path for a in client.list_artifacts(r.info.run_id)),
        "models": [(m.name, m.status) for m in models],
        "predictions": predictions,
    })
print(json.dumps(runs))
"""


def test_keras_mlflow_callback_and_autolog_log_what_they_log_on_mlflows_sqlite_store(tmp_path):
    ours = run_program(KERAS_PROGRAM, f"runlog:{tmp_path / 'store'}", tmp_path)
    theirs = run_program(KERAS_PROGRAM, f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)
    callback, autolog = ours
    assert callback["status"] == autolog["status"] == "FINISHED"
    assert [len(callback["history"][k]) for k in ("loss", "val_loss")] == [3, 3]
    assert callback["params"]["optimizer_name"] == "adam"
    assert autolog["params"]["epochs"] == "2"
    assert autolog["models"] == [["model", "READY"]]
    assert len(autolog["predictions"][0]) == 4
    assert ours == theirs
