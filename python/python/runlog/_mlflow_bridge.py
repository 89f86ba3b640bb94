"""The rest of MLflow's fluent API in ``import runlog as mlflow``.

runlog implements the hot calls natively (``log_metric``, ``log_param``,
``start_run``, ...). Every other name MLflow's module has (``autolog``,
``sklearn``, ``log_figure``, ``log_table``, ``data``, ``evaluate``,
``register_model``, ...) is MLflow's own function, reached through
``runlog.<name>`` with MLflow pointed at the same store through runlog's
store plugin (a ``runlog:`` URI, or the same ``http(s)://`` server).

One active run: once MLflow is in use, the run ``runlog.start_run()``
makes active is MLflow's active run too (resumed in MLflow by its id), so
that autolog logs into it, and ``runlog.end_run()`` ends it in both.
"""

from __future__ import annotations

import json
import threading

from . import _runlog

_state = threading.local()
_bound = False


def _pushed():
    """The run ids this thread made active in MLflow, innermost last."""
    if not hasattr(_state, "runs"):
        _state.runs = []
    return _state.runs


def is_bound():
    """Whether MLflow has been used through runlog in this process."""
    return _bound


def plugin_uri():
    """MLflow's tracking URI for runlog's: the store as a ``runlog:`` URI
    (absolute), a tracking server as it is."""
    uri = _runlog.get_tracking_uri()
    if uri.startswith(("http://", "https://")):
        return uri
    return "runlog://" + _runlog.Client.shared(uri).store_dir


def mlflow_module(name, follow=True):
    """MLflow, pointed at runlog's store, with runlog's active run made its
    own (unless ``follow`` is false); an ImportError naming the package
    when MLflow is missing."""
    global _bound
    try:
        import mlflow
    except ImportError as e:
        raise ImportError(
            f"runlog.{name} is MLflow's {name}: it needs the mlflow package "
            "(pip install mlflow), which then logs into runlog's store"
        ) from e
    uri = plugin_uri()
    if mlflow.get_tracking_uri() != uri:
        mlflow.set_tracking_uri(uri)
    _bound = True
    if follow:
        follow_active_run(mlflow)
    return mlflow


def _active_run_id():
    found = _runlog.active_run()
    return None if found is None else json.loads(found)["info"]["run_id"]


def follow_active_run(mlflow=None, log_system_metrics=None):
    """Makes runlog's active run MLflow's active run in this thread."""
    if mlflow is None:
        import mlflow
    rid = _active_run_id()
    if rid is None:
        return
    current = mlflow.active_run()
    if current is not None and current.info.run_id == rid:
        return
    mlflow.start_run(run_id=rid, nested=current is not None, log_system_metrics=log_system_metrics)
    _pushed().append(rid)


def end_run(status):
    """Ends, in MLflow, the runs runlog made active there and is ending now
    (the active one and those nested in it), innermost first."""
    pushed = _pushed()
    rid = _active_run_id()
    if rid is None or rid not in pushed:
        return
    import mlflow

    while pushed:
        top = pushed.pop()
        mlflow.end_run(status)
        if top == rid:
            break
