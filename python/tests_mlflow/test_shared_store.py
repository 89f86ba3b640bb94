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
