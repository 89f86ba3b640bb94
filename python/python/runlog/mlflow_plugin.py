"""MLflow's store plugin for ``runlog:`` tracking URIs.

``pip install ./python`` registers it with MLflow (the entry points
``mlflow.tracking_store`` and ``mlflow.model_registry_store``), so that an
unchanged ``import mlflow`` program run with
``MLFLOW_TRACKING_URI=runlog:mlruns`` (a path relative to the working
directory) or ``runlog:///abs/path`` logs into a runlog store, in process,
with no server::

    MLFLOW_TRACKING_URI=runlog:mlruns python train.py
    MLFLOW_TRACKING_URI=runlog:mlruns mlflow runs list --experiment-id 0

Both stores are MLflow's own REST stores with their transport replaced:
each request MLflow's client builds is answered by runlog's engine in this
process (``runlog::api``, the code behind ``runlog server``'s endpoints),
and each answer read back by MLflow's own code into MLflow's entities and
exceptions. What MLflow's client does with the answers (autolog,
``log_model``, ``load_model``, ``evaluate``, the registry, search) is
therefore MLflow's, unchanged; artifacts are files under the store, written
by MLflow's local artifact repository.

Log calls are not flushed one by one (the engine's writer thread takes
them, as for ``import runlog as mlflow``): a run's end is flushed, each
registry change is, and everything is at the process's exit. What runlog
does not have (tracing, the AI gateway, scorers, evaluation datasets,
webhooks) raises MLflow's ``NOT_IMPLEMENTED`` error naming it.
"""

from __future__ import annotations

import contextlib
import json

from mlflow.entities import LoggedModel
from mlflow.entities.model_registry import ModelVersion, RegisteredModel
from mlflow.exceptions import MlflowException, MlflowNotImplementedException, RestException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode
from mlflow.store.model_registry.rest_store import RestStore as _RegistryRestStore
from mlflow.store.tracking.abstract_store import AbstractStore as _AbstractTrackingStore
from mlflow.store.tracking.rest_store import RestStore as _TrackingRestStore
from mlflow.utils.proto_json_utils import parse_dict
from mlflow.utils.rest_utils import MlflowHostCreds

from . import _runlog
from .exceptions import MlflowException as RunlogError

SCHEME = "runlog"

# What a `runlog:` URI's MlflowHostCreds say: no request leaves the process,
# but MLflow's code may read a host from them.
_NO_HOST = "runlog://in-process"

_TERMINAL = {"FINISHED", "FAILED", "KILLED"}


@contextlib.contextmanager
def _mlflow_errors():
    """The engine's errors as MLflow's ``MlflowException``, same code."""
    try:
        yield
    except (TypeError, ValueError) as e:
        # A value the engine cannot take (a metric that is not a number).
        raise MlflowException(str(e), error_code=INVALID_PARAMETER_VALUE) from None
    except RunlogError as e:
        code = e.error_code if e.error_code in ErrorCode.keys() else "INTERNAL_ERROR"
        raise MlflowException(e.message, error_code=ErrorCode.Value(code)) from None


def _shared_client(store_uri):
    """The process's client of the store a ``runlog:`` URI names
    (``runlog:mlruns``, ``runlog:///abs/path``; ``runlog:`` alone is
    ``mlruns``), by the engine's own rule for these URIs."""
    with _mlflow_errors():
        return _runlog.Client.shared(store_uri)


def _answer(client, path, method, json_body, response_proto):
    """One request answered in process, read into ``response_proto`` as
    MLflow's ``call_endpoint`` reads a server's answer."""
    body = b"{}" if json_body is None else json_body.encode("utf-8")
    status, text = client.call(method, path, body)
    answer = json.loads(text)
    if status != 200:
        raise RestException(answer)
    parse_dict(js_dict=answer, message=response_proto)
    return response_proto


class _InProcessTrackingStore(_TrackingRestStore):
    """MLflow's REST tracking store with each request answered in process."""

    def __init__(self, client):
        self._client = client
        super().__init__(lambda: MlflowHostCreds(_NO_HOST))

    def _call_endpoint(
        self,
        api,
        json_body=None,
        endpoint=None,
        retry_timeout_seconds=None,
        response_proto=None,
    ):
        info = self._V3_METHOD_TO_INFO if api in self._V3_APIS else self._METHOD_TO_INFO
        default_path, method = info[api]
        return _answer(
            self._client,
            endpoint or default_path,
            method,
            json_body,
            response_proto or api.Response(),
        )

    # The log calls go to the engine's own calls (one native call, no JSON):
    # MLflow's client spends its time above this, not here. A metric of a
    # logged model or a dataset takes the API's way, which links it.

    def log_metric(self, run_id, metric):
        if metric.model_id or metric.dataset_name or metric.dataset_digest:
            return super().log_metric(run_id, metric)
        with _mlflow_errors():
            self._client.log_metric(run_id, metric.key, metric.value, metric.timestamp, metric.step)

    def log_param(self, run_id, param):
        with _mlflow_errors():
            self._client.log_param(run_id, param.key, param.value)

    def set_tag(self, run_id, tag):
        with _mlflow_errors():
            self._client.set_tag(run_id, tag.key, tag.value)

    def log_batch(self, run_id, metrics, params, tags):
        # Lists, so that the fallbacks below can read them again.
        metrics, params, tags = (x if isinstance(x, (list, tuple)) else list(x)
                                 for x in (metrics, params, tags))
        try:
            # MLflow's entities, read natively in one pass.
            with _mlflow_errors():
                if self._client.log_mlflow_batch(run_id, metrics, params, tags):
                    return None
            linked = True  # a metric names a logged model or a dataset
        except AttributeError:  # entities of another shape
            linked = any(m.model_id or m.dataset_name or m.dataset_digest for m in metrics)
        if linked:
            return super().log_batch(run_id, metrics, params, tags)
        with _mlflow_errors():
            self._client.log_batch(
                run_id,
                [(m.key, m.value, m.timestamp, m.step) for m in metrics],
                [(p.key, p.value) for p in params],
                [(t.key, t.value) for t in tags],
            )
        return None

    def update_run_info(self, run_id, run_status, end_time, run_name):
        info = super().update_run_info(run_id, run_status, end_time, run_name)
        # A run's end is on disk when it returns, as with MLflow's stores.
        if info.status in _TERMINAL:
            self._client.flush()
        return info

    @staticmethod
    def _get_server_version(*_):
        # No server: the engine of this package.
        return None


def _forwarded(name):
    def method(self, *args, **kwargs):
        return _as_sql_store(getattr(self._rest, name)(*args, **kwargs))

    method.__name__ = name
    method.__qualname__ = f"TrackingStore.{name}"
    method.__doc__ = getattr(getattr(_InProcessTrackingStore, name), "__doc__", None)
    return method


def _tracking_store_methods():
    """Every method MLflow's REST store defines over its abstract store
    (public ones, and the private ones the abstract store calls, such as
    ``_search_runs``), forwarded to the in-process one."""
    names = set()
    for cls in _InProcessTrackingStore.__mro__:
        if cls in (_AbstractTrackingStore, object):
            continue
        names.update(
            n
            for n, v in vars(cls).items()
            if callable(v)
            and not n.startswith("__")
            and (not n.startswith("_") or hasattr(_AbstractTrackingStore, n))
        )
    return {n: _forwarded(n) for n in sorted(names)}


def _tracking_init(self, store_uri=None, artifact_uri=None):
    _AbstractTrackingStore.__init__(self)
    self._store_uri = store_uri or f"{SCHEME}:mlruns"
    self._rest = _InProcessTrackingStore(_shared_client(self._store_uri))


# MLflow's tracking store over a runlog store, in process. Not a RestStore
# itself (MLflow's REST store is inside it): MLflow would print a server's
# "View run at" links for a RestStore, and there is no server.
TrackingStore = type(
    "TrackingStore",
    (_AbstractTrackingStore,),
    {
        "__doc__": "MLflow's tracking store over a runlog store, in process.",
        "__module__": __name__,
        "__init__": _tracking_init,
        **_tracking_store_methods(),
    },
)


class RegistryStore(_RegistryRestStore):
    """MLflow's model registry store over a runlog store, in process."""

    def __init__(self, store_uri=None, tracking_uri=None):
        self._store_uri = store_uri or f"{SCHEME}:mlruns"
        self._client = _shared_client(self._store_uri)
        super().__init__(lambda: MlflowHostCreds(_NO_HOST))

    def _call_endpoint(self, api, json_body, call_all_endpoints=False, extra_headers=None):
        response_proto = self._get_response_from_method(api)
        if call_all_endpoints:
            # MLflow's client tries each endpoint until one exists; the
            # first (2.0) always does here.
            path, method = self._get_all_endpoints_from_method(api)[0]
        else:
            path, method = self._get_endpoint_from_method(api)
        answer = _answer(self._client, path, method, json_body, response_proto)
        self._client.flush()
        return answer

    def _call_webhook_endpoint(self, api, json_body=None, webhook_id=None):
        raise MlflowNotImplementedException(
            "Webhooks are delivered by a tracking server: run `runlog server` on the store "
            "and point MLflow at its http:// URI"
        )


def _as_sql_store(entity):
    """An entity as MLflow's SQL store gives it: its REST store reads the
    wire format, where a version is a string and an unset text field an
    empty one; the SQL store gives ints and ``None``. Lists in place."""
    if isinstance(entity, ModelVersion):
        if isinstance(entity._version, str) and entity._version.isdigit():
            entity._version = int(entity._version)
        if entity._description == "":
            entity._description = None
    elif isinstance(entity, RegisteredModel):
        entity._aliases = {
            a: int(v) if isinstance(v, str) and v.isdigit() else v
            for a, v in entity._aliases.items()
        }
        if entity._description == "":
            entity._description = None
        for v in entity._latest_version or []:
            _as_sql_store(v)
    elif isinstance(entity, LoggedModel):
        if entity._model_type == "":
            entity._model_type = None
    elif isinstance(entity, list):
        for item in entity:
            _as_sql_store(item)
    return entity


def _sql_store_answers(name, method):
    def answered(self, *args, **kwargs):
        return _as_sql_store(method(self, *args, **kwargs))

    answered.__name__ = name
    answered.__doc__ = method.__doc__
    return answered


for _name, _method in list(vars(_RegistryRestStore).items()):
    if not _name.startswith("_") and callable(_method):
        setattr(RegistryStore, _name, _sql_store_answers(_name, _method))
del _name, _method
