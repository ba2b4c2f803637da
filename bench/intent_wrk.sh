#!/usr/bin/env bash
# The per-person reads of issue 13 with wrk on loopback (docs/benchmarks.md, Server): GET
# /v1/profiles/{id}/intent, then /signals, then /intent again, for ids drawn at random from the
# first RANGE profiles of the generated set's store. RANGE=1000000: mostly cold profiles (a store
# read each); RANGE=20000: profiles kept in memory after their second read.
# Usage: bench/intent_wrk.sh [RANGE=1000000] [SECONDS=10] [CONNECTIONS="8 32"] (each count in turn:
# the intent read again at each after a warm-up at the first)
# The store: /tmp/bench-1m (made with `tailor bench ingest` from ../shared/bench's generator when
# missing; BENCH_STORE overrides). wrk and the server share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
RANGE=${1:-1000000}
SECONDS_PER_RUN=${2:-10}
CONNECTIONS=${3:-8 32}
TAILOR=${TAILOR:-build/tailor}
DIR=${BENCH_STORE:-/tmp/bench-1m}
shared=../shared/bench
data=/tmp/tailor-bench-1000000
if [ ! -d "$DIR" ]; then
  [ -x "$shared/gen_customers" ] || (cd "$shared" && ./build.sh)
  [ -f "$data/events.csv" ] || "$shared/gen_customers" --profiles 1000000 --out "$data"
  $TAILOR bench ingest --data "$data" --store "$DIR" --keep
fi
# shellcheck source=bench/serve_lib.sh
. bench/serve_lib.sh
start_server "$DIR"
export TAILOR_KEY=$KEY PROFILES=$RANGE
first=${CONNECTIONS%% *}
echo "tailor serve on $DIR, ids from the first $RANGE, wrk -t2 -d${SECONDS_PER_RUN}s"
for suffix in /intent /signals; do
  echo "== GET /v1/profiles/{id}$suffix, $first connections"
  PATH_SUFFIX=$suffix wrk -t2 -c"$first" -d"${SECONDS_PER_RUN}s" --latency \
    -s bench/wrk/profile.lua "$URL" | grep -E "Requests/sec|50%|99%|Non-2xx"
done
for connections in $CONNECTIONS; do
  echo "== GET /v1/profiles/{id}/intent, $connections connections"
  PATH_SUFFIX=/intent wrk -t2 -c"$connections" -d"${SECONDS_PER_RUN}s" --latency \
    -s bench/wrk/profile.lua "$URL" | grep -E "Requests/sec|50%|99%|Non-2xx"
done
curl -s "$URL/metrics" | grep -E "^tailor_resident_(profiles|hits_total|misses_total)"
