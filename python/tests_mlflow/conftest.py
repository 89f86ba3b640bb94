"""Fixtures of the store plugin's suite: each test runs one scenario on
runlog's store (``runlog:<dir>``) and on MLflow's SQLite store (its 3.x
default), both in this process, and compares what they answer."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

import mlflow
from mlflow.exceptions import MlflowException


class Stores:
    """The two tracking URIs of one test, and a way to run a scenario on
    each with MLflow's client and fluent API pointed at it."""

    def __init__(self, tmp_path):
        self.uris = {
            "runlog": f"runlog:{tmp_path / 'runlog-store'}",
            "sqlite": f"sqlite:///{tmp_path / 'mlflow.db'}",
        }
        self.artifacts = {
            "runlog": None,
            "sqlite": (tmp_path / "sqlite-artifacts").as_uri(),
        }

    def each(self, scenario):
        """``scenario(client, name)`` on each store: {store: its result}."""
        out = {}
        for name, uri in self.uris.items():
            mlflow.set_tracking_uri(uri)
            mlflow.set_registry_uri(uri)
            try:
                client = mlflow.MlflowClient(uri, uri)
                out[name] = scenario(client, name)
            finally:
                while mlflow.active_run():
                    mlflow.end_run()
        return out

    def same(self, scenario):
        """Runs ``scenario`` on each store and asserts equal results;
        returns runlog's."""
        got = self.each(scenario)
        assert_same(got["runlog"], got["sqlite"])
        return got["runlog"]


def assert_same(runlog, sqlite, where="result"):
    """Equal, NaN equal to NaN, with the first difference named."""
    if isinstance(runlog, float) and isinstance(sqlite, float):
        if math.isnan(runlog) and math.isnan(sqlite):
            return
    if isinstance(runlog, dict) and isinstance(sqlite, dict):
        assert runlog.keys() == sqlite.keys(), f"{where}: keys {runlog.keys()} != {sqlite.keys()}"
        for k in runlog:
            assert_same(runlog[k], sqlite[k], f"{where}[{k!r}]")
        return
    if isinstance(runlog, (list, tuple)) and isinstance(sqlite, (list, tuple)):
        assert len(runlog) == len(sqlite), f"{where}: {len(runlog)} items != {len(sqlite)}: {runlog!r} != {sqlite!r}"
        for i, (a, b) in enumerate(zip(runlog, sqlite)):
            assert_same(a, b, f"{where}[{i}]")
        return
    assert runlog == sqlite, f"{where}: runlog {runlog!r} != sqlite {sqlite!r}"


def run_program(program, uri, cwd):
    """Runs ``program`` (Python text, ``sys.argv[1]`` the tracking URI) in
    a fresh interpreter in ``cwd``; the JSON its last line prints."""
    out = subprocess.run([sys.executable, "-c", program, uri], cwd=cwd, capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def error(call, *args, **kwargs):
    """``call``'s result, or ``("error", code)`` for an MlflowException."""
    try:
        return call(*args, **kwargs)
    except MlflowException as e:
        return ("error", e.error_code)


@pytest.fixture
def stores(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME",
                 "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    yield Stores(tmp_path)
    mlflow.set_tracking_uri(None)
