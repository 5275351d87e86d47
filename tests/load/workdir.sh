# Sourced by the load scripts here (matrix.sh, ab.sh, postgres-ab.sh, ...), from the repository root.
#
# prepare_workdir DIR: an empty DIR holding the default rules (rules/), the
# example plugins (plugins/), the default rules without the rules that read
# plugin outputs (rules-without-plugins/) and an empty plugins directory
# (no-plugins/).
prepare_workdir() {
  local work=$1
  if ! compgen -G "plugins/*.wasm" > /dev/null; then
    echo "no plugins/*.wasm: build them with 'cargo build --release -p redress'" >&2
    exit 1
  fi
  rm -rf "$work" && mkdir -p "$work/plugins" "$work/no-plugins" "$work/rules-without-plugins"
  cp -r rules "$work/rules"
  cp plugins/*.toml plugins/*.wasm "$work/plugins/"
  local file
  for file in rules/*.toml; do
    awk 'BEGIN { RS = ""; ORS = "\n\n" } /^\[\[/ && /plugins\./ { next } { print }' "$file" \
      > "$work/rules-without-plugins/$(basename "$file")"
  done
}

# configure WORK STORE PLUGINS: writes WORK/config.toml for STORE (full,
# normal or off) and sets RULES and PLUGIN_DIR for PLUGINS (yes or no).
configure() {
  local work=$1 store=$2 plugins=$3
  if [[ "$store" == off ]]; then
    printf '[store]\nenabled = false\n' > "$work/config.toml"
  else
    printf '[store]\ndurability = "%s"\n' "$store" > "$work/config.toml"
  fi
  if [[ "$plugins" == yes ]]; then
    RULES=rules PLUGIN_DIR=plugins
  else
    RULES=rules-without-plugins PLUGIN_DIR=no-plugins
  fi
}

# start_daemon WORK LABEL BINARY PORT SERVE_ARGS...: starts BINARY serve in
# WORK on an empty WORK/data, logging to WORK/LABEL.log, and waits until it
# answers /healthz; sets DAEMON_PID. Exits with the log if it never does.
start_daemon() {
  local work=$1 label=$2 binary=$3 port=$4
  shift 4
  rm -rf "$work/data"
  (cd "$work" && RUST_LOG=warn exec "$binary" serve "$@" --data "$work/data" \
      --listen "127.0.0.1:$port" > "$work/$label.log" 2>&1) &
  DAEMON_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$label did not start; its log, $work/$label.log:" >&2
  cat "$work/$label.log" >&2
  exit 1
}

# start_postgres DIR PORT [SERVER_OPTIONS...]: a fresh PostgreSQL server
# (Debian's, run as `nobody`, since it refuses root) with its files in DIR,
# listening on 127.0.0.1:PORT, with a database user `redress`. Stop it
# with stop_postgres DIR.
start_postgres() {
  local dir=$1 port=$2
  shift 2
  local bin
  bin=$(pg_config --bindir)
  pkill -f "$dir" 2>/dev/null || true; sleep 1
  rm -rf "$dir" && mkdir -p "$dir" && chown nobody:nogroup "$dir"
  runuser -u nobody -- "$bin/initdb" -D "$dir/data" -U redress --auth=trust -E UTF8 > /dev/null
  runuser -u nobody -- "$bin/pg_ctl" -D "$dir/data" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_buffers=256MB $*" -l "$dir/log" start > /dev/null
  sleep 2
}

stop_postgres() {
  runuser -u nobody -- "$(pg_config --bindir)/pg_ctl" -D "$1/data" stop > /dev/null
}
