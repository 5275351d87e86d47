#!/usr/bin/env bash
# One daemon on SQLite, then on PostgreSQL (a server this script starts as
# `nobody` on port 55432), with the three plugins, closed loop, 32
# connections, 15 s, two rounds. Prints decisions/s, p99 and the CPU each
# decision cost the daemon and the PostgreSQL server (both on this machine).
#
#   cargo build --release -p redress -p redress-load && [ROUNDS=2] [BACKENDS="sqlite postgres:1 postgres:2"] tests/load/postgres-ab.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(pg_config --bindir)
PGDIR=/tmp/pgbench-data
source tests/load/workdir.sh
start_postgres $PGDIR 55432 -c max_connections=100
W=/tmp/pgbench-work
prepare_workdir $W
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
pgcpu() { local t=0; for p in $(pgrep -u nobody postgres); do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $t; }
for round in $(seq 1 "${ROUNDS:-2}"); do
for backend in ${BACKENDS:-sqlite postgres}; do
  if [[ $backend == postgres* ]]; then
    db=bench_${round}_${backend//[^a-z0-9]/_}
    $BIN/createdb -h 127.0.0.1 -p 55432 -U redress $db
    printf '[store]\nbackend = "postgres"\nurl = "postgres://redress@127.0.0.1:55432/%s"\n' $db > $W/config.toml
    # postgres:N: N writer threads ([store] writers).
    if [[ $backend == postgres:* ]]; then echo "writers = ${backend#postgres:}" >> $W/config.toml; fi
  else
    printf '[store]\ndurability = "full"\n' > $W/config.toml
  fi
  start_daemon $W $backend $PWD/target/release/redress 18400 --config config.toml --rules rules --plugins plugins
  sleep 1
  d0=$(cpu $DAEMON_PID); p0=$(pgcpu)
  out=$(target/release/redress-load throughput --url http://127.0.0.1:18400 --connections 32 --seconds 15)
  d1=$(cpu $DAEMON_PID); p1=$(pgcpu)
  rate=$(echo "$out" | awk '/decisions_per_second/ {print $2}')
  p99=$(echo "$out" | awk '/latency_p99_ms/ {print $2}')
  n=$(echo "$rate * 15" | bc)
  echo "round $round $backend: $rate/s p99 $p99 ms; daemon CPU $(echo "scale=1; ($d1-$d0)*10000/$n" | bc) us/decision; postgres CPU $(echo "scale=1; ($p1-$p0)*10000/$n" | bc) us/decision"
  kill $DAEMON_PID; wait $DAEMON_PID 2>/dev/null || true
done
done
stop_postgres $PGDIR
