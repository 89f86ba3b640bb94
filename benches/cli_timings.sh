#!/usr/bin/env bash
# Times every `runlog` command on a store of 10 M metric points (train_loop:
# 1.25 M steps x 8 keys, compacted), plus `ingest` of 10 M JSON lines into an
# empty store. Prints, per command, the median wall time of 3 runs and the
# largest max RSS, as a Markdown table for BENCHMARKS.md.
#
#   benches/cli_timings.sh [WORK_DIR]      (default: a new temporary directory)
#
# Needs GNU time (/usr/bin/time) and python3 (to write the ingest input).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin runlog --example train_loop >/dev/null
BIN=$PWD/target/release/runlog
WORK=${1:-$(mktemp -d)}
STORE=$WORK/store
mkdir -p "$WORK"
if [ ! -d "$STORE" ]; then
  target/release/examples/train_loop --steps 1250000 --keys 8 --tracking-uri "$STORE" >/dev/null
  "$BIN" --tracking-uri "$STORE" compact >/dev/null
fi
RUN=$("$BIN" --tracking-uri "$STORE" runs list -x 0 --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["info"]["run_id"])')

# median of 3 wall times, max of the max RSS (KB)
measure() {
  local name=$1; shift
  local times=() rss=0
  for _ in 1 2 3; do
    local out
    /usr/bin/time -o "$WORK/time.txt" -f "%e %M" "$@" >/dev/null 2>&1
    out=$(tail -1 "$WORK/time.txt")
    times+=("${out% *}")
    local r=${out#* }
    [ "$r" -gt "$rss" ] && rss=$r
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  printf '| `%s` | %s s | %s MB |\n' "$name" "$median" "$((rss / 1024))"
}

echo "| command (10 M points) | median of 3 | max RSS |"
echo "| --- | --- | --- |"
S=(--tracking-uri "$STORE")
measure "experiments search" "$BIN" "${S[@]}" experiments search
measure "runs list -x 0" "$BIN" "${S[@]}" runs list -x 0
measure "runs describe" "$BIN" "${S[@]}" runs describe --run-id "$RUN"
measure "runs search --filter \"metrics.loss < 1\"" "$BIN" "${S[@]}" runs search -x 0 --filter "metrics.loss < 1"
measure "metrics history (1.25 M points, CSV)" "$BIN" "${S[@]}" metrics history --run-id "$RUN" --key loss
measure "metrics history (1.25 M points, JSON)" "$BIN" "${S[@]}" metrics history --run-id "$RUN" --key loss --format json
measure "metrics history --steps 600000:600999" "$BIN" "${S[@]}" metrics history --run-id "$RUN" --key loss --steps 600000:600999
measure "metrics plot -o chart.svg" "$BIN" "${S[@]}" metrics plot --run-id "$RUN" --key loss -o "$WORK/chart.svg"
measure "metrics plot -o chart.png" "$BIN" "${S[@]}" metrics plot --run-id "$RUN" --key loss -o "$WORK/chart.png"
measure "metrics plot (terminal)" "$BIN" "${S[@]}" metrics plot --run-id "$RUN" --key loss --size 100x30
measure "verify" "$BIN" "${S[@]}" verify
measure "stats" "$BIN" "${S[@]}" stats
measure "replay (10 M lines of text)" "$BIN" "${S[@]}" replay
measure "replay --json" "$BIN" "${S[@]}" replay --json
measure "compact (nothing left to do)" "$BIN" "${S[@]}" compact

# ingest: 10 M metric lines into a new store each time
INPUT=$WORK/ingest.jsonl
if [ ! -f "$INPUT" ]; then
  python3 - "$INPUT" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write('{"type":"run_start","run_id":"r","run_name":"imported"}\n')
    for i in range(10_000_000):
        f.write('{"type":"metric","run_id":"r","key":"loss","value":%r,"step":%d,"timestamp":%d}\n'
                % (1.0 / (i + 1), i, 1_700_000_000_000 + i))
    f.write('{"type":"run_end","run_id":"r"}\n')
EOF
fi
ingest_once() { rm -rf "$WORK/ingested"; "$BIN" --tracking-uri "$WORK/ingested" ingest "$INPUT"; }
export -f ingest_once
export BIN WORK INPUT
measure "ingest (10 M metric lines)" bash -c ingest_once
