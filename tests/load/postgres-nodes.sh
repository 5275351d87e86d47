#!/usr/bin/env bash
# 1, 2 and 3 daemons on one PostgreSQL server (started here as `nobody` on
# port 55432), with the three plugins, all on this machine. For each count:
# a closed loop of 32 connections in all for 15 s (one harness per daemon,
# connections split between them), then an open loop at RATE decisions/s
# in all (default 5000) for 10 s. Prints decisions/s, the worst p99 over
# the daemons, and the CPU each decision cost the daemons and the server.
#
#   cargo build --release -p redress -p redress-load && [RATE=5000] tests/load/postgres-nodes.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
RATE=${RATE:-5000}
BIN=$(pg_config --bindir)
PGDIR=/tmp/pgnodes-data
source tests/load/workdir.sh
start_postgres $PGDIR 55432 -c max_connections=100
trap 'pkill -f "/tmp/pgnodes-work" 2>/dev/null || true; stop_postgres $PGDIR' EXIT
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
pgcpu() { local t=0; for p in $(pgrep -u nobody postgres); do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $t; }
daemons_cpu() { local t=0; for p in "${PIDS[@]}"; do t=$((t + $(cpu $p))); done; echo $t; }
for nodes in 1 2 3; do
  db=nodes_$nodes
  $BIN/createdb -h 127.0.0.1 -p 55432 -U redress $db
  PIDS=()
  for n in $(seq 1 $nodes); do
    W=/tmp/pgnodes-work-$n
    prepare_workdir $W
    printf '[store]\nbackend = "postgres"\nurl = "postgres://redress@127.0.0.1:55432/%s"\n' $db > $W/config.toml
    start_daemon $W node$n $PWD/target/release/redress $((18500 + n)) --config config.toml --rules rules --plugins plugins
    PIDS+=($DAEMON_PID)
  done
  sleep 1
  for mode in throughput rate; do
    d0=$(daemons_cpu); p0=$(pgcpu)
    LOADS=()
    for n in $(seq 1 $nodes); do
      if [[ $mode == throughput ]]; then
        target/release/redress-load throughput --url http://127.0.0.1:$((18500 + n)) \
          --connections $(( (32 + nodes - 1) / nodes )) --seconds 15 > /tmp/pgnodes-$n.out &
        LOADS+=($!)
      else
        target/release/redress-load rate --url http://127.0.0.1:$((18500 + n)) \
          --rate $((RATE / nodes)) --seconds 10 > /tmp/pgnodes-$n.out &
        LOADS+=($!)
      fi
    done
    for p in "${LOADS[@]}"; do wait $p; done
    d1=$(daemons_cpu); p1=$(pgcpu)
    rate=$(cat /tmp/pgnodes-*.out | awk '/decisions_per_second|achieved_rate/ {s += $2} END {print s}')
    failed=$(cat /tmp/pgnodes-*.out | awk '/requests_failed/ {s += $2} END {print s + 0}')
    p99=$(cat /tmp/pgnodes-*.out | awk '/latency_p99_ms/ {if ($2 > m) m = $2} END {print m}')
    seconds=$([[ $mode == throughput ]] && echo 15 || echo 10)
    n_decided=$(echo "$rate * $seconds" | bc)
    echo "$nodes daemons, $mode: $rate/s ($failed failed), worst p99 $p99 ms; daemons CPU $(echo "scale=1; ($d1-$d0)*10000/$n_decided" | bc) us/decision; postgres CPU $(echo "scale=1; ($p1-$p0)*10000/$n_decided" | bc) us/decision"
    rm -f /tmp/pgnodes-*.out
  done
  for p in "${PIDS[@]}"; do kill $p; wait $p 2>/dev/null || true; done
done
