#!/usr/bin/env bash
# The daemon's own memory while plugins flood it with log messages, for
# BENCHMARKS.md: a plugin that logs 10 messages of 1 MB per complaint (the
# `log-flood` test guest), 32 clients sending complaints for 10 seconds, the
# daemon's resident memory sampled every 0.2 s. Prints, per binary, its
# resident memory before, at the peak and after. Usage, from the repository
# root, after `cargo test --release --workspace --no-run` (which builds the
# test guests):
#
#   tests/load/log-flood.sh BINARY...      # default: target/release/redress
set -euo pipefail

BINARIES=("$@")
[[ ${#BINARIES[@]} -gt 0 ]] || BINARIES=(target/release/redress)
REPO=$(pwd)
PORT=18194
URL=http://127.0.0.1:$PORT
WORK=$REPO/target/load-log-flood
GUEST=$REPO/target/wasm-guests/wasm32-wasip2/release/guest_log_flood.wasm
[[ -f "$GUEST" ]] || {
  echo "no $GUEST: build the test guests with 'cargo test --release --workspace --no-run'" >&2
  exit 1
}

source tests/load/workdir.sh
prepare_workdir "$WORK"
mkdir -p "$WORK/flood"
cp "$GUEST" "$WORK/flood/flood.wasm"
cat > "$WORK/flood/flood.toml" << 'EOF'
name = "flood"
on_error = "skip"

[outputs]
done = { type = "flag" }

[config]
lines = 10
bytes = 1000000

[limits]
fuel = 200_000_000
memory = "16MiB"
timeout = "2s"
EOF
printf '[store]\nenabled = false\n' > "$WORK/config.toml"

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

for binary in "${BINARIES[@]}"; do
  start_daemon "$WORK" flood "$(realpath "$binary")" "$PORT" --config config.toml \
    --rules rules-without-plugins --plugins flood
  trap 'kill $DAEMON_PID 2> /dev/null || true' EXIT
  sleep 1
  before=$(rss_kb "$DAEMON_PID")
  : > "$WORK/answers"
  clients=()
  for client in $(seq 1 32); do
    (
      end=$((SECONDS + 10))
      n=0
      while [[ $SECONDS -lt $end ]]; do
        n=$((n + 1))
        curl -sS -o /dev/null -w '%{http_code}\n' -H 'content-type: application/json' \
          -d "{\"id\": \"flood-$client-$n\", \"text\": \"The kettle broke\"}" \
          "$URL/v1/complaints" >> "$WORK/answers" || true
      done
    ) &
    clients+=($!)
  done
  peak=$before
  while kill -0 "${clients[0]}" 2> /dev/null; do
    now=$(rss_kb "$DAEMON_PID")
    [[ "$now" -gt "$peak" ]] && peak=$now
    sleep 0.2
  done
  wait "${clients[@]}"
  sleep 1
  after=$(rss_kb "$DAEMON_PID")
  decided=$(grep -c '^200$' "$WORK/answers" || true)
  printf '%s: resident %d MB before, %d MB at the peak, %d MB after; %s complaints decided\n' \
    "$binary" $((before / 1024)) $((peak / 1024)) $((after / 1024)) "$decided"
  kill "$DAEMON_PID"
  wait "$DAEMON_PID" 2> /dev/null || true
done
