"""The fit-time PCA baseline: aekit's covariance path against scikit-learn's solvers.

    python benchmarks/pca_baseline.py [--rows 18000] [--features 4096] [--k 1000]

Each solver runs in a fresh process on the same uniform [0, 1) float32 rows;
printed: seconds, the peak RSS above the data, and the held-out reconstruction
MSE on 2,000 more rows (lower is better; the exact PCA is the lowest).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np
import torch
from sklearn.decomposition import PCA
from aekit.evaluate.baseline import _pca_by_covariance
from aekit.prepare import ScaledRows
solver, rows, d, k = sys.argv[1], *map(int, sys.argv[2:5])
rng = np.random.default_rng(0)
X = rng.random((rows + 2000, d), dtype=np.float32)
X, held_out = X[:rows], X[rows:]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
if solver == "aekit":
    p = _pca_by_covariance(ScaledRows(torch.from_numpy(X)), k)
    mean, comps = p.mean, p.components
else:
    p = PCA(k, svd_solver=solver, random_state=0).fit(X)
    mean, comps = p.mean_, p.components_
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
R = (held_out - mean) @ comps.T @ comps + mean
print(json.dumps({"seconds": seconds, "peak": peak,
                  "mse": float(((R - held_out) ** 2).mean())}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=18_000)
    p.add_argument("--features", type=int, default=4096)
    p.add_argument("--k", type=int, default=1000)
    a = p.parse_args()
    print(f"{a.rows} x {a.features} rows, {a.k} components")
    print("| solver | seconds | peak MB above the data | held-out MSE |")
    print("|---|---|---|---|")
    for solver in ("aekit", "covariance_eigh", "randomized"):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, solver, str(a.rows), str(a.features), str(a.k)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        name = solver if solver == "aekit" else f"scikit-learn {solver}"
        print(f"| {name} | {r['seconds']:.1f} | {r['peak']:.0f} | {r['mse']:.6f} |")


if __name__ == "__main__":
    main()
