"""runlog: an append-only metrics engine under MLflow's tracking API.

Switching from MLflow is one line::

    import runlog as mlflow

    mlflow.set_experiment("quality")
    with mlflow.start_run():
        mlflow.log_param("alpha", 0.5)
        for step in range(1000):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)

A ``log_metric`` call is a native function (no Python frame), and a
``metric_handle`` skips even the key lookup. Runs, params, tags and metric
histories are those of MLflow's model; the tracking URI is a store
directory (default ``mlruns``), a ``file:`` URI, or an ``http(s)://``
tracking server (MLflow's or ``runlog server``), logged to through a local
spool at the same cost.
"""

from __future__ import annotations

import json
import os

from . import _mlflow_bridge as _bridge
from . import _runlog
from ._runlog import (
    MetricHandle,
    delete_tag,
    flush,
    get_artifact_uri,
    get_tracking_uri,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    metric_handle,
    set_tag,
    set_tags,
)
from .client import Client, MlflowClient
from .entities import (
    Dataset,
    DatasetInput,
    Experiment,
    FileInfo,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)
from .exceptions import (
    InvalidParameterValue,
    InvalidState,
    MlflowException,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    StoreError,
)

__all__ = [
    "ActiveRun", "Client", "Dataset", "DatasetInput", "Experiment", "FileInfo",
    "InvalidParameterValue", "InvalidState", "Metric", "MetricHandle", "MlflowClient",
    "MlflowException", "Param", "ResourceAlreadyExists", "ResourceDoesNotExist", "Run",
    "RunData", "RunInfo", "RunInputs", "RunStatus", "RunTag", "StoreError", "ViewType",
    "active_run", "create_experiment", "delete_tag", "disable_system_metrics_logging",
    "enable_system_metrics_logging", "end_run", "flush", "get_artifact_uri",
    "get_experiment", "get_experiment_by_name", "get_run", "get_tracking_uri",
    "last_active_run", "log_artifact", "log_artifacts", "log_dict", "log_input", "log_metric",
    "log_metrics", "log_param", "log_params", "log_text", "metric_handle", "search_runs",
    "set_experiment", "set_system_metrics_node_id", "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval", "set_tag", "set_tags", "set_tracking_uri",
    "start_run",
]

__version__ = "0.1.0"

# A forked child must not use the parent's writer threads (they are not in
# it): the native module opens its stores again there.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_runlog._before_fork,
        after_in_parent=_runlog._after_fork_in_parent,
        after_in_child=_runlog._after_fork_in_child,
    )


def set_tracking_uri(uri):
    """Sets the tracking URI: a store directory, a ``file:`` or ``runlog:``
    URI (the MLflow store plugin's: the same store), or an ``http(s)://``
    tracking server (a ``pathlib.Path`` is accepted)."""
    _runlog.set_tracking_uri(os.fspath(uri))


def _client():
    c = MlflowClient.__new__(MlflowClient)
    c._client = _runlog.client()
    return c


def set_experiment(experiment_name=None, experiment_id=None):
    """Makes an experiment active (created when named and missing)."""
    return Experiment.from_json(_runlog.set_experiment(experiment_name, experiment_id))


def create_experiment(name, artifact_location=None, tags=None):
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id):
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name):
    return _client().get_experiment_by_name(name)


class ActiveRun(Run):
    """The run ``start_run`` made active: a ``Run`` and a context manager
    that ends it ``FINISHED``, or ``FAILED`` when an exception leaves the
    block."""

    def __init__(self, run):
        super().__init__(run.info, run.data, run.inputs)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        end_run(RunStatus.FINISHED if exc_type is None else RunStatus.FAILED)
        return False


def start_run(run_id=None, experiment_id=None, run_name=None, nested=False, parent_run_id=None,
              tags=None, description=None, log_system_metrics=None):
    """Starts a run (or resumes ``run_id``) and makes it this thread's
    active run; nested runs need ``nested=True``. Once MLflow's own
    functions are in use through runlog (``runlog.autolog()``, say), the
    run is MLflow's active run too. ``log_system_metrics=True`` samples
    the machine into it under MLflow's ``system/...`` names until it ends
    (``None``: as ``enable_system_metrics_logging`` or
    ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`` say)."""
    rid = _runlog.start_run(
        run_id,
        None if experiment_id is None else str(experiment_id),
        run_name,
        nested,
        parent_run_id,
        tags,
        description,
        log_system_metrics,
    )
    if _bridge.is_bound():
        _bridge.follow_active_run()
    return ActiveRun(get_run(rid))


def end_run(status=RunStatus.FINISHED):
    """Ends this thread's active run (and the runs nested in it)."""
    try:
        if _bridge.is_bound():
            _bridge.end_run(status)
    finally:
        _runlog.end_run(status)


def enable_system_metrics_logging():
    """System metrics for every run started from now on (a run's
    ``log_system_metrics=False`` still wins), as MLflow's: it sets
    ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING``."""
    os.environ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"] = "true"


def disable_system_metrics_logging():
    """No system metrics for runs started from now on, unless a run asks."""
    os.environ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"] = "false"


def _set_or_unset(name, value):
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = str(value)


def set_system_metrics_sampling_interval(interval):
    """Seconds between two samples (default 10; ``None``: the default)."""
    _set_or_unset("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", interval)


def set_system_metrics_samples_before_logging(samples):
    """Samples averaged into one logged point (default 1)."""
    _set_or_unset("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", samples)


def set_system_metrics_node_id(node_id):
    """The machine's name in the metrics' keys (``system/<node_id>/...``)."""
    _set_or_unset("MLFLOW_SYSTEM_METRICS_NODE_ID", node_id)


def __getattr__(name):
    """The rest of MLflow's fluent API (``autolog``, ``sklearn``,
    ``log_figure``, ``log_table``, ``data``, ``evaluate``, ...): MLflow's
    own, logging into runlog's store through the store plugin, with
    runlog's active run as MLflow's (see ``runlog._mlflow_bridge``)."""
    if name not in _bridge.MLFLOW_NAMES:
        raise AttributeError(f"module 'runlog' has no attribute {name!r}")
    return getattr(_bridge.mlflow_module(name), name)


def active_run():
    found = _runlog.active_run()
    return None if found is None else ActiveRun(Run.from_json(found))


def last_active_run():
    found = _runlog.last_active_run()
    return None if found is None else Run.from_json(found)


def get_run(run_id):
    return _client().get_run(run_id)


def get_parent_run(run_id):
    return _client().get_parent_run(run_id)


def log_artifact(local_path, artifact_path=None, run_id=None):
    if run_id is not None:
        return _client().log_artifact(run_id, local_path, artifact_path)
    _runlog.log_artifact(os.fspath(local_path), artifact_path)


def log_artifacts(local_dir, artifact_path=None, run_id=None):
    if run_id is not None:
        return _client().log_artifacts(run_id, local_dir, artifact_path)
    _runlog.log_artifacts(os.fspath(local_dir), artifact_path)


def log_text(text, artifact_file, run_id=None):
    """Text as an artifact file of the active run (or of ``run_id``)."""
    if run_id is not None:
        return _client().log_text(run_id, text, artifact_file)
    _runlog.log_text(text, artifact_file)


def _dict_text(dictionary, artifact_file):
    if str(artifact_file).endswith((".yaml", ".yml")):
        import yaml  # PyYAML, as MLflow needs it for YAML too

        return yaml.safe_dump(dictionary, default_flow_style=False)
    return json.dumps(dictionary, indent=2)


def log_dict(dictionary, artifact_file, run_id=None):
    """A dict as a JSON artifact (YAML for ``.yaml`` / ``.yml``, with PyYAML)."""
    text = _dict_text(dictionary, artifact_file)
    if run_id is not None:
        return _client().log_text(run_id, text, artifact_file)
    log_text(text, artifact_file)


def log_input(dataset, context=None, tags=None, model=None):
    """A dataset input of the active run: any object with ``name``,
    ``digest``, ``source_type`` and ``source`` (and optional ``schema``
    and ``profile``), such as ``runlog.Dataset``, or one of MLflow's
    datasets (``mlflow.data.from_pandas(...)``, as its entity). With
    ``model`` (a logged model's input), MLflow's own ``log_input``."""
    if model is not None:
        return _bridge.mlflow_module("log_input").log_input(dataset, context, tags, model)
    to_entity = getattr(dataset, "_to_mlflow_entity", None)
    if callable(to_entity):
        dataset = to_entity()
    source = getattr(dataset, "source", "")
    if not isinstance(source, str):
        to_json = getattr(source, "to_json", None)
        source = to_json() if callable(to_json) else str(source)
    schema = getattr(dataset, "schema", None)
    profile = getattr(dataset, "profile", None)
    _runlog.log_input(
        dataset.name,
        dataset.digest,
        getattr(dataset, "source_type", "local"),
        source,
        None if schema is None else (schema if isinstance(schema, str) else json.dumps(schema)),
        None if profile is None else (profile if isinstance(profile, str) else json.dumps(profile)),
        context,
        tags,
    )


def search_runs(experiment_ids=None, filter_string="", run_view_type=ViewType.ACTIVE_ONLY,
                max_results=100000, order_by=None, output_format="pandas",
                search_all_experiments=False, experiment_names=None):
    """Runs matching MLflow's filter language: a pandas DataFrame (MLflow's
    columns) when ``output_format="pandas"`` and pandas is installed,
    else a list of ``Run``."""
    client = _client()
    if experiment_names:
        experiment_ids = [
            e.experiment_id
            for e in (client.get_experiment_by_name(n) for n in experiment_names)
            if e is not None
        ]
    elif search_all_experiments and not experiment_ids:
        experiment_ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    elif not experiment_ids:
        experiment_ids = [_runlog.active_experiment_id()]
    runs, token = [], None
    while len(runs) < max_results:
        page = client.search_runs(experiment_ids, filter_string, run_view_type,
                                  min(50000, max_results - len(runs)), order_by, token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return runs
    if output_format != "pandas":
        raise InvalidParameterValue(
            f"unsupported output_format {output_format!r}: 'pandas' or 'list'"
        )
    try:
        import pandas
    except ImportError:
        return runs
    return _runs_frame(pandas, runs)


def _runs_frame(pandas, runs):
    rows = []
    for r in runs:
        row = {
            "run_id": r.info.run_id,
            "experiment_id": r.info.experiment_id,
            "status": r.info.status,
            "artifact_uri": r.info.artifact_uri,
            "start_time": pandas.to_datetime(r.info.start_time, unit="ms", utc=True),
            "end_time": None
            if r.info.end_time is None
            else pandas.to_datetime(r.info.end_time, unit="ms", utc=True),
        }
        row.update({f"metrics.{k}": v for k, v in r.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in r.data.params.items()})
        row.update({f"tags.{k}": v for k, v in r.data.tags.items()})
        rows.append(row)
    return pandas.DataFrame(rows)
