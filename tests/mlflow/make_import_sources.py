"""Writes the same runs through MLflow's client into the tracking URI given
(a file store directory or sqlite:///...), then prints, as one JSON
document, everything MLflow reads back from it: tests/import.rs compares
runlog's import with it field by field."""
import json
import math
import sys

import mlflow
import numpy as np
from mlflow.entities import ViewType

uri = sys.argv[1]
mlflow.set_tracking_uri(uri)
client = mlflow.MlflowClient()

mlflow.set_experiment("exp one")
mlflow.set_experiment_tag("owner", "team a")
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_param("lr", 0.01)
    mlflow.log_params({"layers/deep": "3", "note": "it's \"quoted\""})
    mlflow.set_tag("team", "a b")
    for s in range(3000):
        mlflow.log_metric("loss", 1.0 / (s + 1), step=s) if s % 500 == 0 else None
    client.log_batch(
        parent.info.run_id,
        metrics=[mlflow.entities.Metric("loss", 1.0 / (s + 1), 1_700_000_000_000 + s, s)
                 for s in range(3000) if s % 500]
    )
    mlflow.log_metric("weird", float("nan"), step=0)
    mlflow.log_metric("weird", float("inf"), step=1)
    mlflow.log_metric("weird", -2.5, step=-4)
    mlflow.log_metric("acc/top1", 0.5, step=3)
    ds = mlflow.data.from_numpy(np.arange(10), source="/data/x.npy", name="nums")
    mlflow.log_input(ds, context="training")
    mlflow.log_text("hello", "notes/readme.txt")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("loss", 0.3)
failed = client.create_run(mlflow.get_experiment_by_name("exp one").experiment_id, run_name="failed")
client.set_terminated(failed.info.run_id, "FAILED")
deleted = client.create_run(mlflow.get_experiment_by_name("exp one").experiment_id)
client.delete_run(deleted.info.run_id)
gone = mlflow.create_experiment("gone", tags={"why": "old"})
client.create_run(gone, run_name="in gone")
mlflow.delete_experiment(gone)


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


out = {"experiments": [], "runs": []}
for e in client.search_experiments(view_type=ViewType.ALL):
    out["experiments"].append({
        "id": e.experiment_id, "name": e.name, "lifecycle_stage": e.lifecycle_stage,
        "artifact_location": e.artifact_location, "tags": dict(e.tags),
    })
    for r in client.search_runs([e.experiment_id], run_view_type=ViewType.ALL):
        info = r.info
        out["runs"].append({
            "run_id": info.run_id, "experiment_id": info.experiment_id,
            "run_name": info.run_name, "user_id": info.user_id, "status": info.status,
            "start_time": info.start_time, "end_time": info.end_time,
            "lifecycle_stage": info.lifecycle_stage,
            "params": dict(r.data.params), "tags": dict(r.data.tags),
            "metrics": {
                k: sorted([m.step, m.timestamp, number(m.value)] for m in
                          client.get_metric_history(info.run_id, k))
                for k in r.data.metrics
            },
            "inputs": [{
                "name": i.dataset.name, "digest": i.dataset.digest,
                "source_type": i.dataset.source_type, "source": i.dataset.source,
                "schema": i.dataset.schema, "profile": i.dataset.profile,
                "tags": {t.key: t.value for t in i.tags},
            } for i in r.inputs.dataset_inputs],
        })
# MLflow 3's logged models and the registry (both stores keep them).
from sklearn.linear_model import LogisticRegression

X = np.arange(20, dtype=float).reshape(10, 2)
y = (X[:, 0] > 9).astype(int)
one = mlflow.get_experiment_by_name("exp one").experiment_id
with mlflow.start_run(experiment_id=one, run_name="with model") as r:
    info = mlflow.sklearn.log_model(
        LogisticRegression().fit(X, y), name="clf", params={"C": "1.0"}, tags={"k": "v"}
    )
    mlflow.log_metric("score", 0.9, step=2, model_id=info.model_id)
v1 = mlflow.register_model(info.model_uri, "reg")
v2 = mlflow.register_model(info.model_uri, "reg")
v3 = mlflow.register_model(info.model_uri, "reg")
client.delete_model_version("reg", v3.version)
client.set_registered_model_alias("reg", "champion", v1.version)
client.set_model_version_tag("reg", v1.version, "t", "1")
client.transition_model_version_stage("reg", v2.version, "Staging")
client.update_registered_model("reg", description="the one")
client.set_registered_model_tag("reg", "team", "a")
out["runs"].append({
    "run_id": r.info.run_id, "experiment_id": one, "run_name": "with model",
    "user_id": r.info.user_id, "status": "FINISHED",
    "start_time": r.info.start_time,
    "end_time": client.get_run(r.info.run_id).info.end_time,
    "lifecycle_stage": "active",
    "params": {}, "tags": dict(client.get_run(r.info.run_id).data.tags),
    "metrics": {"score": [[2, m.timestamp, 0.9] for m in client.get_metric_history(r.info.run_id, "score")]},
    "inputs": [],
    "outputs": [[o.model_id, o.step] for o in client.get_run(r.info.run_id).outputs.model_outputs],
})
m = client.get_logged_model(info.model_id)
out["models"] = [{
    "model_id": m.model_id, "experiment_id": m.experiment_id, "name": m.name,
    "status": str(m.status), "source_run_id": m.source_run_id,
    "artifact_location": m.artifact_location, "model_type": m.model_type,
    "params": dict(m.params), "tags": dict(m.tags),
    "metrics": [[x.key, x.value, x.step] for x in m.metrics],
}]
rm = client.get_registered_model("reg")
out["registry"] = {
    "name": rm.name, "description": rm.description, "tags": dict(rm.tags),
    "aliases": dict(rm.aliases),
    "versions": sorted([[v.version, v.source, v.run_id, v.current_stage, dict(v.tags)]
                        for v in client.search_model_versions("name = 'reg'")]),
}
print(json.dumps(out, sort_keys=True))
