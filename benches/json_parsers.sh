#!/usr/bin/env bash
# serde_json against the SIMD parsers sonic-rs and simd-json, reading a
# `runs/log-batch` body of 1,000 points into runlog's own message type
# (benches/json_parsers/: its own workspace, so that neither SIMD parser is
# built by the main build or CI). Not part of CI.
#
#   benches/json_parsers.sh
set -euo pipefail
cd "$(dirname "$0")/json_parsers"
cargo run --release --quiet --target-dir ../../target/json_parsers
