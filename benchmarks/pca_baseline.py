"""The fit-time PCA baseline: aekit's covariance and Gram paths against scikit-learn's solvers.

    python benchmarks/pca_baseline.py [--rows 18000] [--features 4096] [--k 1000]
    python benchmarks/pca_baseline.py --real
    python benchmarks/pca_baseline.py --wide

Each solver runs in a fresh process on the same uniform [0, 1) float32 rows
(aekit: the covariance path, or the Gram path when --rows < --features);
printed: seconds, the peak RSS above the data, and the held-out reconstruction
MSE on 2,000 more rows. With --real: the held-out MSE of aekit's covariance
path against scikit-learn's float64 full SVD on MNIST and COIL-20 (../shared/data,
min-max scaled, a seeded 80/20 split). With --wide: the tables with fewer
rows than features (the Gram path), each at codes 8 and 32 on the fit rows of
`benchmarks/vs_pca.py`'s protocol: aekit's `fit_baseline` against
scikit-learn's `PCA(k)` as a user calls it (its own choice of solver), seconds
as the median of 7 calls in one process (each solver's calls together, a
second's pause between: OpenBLAS's threads spin on after scikit-learn's calls
and slow whatever torch runs next), and both held-out MSEs as ratios to a
float64 full SVD.
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
from aekit.pca import fit_baseline
solver, rows, d, k = sys.argv[1], *map(int, sys.argv[2:5])
rng = np.random.default_rng(0)
X = rng.random((rows + 2000, d), dtype=np.float32)
X, held_out = X[:rows], X[rows:]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
if solver == "aekit":
    p, _ = fit_baseline(X, k, 0)  # the covariance path, or the Gram path if wide
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


def real() -> None:
    import numpy as np
    import torch
    from quality import load
    from sklearn.decomposition import PCA

    from aekit.data.rows import ScaledRows
    from aekit.pca import pca_by_covariance
    from aekit.scaling import fit_scaling

    print("| data | components | float64 full SVD MSE | aekit MSE | ratio |")
    print("|---|---|---|---|---|")
    for name in ("mnist", "coil20"):
        X = load(name)[0].astype(np.float32)
        X = fit_scaling(X).transform(X)
        perm = np.random.default_rng(0).permutation(len(X))
        n = int(0.8 * len(X))
        train, test = X[perm[:n]], X[perm[n:]]
        for k in (8, 32, 64, 256):
            ref = PCA(k, svd_solver="full").fit(train.astype(np.float64))
            ours = pca_by_covariance(ScaledRows(torch.from_numpy(train)), k)
            a = float(((ref.inverse_transform(ref.transform(test)) - test) ** 2).mean())
            b = float(((ours.reconstruct(test) - test) ** 2).mean())
            print(f"| {name} | {k} | {a:.6f} | {b:.6f} | {b / a:.6f} |")


def wide() -> None:
    import time

    import numpy as np
    from sklearn.decomposition import PCA
    from vs_pca import load, pca_mse, protocol

    from aekit.pca import fit_baseline

    print(
        "| data | fit rows x features | k | scikit-learn solver | scikit-learn s "
        "| aekit s | aekit / scikit-learn | scikit-learn MSE / full SVD "
        "| aekit MSE / full SVD |\n|---|---|---|---|---|---|---|---|---|"
    )
    for name in ("lung_small", "colon", "lymphoma", "Yale", "warpPIE10P", "olivetti"):
        _, _, fit_u, test_u = protocol(load(name))
        fit_u = np.ascontiguousarray(fit_u, np.float32)
        test_u = test_u.astype(np.float32)
        for k in (8, 32):
            times: dict[str, list[float]] = {"sk": [], "ae": []}
            for _ in range(7):
                t0 = time.perf_counter()
                sk = PCA(k, random_state=0).fit(fit_u)
                times["sk"].append(time.perf_counter() - t0)
            time.sleep(1)  # OpenBLAS's threads spin on after a call: let them sleep
            for _ in range(7):
                t0 = time.perf_counter()
                ae, _ = fit_baseline(fit_u, k, 0)
                times["ae"].append(time.perf_counter() - t0)
            time.sleep(1)
            assert ae is not None
            s_sk, s_ae = (float(np.median(times[c])) for c in ("sk", "ae"))
            full = pca_mse(fit_u, test_u, k)
            e_sk = float(((sk.inverse_transform(sk.transform(test_u)) - test_u) ** 2).mean())
            e_ae = float(((ae.reconstruct(test_u) - test_u) ** 2).mean())
            print(
                f"| {name} | {fit_u.shape[0]} x {fit_u.shape[1]} | {k} | "
                f"{sk._fit_svd_solver} | {s_sk:.4f} | {s_ae:.4f} | {s_ae / s_sk:.2f} | "
                f"{e_sk / full:.6f} | {e_ae / full:.6f} |",
                flush=True,
            )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=18_000)
    p.add_argument("--features", type=int, default=4096)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--real", action="store_true", help="accuracy on MNIST, COIL-20")
    p.add_argument("--wide", action="store_true", help="tables with more features")
    a = p.parse_args()
    if a.real:
        real()
        return
    if a.wide:
        wide()
        return
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
