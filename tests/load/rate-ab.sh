#!/usr/bin/env bash
# Latency at a fixed rate of two `redress` binaries, interleaved: each run
# starts the daemon on an empty data directory (three plugins, durable
# store) and sends RATE requests a second for SECONDS, then prints the cases
# in the store when the run started, the rate achieved and p50 / p99 / p999
# in ms. The p99 figures of BENCHMARKS.md at 10,000/s come from here.
#
#   tests/load/rate-ab.sh A B [ROUNDS] [RATE] [SECONDS]    # defaults: 4 10000 10
#   tests/load/rate-ab.sh target/release/redress target/release/redress   # one build, 2 x ROUNDS runs
#   GROW=3 tests/load/rate-ab.sh A B 2     # into a grown store: first GROW closed-loop runs of
#                                          # 8 s (32 connections; about 150,000 cases each)
#   SETTLE=5 GROW=3 tests/load/rate-ab.sh A B 2   # and then `sync` and wait 5 s, so the disk
#                                          # is not still writing back what the growing wrote
set -euo pipefail

A=$(realpath "$1")
B=$(realpath "$2")
ROUNDS=${3:-4}
RATE=${4:-10000}
SECONDS_PER_RUN=${5:-10}
REPO=$(pwd)
PORT=18193
URL=http://127.0.0.1:$PORT
WORK=$REPO/target/load-rate-ab
LOAD=$REPO/target/release/redress-load

source tests/load/workdir.sh
cargo build --release -p redress-load --quiet
prepare_workdir "$WORK"
configure "$WORK" full yes

run() {
  local label=$1 binary=$2
  start_daemon "$WORK" "$label" "$binary" "$PORT" --config config.toml --rules "$RULES" --plugins "$PLUGIN_DIR"
  for _ in $(seq 1 "${GROW:-0}"); do
    "$LOAD" throughput --url "$URL" --path '/v1/complaints?trace=none' --connections 32 \
        --seconds 8 > "$WORK/grow.txt"
  done
  if [[ -n "${SETTLE:-}" ]]; then sync; sleep "$SETTLE"; fi
  local cases
  cases=$(curl -fsS "$URL/metrics" | awk '/^redress_store_cases_indexed/ { print $2 }')
  "$LOAD" rate --url "$URL" --path '/v1/complaints?trace=none' --rate "$RATE" \
      --seconds "$SECONDS_PER_RUN" > "$WORK/run.txt"
  printf '%s  cases %s  %s\n' "$label" "$cases" "$(awk '/achieved_rate|latency_p50_ms|latency_p99_ms|latency_p999_ms/ { printf "%s %s  ", $1, $2 }' "$WORK/run.txt")"
  kill "$DAEMON_PID"; wait "$DAEMON_PID" || true
}

for round in $(seq 1 "$ROUNDS"); do
  run A "$A"
  run B "$B"
done
