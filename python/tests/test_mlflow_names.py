"""Names runlog does not implement are MLflow's own (``runlog.autolog``):
with MLflow missing, an ImportError that names the package to install."""

from __future__ import annotations

import importlib.util

import pytest

import runlog


def test_mlflows_names_need_mlflow_and_say_so():
    if importlib.util.find_spec("mlflow") is None:
        with pytest.raises(ImportError, match=r"runlog\.autolog is MLflow's autolog.*pip install mlflow"):
            runlog.autolog
        with pytest.raises(ImportError, match="mlflow"):
            runlog.sklearn.autolog()
    else:
        import mlflow

        assert runlog.autolog is mlflow.autolog


def test_private_and_unknown_names_are_attribute_errors():
    with pytest.raises(AttributeError):
        runlog._nothing_here
    assert not hasattr(runlog, "__wrapped__")
