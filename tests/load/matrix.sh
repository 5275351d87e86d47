#!/usr/bin/env bash
# The daemon's load matrix for BENCHMARKS.md: a trivial axum handler (the
# ceiling), then `redress serve` with and without plugins, with and without
# the durable store. For each: three closed-loop runs (throughput; the
# median and spread go in the table) and open-loop runs at fixed rates
# (latency percentiles). Every configuration starts from an empty data
# directory. Usage, from the repository root:
#
#   tests/load/matrix.sh [SECONDS] [RATES...]     # defaults: 10, 1000 5000 10000
#   ONLY="plugins-store-off" tests/load/matrix.sh  # some configurations only
#
# Results are printed and kept in target/load-matrix/.
set -euo pipefail

SECONDS_PER_RUN=${1:-10}
shift || true
RATES=("${@:-1000 5000 10000}")
RATES=(${RATES[@]})
REPO=$(pwd)
PORT=18191
URL=http://127.0.0.1:$PORT
WORK=$REPO/target/load-matrix
LOAD=$REPO/target/release/redress-load
REDRESS=$REPO/target/release/redress

source tests/load/workdir.sh
cargo build --release -p redress -p redress-load --quiet
prepare_workdir "$WORK"
# The figures for the table: median of the three closed-loop runs.
trap 'summarise' EXIT
summarise() {
  for file in "$WORK"/*-throughput-1.txt; do
    [[ -e "$file" ]] || continue
    local name; name=$(basename "$file" -throughput-1.txt)
    printf '%-24s decisions/s: %s\n' "$name" \
      "$(grep -h decisions_per_second "$WORK/$name"-throughput-*.txt | awk '{print $2}' | sort -n | tr '\n' ' ')"
  done
}
printf '[store]\nenabled = false\n' > "$WORK/store-off.toml"
printf '[store]\ndurability = "full"\n' > "$WORK/store-full.toml"

# Each configuration gets the port to itself: a server left over from the
# previous one would answer in its place.
port_free() {
  for _ in $(seq 1 50); do
    if ! curl -s -o /dev/null "$URL/" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "port $PORT is still in use" >&2; exit 1
}

wait_ready() {
  for _ in $(seq 1 100); do
    if curl -fsS "$URL/healthz" > /dev/null 2>&1 || curl -fsS -X POST "$URL/v1/complaints" -d '{}' > /dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "the server did not start" >&2; return 1
}

measure() {
  local name=$1 path=$2
  echo "== $name"
  for run in 1 2 3; do
    "$LOAD" throughput --url "$URL" --path "$path" --connections 32 --seconds "$SECONDS_PER_RUN" \
      | tee "$WORK/$name-throughput-$run.txt" | grep -E "per_second|failed|p50|p99_"
  done
  for rate in "${RATES[@]}"; do
    "$LOAD" rate --url "$URL" --path "$path" --rate "$rate" --seconds "$SECONDS_PER_RUN" \
      | tee "$WORK/$name-rate-$rate.txt" | grep -E "achieved|failed|p50|p99|p999"
  done
}

selected() {
  [[ -z "${ONLY:-}" || " $ONLY " == *" $1 "* ]]
}

run_daemon() {
  local name=$1 config=$2 rules=$3 plugins=$4
  selected "$name" || return 0
  rm -rf "$WORK/data"
  port_free
  (cd "$WORK" && RUST_LOG=warn exec "$REDRESS" serve --config "$config" --rules "$rules" \
      --plugins "$plugins" --data "$WORK/data" --listen "127.0.0.1:$PORT" > "$WORK/$name.log" 2>&1) &
  local pid=$!
  wait_ready
  measure "$name" '/v1/complaints?trace=none'
  kill "$pid"; wait "$pid" || true
}

if selected ceiling; then
  port_free
  "$LOAD" ceiling --listen "127.0.0.1:$PORT" > "$WORK/ceiling.log" 2>&1 &
  CEILING=$!
  wait_ready
  measure ceiling /v1/complaints
  kill "$CEILING"; wait "$CEILING" || true
fi

run_daemon no-plugins-store-off store-off.toml rules-without-plugins no-plugins
run_daemon plugins-store-off store-off.toml rules plugins
run_daemon no-plugins-store-full store-full.toml rules-without-plugins no-plugins
run_daemon plugins-store-full store-full.toml rules plugins
