#!/usr/bin/env bash
# Pushing MLflow 3's logged models and the registry to a tracking server,
# side by side in one run: MLflow's own client logs N scikit-learn models
# (`mlflow.sklearn.log_model`, a metric about each, `register_model`)
# straight to `mlflow server` 3.17.2 over SQLite (the online cost); the
# same program writes them into an SQLite file offline, `runlog import`
# brings them into a runlog store, and `runlog sync` pushes that store to
# `runlog server` and to a fresh `mlflow server` (the offline path), then
# syncs again (nothing new: the cost of checking). Not part of CI; it uses
# the venv of benches/server_compare.sh (benches/mlflow-venv, made when
# missing, with scikit-learn; MLFLOW_VENV names another).
#
#   benches/sync_models.sh [MODELS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50}
venv=${MLFLOW_VENV:-benches/mlflow-venv}
if ! "$venv/bin/python" -c "import mlflow, sklearn, sys; sys.exit(mlflow.__version__ != '3.17.2')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet mlflow==3.17.2 scikit-learn
fi
cargo build --release --quiet --bin runlog
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -- "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
wait_up() { until curl -sf "$1/health" >/dev/null 2>&1; do sleep 0.05; done; }
now() { python3 -c 'import time; print(time.time())'; }
since() { python3 -c "print(f'{$(now) - $1:.2f} s')"; }

start_mlflow() {
  # In a session of its own, stopped as a group (its workers outlive a
  # kill of the parent alone); measured once it has settled.
  (cd "$work" && exec setsid "$OLDPWD/$venv/bin/python" -m mlflow server --host 127.0.0.1 --port 5322 \
    --workers 1 --backend-store-uri "sqlite:///$work/mlflow-$1.db" \
    --artifacts-destination "$work/artifacts-$1" >/dev/null 2>&1) &
  pids+=(-$!)
  wait_up http://127.0.0.1:5322
  sleep 10
}
stop_servers() { for p in "${pids[@]}"; do kill -- "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }

cat > "$work/log_models.py" <<'EOF'
import sys
import mlflow
import numpy as np
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("models")
X = np.arange(200, dtype=float).reshape(100, 2)
y = (X[:, 0] > 99).astype(int)
for i in range(int(sys.argv[2])):
    with mlflow.start_run(run_name=f"fit-{i}"):
        mlflow.log_param("C", 1.0 + i)
        info = mlflow.sklearn.log_model(LogisticRegression(C=1.0 + i).fit(X, y), name="clf")
        mlflow.log_metric("score", 0.5 + i / 1000, model_id=info.model_id)
    mlflow.register_model(info.model_uri, "clf")
EOF

echo "== $n models: log_model + a metric + register_model each"
start_mlflow online
t0=$(now)
(cd "$work" && "$OLDPWD/$venv/bin/python" log_models.py http://127.0.0.1:5322 "$n" >/dev/null 2>&1)
echo "MLflow's client straight to mlflow server:      $(since "$t0")"
stop_servers

t0=$(now)
(cd "$work" && "$OLDPWD/$venv/bin/python" log_models.py "sqlite:///$work/offline.db" "$n" >/dev/null 2>&1)
echo "the same program offline into SQLite:           $(since "$t0")"
t0=$(now)
./target/release/runlog --tracking-uri "$work/store" import --from "sqlite:///$work/offline.db" >/dev/null
echo "runlog import of it:                            $(since "$t0")"

./target/release/runlog --tracking-uri "$work/runlog-server" server --port 5321 >/dev/null 2>&1 &
pids+=($!)
wait_up http://127.0.0.1:5321
t0=$(now)
./target/release/runlog --tracking-uri "$work/store" sync --to http://127.0.0.1:5321 >/dev/null
echo "runlog sync to runlog server:                   $(since "$t0")"
t0=$(now)
./target/release/runlog --tracking-uri "$work/store" sync --to http://127.0.0.1:5321 >/dev/null
echo "  again (nothing new):                          $(since "$t0")"
stop_servers

start_mlflow synced
t0=$(now)
./target/release/runlog --tracking-uri "$work/store" sync --to http://127.0.0.1:5322 >/dev/null
echo "runlog sync to mlflow server:                   $(since "$t0")"
t0=$(now)
./target/release/runlog --tracking-uri "$work/store" sync --to http://127.0.0.1:5322 >/dev/null
echo "  again (nothing new):                          $(since "$t0")"
stop_servers
