#!/usr/bin/env bash
# MLflow's client on runlog's store plugin, MLflow's SQLite store, its file
# store and a store that does nothing, side by side (benches/python_plugin.py).
# Not part of CI. Uses benches/mlflow-venv (made when missing; MLFLOW_VENV
# names another), with runlog's package built into it.
#
#   ROUNDS=5 CALLS=2000 BATCHES=20 benches/python_plugin.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${MLFLOW_VENV:-benches/mlflow-venv}
if ! "$venv/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '3.17.2')" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet mlflow==3.17.2 scikit-learn
fi
"$venv/bin/python" -m pip install --quiet "maturin>=1.9,<2"
PATH="$PWD/$venv/bin:$PATH" CARGO_TARGET_DIR="$PWD/target/python-bench" \
  "$venv/bin/python" -m pip install --quiet --no-build-isolation --force-reinstall --no-deps ./python
exec "$venv/bin/python" benches/python_plugin.py
