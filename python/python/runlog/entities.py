"""MLflow's entities with MLflow's attribute names, read from the REST JSON
the native module returns."""

from __future__ import annotations

import json


def _pairs(items):
    return {kv["key"]: kv["value"] for kv in items or [] if "key" in kv}


def _value(v):
    if isinstance(v, str):
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.get(
            v, float(v)
        )
    return float(v)


class _Entity:
    _fields: tuple = ()

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, f) == getattr(other, f) for f in self._fields
        )

    def __repr__(self):
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"<{type(self).__name__}: {inner}>"

    def __iter__(self):
        # dict(entity), as MLflow's entities allow
        for f in self._fields:
            yield f, getattr(self, f)


class Metric(_Entity):
    """One point of a metric history."""

    _fields = ("key", "value", "timestamp", "step")

    def __init__(self, key, value, timestamp, step):
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.step = step


class _KeyValue(_Entity):
    _fields = ("key", "value")

    def __init__(self, key, value):
        self.key = key
        self.value = value


class Param(_KeyValue):
    """A param: ``key`` and ``value`` (a string)."""


class RunTag(_KeyValue):
    """A tag: ``key`` and ``value``."""


class Experiment(_Entity):
    """An experiment: ``experiment_id``, ``name``, ``artifact_location``,
    ``lifecycle_stage``, ``tags``, ``creation_time``, ``last_update_time``."""

    _fields = (
        "experiment_id",
        "name",
        "artifact_location",
        "lifecycle_stage",
        "tags",
        "creation_time",
        "last_update_time",
    )

    def __init__(self, experiment_id, name, artifact_location, lifecycle_stage, tags=None,
                 creation_time=None, last_update_time=None):
        self.experiment_id = experiment_id
        self.name = name
        self.artifact_location = artifact_location
        self.lifecycle_stage = lifecycle_stage
        self.tags = tags or {}
        self.creation_time = creation_time
        self.last_update_time = last_update_time

    @classmethod
    def from_json(cls, d):
        if isinstance(d, str):
            d = json.loads(d)
        return cls(
            d["experiment_id"],
            d["name"],
            d.get("artifact_location", ""),
            d.get("lifecycle_stage", "active"),
            _pairs(d.get("tags")),
            d.get("creation_time"),
            d.get("last_update_time"),
        )


class RunInfo(_Entity):
    _fields = (
        "run_id",
        "run_name",
        "experiment_id",
        "user_id",
        "status",
        "start_time",
        "end_time",
        "artifact_uri",
        "lifecycle_stage",
    )

    def __init__(self, run_id, run_name, experiment_id, user_id, status, start_time, end_time,
                 artifact_uri, lifecycle_stage):
        self.run_id = run_id
        self.run_name = run_name
        self.experiment_id = experiment_id
        self.user_id = user_id
        self.status = status
        self.start_time = start_time
        self.end_time = end_time
        self.artifact_uri = artifact_uri
        self.lifecycle_stage = lifecycle_stage

    @property
    def run_uuid(self):
        return self.run_id


class RunData(_Entity):
    """``metrics`` (key -> latest value), ``params``, ``tags``; the latest
    points as ``Metric`` objects in ``_metric_objs``."""

    _fields = ("metrics", "params", "tags")

    def __init__(self, metrics=None, params=None, tags=None):
        self._metric_objs = list(metrics or [])
        self.metrics = {m.key: m.value for m in self._metric_objs}
        self.params = dict(params or {})
        self.tags = dict(tags or {})


class DatasetInput(_Entity):
    _fields = ("dataset", "tags")

    def __init__(self, dataset, tags):
        self.dataset = dataset
        self.tags = tags


class Dataset(_Entity):
    """A dataset a run used: ``name``, ``digest``, ``source_type``,
    ``source``, optional ``schema`` and ``profile``."""

    _fields = ("name", "digest", "source_type", "source", "schema", "profile")

    def __init__(self, name, digest, source_type, source, schema=None, profile=None):
        self.name = name
        self.digest = digest
        self.source_type = source_type
        self.source = source
        self.schema = schema
        self.profile = profile


class RunInputs(_Entity):
    _fields = ("dataset_inputs",)

    def __init__(self, dataset_inputs=None):
        self.dataset_inputs = list(dataset_inputs or [])


class Run(_Entity):
    """A run: ``info``, ``data`` and ``inputs``."""

    _fields = ("info", "data", "inputs")

    def __init__(self, run_info, run_data, run_inputs=None):
        self.info = run_info
        self.data = run_data
        self.inputs = run_inputs or RunInputs()

    @classmethod
    def from_json(cls, d):
        if isinstance(d, str):
            d = json.loads(d)
        i = d["info"]
        info = RunInfo(
            i["run_id"],
            i.get("run_name", ""),
            i["experiment_id"],
            i.get("user_id", ""),
            i.get("status", "RUNNING"),
            i.get("start_time"),
            i.get("end_time"),
            i.get("artifact_uri", ""),
            i.get("lifecycle_stage", "active"),
        )
        data = d.get("data", {})
        metrics = [
            Metric(m["key"], _value(m["value"]), m.get("timestamp", 0), m.get("step", 0))
            for m in data.get("metrics", [])
        ]
        inputs = [
            DatasetInput(
                Dataset(
                    x["dataset"]["name"],
                    x["dataset"]["digest"],
                    x["dataset"]["source_type"],
                    x["dataset"]["source"],
                    x["dataset"].get("schema"),
                    x["dataset"].get("profile"),
                ),
                [RunTag(k, v) for k, v in _pairs(x.get("tags")).items()],
            )
            for x in d.get("inputs", {}).get("dataset_inputs", [])
        ]
        return cls(
            info,
            RunData(metrics, _pairs(data.get("params")), _pairs(data.get("tags"))),
            RunInputs(inputs),
        )


class FileInfo(_Entity):
    _fields = ("path", "is_dir", "file_size")

    def __init__(self, path, is_dir, file_size):
        self.path = path
        self.is_dir = is_dir
        self.file_size = file_size


class ViewType:
    """Which runs or experiments a search includes."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


class RunStatus:
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
