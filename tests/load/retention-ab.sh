#!/usr/bin/env bash
# Latency at a fixed rate with retention pruning and archiving under way,
# against the same daemon with retention off, interleaved. Each run starts
# the daemon on an empty data directory (three plugins, durable store),
# grows its log with GROW closed-loop runs of 8 s (32 connections), syncs
# and waits SETTLE seconds, then
# sends RATE requests a second for SECONDS while, with retention on, every
# segment of the grown log is past `decisions = "2s"`: the daemon archives
# them (zstd) and deletes their rows during the measured run. Prints p50 /
# p99 / p999 in ms, and for retention on the segments archived and rows
# pruned by the end of the run.
#
#   tests/load/retention-ab.sh [ROUNDS] [RATE] [SECONDS]    # defaults: 3 10000 20
#   GROW=2 SETTLE=5 tests/load/retention-ab.sh 3     # GROW default 1, SETTLE (s after `sync`) 5
set -euo pipefail

ROUNDS=${1:-3}
RATE=${2:-10000}
SECONDS_PER_RUN=${3:-20}
GROW=${GROW:-1}
REPO=$(pwd)
PORT=18197
URL=http://127.0.0.1:$PORT
WORK=$REPO/target/load-retention-ab
LOAD=$REPO/target/release/redress-load
BINARY=$REPO/target/release/redress

source tests/load/workdir.sh
cargo build --release -p redress-load --quiet
prepare_workdir "$WORK"
configure "$WORK" full yes
cp "$WORK/config.toml" "$WORK/base.toml"

archived_segments() {
  if [[ -f "$WORK/data/archive/index.json" ]]; then
    python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["segments"]))' "$WORK/data/archive/index.json"
  else
    echo 0
  fi
}

run() {
  local label=$1
  cp "$WORK/base.toml" "$WORK/config.toml"
  if [[ "$label" == on ]]; then
    printf '[store.retention]\ndecisions = "2s"\nsegment_size = "16MiB"\nevery = "1s"\n' >> "$WORK/config.toml"
  else
    printf '[store.retention]\nenabled = false\n' >> "$WORK/config.toml"
  fi
  start_daemon "$WORK" "$label" "$BINARY" "$PORT" --config config.toml --rules "$RULES" --plugins "$PLUGIN_DIR"
  for _ in $(seq 1 "$GROW"); do
    "$LOAD" throughput --url "$URL" --path '/v1/complaints?trace=none' --connections 32 \
        --seconds 8 > "$WORK/grow.txt"
  done
  # The disk is not left writing back what the growing wrote.
  sync; sleep "${SETTLE:-5}"
  local before
  before=$(archived_segments)
  "$LOAD" rate --url "$URL" --path '/v1/complaints?trace=none' --rate "$RATE" \
      --seconds "$SECONDS_PER_RUN" > "$WORK/run.txt"
  printf '%-4s archived during the run %3s of %3s  live bytes %s  %s\n' "$label" \
    "$(( $(archived_segments) - before ))" "$(archived_segments)" \
    "$(curl -fsS "$URL/metrics" | awk '/^redress_store_audit_file_bytes/ { print $2 }')" \
    "$(awk '/achieved_rate|latency_p50_ms|latency_p99_ms|latency_p999_ms/ { printf "%s %s  ", $1, $2 }' "$WORK/run.txt")"
  kill "$DAEMON_PID"; wait "$DAEMON_PID" || true
}

for round in $(seq 1 "$ROUNDS"); do
  run off
  run on
done
