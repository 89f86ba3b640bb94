"""What tests/browser.rs opens in MLflow's own web UI, written by MLflow's
client to the server at argv[1]: an experiment "sweep" of 12 runs (params,
a tag, two metrics over 500 steps, a text artifact), run-0's scikit-learn
model logged, registered as "iris" and given the alias "champion". Prints
the ids the pages need, as JSON."""

import json
import sys

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(sys.argv[1])
client = MlflowClient()
experiment_id = mlflow.set_experiment("sweep").experiment_id
runs = []
model_id = None
for i in range(12):
    with mlflow.start_run(run_name=f"run-{i}") as run:
        runs.append(run.info.run_id)
        mlflow.log_params({"lr": 0.001 * (i + 1), "depth": i % 4})
        mlflow.set_tag("team", "vision" if i % 2 else "nlp")
        now = run.info.start_time
        points = []
        for step in range(500):
            points.append(Metric("loss", 1.0 / (step + 1 + i), now + step, step))
            points.append(Metric("acc", step / 500.0 - i / 100.0, now + step, step))
        for at in range(0, len(points), 1000):
            client.log_batch(run.info.run_id, metrics=points[at : at + 1000])
        mlflow.log_text("trained on 500 steps", "notes/readme.txt")
        if i == 0:
            X, y = load_iris(return_X_y=True)
            model = LogisticRegression(max_iter=200).fit(X, y)
            info = mlflow.sklearn.log_model(model, name="classifier", input_example=X[:2])
            model_id = info.model_id
            version = mlflow.register_model(info.model_uri, "iris")
            client.set_registered_model_alias("iris", "champion", version.version)
# Listed on the UI's settings page. Made last, after every registry
# change, and at a public address that nothing here will post to.
client.create_webhook(
    name="deploy-hook",
    url="https://192.0.43.10/hooks/mlflow",
    events=["model_version.created", "model_version_alias.created"],
    description="tells the deploy service",
)
print(json.dumps({"experiment": experiment_id, "runs": runs, "model": model_id}))
