"""``runlog.MlflowClient`` (alias ``runlog.Client``): MLflow's client
methods and arguments over runlog's engine."""

from __future__ import annotations

import json
import os

from . import _runlog
from .entities import Experiment, FileInfo, Metric, Run, ViewType


class PagedList(list):
    """A list of results with MLflow's ``token`` for the next page."""

    def __init__(self, items, token):
        super().__init__(items)
        self.token = token


def _ms(v):
    return None if v is None else int(v)


class MlflowClient:
    """A client bound to one tracking URI (a store directory, a ``file:``
    URI, or an ``http(s)://`` tracking server); by default the one the
    fluent API uses (``MLFLOW_TRACKING_URI``, else ``mlruns``)."""

    def __init__(self, tracking_uri=None, registry_uri=None):
        # None: the fluent API's own client (one writer per store and process).
        self._client = _runlog.Client(None if tracking_uri is None else os.fspath(tracking_uri))

    @property
    def tracking_uri(self):
        return self._client.tracking_uri

    # experiments
    def create_experiment(self, name, artifact_location=None, tags=None):
        return self._client.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id):
        return Experiment.from_json(self._client.get_experiment(str(experiment_id)))

    def get_experiment_by_name(self, name):
        found = self._client.get_experiment_by_name(name)
        return None if found is None else Experiment.from_json(found)

    def search_experiments(self, view_type=ViewType.ACTIVE_ONLY, max_results=1000,
                           filter_string=None, order_by=None, page_token=None):
        page = json.loads(
            self._client.search_experiments(view_type, max_results, filter_string, order_by,
                                            page_token)
        )
        items = [Experiment.from_json(e) for e in page.get("experiments", [])]
        return PagedList(items, page.get("next_page_token"))

    def set_experiment_tag(self, experiment_id, key, value):
        self._client.set_experiment_tag(str(experiment_id), key, value)

    def rename_experiment(self, experiment_id, new_name):
        self._client.rename_experiment(str(experiment_id), new_name)

    def delete_experiment(self, experiment_id):
        self._client.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id):
        self._client.restore_experiment(str(experiment_id))

    # runs
    def create_run(self, experiment_id, start_time=None, tags=None, run_name=None):
        return Run.from_json(
            self._client.create_run(str(experiment_id), _ms(start_time), tags, run_name)
        )

    def get_run(self, run_id):
        return Run.from_json(self._client.get_run(run_id))

    def get_parent_run(self, run_id):
        parent = self.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return None if parent is None else self.get_run(parent)

    def search_runs(self, experiment_ids, filter_string="", run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=1000, order_by=None, page_token=None):
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]
        page = json.loads(
            self._client.search_runs([str(e) for e in experiment_ids], filter_string or "",
                                     run_view_type, max_results, order_by, page_token)
        )
        items = [Run.from_json(r) for r in page.get("runs", [])]
        return PagedList(items, page.get("next_page_token"))

    def set_terminated(self, run_id, status=None, end_time=None):
        self._client.set_terminated(run_id, status, _ms(end_time))

    def update_run(self, run_id, status=None, name=None):
        self._client.update_run(run_id, status, name)

    def delete_run(self, run_id):
        self._client.delete_run(run_id)

    def restore_run(self, run_id):
        self._client.restore_run(run_id)

    # logging
    def log_metric(self, run_id, key, value, timestamp=None, step=None, synchronous=None,
                   dataset_name=None, dataset_digest=None, model_id=None):
        self._client.log_metric(run_id, key, value, timestamp, step)

    def log_param(self, run_id, key, value, synchronous=None):
        self._client.log_param(run_id, key, value)
        return value

    def set_tag(self, run_id, key, value, synchronous=None):
        self._client.set_tag(run_id, key, value)

    def delete_tag(self, run_id, key):
        self._client.delete_tag(run_id, key)

    def log_batch(self, run_id, metrics=(), params=(), tags=(), synchronous=None):
        """``metrics``: ``Metric`` objects (or (key, value, timestamp, step)
        tuples); ``params``, ``tags``: ``Param`` / ``RunTag`` objects or
        (key, value) pairs."""

        def kv(x):
            return (x.key, x.value) if hasattr(x, "key") else tuple(x)

        def point(m):
            if hasattr(m, "key"):
                return (m.key, m.value, m.timestamp, m.step)
            return tuple(m)

        self._client.log_batch(run_id, [point(m) for m in metrics], [kv(p) for p in params],
                               [kv(t) for t in tags])

    def get_metric_history(self, run_id, key):
        return [Metric(key, v, ts, step) for v, ts, step in self._client.get_metric_history(run_id, key)]

    # artifacts
    def log_artifact(self, run_id, local_path, artifact_path=None):
        self._client.log_artifact(run_id, os.fspath(local_path), artifact_path)

    def log_artifacts(self, run_id, local_dir, artifact_path=None):
        self._client.log_artifacts(run_id, os.fspath(local_dir), artifact_path)

    def log_text(self, run_id, text, artifact_file):
        self._client.log_text(run_id, text, artifact_file)

    def log_dict(self, run_id, dictionary, artifact_file):
        from . import _dict_text

        self._client.log_text(run_id, _dict_text(dictionary, artifact_file), artifact_file)

    def list_artifacts(self, run_id, path=None):
        return [FileInfo(p, d, s) for p, d, s in self._client.list_artifacts(run_id, path)]

    def download_artifacts(self, run_id, path, dst_path=None):
        import tempfile

        dst = dst_path if dst_path is not None else tempfile.mkdtemp()
        return self._client.download_artifacts(run_id, path or None, os.fspath(dst))

    def get_artifact_uri(self, run_id, artifact_path=None):
        return self._client.get_artifact_uri(run_id, artifact_path)

    def flush(self):
        """Everything this client logged is on disk when it returns."""
        self._client.flush()


Client = MlflowClient
