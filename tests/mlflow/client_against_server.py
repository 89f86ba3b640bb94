"""The MLflow tracking docs' examples, run by the official MLflow client
against a tracking server (MLFLOW_TRACKING_URI=http://...): fluent API with
nested runs, MlflowClient calls, artifacts both ways, and the errors a
client relies on. Each check asserts; the last line printed is
"all checks passed". tests/server_mlflow_client.rs runs it against
`runlog server`; it runs unchanged against `mlflow server`."""

import json
import math
import os
import tempfile

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.exceptions import MlflowException

client = MlflowClient()

# 1. Fluent API: an experiment by name, a run with params, metrics by step,
# tags, a nested child run, artifacts.
mlflow.set_experiment("docs-fluent")
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_param("lr", 0.01)
    mlflow.log_params({"layers": 4, "optimizer": "adam"})
    for step in range(100):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"acc": 0.9, "nan_metric": float("nan"), "inf_metric": float("inf")}, step=100)
    mlflow.set_tag("team", "vision")
    mlflow.set_tags({"phase": "train", "mlflow.note.content": "a description"})
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("child_metric", 3.5)
    work = tempfile.mkdtemp()
    path = os.path.join(work, "model.txt")
    with open(path, "w") as f:
        f.write("weights " * 1000)
    mlflow.log_artifact(path, artifact_path="models")
    mlflow.log_text("hello", "notes/hello.txt")
    mlflow.log_dict({"a": 1}, "config.json")

run = mlflow.get_run(parent.info.run_id)
assert run.info.status == "FINISHED", run.info.status
assert run.info.run_name == "parent"
assert run.data.params == {"lr": "0.01", "layers": "4", "optimizer": "adam"}, run.data.params
assert run.data.metrics["loss"] == 0.01, run.data.metrics
assert run.data.metrics["acc"] == 0.9
assert math.isnan(run.data.metrics["nan_metric"])
assert run.data.metrics["inf_metric"] in (float("inf"), 1.7976931348623157e308)
assert run.data.tags["team"] == "vision" and run.data.tags["phase"] == "train"
assert run.data.tags["mlflow.user"], "the client's user"
history = client.get_metric_history(parent.info.run_id, "loss")
assert [m.step for m in history] == list(range(100)), len(history)
children = mlflow.search_runs(
    experiment_ids=[run.info.experiment_id],
    filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    output_format="list",
)
assert [c.info.run_id for c in children] == [child.info.run_id], children
assert children[0].data.metrics["child_metric"] == 3.5

# Artifacts both ways: the listing, and downloads equal to what was sent.
names = sorted(a.path for a in client.list_artifacts(parent.info.run_id))
assert names == ["config.json", "models", "notes"], names
models = client.list_artifacts(parent.info.run_id, "models")
assert [(a.path, a.is_dir, a.file_size) for a in models] == [("models/model.txt", False, 8000)], models
down = mlflow.artifacts.download_artifacts(run_id=parent.info.run_id, artifact_path="models/model.txt")
assert open(down).read() == "weights " * 1000
assert mlflow.artifacts.load_text(f"runs:/{parent.info.run_id}/notes/hello.txt") == "hello"
assert mlflow.artifacts.load_dict(f"runs:/{parent.info.run_id}/config.json") == {"a": 1}

# 2. MlflowClient: experiments, runs, a batch larger than one request,
# a history longer than one page, search with filters and order.
exp = client.create_experiment("docs-client", tags={"owner": "ci"})
assert client.get_experiment(exp).tags == {"owner": "ci"}
assert client.get_experiment_by_name("docs-client").experiment_id == exp
assert client.get_experiment_by_name("no-such-experiment") is None
runs = []
for i in range(3):
    r = client.create_run(exp, run_name=f"trial-{i}", tags={"trial": str(i)})
    client.log_param(r.info.run_id, "alpha", i / 10)
    client.log_metric(r.info.run_id, "rmse", 1.0 - i / 10, step=0)
    runs.append(r.info.run_id)
big = runs[0]
n = 30_000  # > 1,000 per request (split by the client) and > 25,000 per history page
client.log_batch(big, metrics=[Metric("m", float(i), 1_700_000_000_000 + i, i) for i in range(n)])
hist = client.get_metric_history(big, "m")
assert len(hist) == n and hist[-1].value == float(n - 1), len(hist)
client.log_batch(big, params=[Param("p", "1")], tags=[RunTag("t", "x")])
client.set_terminated(big, "FINISHED")
assert client.get_run(big).info.status == "FINISHED"
found = client.search_runs([exp], filter_string="metrics.rmse < 0.95", order_by=["metrics.rmse ASC"])
assert [r.info.run_name for r in found] == ["trial-2", "trial-1"], [r.info.run_name for r in found]
page = client.search_runs([exp], max_results=2)
assert len(page) == 2 and page.token
rest = client.search_runs([exp], max_results=2, page_token=page.token)
assert len(rest) == 1 and not rest.token
by_name = client.search_runs([exp], filter_string="attributes.run_name = 'trial-1'")
assert [r.info.run_id for r in by_name] == [runs[1]]

# Datasets as run inputs.
ds = Dataset(name="wine", digest="d1", source_type="local", source='{"uri": "wine.csv"}')
client.log_inputs(runs[1], datasets=[DatasetInput(ds, tags=[InputTag("mlflow.data.context", "train")])])
inputs = client.get_run(runs[1]).inputs.dataset_inputs
assert inputs[0].dataset.name == "wine" and inputs[0].tags[0].value == "train"

# Renames both ways: the tag renames the run, the run name sets the tag.
client.set_tag(runs[2], "mlflow.runName", "renamed")
assert client.get_run(runs[2]).info.run_name == "renamed"
client.update_run(runs[2], name="again")
assert client.get_run(runs[2]).data.tags["mlflow.runName"] == "again"

# MLflow 2's record of a logged model (`runs/log-model`, which MLflow 3's
# Spark flavors still send): the run's mlflow.log-model.history tag lists
# each model, its flavors without their config.
from mlflow.models import Model

for path in ("model-a", "model-b"):
    flavors = {"python_function": {"loader_module": "x", "config": {"k": 1}}}
    client._record_logged_model(runs[1], Model(artifact_path=path, run_id=runs[1], flavors=flavors))
history = json.loads(client.get_run(runs[1]).data.tags["mlflow.log-model.history"])
assert [h["artifact_path"] for h in history] == ["model-a", "model-b"], history
assert history[0]["flavors"] == {"python_function": {"loader_module": "x"}}, history
assert set(history[0]) == {"run_id", "artifact_path", "utc_time_created", "model_uuid", "flavors"}
assert history[1]["run_id"] == runs[1] and history[1]["model_uuid"], history


# 3. The errors clients rely on.
def error_code(f):
    try:
        f()
    except MlflowException as e:
        return e.error_code
    raise AssertionError("no error")


assert error_code(lambda: client.log_param(runs[0], "alpha", 0.5)) == "INVALID_PARAMETER_VALUE"
assert error_code(lambda: client.create_experiment("docs-client")) == "RESOURCE_ALREADY_EXISTS"
assert error_code(lambda: client.get_run("0" * 32)) == "RESOURCE_DOES_NOT_EXIST"
assert error_code(lambda: client.search_runs([exp], filter_string="metrics.rmse <> 1")) == "INVALID_PARAMETER_VALUE"
client.delete_run(runs[0])
assert error_code(lambda: client.log_metric(runs[0], "rmse", 1.0)) == "INVALID_PARAMETER_VALUE"
assert client.get_run(runs[0]).info.lifecycle_stage == "deleted"
client.restore_run(runs[0])
client.delete_experiment(exp)
assert client.get_experiment(exp).lifecycle_stage == "deleted"
client.restore_experiment(exp)
assert len(client.search_runs([exp])) == 3

print("all checks passed")
