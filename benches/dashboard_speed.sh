#!/usr/bin/env bash
# The dashboard's speed (BENCHMARKS.md, "The dashboard"): makes the stores
# of examples/dashboard_fixture.rs (80 M points, 10,000 runs, 100 runs x
# 2,000 points; about 40 s and 600 MB), starts `runlog server` on them,
# times the data of the charts on the server (curl) and the pages in
# headless chromium (crates/server/web/tests/speed.mjs, playwright-core installed as
# tests/browser.rs does). Not part of CI.
#
#   benches/dashboard_speed.sh [STORE_DIR]   (reuses STORE_DIR when it exists)
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:-target/dashboard-speed-store}
cargo build --release --quiet --bin runlog --example dashboard_fixture
if [ ! -d "$store" ]; then
  ./target/release/examples/dashboard_fixture "$store" > "$store.ids"
fi
long=$(awk '/^long/{print $2" "$3}' "$store.ids")
wide=$(awk '/^wide/{print $2" "$3}' "$store.ids")
sweep=$(awk '/^sweep/{print $2}' "$store.ids")
./target/release/runlog --tracking-uri "$store" server --port 0 > "$store.server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q http "$store.server.log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$store.server.log")

ids=$(echo "${long#* }" | sed 's/,/","/g')
keys='"loss","metric_1","metric_2","metric_3","metric_4","metric_5","metric_6","metric_7"'
one() { curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' -X POST "$url/ajax-api/2.0/runlog/series" -d "$1"; }
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f ms", a[int((NR+1)/2)]*1000}'; }
one "{\"run_ids\":[\"$ids\"],\"keys\":[\"loss\"],\"max_points\":2000}" > /dev/null  # warm the page cache
echo "server, one chart of 10 runs x 1 M points (2,000 points a run): $(for _ in $(seq 7); do one "{\"run_ids\":[\"$ids\"],\"keys\":[\"loss\"],\"max_points\":2000}"; done | median)"
echo "server, 8 such charts in one request: $(for _ in $(seq 5); do one "{\"run_ids\":[\"$ids\"],\"keys\":[$keys],\"max_points\":2000}"; done | median)"
echo "server, the same chart zoomed to 10,000 steps: $(for _ in $(seq 7); do one "{\"run_ids\":[\"$ids\"],\"keys\":[\"loss\"],\"max_points\":2000,\"start_step\":500000,\"end_step\":509999}"; done | median)"
search() { curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' -X POST "$url/ajax-api/2.0/mlflow/runs/search" -d "{\"experiment_ids\":[\"$sweep\"],\"max_results\":100,\"order_by\":[\"metrics.loss DESC\"]}"; }
echo "server, a page of 100 of 10,000 runs sorted by a metric: $(for _ in $(seq 7); do search; done | median)"
echo "server max RSS: $(grep VmHWM /proc/$server/status | awk '{print $2/1024 " MB"}')"

module=target/tmp/web-tests/node_modules/playwright-core/index.mjs
if [ ! -f "$module" ]; then
  mkdir -p target/tmp/web-tests
  cp crates/server/web/tests/package.json crates/server/web/tests/package-lock.json target/tmp/web-tests/
  (cd target/tmp/web-tests && npm ci --no-audit --no-fund --prefer-offline >/dev/null)
fi
RUNLOG_URL=$url PLAYWRIGHT_CORE=$PWD/$module LONG="$long" WIDE="$wide" SWEEP="$sweep" node crates/server/web/tests/speed.mjs
