"""MLflow 3's sklearn autolog and log_model against a tracking server
(MLFLOW_TRACKING_URI), unchanged: the docs' autolog example (a random forest
on sklearn's diabetes data), then an explicit `log_model` in a run, a
`load_model` round trip of each, and a search of the logged models.

Writes one JSON document (to the file `$RUNLOG_SUMMARY`) of what the
server holds afterwards, with the
parts that differ by nature between two servers (ids, times, run names,
host paths) left out, so that `tests/server_mlflow_client.rs` can compare
runlog server's with mlflow server's field by field.
"""

import json
import math
import os

import mlflow
import numpy as np
import requests
from mlflow.entities import Metric
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split


def interval_points(base, run_id):
    """What get-history-bulk-interval answers for the curve, four ways."""
    out = []
    for params in (
        {"max_results": 37},
        {"max_results": 1},
        {"max_results": 50, "start_step": 10, "end_step": 200},
        {},
    ):
        r = requests.get(
            f"{base}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval",
            params={"run_ids": run_id, "metric_key": "c", **params},
            timeout=30,
        )
        r.raise_for_status()
        out.append(
            [(m["step"], m["timestamp"], str(m["value"])) for m in r.json()["metrics"]]
        )
    return out


def run_summary(client, run_id):
    r = client.get_run(run_id)
    metrics = {}
    for key in sorted(r.data.metrics):
        history = client.get_metric_history(run_id, key)
        metrics[key] = [(m.step, m.value) for m in history]
    tags = {
        k: v
        for k, v in r.data.tags.items()
        # Differ by nature: who, where, which source file, the model's
        # id-bearing history.
        if k not in ("mlflow.user", "mlflow.source.name", "mlflow.runName", "mlflow.log-model.history")
    }
    return {
        "status": r.info.status,
        "params": dict(sorted(r.data.params.items())),
        "metrics": metrics,
        "tags": dict(sorted(tags.items())),
        "datasets": sorted(
            (d.dataset.name, d.dataset.digest, d.dataset.source_type,
             sorted((t.key, t.value) for t in d.tags))
            for d in r.inputs.dataset_inputs
        ),
        "outputs": [o.step for o in (r.outputs.model_outputs if r.outputs else [])],
        "artifacts": sorted(f.path for f in client.list_artifacts(run_id)),
    }


def model_summary(client, model):
    files = sorted(f.path for f in client.list_logged_model_artifacts(model.model_id))
    return {
        "name": model.name,
        "status": str(model.status),
        "params": dict(sorted(model.params.items())),
        "metrics": sorted(
            (m.key, m.value, m.step, m.dataset_name, m.dataset_digest) for m in model.metrics
        ),
        "tags": dict(sorted((k, v) for k, v in model.tags.items() if k != "mlflow.user")),
        "model_type": model.model_type,
        "artifacts": files,
        "uri_scheme": model.artifact_location.split(":")[0],
    }


def main():
    client = mlflow.MlflowClient()
    mlflow.set_experiment("autolog")
    out = {}

    # The docs' autolog example.
    mlflow.sklearn.autolog()
    db = load_diabetes()
    X_train, X_test, y_train, y_test = train_test_split(db.data, db.target, random_state=0)
    rf = RandomForestRegressor(n_estimators=10, max_depth=6, max_features=3, random_state=0)
    rf.fit(X_train, y_train)
    predictions = rf.predict(X_test)
    autolog_run = mlflow.last_active_run()
    out["autolog_run"] = run_summary(client, autolog_run.info.run_id)
    mlflow.sklearn.autolog(disable=True)

    models = mlflow.search_logged_models(
        experiment_ids=[autolog_run.info.experiment_id], output_format="list"
    )
    out["autolog_models"] = [model_summary(client, m) for m in models]
    model = models[0]
    assert model.source_run_id == autolog_run.info.run_id, model.source_run_id
    loaded = mlflow.pyfunc.load_model(f"models:/{model.model_id}")
    out["autolog_round_trip"] = bool(np.allclose(loaded.predict(X_test), predictions))

    # An explicit log_model with params, metrics about the model, and a
    # registered-name-free load by its runs:/ URI too.
    with mlflow.start_run(run_name="explicit") as run:
        lr = LinearRegression().fit(X_train, y_train)
        mlflow.log_param("kind", "linear")
        info = mlflow.sklearn.log_model(
            lr, name="linear", input_example=X_train[:3], params={"fit_intercept": "True"}
        )
        mlflow.log_metric("test_r2", lr.score(X_test, y_test), model_id=info.model_id)
        mlflow.log_metrics({"mae": 42.5}, step=3, model_id=info.model_id)
    out["explicit_run"] = run_summary(client, run.info.run_id)
    explicit = mlflow.get_logged_model(info.model_id)
    out["explicit_model"] = model_summary(client, explicit)
    out["explicit_by_model_uri"] = bool(
        np.allclose(mlflow.pyfunc.load_model(info.model_uri).predict(X_test), lr.predict(X_test))
    )

    # Search: a filter on a metric, order by it, paging.
    found = mlflow.search_logged_models(
        experiment_ids=[autolog_run.info.experiment_id],
        filter_string="metrics.test_r2 > 0.1",
        output_format="list",
    )
    out["search_metric_filter"] = [m.name for m in found]
    ordered = mlflow.search_logged_models(
        experiment_ids=[autolog_run.info.experiment_id],
        order_by=[{"field_name": "name", "ascending": True}],
        output_format="list",
    )
    out["search_by_name"] = [m.name for m in ordered]
    page = client.search_logged_models(experiment_ids=[autolog_run.info.experiment_id], max_results=1)
    out["first_page"] = [len(page), bool(page.token)]
    rest = client.search_logged_models(
        experiment_ids=[autolog_run.info.experiment_id], max_results=1, page_token=page.token
    )
    out["second_page"] = [len(rest), bool(rest.token)]

    # The registry: register both models, load by version and by alias,
    # stages, tags, descriptions, searches, renaming and deletion.
    reg = "diabetes"
    v1 = mlflow.register_model(f"models:/{model.model_id}", reg)
    v2 = mlflow.register_model(info.model_uri, reg, tags={"kind": "linear"})
    client.set_registered_model_alias(reg, "champion", v1.version)
    loads = [
        mlflow.pyfunc.load_model(f"models:/{reg}/1").predict(X_test),
        mlflow.pyfunc.load_model(f"models:/{reg}@champion").predict(X_test),
        mlflow.pyfunc.load_model(f"models:/{reg}/2").predict(X_test),
    ]
    out["registry_loads"] = [
        bool(np.allclose(loads[0], predictions)),
        bool(np.allclose(loads[1], predictions)),
        bool(np.allclose(loads[2], lr.predict(X_test))),
    ]
    client.update_registered_model(reg, description="diabetes progression")
    client.update_model_version(reg, v2.version, description="a linear baseline")
    client.set_registered_model_tag(reg, "owner", "risk")
    client.set_model_version_tag(reg, v1.version, "validated", "yes")
    client.transition_model_version_stage(reg, v1.version, "Staging")
    client.transition_model_version_stage(reg, v2.version, "Staging", archive_existing_versions=True)

    def version_summary(v):
        return {
            "name": v.name,
            "version": v.version,
            "stage": v.current_stage,
            "description": v.description,
            "status": v.status,
            "tags": dict(sorted(v.tags.items())),
            "aliases": sorted(v.aliases),
            "has_run": bool(v.run_id),
            "has_model_id": bool(getattr(v, "model_id", None)),
        }

    def registered_summary(m):
        return {
            "name": m.name,
            "description": m.description,
            "tags": dict(sorted(m.tags.items())),
            "aliases": dict(sorted(m.aliases.items())),
            "latest": sorted((v.version, v.current_stage) for v in m.latest_versions),
        }

    out["registered"] = registered_summary(client.get_registered_model(reg))
    out["versions"] = [version_summary(v) for v in client.search_model_versions(f"name = '{reg}'")]
    out["latest_staging"] = [v.version for v in client.get_latest_versions(reg, stages=["Staging"])]
    out["by_alias"] = client.get_model_version_by_alias(reg, "champion").version
    out["search_registered"] = [m.name for m in client.search_registered_models(filter_string="name LIKE 'diab%'")]
    out["download_scheme"] = client.get_model_version_download_uri(reg, v1.version).split(":")[0]
    client.delete_model_version_tag(reg, v1.version, "validated")
    client.delete_registered_model_alias(reg, "champion")
    client.rename_registered_model(reg, "diabetes-2")
    out["renamed_versions"] = [v.version for v in client.search_model_versions("name = 'diabetes-2'")]
    client.delete_model_version("diabetes-2", v1.version)
    v3 = client.create_model_version("diabetes-2", info.model_uri, model_id=info.model_id)
    out["after_delete_version"] = v3.version
    errors = []
    for call in (
        lambda: client.get_registered_model("nothing"),
        lambda: client.get_model_version("diabetes-2", "1"),
        lambda: client.create_registered_model("diabetes-2"),
        lambda: client.transition_model_version_stage("diabetes-2", v2.version, "Nowhere"),
    ):
        try:
            call()
            errors.append("no error")
        except mlflow.exceptions.MlflowException as e:
            errors.append(e.error_code)
    out["registry_errors"] = errors
    client.delete_registered_model("diabetes-2")
    out["after_delete_model"] = [m.name for m in client.search_registered_models()]

    # The points MLflow's UI charts get: get-history-bulk-interval picks
    # the same ones (three points a step, timestamps out of order, a NaN).
    with mlflow.start_run(run_name="curve") as curve:
        points = [
            Metric("c", float("nan") if i == 500 else math.sin(i / 10), 1000 + (i * 7) % 13, i // 3)
            for i in range(1000)
        ]
        client.log_batch(curve.info.run_id, metrics=points)
    base = os.environ["MLFLOW_TRACKING_URI"]
    # (A server's endpoint for MLflow's UI: asked of servers only, not of
    # the store plugin's runlog: URI or MLflow's sqlite: one.)
    if base.startswith("http"):
        out["interval"] = interval_points(base, curve.info.run_id)

    # Tags and deletion.
    client.set_logged_model_tags(info.model_id, {"stage": "candidate", "team": "risk"})
    client.delete_logged_model_tag(info.model_id, "team")
    out["tags_after"] = dict(sorted(
        (k, v) for k, v in client.get_logged_model(info.model_id).tags.items() if k != "mlflow.user"
    ))
    client.delete_logged_model(info.model_id)
    try:
        client.get_logged_model(info.model_id)
        out["deleted"] = "still there"
    except mlflow.exceptions.MlflowException as e:
        out["deleted"] = e.error_code
    out["after_delete"] = [
        m.name
        for m in mlflow.search_logged_models(
            experiment_ids=[autolog_run.info.experiment_id], output_format="list"
        )
    ]
    with open(os.environ["RUNLOG_SUMMARY"], "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print("all checks passed")


if __name__ == "__main__":
    main()
