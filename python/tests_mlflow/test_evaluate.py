"""``mlflow.evaluate`` of a logged model, unchanged, on the plugin and on
MLflow's SQLite store: the same metrics, in the result and in the run,
and the same artifacts."""

from __future__ import annotations

from conftest import run_program

PROGRAM = """
import json, sys
import mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(sys.argv[1])
X, y = load_iris(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=500).fit(X, y)
data = X.copy()
data["label"] = y
with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(model, name="model", input_example=X.iloc[:2])
    result = mlflow.evaluate(info.model_uri, data, targets="label", model_type="classifier")
r = mlflow.MlflowClient().get_run(run.info.run_id)
print(json.dumps({
    "result": {k: round(v, 9) for k, v in sorted(result.metrics.items())},
    "run": {k: round(v, 9) for k, v in sorted(r.data.metrics.items())},
    "artifacts": sorted(result.artifacts),
    "files": sorted(f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id)),
    "status": r.info.status,
}))
"""


def evaluate(uri, cwd):
    return run_program(PROGRAM, uri, cwd)


def test_evaluate_gives_what_it_gives_on_mlflows_sqlite_store(tmp_path):
    ours = evaluate(f"runlog:{tmp_path / 'store'}", tmp_path)
    theirs = evaluate(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)
    assert ours["status"] == "FINISHED"
    assert {"accuracy_score", "f1_score", "roc_auc"} <= set(ours["result"])
    assert ours["run"] == ours["result"]
    assert ours == theirs
