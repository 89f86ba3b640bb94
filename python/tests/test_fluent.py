"""The fluent API, as MLflow's docs use it, with `import runlog as mlflow`."""

import json
import os
import subprocess
import threading

import pytest

import runlog as mlflow
from conftest import runlog_bin


def test_a_run_block_ends_finished_with_everything_logged(store):
    exp = mlflow.set_experiment("quality")
    with mlflow.start_run(run_name="first", tags={"team": "a"}, description="notes") as run:
        assert mlflow.active_run().info.run_id == run.info.run_id
        assert mlflow.log_param("alpha", 0.5) == 0.5
        mlflow.log_params({"beta": 1, "gamma": "x"})
        for step in range(100):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=7)
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"a": 1})
        mlflow.delete_tag("a")
    assert mlflow.active_run() is None
    last = mlflow.last_active_run()
    assert last.info.run_id == run.info.run_id
    assert last.info.status == "FINISHED"
    assert last.info.run_name == "first"
    assert last.info.experiment_id == exp.experiment_id
    assert last.data.params == {"alpha": "0.5", "beta": "1", "gamma": "x"}
    assert last.data.metrics["loss"] == pytest.approx(0.01)
    assert last.data.metrics["acc"] == 0.9
    assert last.data.tags["team"] == "a" and last.data.tags["stage"] == "dev"
    assert last.data.tags["mlflow.note.content"] == "notes"
    assert "a" not in last.data.tags
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(100))
    assert all(m.key == "loss" for m in history)


def test_an_exception_leaving_the_block_ends_the_run_failed(store):
    with pytest.raises(ZeroDivisionError):
        with mlflow.start_run() as run:
            mlflow.log_metric("x", 1.0)
            1 / 0
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"
    assert mlflow.active_run() is None


def test_nested_runs_and_end_run_status(store):
    with mlflow.start_run() as parent:
        with mlflow.start_run(nested=True) as child:
            assert mlflow.active_run().info.run_id == child.info.run_id
        assert mlflow.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
        with pytest.raises(mlflow.MlflowException) as e:
            mlflow.start_run()  # not nested: refused
        assert e.value.error_code == "INVALID_STATE"
    run = mlflow.start_run()
    mlflow.end_run(status="KILLED")
    assert mlflow.get_run(run.info.run_id).info.status == "KILLED"


class Tensor:
    """A 0-d tensor: only __float__."""

    def __init__(self, v):
        self.v = v

    def __float__(self):
        return self.v


def test_values_as_python_gives_them(store):
    np = pytest.importorskip("numpy")
    with mlflow.start_run() as run:
        mlflow.log_metric("int", 3, step=np.int64(1))
        mlflow.log_metric("bool", True, step=np.int32(2))
        mlflow.log_metric("np_f32", np.float32(0.25), step=3)
        mlflow.log_metric("np_0d", np.array(1.5), step=4)
        mlflow.log_metric("tensor", Tensor(2.5), step=5)
        mlflow.log_metric("nan", float("nan"))
        for bad in ["1.0", None, [1.0], {"a": 1}, object()]:
            with pytest.raises(TypeError):
                mlflow.log_metric("bad", bad)
        with pytest.raises(TypeError):
            mlflow.log_metrics({"ok": 1.0, "bad": "x"})
        with pytest.raises(TypeError):
            mlflow.log_metric("s", 1.0, step="3")
    data = mlflow.get_run(run.info.run_id).data
    assert data.metrics["int"] == 3.0 and data.metrics["bool"] == 1.0
    assert data.metrics["np_f32"] == 0.25 and data.metrics["np_0d"] == 1.5
    assert data.metrics["tensor"] == 2.5
    assert data.metrics["nan"] != data.metrics["nan"]
    assert "bad" not in data.metrics and "ok" not in data.metrics, "nothing logged"


def test_a_metric_handle_logs_to_the_active_run(store):
    with mlflow.start_run() as run:
        h = mlflow.metric_handle("loss")
        assert h.key == "loss"
        for i in range(1000):
            h.log(i * 0.5, i)
        h.log_at(7.0, 1000, 1_700_000_000_000)
        with pytest.raises(TypeError):
            h.log("x", 1)
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert len(history) == 1001
    assert history[-1].timestamp == 1_700_000_000_000


def test_errors_are_mlflow_exceptions_with_codes(store):
    client = mlflow.MlflowClient()
    with pytest.raises(mlflow.ResourceDoesNotExist) as e:
        client.get_run("f" * 32)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert isinstance(e.value, mlflow.MlflowException)
    mlflow.create_experiment("taken")
    with pytest.raises(mlflow.ResourceAlreadyExists):
        mlflow.create_experiment("taken")
    with mlflow.start_run():
        mlflow.log_param("p", 1)
        with pytest.raises(mlflow.InvalidParameterValue) as e:
            mlflow.log_param("p", 2)
        assert "changing param values is not allowed" in str(e.value)
    with pytest.raises(mlflow.MlflowException):
        mlflow.log_metric("no-run", 1.0) if mlflow.active_run() else mlflow.end_run(status="BOGUS")


def test_artifacts_text_dict_and_inputs(store, tmp_path):
    f = tmp_path / "model.txt"
    f.write_text("weights")
    d = tmp_path / "dir"
    d.mkdir()
    (d / "a.txt").write_text("a")
    with mlflow.start_run() as run:
        mlflow.log_artifact(f)
        mlflow.log_artifacts(d, artifact_path="more")
        mlflow.log_text("hello", "notes/hello.txt")
        mlflow.log_text("by id", "by_id.txt", run_id=run.info.run_id)
        mlflow.log_dict({"k": [1, 2]}, "config.json")
        uri = mlflow.get_artifact_uri("notes/hello.txt")
        mlflow.log_input(mlflow.Dataset("train", "abc123", "local", "/data/train.csv"),
                         context="training")
    assert uri.startswith("file://") and uri.endswith("notes/hello.txt")
    client = mlflow.MlflowClient()
    paths = sorted(a.path for a in client.list_artifacts(run.info.run_id))
    assert paths == ["by_id.txt", "config.json", "model.txt", "more", "notes"]
    out = client.download_artifacts(run.info.run_id, "config.json", str(tmp_path / "dl"))
    assert json.loads(open(out).read()) == {"k": [1, 2]}
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert inputs[0].dataset.name == "train"
    assert inputs[0].tags[0].value == "training"


def test_search_runs_as_a_list_and_experiments(store):
    exp = mlflow.set_experiment("searched")
    for lr in [0.1, 0.01, 0.001]:
        with mlflow.start_run():
            mlflow.log_param("lr", lr)
            mlflow.log_metric("loss", lr * 10)
    runs = mlflow.search_runs(filter_string="metrics.loss < 0.5", order_by=["metrics.loss ASC"],
                              output_format="list")
    assert [r.data.params["lr"] for r in runs] == ["0.001", "0.01"]
    assert mlflow.get_experiment_by_name("searched").experiment_id == exp.experiment_id
    assert mlflow.get_experiment(exp.experiment_id).name == "searched"
    by_name = mlflow.search_runs(experiment_names=["searched"], output_format="list")
    assert len(by_name) == 3


def test_threads_have_active_runs_of_their_own(store):
    ids = {}

    def train(name):
        with mlflow.start_run(run_name=name) as run:
            for step in range(500):
                mlflow.log_metric("loss", float(step), step=step)
            ids[name] = run.info.run_id

    threads = [threading.Thread(target=train, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client = mlflow.MlflowClient()
    for name, rid in ids.items():
        run = client.get_run(rid)
        assert run.info.run_name == name and run.info.status == "FINISHED"
        assert len(client.get_metric_history(rid, "loss")) == 500


def test_data_written_from_python_is_read_by_the_cli(store):
    with mlflow.start_run(run_name="cli") as run:
        for step in range(10):
            mlflow.log_metric("loss", step / 10, step=step)
    out = subprocess.run(
        [runlog_bin(), "--tracking-uri", store, "runs", "describe", "--run-id", run.info.run_id, "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    got = json.loads(out)
    got = got.get("run", got)
    assert got["info"]["run_name"] == "cli"
    assert got["info"]["status"] == "FINISHED"


def test_a_store_for_the_rust_api_to_read(tmp_path):
    """Written where tests/python.rs reads it back with runlog's Rust API."""
    shared = os.environ.get("RUNLOG_SHARED_STORE")
    if not shared:
        pytest.skip("run by tests/python.rs, which reads the store back")
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(shared)
    mlflow.set_experiment("from-python")
    with mlflow.start_run(run_name="written-by-python"):
        mlflow.log_param("lr", 0.01)
        for step in range(1_000):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)


def test_search_runs_gives_mlflows_dataframe_with_pandas(store):
    pandas = pytest.importorskip("pandas")
    with mlflow.start_run(run_name="df") as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_metric("loss", 0.5)
        mlflow.set_tag("t", "x")
    df = mlflow.search_runs()
    assert isinstance(df, pandas.DataFrame)
    row = df.iloc[0]
    assert row["run_id"] == run.info.run_id and row["status"] == "FINISHED"
    assert row["metrics.loss"] == 0.5 and row["params.lr"] == "0.1" and row["tags.t"] == "x"
    assert str(row["start_time"].tz) == "UTC"
    assert isinstance(mlflow.search_runs(output_format="list")[0], mlflow.Run)
