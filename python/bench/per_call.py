"""Per-call cost of logging one metric point from Python: runlog's
log_metric and metric handle beside MLflow (file store, SQLite),
tensorboardX and trackio, in one run, on this machine.

Each tracker logs blocks of N calls to one key; the figure is the median
over blocks of the time per call (the loop's own cost included, and
printed on its own). runlog's blocks are flushed between blocks (untimed)
so that a block measures the call, not the writer's backlog.

    python per_call.py [--calls N] [--blocks B] [--only runlog,mlflow-file,...]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time


def blocks(block, n, count, between=None):
    """`block(start, n)` runs one tight loop of n calls (no Python call
    per point besides the tracker's own)."""
    out = []
    step = 0
    for _ in range(count):
        t = time.perf_counter_ns()
        block(step, n)
        out.append((time.perf_counter_ns() - t) / n)
        step += n
        if between:
            between()
    return statistics.median(out)


def bench_loop(n, count, _dir):
    def block(start, n):
        for i in range(start, start + n):
            pass

    return blocks(block, n, count)


def bench_runlog(n, count, d):
    import runlog

    runlog.set_tracking_uri(os.path.join(d, "runlog"))
    runlog.start_run()
    log_metric = runlog.log_metric

    def block(start, n):
        for i in range(start, start + n):
            log_metric("loss", 0.5, step=i)

    r = blocks(block, n, count, runlog.flush)
    runlog.end_run()
    return r


def bench_runlog_handle(n, count, d):
    import runlog

    runlog.set_tracking_uri(os.path.join(d, "runlog-handle"))
    runlog.start_run()
    h = runlog.metric_handle("loss").log

    def block(start, n):
        for i in range(start, start + n):
            h(0.5, i)

    r = blocks(block, n, count, runlog.flush)
    runlog.end_run()
    return r


def _mlflow(uri):
    import mlflow

    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    mlflow.set_tracking_uri(uri)
    mlflow.start_run()
    log_metric = mlflow.log_metric

    def block(start, n):
        for i in range(start, start + n):
            log_metric("loss", 0.5, step=i)

    return mlflow, block


def bench_mlflow_file(n, count, d):
    mlflow, block = _mlflow("file://" + os.path.join(d, "mlruns"))
    r = blocks(block, n, count)
    mlflow.end_run()
    return r


def bench_mlflow_sqlite(n, count, d):
    mlflow, block = _mlflow("sqlite:///" + os.path.join(d, "mlflow.db"))
    r = blocks(block, n, count)
    mlflow.end_run()
    return r


def bench_tensorboardx(n, count, d):
    from tensorboardX import SummaryWriter

    w = SummaryWriter(os.path.join(d, "tb"))

    add = w.add_scalar

    def block(start, n):
        for i in range(start, start + n):
            add("loss", 0.5, i)

    r = blocks(block, n, count, w.flush)
    w.close()
    return r


def bench_trackio(n, count, d):
    # Read when trackio is imported: set first, so that its database goes
    # to the temporary directory, not ~/.cache/huggingface/trackio.
    os.environ["TRACKIO_DIR"] = os.path.join(d, "trackio")
    import trackio

    trackio.init(project="bench")

    log = trackio.log

    def block(start, n):
        for i in range(start, start + n):
            log({"loss": 0.5}, step=i)

    r = blocks(block, n, count)
    trackio.finish()
    return r


TRACKERS = {
    "loop": bench_loop,
    "runlog": bench_runlog,
    "runlog-handle": bench_runlog_handle,
    "tensorboardx": bench_tensorboardx,
    "trackio": bench_trackio,
    "mlflow-file": bench_mlflow_file,
    "mlflow-sqlite": bench_mlflow_sqlite,
}
SLOW = {"mlflow-file", "mlflow-sqlite"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--calls", type=int, default=10_000)
    p.add_argument("--blocks", type=int, default=30)
    p.add_argument("--only", default=",".join(TRACKERS))
    a = p.parse_args()
    print(f"python {sys.version.split()[0]}; median per call over blocks", flush=True)
    for name in a.only.split(","):
        fn = TRACKERS[name]
        # The slow peers: fewer calls a block, as their cost is per call.
        n, count = (a.calls // 20, max(5, a.blocks // 3)) if name in SLOW else (a.calls, a.blocks)
        with tempfile.TemporaryDirectory() as d:
            try:
                ns = fn(n, count, d)
            except ImportError as e:
                print(f"{name:14} not installed ({e.name})", flush=True)
                continue
        print(f"{name:14} {ns:12,.1f} ns per call  ({count} blocks of {n:,} calls)", flush=True)


if __name__ == "__main__":
    main()
