#!/usr/bin/env bash
# Where the machine's CPU goes at a fixed request rate: one open-loop run of
# the daemon, with the machine's CPU split (from /proc/stat) and the CPU the
# daemon and its store writer spent per decision (from /proc/PID/task).
# It also prints the bytes the daemon had written to the disk per decision
# (from /proc/PID/io; dirty pages still in the page cache at the end are
# not counted). Closed-loop throughput moves by 10-20% from run to run on a
# shared VM; the CPU per decision at a rate below saturation moves less,
# and says what a change saves even when throughput cannot show it. Linux
# only.
#
#   cargo build --release -p redress -p redress-load
#   tests/load/saturation.sh target/release/redress 12000          # RATE
#   tests/load/saturation.sh target/release/redress 20000 256 10   # RATE CONNECTIONS SECONDS
#   STORE=off PLUGINS=no tests/load/saturation.sh BINARY 30000     # other configurations
#
# STORE: full (default), normal or off. PLUGINS: yes (default) or no. Each
# run starts the daemon on an empty data directory.
set -euo pipefail

BINARY=$(realpath "$1")
[[ -x "$BINARY" ]] || { echo "not an executable: $BINARY" >&2; exit 1; }
RATE=$2
CONNECTIONS=${3:-128}
SECONDS_PER_RUN=${4:-10}
STORE=${STORE:-full}
PLUGINS=${PLUGINS:-yes}
REPO=$(pwd)
PORT=18194
WORK=$REPO/target/load-saturation
LOAD=$REPO/target/release/redress-load

source tests/load/workdir.sh
cargo build --release -p redress-load --quiet
prepare_workdir "$WORK"
configure "$WORK" "$STORE" "$PLUGINS"

# CPU ticks (user + system) of the daemon's threads: all, then the writer's.
daemon_ticks() { cat /proc/"$DAEMON_PID"/task/*/stat | awk '{ t += $14 + $15 } END { print t }'; }
writer_ticks() {
  local comm
  for comm in /proc/"$DAEMON_PID"/task/*/comm; do
    if [[ $(cat "$comm") == redress-store ]]; then awk '{ print $14 + $15 }' "${comm%comm}stat"; return; fi
  done
  echo 0
}

# Bytes the daemon has caused to be written to the disk (its WAL, database
# and audit file, checkpoints included).
written_bytes() { awk '/^write_bytes/ { print $2 }' /proc/"$DAEMON_PID"/io; }

start_daemon "$WORK" daemon "$BINARY" "$PORT" --config config.toml --rules "$RULES" --plugins "$PLUGIN_DIR"
machine_before=$(head -1 /proc/stat)
daemon_before=$(daemon_ticks)
writer_before=$(writer_ticks)
written_before=$(written_bytes)
"$LOAD" rate --url "http://127.0.0.1:$PORT" --path '/v1/complaints?trace=none' --rate "$RATE" \
    --connections "$CONNECTIONS" --seconds "$SECONDS_PER_RUN" > "$WORK/run.txt"
machine_after=$(head -1 /proc/stat)
daemon_after=$(daemon_ticks)
writer_after=$(writer_ticks)
written_after=$(written_bytes)
kill "$DAEMON_PID"; wait "$DAEMON_PID" || true

cat "$WORK/run.txt"
decisions=$(awk '/requests_ok/ { print $2 }' "$WORK/run.txt")
tick_us=$((1000000 / $(getconf CLK_TCK)))
awk -v before="$machine_before" -v after="$machine_after" 'BEGIN {
  split(before, b); split(after, a); total = 0
  for (i = 2; i <= 9; i++) { d[i] = a[i] - b[i]; total += d[i] }
  printf "  machine                user %d%%  system %d%%  idle %d%%  iowait %d%%  softirq %d%%  steal %d%%\n",
    100 * (d[2] + d[3]) / total, 100 * d[4] / total, 100 * d[5] / total, 100 * d[6] / total, 100 * d[8] / total, 100 * d[9] / total
}'
awk -v d=$((daemon_after - daemon_before)) -v w=$((writer_after - writer_before)) -v n="$decisions" -v us="$tick_us" \
    -v b=$((written_after - written_before)) 'BEGIN {
  printf "  daemon_cpu_us_per_decision  %.1f\n  writer_cpu_us_per_decision  %.1f\n", d * us / n, w * us / n
  printf "  disk_kb_written_per_decision  %.1f\n", b / n / 1000
}'
