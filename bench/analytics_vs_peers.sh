#!/usr/bin/env bash
# Data-driven segmentation against the scientific Python peers, same data, same machine, back to
# back (docs/benchmarks.md "RFM" and "Clustering"):
#   1. RFM of every customer: `tailor rfm` on a store of the generated set vs
#      ../shared/bench/peer_pandas_rfm.py (groupby), and a per-customer comparison of both outputs;
#   2. k-means, k = 8, on the scikit-learn peer's 6 standardized features (its --features-out):
#      `tailor cluster` (one run per seed 0-2, and 3 restarts) vs peer_sklearn.py (lloyd, elkan);
#   3. propensity on the UCI sessions (../shared/bench/INTENT.md, its five folds): `tailor
#      propensity` (logistic, boosted trees) vs peer_intent.py (logistic, HistGradientBoosting);
#      and the live purchase-readiness model on the same sessions as recorded session features
#      (`tailor intent --validate-readiness`, mappings/online_shoppers_session_features.json);
#   4. lifetime value on 200,000 simulated CDNOW customers: `tailor clv --simulate` (recovery of the
#      published parameters) vs bench/peer_clv_scipy.py on the same summaries (fits timed alike).
# Usage: bench/analytics_vs_peers.sh [PROFILES=1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
profiles=${1:-1000000}
shared=$(cd ../shared/bench && pwd)
data=/tmp/tailor-bench-$profiles
store=/tmp/tailor-analytics-$profiles
TAILOR=${TAILOR:-build/tailor}
NOW=2026-11-01T00:00:00Z
[ -x "$shared/gen_customers" ] || (cd "$shared" && ./build.sh)
[ -f "$data/events.csv" ] || "$shared/gen_customers" --profiles "$profiles" --out "$data"
[ -d "$store" ] || $TAILOR bench ingest --data "$data" --store "$store" --keep > /dev/null

echo "== RFM"
for run in 1 2; do
  $TAILOR --data-dir "$store" --json rfm --now $NOW --out /tmp/rfm-tailor.csv |
    python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"tailor: {d['customers']} customers, snapshot {d['snapshot_seconds']:.2f} s, RFM {d['rfm_seconds']:.3f} s\")"
  /usr/bin/python3 "$shared/peer_pandas_rfm.py" --data "$data" --now $NOW --out /tmp/rfm-pandas.csv |
    python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"pandas: {d['n_customers']} customers, load {d['load_s']:.1f} s, RFM {d['rfm_s']:.3f} s\")"
done
python3 - <<'PY'
import csv
a = {r['profile_id']: r for r in csv.DictReader(open('/tmp/rfm-tailor.csv'))}
b = {r['profile_id']: r for r in csv.DictReader(open('/tmp/rfm-pandas.csv'))}
same = lambda x, y: (abs(float(x['recency_days']) - float(y['recency_days'])) <= 1e-6 and
                     int(x['frequency']) == int(y['frequency']) and
                     abs(float(x['monetary']) - float(y['monetary'])) <= 1e-6 and
                     all(x[k] == y[k] for k in ('r_score', 'f_score', 'm_score', 'segment')))
differing = sum(1 for k in a if k not in b or not same(a[k], b[k])) + len(set(b) - set(a))
print(f"per customer: {len(a)} tailor, {len(b)} pandas, {differing} differing")
PY

echo "== k-means, k = 8 (the peer's features)"
/usr/bin/python3 "$shared/peer_sklearn.py" --data "$data" --now $NOW --features-out /tmp/features-$profiles.csv |
  python3 -c "
import json, sys
d = json.load(sys.stdin)
for r in d['kmeans']['runs']:
    print(f\"scikit-learn {r['algorithm']}: {r['seconds']:.2f} s, inertia {r['inertia']:.0f}, {r['n_iter']} iterations\")"
for seed in 0 1 2; do
  $TAILOR --json cluster --features-csv /tmp/features-$profiles.csv --k 8 --seed $seed |
    python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"tailor seed $seed: {d['seconds']:.2f} s, inertia {d['inertia']:.0f}, {d['iterations']} iterations\")"
done
$TAILOR --json cluster --features-csv /tmp/features-$profiles.csv --k 8 --seed 0 --restarts 3 |
  python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"tailor 3 restarts: {d['seconds']:.2f} s, inertia {d['inertia']:.0f} (seed {d['seed']})\")"

echo "== propensity on the UCI sessions (INTENT.md protocol)"
uci=/tmp/tailor-uci-sessions
rm -rf "$uci"
$TAILOR --data-dir "$uci" import profiles ../shared/data/online_shoppers_intention.csv \
  --mapping mappings/online_shoppers_sessions.json --reject-file /tmp/uci.rejects.tsv > /dev/null
features=""
for t in administrative administrative_duration informational informational_duration \
  product_related product_related_duration bounce_rates exit_rates page_values special_day month \
  operating_system browser region traffic_type visitor_type weekend; do features="$features --trait $t"; done
start=$(date +%s.%N)
$TAILOR --data-dir "$uci" --json propensity --target revenue $features --fold-trait line |
  python3 -c "
import json, sys
d = json.load(sys.stdin)
for m in d['models']:
    print(f\"tailor {m['model']}: AUROC {m['auroc']:.4f}, average precision {m['average_precision']:.4f}, fit {m['fit_seconds']:.2f} s (5 folds)\")"
echo "tailor whole command (import excluded): $(echo "$(date +%s.%N) - $start" | bc) s"
rs=/tmp/tailor-uci-recorded-sessions
rm -rf "$rs"
$TAILOR --data-dir "$rs" import profiles ../shared/data/online_shoppers_intention.csv \
  --mapping mappings/online_shoppers_session_features.json > /dev/null
for family in boosted_trees logistic; do
  $TAILOR --data-dir "$rs" --json intent --validate-readiness --label revenue --fold-trait line \
    --readiness $family | python3 -c "
import json, sys
d = json.load(sys.stdin)
print(f\"tailor readiness {d['model']} (session features): AUROC {d['mean_auroc']:.4f}, average precision {d['mean_average_precision']:.4f}\")"
done
/usr/bin/python3 "$shared/peer_intent.py" | python3 -c "
import json, sys
d = json.load(sys.stdin)
models = d.get('models', d)
for name, m in (models.items() if isinstance(models, dict) else []):
    if isinstance(m, dict) and 'auroc' in m:
        print(f\"peer {name}: AUROC {m['auroc']:.4f}, average precision {m.get('average_precision', float('nan')):.4f}, fit {m.get('fit_seconds', m.get('fit_s', float('nan')))} s\")"

echo "== lifetime value, 200,000 simulated CDNOW customers (BG/NBD + Gamma-Gamma)"
$TAILOR --json clv --simulate 200000 --seed 20250326 --summaries-out /tmp/clv-summaries.csv > /tmp/clv-tailor.json
/usr/bin/python3 bench/peer_clv_scipy.py /tmp/clv-summaries.csv > /tmp/clv-scipy.json
python3 - <<'PY'
import json
t = json.load(open('/tmp/clv-tailor.json'))
s = json.load(open('/tmp/clv-scipy.json'))
peer = {**{k: v for k, v in s['bgnbd'].items() if k != 'log_likelihood'},
        **{k: v for k, v in s['gamma_gamma'].items() if k != 'log_likelihood'}}
print(f"tailor fits {t['fit_seconds']:.2f} s, scipy fits {s['fit_seconds']:.2f} s "
      f"({s['fit_seconds'] / t['fit_seconds']:.0f}x)")
worst = 0
for p in t['parameters']:
    rel = abs(p['estimate'] - peer[p['name']]) / abs(peer[p['name']])
    worst = max(worst, rel)
    z = (p['estimate'] - p['truth']) / p['standard_error']
    print(f"  {p['name']:6} truth {p['truth']:8.4f} tailor {p['estimate']:10.5f} (SE {p['standard_error']:.5f}, "
          f"z {z:+.2f}, {100 * (p['estimate'] - p['truth']) / p['truth']:+.2f} %) scipy {peer[p['name']]:10.5f}")
print(f"largest relative difference to scipy: {worst:.1e}")
PY
