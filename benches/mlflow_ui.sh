#!/usr/bin/env bash
# MLflow 3.17's own web UI on `runlog server --mlflow-ui` against the same
# UI on `mlflow server`, over the same data (tests/mlflow/ui_data.py: 12
# runs x 2 metrics x 500 steps, a logged and registered model), side by
# side in one run: each of 11 pages opened in a fresh tab of headless
# Chromium and timed until its content is drawn, the median of
# RUNLOG_UI_ROUNDS loads (default 5) per page and server. The browser test
# itself (tests/browser.rs), with more rounds; not part of CI.
#
#   benches/mlflow_ui.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNLOG_UI_ROUNDS=${RUNLOG_UI_ROUNDS:-5} cargo test --release --test browser \
  mlflows_own_web_ui_draws_every_page_on_runlog_server -- --nocapture 2>&1 |
  sed -n '/page load (ms)/,/^test /p'
