#!/usr/bin/env bash
# HTTP benchmarks of `tailor serve` with wrk on loopback (docs/benchmarks.md#server):
#   1. batched event ingestion: POST /v1/batch, 100 events per request, all new messageIds,
#      with the 20 reference segments live (every event re-decides its profile);
#   2. GET /v1/profiles/{id} for random profiles;
#   3. GET /v1/segments/{s}/members/{id}: a membership check;
#   4. POST /v1/batch shaped like sessions (bench/wrk/batch_sessions.lua: 10 visits of 10 events,
#      Zipf-distributed returning customers and 10 % new anonymous visitors);
#   5. GET /v1/profiles/{id}/intent and /signals (folded from the profile's events per request);
#   6. freshness (bench/freshness.py): from a probe's acknowledgement to its membership change on
#      /v1/changes/stream, while wrk writes sessions-shaped batches beside it.
# Usage: bench/server_wrk.sh [PROFILES=100000] [SECONDS=20] [CONNECTIONS=32]
# wrk and the server share the machine's cores; the figures are for both on one box.
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILES=${1:-100000}
SECONDS_PER_RUN=${2:-20}
CONNECTIONS=${3:-32}
TAILOR=${TAILOR:-build/tailor}
DIR=${BENCH_DIR:-/tmp/tailor-wrk-$PROFILES}

if [ ! -d "$DIR" ]; then
  $TAILOR --data-dir "$DIR" demo --profiles "$PROFILES" > /dev/null
  for f in bench/segments/s*.rule; do
    $TAILOR --data-dir "$DIR" segment create "$(basename "$f" .rule)" --rule-file "$f" > /dev/null
  done
  $TAILOR --data-dir "$DIR" compact > /dev/null
fi
# shellcheck source=bench/serve_lib.sh
. bench/serve_lib.sh
start_server "$DIR"
export TAILOR_KEY=$KEY PROFILES
echo "tailor serve on $DIR ($PROFILES profiles, 20 segments), wrk -t2 -c$CONNECTIONS -d${SECONDS_PER_RUN}s"

run() {
  local name=$1 script=$2
  echo "== $name"
  wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "bench/wrk/$script" "$URL" |
    grep -E "Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx"
}
# Reads first, on a settled store (after heavy writes RocksDB flushes and compacts for a while).
run "GET /v1/profiles/{id}" profile.lua
run "GET /v1/segments/s01_golf_interest/members/{id}" member.lua
PATH_SUFFIX=/intent run "GET /v1/profiles/{id}/intent" profile.lua
PATH_SUFFIX=/signals run "GET /v1/profiles/{id}/signals" profile.lua
run "POST /v1/batch (100 events per request)" batch.lua
run "POST /v1/batch (100 events: 10 visits, Zipf customers + 10 % new visitors)" batch_sessions.lua
echo "== freshness while writing sessions-shaped batches"
# The probe segment first: saving a segment re-evaluates every segment with writes waiting.
curl -s -X PUT -H "Authorization: Bearer $KEY" "$URL/v1/segments/freshness_probe" \
  -d '{"rule": "count(freshness_probe) >= 1"}' > /dev/null
wrk -t2 -c"$CONNECTIONS" -d"$((SECONDS_PER_RUN + 3))s" -s bench/wrk/batch_sessions.lua "$URL" > "$DIR/wrk-beside.out" &
WRK=$!
sleep 1
python3 bench/freshness.py "$URL" "$KEY" "$SECONDS_PER_RUN"
wait $WRK
grep -E "Requests/sec" "$DIR/wrk-beside.out" | sed 's/^/  beside it: /'
curl -s "$URL/metrics" | grep -E "^tailor_(events_accepted_total|membership_changes_total|live_updates_total|writes_total|write_commits_total|resident_(profiles|bytes))"
