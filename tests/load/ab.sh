#!/usr/bin/env bash
# Interleaved A/B of two `redress` binaries on the same configuration: the
# way BENCHMARKS.md measures a change, since figures move by up to 10% from
# one day to the next on a shared VM. Each round runs A then B; each run
# starts the daemon on an empty data directory and makes three closed-loop
# runs back to back (the database grows as it does in production).
#
#   cargo build --release -p redress -p redress-load && cp target/release/redress /tmp/redress-a
#   # ...change, rebuild...
#   tests/load/ab.sh /tmp/redress-a target/release/redress [ROUNDS] [SECONDS]
#   STORE=off PLUGINS=no tests/load/ab.sh A B       # other configurations
#
# STORE: full (default), normal or off. PLUGINS: yes (default) or no.
# Prints decisions/s and p99 of every run, then the medians.
set -euo pipefail

A=$(realpath "$1")
B=$(realpath "$2")
for binary in "$A" "$B"; do
  [[ -x "$binary" ]] || { echo "not an executable: $binary" >&2; exit 1; }
done
ROUNDS=${3:-2}
SECONDS_PER_RUN=${4:-8}
STORE=${STORE:-full}
PLUGINS=${PLUGINS:-yes}
REPO=$(pwd)
PORT=18192
URL=http://127.0.0.1:$PORT
WORK=$REPO/target/load-ab
LOAD=$REPO/target/release/redress-load

source tests/load/workdir.sh
cargo build --release -p redress-load --quiet
prepare_workdir "$WORK"
configure "$WORK" "$STORE" "$PLUGINS"

run() {
  local label=$1 binary=$2
  start_daemon "$WORK" "$label" "$binary" "$PORT" --config config.toml --rules "$RULES" --plugins "$PLUGIN_DIR"
  for _ in 1 2 3; do
    "$LOAD" throughput --url "$URL" --path '/v1/complaints?trace=none' --connections 32 \
        --seconds "$SECONDS_PER_RUN" > "$WORK/run.txt"
    local rate p99
    rate=$(awk '/decisions_per_second/ { print $2 }' "$WORK/run.txt")
    p99=$(awk '/latency_p99_ms/ { print $2 }' "$WORK/run.txt")
    printf '%s  decisions/s %7s  p99 %6s ms\n' "$label" "$rate" "$p99"
    echo "$rate" >> "$WORK/$label.rates"
  done
  kill "$DAEMON_PID"; wait "$DAEMON_PID" || true
}

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round"
  run A "$A"
  run B "$B"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "median decisions/s: A $(median "$WORK/A.rates")  B $(median "$WORK/B.rates")"
