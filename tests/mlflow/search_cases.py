"""Runs filter and order_by cases through MLflow's SQL store; prints one
JSON line per case: {"filter"|"order_by": ..., "result": [names] | "error"}."""
import json, sys, tempfile, os, logging
logging.disable(logging.WARNING)
from mlflow.tracking import MlflowClient
from mlflow.entities import Metric, Param, RunTag

d = tempfile.mkdtemp()
c = MlflowClient(tracking_uri=f"sqlite:///{d}/db.sqlite")
exp = c.create_experiment("cases")
RUNS = [
    # name, status, start, end, metrics, params, tags
    ("alpha", "FAILED", 1000, 1500, {"key1": 121, "spacey name": 1, "acc": float("nan")}, {"my_param": "A", "m": "L'Hosp"}, {"source_name": "a notebook"}),
    ("beta", "FINISHED", 2000, 2500, {"key1": 123, "acc": 0.5}, {"my_param": "A", "m": "L''Hosp"}, {"tag1": "C"}),
    ("gamma", "FINISHED", 3000, 3500, {"key1": 125}, {"my_param": "B"}, {"tag1": "D", "t.a.g": "a"}),
]
for name, status, start, end, metrics, params, tags in RUNS:
    r = c.create_run(exp, start_time=start, run_name=name)
    rid = r.info.run_id
    c.log_batch(rid, metrics=[Metric(k, v, 1, 0) for k, v in metrics.items()],
                params=[Param(k, v) for k, v in params.items()],
                tags=[RunTag(k, v) for k, v in tags.items()])
    c.set_terminated(rid, status, end_time=end)

def outcome(**kw):
    try:
        runs = c.search_runs([exp], **kw)
        return [r.info.run_name for r in runs]
    except Exception as e:
        return "error"

filters = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
orders = [json.loads(l) for l in open(sys.argv[2]) if l.strip() and not l.startswith("#")]
for f in filters:
    print(json.dumps({"filter": f, "result": outcome(filter_string=f)}))
for o in orders:
    print(json.dumps({"order_by": o, "result": outcome(order_by=o)}))
