"""The default model against a PCA of the same size on every real table we have.

The protocol of the issue that set the bound (one command reruns it)::

    .venv/bin/python benchmarks/vs_pca.py                    # the whole table
    .venv/bin/python benchmarks/vs_pca.py --data colon,wine  # some tables
    .venv/bin/python benchmarks/vs_pca.py --param model=halving
    .venv/bin/python benchmarks/vs_pca.py --write benchmarks/RESULTS.md
    .venv/bin/python benchmarks/vs_pca.py --jobs 2           # data sets in 2 processes

Rows permuted with ``np.random.default_rng(0)``, the first 80% fitted, the rest
held out; min-max scaling with the fitted rows' range; PCA(k) (exact, full
SVD) fitted on the same scaled rows; MSE over the held-out rows and all
features in that scaled space. The autoencoder is ``AutoEncoder(latent_dim=k,
random_state=0)`` with default settings and any ``--param``. Latents 8 and 32
(and 16 for the image sets), skipping a latent not below the feature count.
Bound: ratio <= 1.02 (1.05 where fewer than 100 rows are fitted), <= 0.6 on
MNIST at 32 and <= 0.35 on COIL-20 at 16. ``last`` marks a run whose best
epoch is its last one (possibly under-trained).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit import AutoEncoder

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
SECTION = "## Default model vs PCA on every table"
IMAGES = ("mnist", "coil20", "olivetti", "digits")
TABLES = (
    "colon",
    "lymphoma",
    "lung_small",
    "PCMAC",
    "RELATHE",
    "BASEHOCK",
    "Yale",
    "warpPIE10P",
)
ALL = ("digits", "breast_cancer", "wine", "mnist", "coil20", "olivetti", *TABLES)
BOUNDS = {("mnist", 32): 0.6, ("coil20", 16): 0.35}


def load(name: str) -> np.ndarray:
    """The raw table (rows x features) as float32; scaling is the protocol's."""
    import scipy.io
    from sklearn import datasets

    if name in ("digits", "breast_cancer", "wine"):
        return getattr(datasets, f"load_{name}")().data.astype(np.float32)
    if name in ("mnist", "coil20", "olivetti"):
        sys.path.insert(0, str(Path(__file__).parent))
        from quality import load as load_image_set

        return load_image_set(name)[0]
    if name in TABLES:
        m = scipy.io.loadmat(DATA / "tables" / f"{name}.mat")
        return np.asarray(m["X"], dtype=np.float32)
    raise ValueError(f"unknown data set {name!r}; choose from {', '.join(ALL)}")


def latents_for(name: str, n_features: int) -> list[int]:
    ks = [8, 16, 32] if name in IMAGES else [8, 32]
    return [k for k in ks if k < n_features]


def protocol(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(fit rows, held-out rows, their scaled versions) of the protocol."""
    perm = np.random.default_rng(0).permutation(len(X))
    n_fit = int(0.8 * len(X))
    fit, test = X[perm[:n_fit]], X[perm[n_fit:]]
    lo, hi = fit.min(axis=0), fit.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return fit, test, (fit - lo) / span, (test - lo) / span


def pca_mse(fit_u: np.ndarray, test_u: np.ndarray, k: int) -> float:
    from sklearn.decomposition import PCA

    p = PCA(min(k, *fit_u.shape), svd_solver="full").fit(fit_u.astype(np.float64))
    R = p.inverse_transform(p.transform(test_u.astype(np.float64)))
    return float(((R - test_u) ** 2).mean())


def run(name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    X = load(name)
    fit, test, fit_u, test_u = protocol(X)
    rows = []
    for k in latents_for(name, X.shape[1]):
        t0 = time.perf_counter()
        ae = AutoEncoder(latent_dim=k, random_state=0, verbose=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ae.fit(fit)
        seconds = time.perf_counter() - t0
        ae_mse = float(ae.reconstruction_error(test).mean())
        base = pca_mse(fit_u, test_u, k)
        bound = BOUNDS.get((name, k), 1.05 if len(fit) < 100 else 1.02)
        rows.append(
            {
                "data": name,
                "shape": f"{X.shape[0]} x {X.shape[1]}",
                "fit_rows": len(fit),
                "k": k,
                "ae": ae_mse,
                "pca": base,
                "ratio": ae_mse / base,
                "bound": bound,
                "best": ae.best_epoch_,
                "epochs": ae.n_epochs_,
                "last": ae.best_epoch_ == ae.n_epochs_ and not ae.stopped_early_,
                "seconds": seconds,
            }
        )
        r = rows[-1]
        print(
            f"{name:<14} k={k:<3} ae {ae_mse:.5f} pca {base:.5f} ratio {r['ratio']:.3f} "
            f"(bound {bound}) best {r['best']}/{r['epochs']} {seconds:.1f}s",
            file=sys.stderr,
            flush=True,
        )
    return rows


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)
    sys.path.insert(0, str(Path(__file__).parent))


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| data | rows x features | k | AE MSE | PCA MSE | AE/PCA | bound | best/epochs | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r['ratio']:.3f}"
        ratio = f"**{ratio}**" if r["ratio"] > r["bound"] else ratio
        last = " (last)" if r["last"] else ""
        lines.append(
            f"| {r['data']} | {r['shape']} | {r['k']} | {r['ae']:.5f} | {r['pca']:.5f} "
            f"| {ratio} | {r['bound']} | {r['best']}/{r['epochs']}{last} "
            f"| {r['seconds']:.1f} |"
        )
    met = sum(r["ratio"] <= r["bound"] for r in rows)
    ratios = np.array([r["ratio"] for r in rows])
    lines.append("")
    lines.append(
        f"{met} of {len(rows)} within their bound (**bold**: outside); median AE/PCA "
        f"{np.median(ratios):.3f}, worst {ratios.max():.3f}; best epoch = last epoch in "
        f"{sum(r['last'] for r in rows)} of {len(rows)} runs; "
        f"{sum(r['seconds'] for r in rows):.0f} s in all."
    )
    return "\n".join(lines)


def write_section(path: Path, label: str, text: str) -> None:
    doc = path.read_text() if path.exists() else ""
    part = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    found = part.search(doc)
    body = (
        found.group(0)
        if found
        else f"{SECTION}\n\n{__doc__.split(chr(10) + chr(10))[2]}\n"
    )
    sub = re.compile(rf"^### {re.escape(label)}\n.*?(?=^### |^## |\Z)", re.M | re.S)
    body = sub.sub("", body).rstrip() + f"\n\n### {label}\n\n{text}\n\n"
    doc = (
        part.sub(body.replace("\\", "\\\\"), doc)
        if found
        else doc.rstrip() + "\n\n" + body
    )
    path.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    from quality import parse_params  # noqa: E402  (same folder)

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=",".join(ALL), help="comma-separated data sets")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--jobs", type=int, default=1, help="data sets run in this many processes"
    )
    ap.add_argument("--write", metavar="RESULTS.md")
    ap.add_argument("--label", default="Default settings")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    params = parse_params(args.param)
    names = [n.strip() for n in args.data.split(",")]
    rows = []
    if args.jobs > 1:  # one thread per process; results in the order asked
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(
            args.jobs, mp.get_context("spawn"), _init_worker, (args.threads or 1,)
        ) as pool:
            for part in pool.map(run, names, [params] * len(names)):
                rows += part
    else:
        for name in names:
            rows += run(name, params)
    text = table(rows)
    command = "python benchmarks/vs_pca.py " + shlex.join(argv or sys.argv[1:])
    text = f"`{command.strip()}` (torch {torch.__version__}, {torch.get_num_threads()} threads)\n\n{text}"
    print(text)
    if args.write:
        write_section(Path(args.write), args.label, text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    raise SystemExit(main())
