#!/usr/bin/env bash
# A stream over many distinct profiles through `tailor serve` with a small working set budget:
# the working set stays within it (bytes from /metrics), the server's peak RSS is reported, and
# profiles evicted long ago still answer correctly (each has exactly its one event).
# Usage: bench/distinct_stream.sh [SECONDS=400] [BUDGET=1GiB]   (about 13k events/s on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-400}
BUDGET=${2:-1GiB}
TAILOR=${TAILOR:-build/tailor}
DIR=${BENCH_DIR:-/tmp/tailor-distinct}
rm -rf "$DIR"
mkdir -p "$DIR"
KEY=$($TAILOR --data-dir "$DIR/data" --json keys create --name bench --scope admin |
  sed 's/.*"key":"\([^"]*\)".*/\1/')
/usr/bin/time -v $TAILOR --data-dir "$DIR/data" serve --listen 127.0.0.1:0 \
  --port-file "$DIR/port" --evaluate-every 0 --memory-budget "$BUDGET" > "$DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill -TERM $(pgrep -P $SERVER) 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do [ -s "$DIR/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$DIR/port")"
# One segment live, so that every event is re-decided.
curl -s -X PUT -H "Authorization: Bearer $KEY" "$URL/v1/segments/viewers" \
  -d '{"rule":"count(product_view) >= 1"}' > /dev/null
TAILOR_KEY=$KEY wrk -t2 -c32 -d"${SECONDS_TO_RUN}s" --latency -s bench/wrk/batch_distinct.lua "$URL" |
  grep -E "Requests/sec|requests in|50%|99%"
curl -s "$URL/metrics" | grep -E "^tailor_(profiles|events|resident_[a-z_]+) "
# Profiles written first (evicted long since) answer with their one event. (wrk builds one
# request per thread before the run and drops it: the first ids of a thread may not exist.)
wrong=0
for id in d0-101 d0-150 d1-150 d1-1000 d0-5000; do
  count=$(curl -s -H "Authorization: Bearer $KEY" "$URL/v1/profiles/$id" |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("event_count"))')
  [ "$count" = "1" ] || { echo "profile $id: event_count $count, expected 1"; wrong=1; }
done
echo "evicted profiles read back: $([ $wrong = 0 ] && echo correct || echo WRONG)"
kill -TERM "$(pgrep -P $SERVER)"
wait $SERVER || true
trap - EXIT
grep -E "Maximum resident set size" "$DIR/serve.log"
