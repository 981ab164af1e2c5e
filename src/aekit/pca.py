"""The PCA baseline: a PCA of the same size as the code, fitted on the same scaled rows.

It is fitted with every model (`aekit.evaluate.fit_time_evaluation` scores it),
a family may start from it (pca_anchored), it is stored in model.safetensors
as the ``baseline.*`` tensors and scored next to the autoencoder wherever the
autoencoder is. It sits on the ground floor for that reason: fitting, the
families' starts, persistence and the evaluation all use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .data.rows import ScaledRows

BASELINE_PREFIX = "baseline."  # tensor names of the PCA baseline in model.safetensors
BASELINE_MAX_FLOATS = 2**24  # components above this (64 MiB of float32) are not kept
BASELINE_MAX_ROWS = 100_000  # the PCA is fitted on a seeded sample beyond this
COVARIANCE_CHUNK = 2048  # rows per product when the covariance is summed
GRAM_MAX_ROWS = 2048  # wide data up to this many rows: the Gram path, else randomized


@dataclass
class PCABaseline:
    """A fitted PCA, reduced to what reconstruction needs.

    ``reconstruct(x) = mean + (x - mean) W^T W`` with W the components.
    """

    components: np.ndarray  # (n_components, n_features) float32, orthonormal rows
    mean: np.ndarray  # (n_features,) float32
    explained_variance: np.ndarray  # (n_components,) float32

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def transform(self, Xu: np.ndarray) -> np.ndarray:
        """(n, n_features) scaled rows -> (n, n_components) PCA codes."""
        return ((Xu - self.mean) @ self.components.T).astype(np.float32, copy=False)

    def reconstruct(self, Xu: np.ndarray) -> np.ndarray:
        """Scaled rows -> their projection on the principal subspace (not clipped)."""
        x = torch.from_numpy(np.ascontiguousarray(Xu, np.float32))
        return self.projection()(x).numpy()

    def projection(
        self, device: torch.device | str = "cpu"
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """`reconstruct` in torch on `device`, its maps copied there once."""
        W, mean = (
            torch.from_numpy(np.ascontiguousarray(v, np.float32)).to(device)
            for v in (self.components, self.mean)
        )
        return lambda x: torch.addmm(mean, (x - mean) @ W.T, W)

    def to_tensors(self) -> dict[str, torch.Tensor]:
        return {
            f"{BASELINE_PREFIX}{k}": torch.from_numpy(
                np.ascontiguousarray(v, np.float32)
            )
            for k, v in (
                ("components", self.components),
                ("mean", self.mean),
                ("explained_variance", self.explained_variance),
            )
        }

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, torch.Tensor], n_features: int
    ) -> PCABaseline:
        """Rebuild from `to_tensors` output; ValueError if inconsistent."""
        names = {
            f"{BASELINE_PREFIX}{k}"
            for k in ("components", "mean", "explained_variance")
        }
        if set(tensors) != names:
            raise ValueError(f"baseline tensors {sorted(tensors)} != {sorted(names)}")
        c, m, v = (
            tensors[f"{BASELINE_PREFIX}{k}"].float().numpy()
            for k in ("components", "mean", "explained_variance")
        )
        if (
            c.ndim != 2
            or c.shape[1] != n_features
            or m.shape != (n_features,)
            or v.shape != (c.shape[0],)
        ):
            raise ValueError(
                f"baseline shapes {c.shape}, {m.shape}, {v.shape} do not fit "
                f"{n_features} features"
            )
        return cls(c, m, v)


def split_baseline(
    tensors: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(network tensors, baseline tensors) of a model file."""
    base = {k: t for k, t in tensors.items() if k.startswith(BASELINE_PREFIX)}
    return {k: t for k, t in tensors.items() if k not in base}, base


def fit_baseline(
    Xu: np.ndarray | ScaledRows, n_components: int, seed: int
) -> tuple[PCABaseline | None, dict[str, Any]]:
    """PCA of the scaled rows Xu with min(n_components, rows, features) components."""
    rows = Xu if isinstance(Xu, ScaledRows) else ScaledRows(torch.from_numpy(Xu))
    n, d = len(rows), rows.X.shape[1]
    k = min(int(n_components), n, d)
    info: dict[str, Any] = {
        "n_components": k,
        "fit_rows": n,
        "stored": False,
        "note": None,
    }
    if n < 2:
        info["note"] = "no PCA baseline: fewer than 2 training rows"
        return None, info
    if n > BASELINE_MAX_ROWS:
        sample = np.random.default_rng(seed).choice(n, BASELINE_MAX_ROWS, replace=False)
        rows = rows.subset(np.sort(sample))
        info["fit_rows"] = BASELINE_MAX_ROWS
        info["note"] = (
            f"PCA fitted on a seeded sample of {BASELINE_MAX_ROWS} of {n} rows"
        )
    t0 = time.perf_counter()
    if len(rows) >= d:
        base = pca_by_covariance(rows, k)
    elif len(rows) <= GRAM_MAX_ROWS:
        base = pca_by_gram(rows, k)
    else:
        base = pca_by_svd(rows.numpy(), k, seed)
    info["seconds"] = time.perf_counter() - t0
    if k < n_components:
        info["note"] = (
            f"PCA capped at {k} components (min of rows and features) for a "
            f"{n_components}-dimensional code"
        )
    if k * d > BASELINE_MAX_FLOATS:
        info["note"] = (
            f"PCA components ({k} x {d} = {k * d} floats) exceed "
            f"{BASELINE_MAX_FLOATS} and are not kept; its scores were computed at "
            "fit time"
        )
        return base, info  # the caller scores it, then drops it
    info["stored"] = True
    return base, info


def pca_by_svd(Xu: np.ndarray, k: int, seed: int) -> PCABaseline:
    """scikit-learn's PCA (its randomized solver here): for wide data with many rows.

    Above GRAM_MAX_ROWS rows the Gram path's rows^2 x features products and
    its eigendecomposition cost more than the randomized solver's few passes
    over the data (3,000 x 10,000 rows, 32 components: 3.7 s against 1.2 s,
    the same held-out MSE to six digits; `benchmarks/pca_baseline.py`).
    """
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, random_state=seed).fit(Xu)
    return _baseline(pca.components_, pca.mean_, pca.explained_variance_)


def pca_by_covariance(rows: ScaledRows, k: int) -> PCABaseline:
    """Exact top-k PCA of tall data from its covariance matrix, in features^2 memory.

    The covariance of the centred rows is summed over chunks of rows (a
    float32 product per chunk, the sum in float64), so no centred copy of the
    data is made; scipy's eigh then computes only the top k eigenpairs.
    Everything before eigh runs in torch: the chunks come as torch tensors,
    and NumPy's products between torch's kernels made the two libraries'
    thread pools contend for the cores (the PCA of 9,000 MNIST rows took
    0.12-0.47 s so, 0.09-0.19 s in torch alone, five calls each). scikit-learn's ``svd_solver="covariance_eigh"``
    computes the same with one whole-data product and a full
    eigendecomposition, at more time and memory (`benchmarks/pca_baseline.py`).
    """
    from scipy.linalg import eigh

    n, d = len(rows), rows.X.shape[1]
    total = torch.zeros(d, dtype=torch.float64)
    for A in rows.chunks(COVARIANCE_CHUNK):
        total += A.float().sum(dim=0).double().cpu()  # float32 cascade sums
    mean_t = (total / n).float()
    cov = torch.zeros((d, d), dtype=torch.float64)
    for A in rows.chunks(COVARIANCE_CHUNK):
        Z = A.float().cpu() - mean_t
        cov += Z.T @ Z
    cov /= n - 1
    mean = mean_t.numpy()
    values, vectors = eigh(
        cov.float().numpy(), subset_by_index=[d - k, d - 1], driver="evr"
    )
    components = vectors[:, ::-1].T.copy()  # fresh strides: k=1 keeps a negative one
    return _baseline(components, mean, values[::-1])


def pca_by_gram(rows: ScaledRows, k: int) -> PCABaseline:
    """Exact top-k PCA of wide data (fewer rows than features), in rows^2 memory.

    The covariance's counterpart: the Gram matrix of the centred rows (their
    products with each other, a float32 product per chunk of features summed
    in float64) has the same nonzero eigenvalues as the covariance, and its
    top k eigenvectors U give the components as the centred rows' projection
    Z^T U, orthonormalised by a QR (which also gives a component the rows do
    not span, when k reaches the rank, an orthonormal direction instead of a
    division by zero). The cost is that of the covariance path with rows and
    features swapped: rows^2 x features, which is why it is used up to
    GRAM_MAX_ROWS rows. scikit-learn's PCA picks its randomized solver on
    such tables, an approximation that took 8-120 ms where this takes 0.3-15
    (`benchmarks/pca_baseline.py --wide`). Everything runs in
    torch (its eigh included: scipy's, on OpenBLAS, left threads spinning that
    slowed torch's next kernels on 2 cores).
    """
    Z = torch.cat(list(rows.chunks(COVARIANCE_CHUNK))).float().cpu()  # a new copy
    n, d = Z.shape
    mean_t = (Z.sum(dim=0).double() / n).float()
    Z -= mean_t
    gram = torch.zeros((n, n), dtype=torch.float64)
    for j in range(0, d, COVARIANCE_CHUNK):
        B = Z[:, j : j + COVARIANCE_CHUNK]
        gram += B @ B.T
    values, vectors = torch.linalg.eigh(gram)  # ascending
    U = vectors[:, n - k :].flip(1).float()
    Q, _ = torch.linalg.qr((U.T @ Z).T)
    variance = values[n - k :].flip(0).numpy() / (n - 1)
    return _baseline(Q.T.numpy().copy(), mean_t.numpy(), variance)


def _baseline(
    components: np.ndarray, mean: np.ndarray, variance: np.ndarray
) -> PCABaseline:
    """A PCABaseline with scikit-learn's sign rule: each component's largest entry > 0."""
    k = len(components)
    big = np.abs(components).argmax(axis=1)
    components *= np.sign(components[np.arange(k), big])[:, None]
    return PCABaseline(
        components.astype(np.float32, copy=False),
        mean.astype(np.float32, copy=False),
        np.maximum(variance, 0).astype(np.float32),
    )
