"""LightGBM's and XGBoost's MLflow autolog, unchanged, against a tracking
server (MLFLOW_TRACKING_URI): what each run and its logged model hold
afterwards, ids and times left out, written as JSON to $RUNLOG_SUMMARY so
that `tests/server_mlflow_client.rs` compares runlog server's with mlflow
server's; and each model loads back through `models:/m-...`."""

import json
import os

import lightgbm as lgb
import mlflow
import xgboost as xgb
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

def summary(client, run_id):
    r = client.get_run(run_id)
    metrics = {k: [(m.step, m.value) for m in client.get_metric_history(run_id, k)] for k in sorted(r.data.metrics)}
    models = mlflow.search_logged_models(experiment_ids=[r.info.experiment_id], filter_string=f"source_run_id = '{run_id}'", output_format="list")
    return {
        "status": r.info.status,
        "params": dict(sorted(r.data.params.items())),
        "metrics": metrics,
        "artifacts": sorted(f.path for f in client.list_artifacts(run_id)),
        "datasets": sorted((d.dataset.name, d.dataset.digest) for d in r.inputs.dataset_inputs),
        "models": [(m.name, str(m.status), len(m.params), sorted(x.key for x in m.metrics)) for m in models],
    }

client = mlflow.MlflowClient()
mlflow.set_experiment("frameworks")
X, y = load_diabetes(return_X_y=True)
Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
out = {}
mlflow.lightgbm.autolog()
with mlflow.start_run() as run:
    booster = lgb.train({"objective": "regression", "verbose": -1, "seed": 0, "deterministic": True, "num_threads": 1},
                        lgb.Dataset(Xtr, ytr), num_boost_round=20, valid_sets=[lgb.Dataset(Xte, yte)], valid_names=["test"])
out["lightgbm"] = summary(client, run.info.run_id)
mlflow.lightgbm.autolog(disable=True)
mlflow.xgboost.autolog()
with mlflow.start_run() as run:
    xgb.train({"objective": "reg:squarederror", "seed": 0, "nthread": 1}, xgb.DMatrix(Xtr, ytr), num_boost_round=20,
              evals=[(xgb.DMatrix(Xte, yte), "test")])
out["xgboost"] = summary(client, run.info.run_id)
loaded = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
out["loads"] = [mlflow.pyfunc.load_model(f"models:/{x.model_id}").predict(Xte[:3]).shape[0] for x in loaded]
with open(os.environ["RUNLOG_SUMMARY"], "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
print("all checks passed")
