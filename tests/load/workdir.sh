# Sourced by matrix.sh and ab.sh, from the repository root.
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
