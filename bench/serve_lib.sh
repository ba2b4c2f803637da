# Sourced by the server benchmarks: start_server DIR starts `tailor serve` on the store DIR on a
# free loopback port, at the generated data's clock, without periodic evaluations, and sets KEY
# (a new admin key), URL and SERVER; the server is stopped when the script exits.
start_server() {
  local dir=$1
  KEY=$($TAILOR --data-dir "$dir" --json keys create --name bench --scope admin |
    sed 's/.*"key":"\([^"]*\)".*/\1/')
  rm -f "$dir/port"
  $TAILOR --data-dir "$dir" serve --listen 127.0.0.1:0 --port-file "$dir/port" \
    --now 2026-11-01T00:00:00Z --evaluate-every 0 > "$dir/serve.log" 2>&1 &
  SERVER=$!
  trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
  for _ in $(seq 600); do [ -s "$dir/port" ] && break; sleep 0.1; done
  URL="http://127.0.0.1:$(cat "$dir/port")"
}
