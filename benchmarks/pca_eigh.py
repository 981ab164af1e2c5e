"""The two steps of aekit's exact PCA on fit_overhead.py's workload, and the alternatives.

    python benchmarks/pca_eigh.py [--rows 4608] [--features 4096] [--k 1000] [--threads 2]

The covariance of the centred rows (aekit: float64 NumPy products; against:
float32 torch), as a fraction of the float32 matrix-product rate measured in
the same run (a 4096^3 product: the limit), and the top-k eigenpairs of it:
aekit's scipy ``eigh(subset_by_index, driver="evr")`` against scipy's "evx"
and full "evd" and ``torch.linalg.eigh``, as ratios to aekit's time, with the
largest difference of the top-k eigenvalues.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg as sl
import torch


def timed(f, *a, **kw):
    t0 = time.perf_counter()
    r = f(*a, **kw)
    return time.perf_counter() - t0, r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=4608)
    ap.add_argument("--features", type=int, default=4096)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    n, d, k = a.rows, a.features, a.k
    X = np.random.default_rng(0).random((n, d), dtype=np.float32)
    M = torch.rand(4096, 4096)
    M @ M
    s, _ = timed(lambda: M @ M)
    limit = 2 * 4096**3 / s
    mean = X.mean(0)
    s64, c64 = timed(lambda: (lambda Z: Z.T @ Z)((X - mean).astype(np.float64)))
    s32, c32 = timed(lambda: (lambda Z: Z.T @ Z)(torch.from_numpy(X - mean)))
    flops = 2 * n * d * d
    rel = np.abs(c32.numpy() - c64).max() / np.abs(c64).max()
    print(f"float32 product limit: {limit / 1e9:.0f} GFLOP/s")
    print(
        f"covariance float64 NumPy (aekit): {s64:.2f} s, {flops / s64 / limit:.2f} of the limit"
    )
    print(f"covariance float32 torch:         {s32:.2f} s, {flops / s32 / limit:.2f} of the limit, "
          f"{s32 / s64:.2f}x aekit's time, max relative difference {rel:.1e}")  # fmt: skip
    C = (c64 / (n - 1)).astype(np.float32)
    s0, (w0, _) = timed(sl.eigh, C, subset_by_index=[d - k, d - 1], driver="evr")
    print(f"eigh scipy evr top-{k} (aekit): {s0:.2f} s")
    for name, f in (
        ("scipy evx top-k", lambda: sl.eigh(C, subset_by_index=[d - k, d - 1], driver="evx")[0]),
        ("scipy evd full", lambda: sl.eigh(C, driver="evd")[0][-k:]),
        ("torch.linalg.eigh full", lambda: torch.linalg.eigh(torch.from_numpy(C))[0].numpy()[-k:]),
    ):  # fmt: skip
        s1, w1 = timed(f)
        print(f"eigh {name}: {s1:.2f} s, {s1 / s0:.2f}x aekit's time, "
              f"top-{k} eigenvalues differ by {np.abs(w1 - w0).max():.1e}")  # fmt: skip


if __name__ == "__main__":
    main()
