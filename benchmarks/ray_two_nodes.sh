#!/usr/bin/env bash
# docs/tune.md's two-node Ray launch, both nodes on this machine (1 CPU each), and
# a check that the search used both: trials asking 1 CPU each that overlap in time
# cannot share a 1-CPU node.
#   bash benchmarks/ray_two_nodes.sh [DATA.npy]
# (default: scikit-learn's digits, each row 4 times with a little noise, so that a
# trial outlasts the start of the next trial's worker)
set -euo pipefail
V=${VENV:-$(cd "$(dirname "$0")/.." && pwd)/.venv}/bin
WORK=$(mktemp -d)
DATA=${1:-$WORK/digits.npy}
[ -f "$DATA" ] || $V/python -c "
import sys, numpy as np; from sklearn.datasets import load_digits
X = np.tile(load_digits().data / 16, (4, 1))
X = np.clip(X + np.random.default_rng(0).normal(0, 0.05, X.shape), 0, 1)
np.save(sys.argv[1], X.astype('float32'))" "$DATA"
$V/ray stop --force >/dev/null 2>&1 || true
trap '$V/ray stop --force >/dev/null 2>&1; rm -rf "$WORK"' EXIT
$V/ray start --head --port=6379 --num-cpus=1 --include-dashboard=false \
    --disable-usage-stats >/dev/null
# a head with token authentication (a token in ~/.ray/auth_token) admits nodes
# that present it; a head without token authentication ignores this
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN=$($V/ray get-auth-token 2>/dev/null || true)
[ -n "$RAY_AUTH_TOKEN" ] || unset RAY_AUTH_MODE RAY_AUTH_TOKEN
$V/ray start --address=127.0.0.1:6379 --num-cpus=1 --disable-usage-stats >/dev/null
for _ in $(seq 60); do
    [ "$($V/ray status 2>/dev/null | grep -c '^ 1 node_')" = 2 ] && break
    sleep 1
done
echo "nodes in the cluster: $($V/ray status | grep -c '^ 1 node_')"
$V/aekit tune "$DATA" --latent-dim 8 -o "$WORK/best" --backend ray --address auto \
    --trial-resources cpu=1 --trials 6 --max-epochs 30 --storage "$WORK/exp"
$V/python - "$WORK/exp" <<'PY'
import glob, json, sys
spans = []
for f in glob.glob(sys.argv[1] + "/ray/aekit/*/result.json"):
    rows = [json.loads(line) for line in open(f)]
    spans.append((rows[0]["timestamp"] - rows[0]["time_this_iter_s"], rows[-1]["timestamp"]))
spans.sort()
overlap = sum(1 for (_, end), (start, _) in zip(spans, spans[1:]) if start < end)
print(f"trials: {len(spans)}, consecutive trials overlapping in time: {overlap}")
sys.exit(0 if overlap else 1)
PY
