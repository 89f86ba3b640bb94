"""Examples of MLflow's tracking docs, unchanged but for the import line
(`import runlog as mlflow`, `from runlog import ...`), and checked."""

import os
import subprocess
import sys
import textwrap


def run_example(store, cwd, code):
    env = dict(os.environ, MLFLOW_TRACKING_URI=store)
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_quickstart_logging_functions(store, tmp_path):
    # https://mlflow.org/docs/latest/tracking/ : logging without start_run
    run_example(store, tmp_path, """
        import os
        from random import random, randint
        from runlog import log_metric, log_param, log_params, log_artifacts

        if __name__ == "__main__":
            log_param("config_value", randint(0, 100))
            log_params({"param1": randint(0, 100), "param2": randint(0, 100)})
            log_metric("foo", random())
            log_metric("foo", random() + 1)
            log_metric("foo", random() + 2)
            if not os.path.exists("outputs"):
                os.makedirs("outputs")
            with open("outputs/test.txt", "w") as f:
                f.write("hello world!")
            log_artifacts("outputs")
    """)
    import runlog as mlflow

    (run,) = mlflow.search_runs(experiment_ids=["0"], output_format="list")
    assert set(run.data.params) == {"config_value", "param1", "param2"}
    assert run.data.metrics["foo"] >= 2
    assert run.info.status == "FINISHED"
    assert [a.path for a in mlflow.MlflowClient().list_artifacts(run.info.run_id)] == ["test.txt"]


def test_an_experiment_with_runs_params_metrics_and_tags(store, tmp_path):
    out = run_example(store, tmp_path, """
        import runlog as mlflow

        mlflow.set_experiment("Apple_Models")
        params = {"n_estimators": 100, "max_depth": 6, "min_samples_split": 10,
                  "min_samples_leaf": 4, "bootstrap": True, "oob_score": False,
                  "random_state": 888}
        metrics = {"mae": 0.5, "mse": 0.4, "rmse": 0.63, "r2": 0.8}
        with mlflow.start_run(run_name="apples_rf_test") as run:
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            mlflow.set_tags({"project_name": "grocery-forecasting", "store_dept": "produce"})
        print(run.info.run_id)
    """)
    import runlog as mlflow

    run = mlflow.get_run(out.split()[0])
    assert run.info.run_name == "apples_rf_test"
    assert run.data.params["bootstrap"] == "True" and run.data.params["n_estimators"] == "100"
    assert run.data.metrics == {"mae": 0.5, "mse": 0.4, "rmse": 0.63, "r2": 0.8}
    assert run.data.tags["project_name"] == "grocery-forecasting"
    assert mlflow.get_experiment(run.info.experiment_id).name == "Apple_Models"


def test_the_client_creates_and_describes_an_experiment(store, tmp_path):
    out = run_example(store, tmp_path, """
        from pathlib import Path
        from runlog import MlflowClient

        client = MlflowClient()
        experiment_id = client.create_experiment(
            "Social NLP Experiments",
            artifact_location=Path.cwd().joinpath("mlruns").as_uri(),
            tags={"version": "v1", "priority": "P1"},
        )
        client.set_experiment_tag(experiment_id, "nlp.framework", "Spark NLP")
        experiment = client.get_experiment(experiment_id)
        print(f"Name: {experiment.name}")
        print(f"Experiment_id: {experiment.experiment_id}")
        print(f"Artifact Location: {experiment.artifact_location}")
        print(f"Tags: {experiment.tags}")
        print(f"Lifecycle_stage: {experiment.lifecycle_stage}")
    """)
    assert "Name: Social NLP Experiments" in out
    assert "'nlp.framework': 'Spark NLP'" in out and "'priority': 'P1'" in out
    assert "Lifecycle_stage: active" in out
    assert f"Artifact Location: file://{tmp_path}/mlruns" in out


def test_a_hyperparameter_sweep_in_nested_runs(store, tmp_path):
    out = run_example(store, tmp_path, """
        import runlog as mlflow

        with mlflow.start_run(run_name="sweep") as parent:
            for lr in [0.1, 0.01, 0.001]:
                with mlflow.start_run(nested=True):
                    mlflow.log_param("lr", lr)
                    for epoch in range(5):
                        mlflow.log_metric("loss", lr * (5 - epoch), step=epoch)
        best = mlflow.search_runs(
            filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
            order_by=["metrics.loss ASC"],
            output_format="list",
        )[0]
        print(best.data.params["lr"])
    """)
    assert out.strip() == "0.001"


def test_a_model_training_loop_with_the_client(store, tmp_path):
    out = run_example(store, tmp_path, """
        from runlog import MlflowClient
        from runlog.entities import Metric, Param, RunTag
        import time

        client = MlflowClient()
        run = client.create_run("0", run_name="batch")
        now = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("loss", 1.0 / (s + 1), now, s) for s in range(100)],
            params=[Param("optimizer", "adam")],
            tags=[RunTag("stage", "train")],
        )
        client.set_terminated(run.info.run_id)
        history = client.get_metric_history(run.info.run_id, "loss")
        print(len(history), client.get_run(run.info.run_id).info.status)
    """)
    assert out.split() == ["100", "FINISHED"]
