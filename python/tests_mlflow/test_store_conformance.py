"""The store plugin against MLflow's SQLite store, side by side: every
scenario runs on both through MLflow's own client, and their answers
(entities read field by field, errors by MLflow's error code) must agree.
Ids, times and artifact locations differ by nature and are left out."""

from __future__ import annotations

import math
import sys
import threading

import pytest

import mlflow
from mlflow.entities import (
    LifecycleStage,
    Metric,
    Param,
    RunTag,
    ViewType,
)

from conftest import error


def experiment(e):
    return {
        "name": e.name,
        "lifecycle_stage": e.lifecycle_stage,
        "tags": dict(e.tags),
    }


def run(r, ids=None):
    ids = ids or {}
    return {
        "name": r.info.run_name,
        "status": r.info.status,
        "lifecycle_stage": r.info.lifecycle_stage,
        "user_id": r.info.user_id,
        "metrics": dict(r.data.metrics),
        "params": dict(r.data.params),
        "tags": {k: ids.get(v, v) for k, v in r.data.tags.items()},
        "inputs": [
            (d.dataset.name, d.dataset.digest, d.dataset.source_type, sorted((t.key, t.value) for t in d.tags))
            for d in (r.inputs.dataset_inputs if r.inputs else [])
        ],
    }


def history(points):
    return [(m.key, m.value, m.step, m.timestamp) for m in points]


def infinite(point, store):
    """MLflow's SQL store writes +-Infinity as +-1.797e308 (the largest
    double); runlog keeps them (README). The SQLite store's read back as
    the infinities they were logged as."""
    key, value, step, ts = point
    if store == "sqlite" and abs(value) == sys.float_info.max:
        value = math.copysign(math.inf, value)
    return (key, value, step, ts)


# ---------------------------------------------------------------- experiments


def test_experiments_create_get_rename_delete_restore_and_tags(stores):
    def scenario(c, _):
        first = c.create_experiment("first", tags={"team": "a", "k": "v"})
        out = {"dup": error(c.create_experiment, "first")}
        out["empty"] = error(c.create_experiment, "")
        c.set_experiment_tag(first, "k", "v2")
        c.delete_experiment_tag(first, "team")
        c.rename_experiment(first, "renamed")
        out["renamed"] = experiment(c.get_experiment(first))
        out["by_old_name"] = c.get_experiment_by_name("first")
        out["missing"] = error(c.get_experiment, "123456789")
        c.delete_experiment(first)
        out["deleted"] = experiment(c.get_experiment(first))
        out["deleted_by_name"] = experiment(c.get_experiment_by_name("renamed"))
        out["tag_on_deleted"] = error(c.set_experiment_tag, first, "x", "y")
        out["delete_again"] = error(c.delete_experiment, first)
        c.restore_experiment(first)
        out["restored"] = experiment(c.get_experiment(first))
        out["restore_again"] = error(c.restore_experiment, first)
        return out

    got = stores.same(scenario)
    assert got["renamed"]["tags"] == {"k": "v2"}
    assert got["deleted"]["lifecycle_stage"] == LifecycleStage.DELETED


def test_experiment_search_filters_orders_and_pages(stores):
    def scenario(c, _):
        for i in range(7):
            c.create_experiment(f"exp-{i}", tags={"parity": str(i % 2), "i": str(i)})
        c.delete_experiment(c.get_experiment_by_name("exp-3").experiment_id)
        out = {}

        def names(view=ViewType.ACTIVE_ONLY, **kw):
            return [e.name for e in c.search_experiments(view_type=view, **kw)]

        out["active"] = names(order_by=["name"])
        out["deleted"] = names(ViewType.DELETED_ONLY)
        out["all"] = names(ViewType.ALL, order_by=["name DESC"])
        out["tag"] = names(filter_string="tags.parity = '1'", order_by=["name"])
        out["like"] = names(filter_string="name LIKE 'exp-%'", order_by=["name ASC"])
        out["ilike"] = names(filter_string="name ILIKE 'EXP-1%'")
        out["bad"] = error(c.search_experiments, filter_string="name ~ 'x'")
        out["bad_order"] = error(c.search_experiments, order_by=["nope"])
        pages, token = [], None
        while True:
            page = c.search_experiments(max_results=2, order_by=["name"], page_token=token)
            pages.append([e.name for e in page])
            token = page.token
            if not token:
                break
        out["pages"] = pages
        out["too_many"] = error(c.search_experiments, max_results=50001)
        return out

    got = stores.same(scenario)
    assert got["deleted"] == ["exp-3"]
    assert len(got["pages"]) == 4


# ---------------------------------------------------------------------- runs


def test_runs_create_update_delete_restore(stores):
    def scenario(c, _):
        e = c.create_experiment("runs")
        r = c.create_run(e, tags={"a": "1"}, run_name="first")
        rid = r.info.run_id
        out = {"created": run(c.get_run(rid), {rid: "<id>"})}
        c.update_run(rid, status="FAILED", name="second")
        out["updated"] = run(c.get_run(rid))
        c.set_terminated(rid, "KILLED")
        out["terminated"] = run(c.get_run(rid)).get("status")
        c.delete_run(rid)
        out["deleted"] = run(c.get_run(rid))["lifecycle_stage"]
        out["search_active"] = len(c.search_runs([e]))
        out["search_deleted"] = len(c.search_runs([e], run_view_type=ViewType.DELETED_ONLY))
        c.restore_run(rid)
        out["restored"] = run(c.get_run(rid))["lifecycle_stage"]
        out["missing"] = error(c.get_run, "0" * 32)
        out["bad_experiment"] = error(c.create_run, "987654321")
        return out

    got = stores.same(scenario)
    assert got["updated"]["name"] == "second"


def test_params_tags_and_their_errors(stores):
    def scenario(c, _):
        e = c.create_experiment("params")
        rid = c.create_run(e, run_name="r").info.run_id
        c.log_param(rid, "lr", 0.1)
        c.log_param(rid, "lr", 0.1)  # the same value again: allowed
        out = {"changed": error(c.log_param, rid, "lr", 0.2)}
        out["long"] = error(c.log_param, rid, "long", "x" * 6001)
        out["ok_long"] = error(c.log_param, rid, "ok_long", "x" * 6000)
        out["bad_key"] = error(c.log_param, rid, "bad key?", "1")
        c.set_tag(rid, "t", "1")
        c.set_tag(rid, "t", "2")
        c.delete_tag(rid, "t")
        out["delete_missing_tag"] = error(c.delete_tag, rid, "t")
        c.set_tag(rid, "kept", "yes")
        out["run"] = run(c.get_run(rid))
        c.set_terminated(rid)
        c.delete_run(rid)
        out["param_on_deleted"] = error(c.log_param, rid, "x", 1)
        out["tag_on_deleted"] = error(c.set_tag, rid, "x", 1)
        return out

    stores.same(scenario)


def test_metrics_history_batch_and_non_finite_values(stores):
    def scenario(c, name):
        e = c.create_experiment("metrics")
        rid = c.create_run(e, run_name="r").info.run_id
        for step in range(5):
            c.log_metric(rid, "loss", 1.0 / (step + 1), timestamp=1000 + step, step=step)
        c.log_metric(rid, "loss", 0.5, timestamp=2000, step=2)  # a second value at step 2
        c.log_metric(rid, "odd", float("nan"), timestamp=5, step=0)
        c.log_metric(rid, "odd", float("inf"), timestamp=6, step=1)
        c.log_metric(rid, "odd", float("-inf"), timestamp=7, step=2)
        metrics = [Metric("batch", float(i), 10_000 + i, i) for i in range(1000)]
        c.log_batch(rid, metrics=metrics, params=[Param("p", "1")], tags=[RunTag("t", "x")])
        # runlog's history is ordered by step then time, MLflow's SQL store's
        # by time then step (README: they differ only when a step goes back
        # in time, as here): compared as sets, runlog's order checked below.
        loss = history(c.get_metric_history(rid, "loss"))
        out = {
            "loss": sorted(loss),
            "loss_steps": [p[2] for p in loss] if name == "runlog" else [0, 1, 2, 2, 3, 4],
            "odd": [infinite(p, name) for p in history(c.get_metric_history(rid, "odd"))],
            "batch_len": len(c.get_metric_history(rid, "batch")),
            "batch_last": history(c.get_metric_history(rid, "batch"))[-1],
            "none": history(c.get_metric_history(rid, "absent")),
            "run": run(c.get_run(rid)),
        }
        out["run"]["metrics"]["odd"] = infinite(("odd", out["run"]["metrics"]["odd"], 0, 0), name)[1]
        out["too_many"] = error(
            c.log_batch, rid, metrics=[Metric("m", 1.0, 1, i) for i in range(1001)]
        )
        out["bad_value"] = error(c.log_metric, rid, "m", "not a number")
        c.delete_run(rid)
        out["on_deleted"] = error(c.log_metric, rid, "m", 1.0)
        out["batch_on_deleted"] = error(c.log_batch, rid, metrics=[Metric("m", 1.0, 1, 1)])
        return out

    got = stores.same(scenario)
    assert got["batch_len"] == 1000


def test_run_search_filters_orders_and_pages(stores):
    def scenario(c, _):
        e = c.create_experiment("search")
        for i in range(9):
            rid = c.create_run(e, run_name=f"r{i}", start_time=1000 + i).info.run_id
            c.log_param(rid, "depth", str(i % 3))
            c.log_metric(rid, "acc", i / 10, step=0, timestamp=1)
            c.set_tag(rid, "group", "even" if i % 2 == 0 else "odd")
            if i == 4:
                c.set_terminated(rid, "FAILED")
            if i == 8:
                c.delete_run(rid)

        def names(filter_string="", order_by=None, view=ViewType.ACTIVE_ONLY, **kw):
            return [
                r.info.run_name
                for r in c.search_runs([e], filter_string, view, order_by=order_by, **kw)
            ]

        out = {
            "default_order": names(),
            "metric": names("metrics.acc > 0.3", ["metrics.acc DESC"]),
            "param": names("params.depth = '1'", ["attributes.run_name"]),
            "tag": names("tags.group = 'odd' and metrics.acc < 0.6", ["run_name DESC"]),
            "status": names("attributes.status = 'FAILED'"),
            "name_like": names("attributes.run_name LIKE 'r1%'"),
            "in": error(names, "params.depth IN ('0', '2')", ["start_time ASC"]),
            "run_id_in": len(error(names, "attributes.run_name IN ('r1', 'r2')")),
            "deleted": names(view=ViewType.DELETED_ONLY),
            "all": names(view=ViewType.ALL, order_by=["attributes.start_time DESC"]),
            "bad_filter": error(c.search_runs, [e], "metrics.acc >> 1"),
            "bad_order": error(c.search_runs, [e], "", order_by=["metrics.acc SIDEWAYS"]),
        }
        pages, token = [], None
        while True:
            page = c.search_runs([e], order_by=["metrics.acc"], max_results=3, page_token=token)
            pages.append([r.info.run_name for r in page])
            token = page.token
            if not token:
                break
        out["pages"] = pages
        return out

    got = stores.same(scenario)
    assert got["deleted"] == ["r8"]


def test_datasets_logged_as_inputs(stores):
    pd = pytest.importorskip("pandas")

    def scenario(c, _):
        e = c.create_experiment("data")
        with mlflow.start_run(experiment_id=e) as r:
            df = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
            ds = mlflow.data.from_pandas(df, name="train", targets="y")
            mlflow.log_input(ds, context="training")
        got = run(c.get_run(r.info.run_id))
        return got["inputs"]

    got = stores.same(scenario)
    assert got and got[0][0] == "train"


def test_concurrent_writers_lose_nothing(stores):
    def scenario(c, _):
        e = c.create_experiment("threads")
        ids = [c.create_run(e, run_name=f"t{i}").info.run_id for i in range(4)]

        def work(rid):
            for step in range(200):
                c.log_metric(rid, "m", float(step), timestamp=step, step=step)
            c.log_batch(rid, params=[Param("p", rid[:4])])

        threads = [threading.Thread(target=work, args=(rid,)) for rid in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sorted(len(c.get_metric_history(rid, "m")) for rid in ids)

    assert stores.same(scenario) == [200] * 4


# ------------------------------------------------------- logged models, registry


def test_logged_models(stores):
    def scenario(c, _):
        e = c.create_experiment("models")
        rid = c.create_run(e, run_name="r").info.run_id
        m = c.create_logged_model(e, name="net", source_run_id=rid, params={"layers": "3"},
                                  tags={"stage": "dev"}, model_type="classifier")
        c.set_logged_model_tags(m.model_id, {"k": "v"})
        c.delete_logged_model_tag(m.model_id, "stage")
        c.log_metric(rid, "val_acc", 0.9, step=1, model_id=m.model_id)
        # A batch whose second point names the model: all of it goes as
        # MLflow's message, the first point once.
        c.log_batch(rid, metrics=[Metric("plain", 1.0, 5, 0),
                                  Metric("val_loss", 0.3, 6, 1, model_id=m.model_id)])
        final = c.finalize_logged_model(m.model_id, "READY")
        got = c.get_logged_model(m.model_id)
        out = {
            "model": (got.name, got.status.to_proto() if hasattr(got.status, "to_proto") else str(got.status),
                      got.model_type, dict(got.params), dict(got.tags),
                      sorted((x.key, x.value, x.step) for x in (got.metrics or []))),
            "final_status": str(final.status),
            "search": [x.name for x in c.search_logged_models([e])],
            "search_filter": [x.name for x in c.search_logged_models([e], filter_string="name = 'nope'")],
            "missing": error(c.get_logged_model, "m-" + "0" * 32),
            "run_metrics": c.get_run(rid).data.metrics,
            "plain": history(c.get_metric_history(rid, "plain")),
        }
        c.delete_logged_model(m.model_id)
        out["after_delete"] = [x.name for x in c.search_logged_models([e])]
        return out

    stores.same(scenario)


def test_model_registry(stores):
    def scenario(c, _):
        e = c.create_experiment("registry")
        rid = c.create_run(e, run_name="r").info.run_id
        c.create_registered_model("clf", tags={"team": "a"}, description="first")
        out = {"dup": error(c.create_registered_model, "clf")}
        v1 = c.create_model_version("clf", f"runs:/{rid}/model", run_id=rid, tags={"v": "1"})
        v2 = c.create_model_version("clf", f"runs:/{rid}/model", run_id=rid)
        c.set_registered_model_alias("clf", "champion", v1.version)
        c.set_model_version_tag("clf", v2.version, "k", "v")
        c.update_model_version("clf", v2.version, description="second")
        c.transition_model_version_stage("clf", v2.version, "Staging")
        c.set_registered_model_tag("clf", "owner", "me")
        c.delete_registered_model_tag("clf", "team")
        m = c.get_registered_model("clf")
        out["model"] = (m.name, m.description, dict(m.tags), dict(m.aliases))
        by_alias = c.get_model_version_by_alias("clf", "champion")
        out["by_alias"] = (by_alias.version, dict(by_alias.tags), by_alias.aliases)
        v = c.get_model_version("clf", v2.version)
        out["v2"] = (v.version, v.current_stage, v.description, dict(v.tags), v.run_id == rid)
        out["latest"] = sorted((x.version, x.current_stage) for x in c.get_latest_versions("clf"))
        out["search_versions"] = sorted(x.version for x in c.search_model_versions("name = 'clf'"))
        out["search_models"] = [x.name for x in c.search_registered_models("name LIKE 'cl%'")]
        out["missing_version"] = error(c.get_model_version, "clf", "99")
        out["missing_model"] = error(c.get_registered_model, "nope")
        c.rename_registered_model("clf", "clf2")
        out["renamed"] = [x.name for x in c.search_registered_models()]
        c.delete_registered_model_alias("clf2", "champion")
        c.delete_model_version("clf2", v1.version)
        out["left"] = sorted(x.version for x in c.search_model_versions("name = 'clf2'"))
        c.delete_registered_model("clf2")
        out["gone"] = error(c.get_registered_model, "clf2")
        return out

    stores.same(scenario)
