#!/usr/bin/env bash
# GET /v1/profiles/{id}/recommendations with wrk on loopback (docs/benchmarks.md,
# Recommendations): ids drawn at random from the first RANGE profiles of a store of 1M generated
# profiles and 100,000 items. The server trains its model when it starts; the runs begin once it
# serves (version 1). A warm-up run first reads each profile of the range into memory (twice:
# a lookup from outside the write path keeps a profile on its second miss) and folds its activity.
# Usage: bench/reco_wrk.sh [RANGE=20000] [SECONDS=10] [CONNECTIONS="8 32"]
# The store: /tmp/bench-1m-100k (made from ../shared/bench's generator when missing;
# BENCH_STORE overrides). wrk and the server share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
RANGE=${1:-20000}
SECONDS_PER_RUN=${2:-10}
CONNECTIONS=${3:-8 32}
TAILOR=${TAILOR:-build/tailor}
DIR=${BENCH_STORE:-/tmp/bench-1m-100k}
shared=../shared/bench
data=/tmp/tailor-bench-1m-100k
if [ ! -d "$DIR" ]; then
  [ -x "$shared/gen_customers" ] || (cd "$shared" && ./build.sh)
  [ -f "$data/events.csv" ] ||
    "$shared/gen_customers" --profiles 1000000 --items 100000 --out "$data"
  $TAILOR bench ingest --data "$data" --store "$DIR" --keep
fi
# shellcheck source=bench/serve_lib.sh
. bench/serve_lib.sh
start_server "$DIR"
export TAILOR_KEY=$KEY PROFILES=$RANGE PATH_SUFFIX=/recommendations
for _ in $(seq 1200); do
  curl -s -H "Authorization: Bearer $KEY" "$URL/v1/recommendations/model" |
    grep -q '"version":[1-9]' && break
  sleep 0.5
done
curl -s -H "Authorization: Bearer $KEY" "$URL/v1/recommendations/model"; echo
first=${CONNECTIONS%% *}
echo "== warm-up, $first connections"
wrk -t2 -c"$first" -d"$((2 * SECONDS_PER_RUN))s" --latency -s bench/wrk/profile.lua "$URL" |
  grep -E "Requests/sec|50%|99%|Non-2xx"
for connections in $CONNECTIONS; do
  echo "== GET /v1/profiles/{id}/recommendations, $connections connections"
  wrk -t2 -c"$connections" -d"${SECONDS_PER_RUN}s" --latency -s bench/wrk/profile.lua "$URL" |
    grep -E "Requests/sec|50%|99%|Non-2xx"
done
curl -s "$URL/metrics" | grep -E "^tailor_resident_(profiles|hits_total|misses_total)"
