#!/usr/bin/env bash
# Criterion medians of two builds of the benches, rounds alternating
# OLD, NEW, OLD, NEW, so that this noisy machine's drift falls on both:
# the log call, the history reads and the replay, before and after a change that
# should not move them. Not part of CI.
#
#   benches/build_vs_build.sh OLD_TARGET_DIR NEW_TARGET_DIR [ROUNDS]
#
# Each TARGET_DIR holds a release build of the benches
# (`cargo build --release -p runlog-benches --benches`).
set -euo pipefail
rounds=${3:-2}
filters=(
  "tracking:tracking_log_call/(metric_handle|fluent_log_metric|client_log_metric)$"
  "tracking:tracking_read/get_metric_history_100k_points"
  "queries:history_compacted/(full_10M|full_10M_reused_buffer|step_range_1000_of_10M|downsampled_300_of_10M)$"
  "queries:history_raw_log/(full_10M|step_range_1000_of_10M)$"
  "replay:replay/scan$"
)
# The newest build of a bench: a target directory keeps older ones.
bench_bin() { ls -t "$1"/release/deps/"$2"-* | grep -v '\.d$' | head -1; }
for round in $(seq 1 "$rounds"); do
  for label in old new; do
    if [ "$label" = old ]; then dir=$1; else dir=$2; fi
    home=$(mktemp -d)
    for f in "${filters[@]}"; do
      bin=$(bench_bin "$dir" "${f%%:*}")
      CRITERION_HOME=$home "$bin" --bench --warm-up-time 1 --measurement-time 4 "${f#*:}" > /dev/null 2>&1
    done
    for est in $(find "$home" -path '*/new/estimates.json' | sort); do
      id=${est#"$home"/}; id=${id%/new/estimates.json}
      python3 -c "import json,sys; m=json.load(open(sys.argv[1]))['median']['point_estimate']; print(f'round {sys.argv[2]}  {sys.argv[3]:3}  {sys.argv[4]:58} {m:14.1f} ns')" "$est" "$round" "$label" "$id"
    done
    rm -rf "$home"
  done
done
