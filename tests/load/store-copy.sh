#!/usr/bin/env bash
# How long `redress store copy` takes: a daemon on SQLite (three plugins,
# durability "full") takes a closed-loop load of 32 connections for
# SECONDS (default 15), stops, and its data directory is copied into a new
# database of a PostgreSQL server this script starts as `nobody` on port
# 55433. Prints the rows copied, the wall time and the data's size.
#
#   cargo build --release -p redress -p redress-load && tests/load/store-copy.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_OF_LOAD=${1:-15}
BIN=$(pg_config --bindir)
PGDIR=/tmp/pgcopy-data
source tests/load/workdir.sh
start_postgres $PGDIR 55433
trap 'stop_postgres $PGDIR' EXIT
W=/tmp/pgcopy-work
prepare_workdir $W
printf '[store]\ndurability = "full"\n' > $W/config.toml
start_daemon $W sqlite $PWD/target/release/redress 18401 --config config.toml --rules rules --plugins plugins
target/release/redress-load throughput --url http://127.0.0.1:18401 --connections 32 --seconds "$SECONDS_OF_LOAD" | grep decisions_per_second
kill $DAEMON_PID; wait $DAEMON_PID 2>/dev/null || true
echo "data directory: $(du -sh $W/data | cut -f1)"
$BIN/createdb -h 127.0.0.1 -p 55433 -U redress copied
start=$(date +%s.%N)
/usr/bin/time -f "copy: %M KB peak memory, %U s user, %S s system" target/release/redress store copy --from $W/data --to postgres://redress@127.0.0.1:55433/copied
end=$(date +%s.%N)
echo "copy took $(echo "$end - $start" | bc) s"
echo "database: $($BIN/psql -h 127.0.0.1 -p 55433 -U redress -tAc "SELECT pg_size_pretty(pg_database_size('copied'))" copied)"
