#!/usr/bin/env bash
# Ingest benchmark against the DuckDB peer, same data, same machine, back to back.
#   bench/ingest_vs_duckdb.sh [PROFILES]        (default 1000000)
# Generates the data with ../shared/bench/gen_customers (seed 42) into /tmp/tailor-bench-N unless
# present, runs `tailor bench ingest` and `peer_duckdb.mjs` (load only is compared), and prints
# both times and the ratio tailor / DuckDB load.
set -euo pipefail
cd "$(dirname "$0")/.."
profiles=${1:-1000000}
shared=$(cd ../shared/bench && pwd)
data=/tmp/tailor-bench-$profiles
[ -x "$shared/gen_customers" ] || (cd "$shared" && ./build.sh)
[ -f "$data/events.csv" ] || "$shared/gen_customers" --profiles "$profiles" --out "$data"
[ -d "$shared/node_modules/@duckdb" ] || (cd "$shared" && npm install --no-audit --no-fund)
[ -x build/tailor ] || make build
tailor_json=$(build/tailor bench ingest --data "$data" --json)
duckdb_json=$(node "$shared/peer_duckdb.mjs" --data "$data" 2>/dev/null)
python3 - "$tailor_json" "$duckdb_json" <<'PY'
import json, sys
t = json.loads(sys.argv[1]); d = json.loads(sys.argv[2])
print(f"tailor ingest: {t['total_seconds']:.2f} s total (items {t['items']['seconds']:.2f}, "
      f"profiles {t['profiles']['seconds']:.2f}, events {t['events']['seconds']:.2f}, flush {t['flush_seconds']:.2f}), "
      f"{t['events_per_second']:.0f} events/s, peak RSS {t['peak_rss_bytes']/2**20:.0f} MiB, "
      f"{t['bytes_on_disk']/2**20:.0f} MiB on disk")
print(f"duckdb load:   {d['load_s']:.2f} s (load incl. identity stitching {d['load_incl_setup_s']:.2f} s)")
print(f"ratio tailor / duckdb load: {t['total_seconds']/d['load_s']:.2f}x "
      f"(vs load incl. stitching {t['total_seconds']/d['load_incl_setup_s']:.2f}x)")
PY
