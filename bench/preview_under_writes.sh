#!/usr/bin/env bash
# Segment previews on a live server while wrk writes sessions-shaped batches beside them
# (docs/benchmarks.md "Live snapshot and previews"): each answer holds every write acknowledged
# before it (the snapshot's latest version plus the profiles changed since, re-decided).
# Usage: BENCH_DIR=<a copy of a store made by bench/server_wrk.sh> bench/preview_under_writes.sh [PREVIEWS=20]
# Prints each preview's wall time, size, snapshot age and profiles re-decided, and the server's
# refresh figures.
set -euo pipefail
cd "$(dirname "$0")/.."
PREVIEWS=${1:-20}
TAILOR=${TAILOR:-build/tailor}
DIR=${BENCH_DIR:?BENCH_DIR: a store made by bench/server_wrk.sh}
# shellcheck source=bench/serve_lib.sh
. bench/serve_lib.sh
start_server "$DIR"
PROFILES=$($TAILOR --data-dir "$DIR" --json stats 2>/dev/null | sed -n 's/.*"profiles":\([0-9]*\).*/\1/p' || true)
export TAILOR_KEY=$KEY PROFILES=${PROFILES:-1000000}
preview() {
  local n=$1
  curl -s -o "$DIR/preview.json" -w "%{time_total}" -X POST -H "Authorization: Bearer $KEY" \
    "$URL/v1/segments/preview" \
    -d "{\"rule\": \"count(purchase, last 30 days) >= $n and country = \\\"US\\\"\"}"
  echo " s  $(grep -o '"size":[0-9]*\|"snapshot_age_ms":[0-9]*\|"profiles_rechecked":[0-9]*' "$DIR/preview.json" | tr '\n' ' ')"
}
echo "== idle"
for n in 1 2 3; do preview "$n"; done
echo "== while wrk writes sessions-shaped batches"
wrk -t2 -c32 -d"$((PREVIEWS + 15))s" -s bench/wrk/batch_sessions.lua "$URL" > "$DIR/wrk-preview.out" &
WRK=$!
sleep 3
for i in $(seq "$PREVIEWS"); do preview $((i % 5 + 1)); sleep 0.5; done
wait $WRK
grep -E "Requests/sec" "$DIR/wrk-preview.out" | sed 's/^/  writes beside it: /'
curl -s "$URL/metrics" | grep -E "^tailor_snapshot" || true
