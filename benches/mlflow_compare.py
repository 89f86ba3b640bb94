#!/usr/bin/env python3
"""The per-step logging workload of examples/train_loop.rs, through MLflow.

Logs `--keys` metrics per step for `--steps` steps with one
`MlflowClient.log_metric` call per point (as a training loop that logs each
step does), into a fresh file store or SQLite store, and prints per-call
latency percentiles, throughput, bytes per point on disk and the read-back
time of the full history.

Run through benches/mlflow_compare.sh, which installs MLflow into a venv
and runs runlog's example with the same workload beside it.
"""

import argparse
import math
import os
import random
import shutil
import statistics
import tempfile
import time


def du(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["file", "sqlite"], default="file")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--keys", type=int, default=4)
    args = ap.parse_args()

    import mlflow
    from mlflow.tracking import MlflowClient

    workdir = tempfile.mkdtemp(prefix="mlflow-compare-")
    if args.backend == "file":
        uri = "file://" + os.path.join(workdir, "mlruns")
        data_path = os.path.join(workdir, "mlruns")
    else:
        data_path = os.path.join(workdir, "mlflow.db")
        uri = "sqlite:///" + data_path
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("compare")
    run = client.create_run(exp)
    run_id = run.info.run_id
    keys = ["loss"] + [f"metric_{k}" for k in range(1, args.keys)]
    rnd = random.Random(7)
    before = du(data_path)
    lat = []
    t0 = time.perf_counter()
    decay = args.steps / 5.0
    for step in range(args.steps):
        clean = 2.5 * math.exp(-step / decay) + 0.05
        for i, key in enumerate(keys):
            value = clean + 0.02 * rnd.gauss(0, 1) if i == 0 else clean * i + rnd.random()
            t = time.perf_counter_ns()
            client.log_metric(run_id, key, value, step=step)
            lat.append(time.perf_counter_ns() - t)
    total = time.perf_counter() - t0
    client.set_terminated(run_id)
    points = args.steps * len(keys)
    size = du(data_path) - before

    t = time.perf_counter()
    history = client.get_metric_history(run_id, "loss")
    read = time.perf_counter() - t
    assert len(history) == args.steps

    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))]
    print(f"mlflow {mlflow.__version__} {args.backend} store: {points} points, {args.steps} steps x {len(keys)} keys")
    print(f"  per call: p50 {p(0.5)/1000:.1f} us, p99 {p(0.99)/1000:.1f} us, mean {statistics.mean(lat)/1000:.1f} us")
    print(f"  throughput: {points/total:.0f} points/s")
    print(f"  bytes on disk: {size} ({size/points:.1f} per point)")
    print(f"  history of loss ({args.steps} points): {read*1e3:.1f} ms ({read/args.steps*1e6:.2f} us per point)")
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
