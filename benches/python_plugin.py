"""MLflow's own client on four tracking stores, side by side in one run:
runlog's store plugin (runlog:), MLflow's SQLite store (its 3.x default),
its file store, and a store that does nothing (MLflow's own floor: what
its client costs above any store). Each store is timed in a fresh
process (python benches/python_plugin.py STORE), alternating stores
round by round; the median of the rounds is printed. Run by
benches/python_plugin.sh; not part of CI.

Timed, per store:
- mlflow.log_metric (fluent, in an active run): N calls;
- MlflowClient.log_batch of 1,000 points: B calls;
- the docs' sklearn autolog example (a random forest on the diabetes
  data, autolog on), end to end.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

STORES = ["runlog", "sqlite", "file", "nothing"]


def register_nothing_store():
    from mlflow.entities import Experiment, Run, RunData, RunInfo, RunInputs, RunStatus
    from mlflow.store.tracking.abstract_store import AbstractStore
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    class NothingStore(AbstractStore):
        """Takes every write and forgets it; answers the fewest reads the
        fluent API needs to start and end a run."""

        def __init__(self, store_uri=None, artifact_uri=None):
            super().__init__()
            self._runs = {}

        def get_experiment(self, experiment_id):
            return Experiment(experiment_id, "Default", "/tmp/nothing", "active")

        def get_experiment_by_name(self, name):
            return self.get_experiment("0")

        def create_run(self, experiment_id, user_id, start_time, tags, run_name):
            info = RunInfo(
                run_id="0" * 32, experiment_id=experiment_id, user_id=user_id,
                status=RunStatus.to_string(RunStatus.RUNNING), start_time=start_time,
                end_time=None, lifecycle_stage="active", artifact_uri="/tmp/nothing",
                run_name=run_name,
            )
            self._runs[info.run_id] = Run(info, RunData(), RunInputs([]))
            return self._runs[info.run_id]

        def get_run(self, run_id):
            return self._runs[run_id]

        def update_run_info(self, run_id, run_status, end_time, run_name):
            return self._runs[run_id].info

        def log_batch(self, run_id, metrics, params, tags):
            pass

        def log_metric(self, run_id, metric):
            pass

        def set_tag(self, run_id, tag):
            pass

        def log_param(self, run_id, param):
            pass

    _tracking_store_registry.register("nothing", NothingStore)


def measure(store, n, batches, autolog):
    """In this process: the timings of one store, as JSON on stdout."""
    import mlflow
    from mlflow.entities import Metric

    work = tempfile.mkdtemp()
    os.chdir(work)
    uri = {
        "runlog": "runlog:store",
        "sqlite": "sqlite:///mlflow.db",
        "file": f"file://{work}/mlruns",
        "nothing": "nothing:",
    }[store]
    if store == "nothing":
        register_nothing_store()
    # MLflow 3.17 refuses its file store unless asked for it.
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    mlflow.set_tracking_uri(uri)
    out = {}
    with mlflow.start_run() as run:
        for i in range(20):  # warm up
            mlflow.log_metric("warm", i, step=i)
        t = time.perf_counter()
        for i in range(n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        out["log_metric_us"] = (time.perf_counter() - t) / n * 1e6
        client = mlflow.MlflowClient()
        now = int(time.time() * 1000)
        t = time.perf_counter()
        for b in range(batches):
            points = [Metric("batch", float(i), now, b * 1000 + i) for i in range(1000)]
            client.log_batch(run.info.run_id, metrics=points)
        out["log_batch_1000_ms"] = (time.perf_counter() - t) / batches * 1e3
    if autolog and store != "nothing":
        from sklearn.datasets import load_diabetes
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.model_selection import train_test_split

        t = time.perf_counter()
        mlflow.autolog()
        X, y = load_diabetes(return_X_y=True)
        X_train, X_test, y_train, _ = train_test_split(X, y, random_state=0)
        with mlflow.start_run():
            RandomForestRegressor(n_estimators=100, max_depth=6, max_features=3).fit(X_train, y_train)
        out["autolog_example_s"] = time.perf_counter() - t
    print(json.dumps(out))


def main():
    if len(sys.argv) > 1 and sys.argv[1] in STORES:
        store, n, batches, autolog = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
        measure(store, n, batches, autolog)
        return
    rounds = int(os.environ.get("ROUNDS", "5"))
    n = int(os.environ.get("CALLS", "2000"))
    batches = int(os.environ.get("BATCHES", "20"))
    results = {s: [] for s in STORES}
    for r in range(rounds):
        order = STORES if r % 2 == 0 else list(reversed(STORES))
        for store in order:
            # The SQLite store is slow: fewer calls, same per-call figure.
            calls = max(n // 10, 50) if store == "sqlite" else n
            got = subprocess.run(
                [sys.executable, __file__, store, str(calls), str(batches), "1" if r < 3 else "0"],
                check=True, capture_output=True, text=True,
            )
            results[store].append(json.loads(got.stdout.strip().splitlines()[-1]))
    print(f"{'store':<10}{'log_metric (us)':>18}{'log_batch 1000 (ms)':>22}{'autolog example (s)':>22}")
    for store in STORES:
        rows = results[store]

        def med(key):
            vals = [r[key] for r in rows if key in r]
            return statistics.median(vals) if vals else float("nan")

        print(f"{store:<10}{med('log_metric_us'):>18.1f}{med('log_batch_1000_ms'):>22.2f}{med('autolog_example_s'):>22.2f}")


if __name__ == "__main__":
    main()
