"""``import runlog`` and ``import mlflow`` on one ``runlog:`` URI in one
process: one store, one client of it, each API reading what the other
wrote."""

from __future__ import annotations

import mlflow
import runlog


def test_runlog_and_mlflow_share_a_runlog_store(tmp_path):
    uri = f"runlog:{tmp_path / 'store'}"
    runlog.set_tracking_uri(uri)
    try:
        with runlog.start_run(run_name="native") as r:
            runlog.log_metric("m", 1.5, step=3)
            runlog.log_param("p", "x")
        native_id = r.info.run_id
        mlflow.set_tracking_uri(uri)
        with mlflow.start_run(run_name="through-mlflow") as m:
            mlflow.log_metric("m", 2.5, step=4)
        got = mlflow.MlflowClient().get_run(native_id)
        assert got.info.status == "FINISHED"
        assert got.data.metrics == {"m": 1.5}
        assert got.data.params == {"p": "x"}
        back = runlog.MlflowClient().get_run(m.info.run_id)
        assert back.info.run_name == "through-mlflow"
        assert back.data.metrics == {"m": 2.5}
    finally:
        mlflow.set_tracking_uri(None)


def test_a_runlog_uri_with_a_host_is_refused_with_mlflows_error(tmp_path):
    import pytest
    from mlflow.exceptions import MlflowException

    with pytest.raises(MlflowException) as e:
        mlflow.MlflowClient("runlog://somehost/store").search_experiments()
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "names a host" in e.value.message


def test_the_plugins_log_batch_takes_entities_of_another_shape_and_iterators(tmp_path):
    """MLflow passes its own entities; objects that only have their public
    properties take the slower path, generators are read once, and a bad
    value is refused with MLflow's error, nothing logged."""
    import pytest
    from mlflow.entities import Metric
    from mlflow.exceptions import MlflowException

    class Point:  # a metric without MLflow's private attributes
        def __init__(self, value, step):
            self.key, self.value, self.timestamp, self.step = "plain", value, 1000 + step, step
            self.model_id = self.dataset_name = self.dataset_digest = None

    client = mlflow.MlflowClient(f"runlog:{tmp_path / 'store'}")
    store = client._tracking_client.store
    rid = client.create_run("0").info.run_id
    store.log_batch(rid, [Point(0.5, 0), Point(0.25, 1)], [], [])
    store.log_batch(rid, (Metric("gen", float(i), 5, i) for i in range(3)), iter([]), iter([]))
    history = lambda key: [(m.value, m.step) for m in client.get_metric_history(rid, key)]
    assert history("plain") == [(0.5, 0), (0.25, 1)]
    assert history("gen") == [(0.0, 0), (1.0, 1), (2.0, 2)]
    with pytest.raises(MlflowException) as e:
        store.log_batch(rid, [Metric("bad", 1.0, 5, 0), Metric("bad", "not a number", 5, 1)], [], [])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert history("bad") == []
