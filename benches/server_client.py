"""What users of MLflow's unchanged Python client see from a tracking
server: seconds per 1,000-point log_batch and per log_metric call, against
the server at MLFLOW_TRACKING_URI. Prints one line."""

import os
import sys
import time

from mlflow import MlflowClient
from mlflow.entities import Metric

label = sys.argv[1] if len(sys.argv) > 1 else os.environ["MLFLOW_TRACKING_URI"]
batches = int(os.environ.get("BATCHES", "20"))
singles = int(os.environ.get("SINGLES", "200"))
client = MlflowClient()
run_id = client.create_run("0").info.run_id
ts = int(time.time() * 1000)
t = time.perf_counter()
for b in range(batches):
    client.log_batch(run_id, metrics=[Metric("loss", 0.5, ts, b * 1000 + i) for i in range(1000)])
per_batch = (time.perf_counter() - t) / batches
t = time.perf_counter()
for i in range(singles):
    client.log_metric(run_id, "acc", 0.9, step=i)
per_metric = (time.perf_counter() - t) / singles
print(
    f"{label:<14} python client   log_batch(1,000 points) {per_batch * 1e3:8.2f} ms ({1000 / per_batch:9.0f} points/s)"
    f"   log_metric {per_metric * 1e3:7.2f} ms"
)
