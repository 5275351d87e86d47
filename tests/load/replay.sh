#!/usr/bin/env bash
# Replay and diff speed for BENCHMARKS.md: records a history of about N
# complaint decisions (the default rules and plugins, durable store, the
# harness's 1 KB complaint spread over 100,000 customers, compact traces as
# the daemon returns by default), then times `redress replay` on every core
# and on one, and `redress diff` of a candidate (the after-sales queue
# renamed, its discount raised) over the whole history and over the last
# 10,000 complaints (what the reload gate decides again). Usage, from the
# repository root:
#
#   tests/load/replay.sh [N]        # default 100000
set -euo pipefail

N=${1:-100000}
REPO=$(pwd)
PORT=18193
URL=http://127.0.0.1:$PORT
WORK=$REPO/target/load-replay
LOAD=$REPO/target/release/redress-load
REDRESS=$REPO/target/release/redress

source tests/load/workdir.sh
cargo build --release -p redress -p redress-load --quiet
prepare_workdir "$WORK"
configure "$WORK" full yes
start_daemon "$WORK" history "$REDRESS" "$PORT" --config config.toml --rules "$RULES" --plugins "$PLUGIN_DIR"
trap 'kill $DAEMON_PID 2> /dev/null || true' EXIT
# Batches of 100 until the log holds N complaints.
while :; do
  "$LOAD" throughput --url "$URL" --connections 8 --seconds 5 --batch 100 > /dev/null
  count=$("$REDRESS" audit --data "$WORK/data" --json | grep -c '"kind":"complaint"' || true)
  echo "history: $count complaints"
  [[ "$count" -ge "$N" ]] && break
done
kill $DAEMON_PID
wait $DAEMON_PID 2> /dev/null || true
bytes=$(stat -c %s "$WORK/data/decisions.jsonl")
echo "decisions.jsonl: $bytes bytes, $((bytes / count)) per entry"
tests/load/replay-bytes.py "$WORK/data/decisions.jsonl"

cp -r "$WORK/rules" "$WORK/candidate"
# The harness's complaint is classified after-sales: every decision changes.
sed -i 's/^queue = "after-sales"$/queue = "after-sales-desk"/' "$WORK/candidate/10-routing.toml"
sed -i 's/{ kind = "discount", value = 15,/{ kind = "discount", value = 20,/' "$WORK/candidate/50-compensation.toml"
grep -q after-sales-desk "$WORK/candidate/10-routing.toml" && grep -q 'value = 20,' "$WORK/candidate/50-compensation.toml" || {
  echo "the candidate edits did not apply to the default rules" >&2
  exit 1
}

timed() {
  local label=$1
  shift
  local started ended
  started=$(date +%s.%N)
  "$@" > "$WORK/$label.out"
  ended=$(date +%s.%N)
  awk -v s="$started" -v e="$ended" -v n="$count" -v l="$label" \
    'BEGIN { printf "%-26s %6.2f s  %8.0f complaints/s\n", l, e - s, n / (e - s) }'
  head -1 "$WORK/$label.out"
}
cd "$WORK"
for round in 1 2 3; do
  echo "== round $round"
  timed replay "$REDRESS" replay --data data
  timed replay-one-core taskset -c 0 "$REDRESS" replay --data data
  timed diff "$REDRESS" diff candidate --data data --since 2000-01-01
  timed diff-one-core taskset -c 0 "$REDRESS" diff candidate --data data --since 2000-01-01
  count_saved=$count
  count=10000
  timed diff-last-10000 "$REDRESS" diff candidate --data data --since 2000-01-01 --limit 10000
  count=$count_saved
done
