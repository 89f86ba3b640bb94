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

# MLflow's names that ``runlog.<name>`` hands to MLflow (its fluent tracking
# API, logged models, the registry, evaluation, and its flavors' modules).
# A fixed list, so that a library probing modules' attributes (skops walks
# ``sys.modules``) gets a plain AttributeError for any other name and binds
# nothing. ``python/tests_mlflow`` checks that MLflow has each of them.
MLFLOW_NAMES = frozenset({
    # the fluent tracking API runlog does not implement itself
    "autolog", "delete_experiment", "delete_run", "flush_async_logging",
    "flush_artifact_async_logging", "get_registry_uri", "is_tracking_uri_set", "load_table",
    "log_figure", "log_image", "log_inputs", "log_outputs", "log_table", "search_experiments",
    "set_experiment_tag", "set_experiment_tags", "set_registry_uri",
    # logged models, the registry, evaluation
    "clear_active_model", "create_external_model", "evaluate", "get_active_model_id",
    "get_logged_model", "initialize_logged_model", "last_logged_model", "log_model_params",
    "register_model", "search_logged_models", "set_active_model", "set_logged_model_tags",
    "delete_logged_model_tag", "finalize_logged_model",
    # modules
    "artifacts", "data", "models", "pyfunc", "projects",
    # flavors
    "catboost", "keras", "lightgbm", "onnx", "prophet", "pytorch", "sentence_transformers",
    "shap", "sklearn", "spacy", "spark", "statsmodels", "tensorflow", "transformers",
    "xgboost",
})


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


def mlflow_module(name):
    """MLflow, pointed at runlog's store, with runlog's active run made its
    own; an ImportError naming the package when MLflow is missing."""
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
    follow_active_run(mlflow)
    return mlflow


def _active_run_id():
    found = _runlog.active_run()
    return None if found is None else json.loads(found)["info"]["run_id"]


def follow_active_run(mlflow=None):
    """Makes runlog's active run MLflow's active run in this thread (its
    system metrics are runlog's to sample, not MLflow's too)."""
    if mlflow is None:
        import mlflow
    rid = _active_run_id()
    if rid is None:
        return
    current = mlflow.active_run()
    if current is not None and current.info.run_id == rid:
        return
    mlflow.start_run(run_id=rid, nested=current is not None, log_system_metrics=False)
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
