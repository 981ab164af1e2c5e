"""Autoencoder vs PCA of the same size on real data: held-out MSE, probes, time.

Run from the repository root (the data lives in ../shared/data, see its README)::

    .venv/bin/python benchmarks/quality.py --quick        # smoke run, under a minute
    .venv/bin/python benchmarks/quality.py --write benchmarks/RESULTS.md

Data sets and splits (seeded):

- MNIST test set, 10000 x 784: 8000 rows to fit, 2000 held out;
- COIL-20, 1440 x 1024: 80% to fit, 20% held out, stratified by object;
- Olivetti faces, 400 x 4096: 8 images per person to fit, 2 held out, at
  latent_dim=1000 (more code dimensions than training rows).

Each model is an `aekit.AutoEncoder` with default settings except
``random_state`` and any ``--param`` given; the PCA baseline is the one the
estimator fits at fit time on the same scaled training rows (so it has
min(latent_dim, training rows) components). MSE is measured on the held-out
rows in the model's [0, 1] scaled space. Probes (5-fold cross-validated
logistic regression and 5-NN) run on all rows of the data set (a seeded sample
of 2000 for MNIST); neither model ever sees the labels.
"""

from __future__ import annotations

import argparse
import gzip
import platform
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
from aekit.evaluate import evaluate_model, probe_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
SECTION = "## Quality"
INTRO = (
    "Autoencoder vs a PCA with as many components as the code, both fitted on the "
    "same scaled rows; MSE on held-out rows in the model's [0, 1] scaled space "
    "(**bold** ratio: the autoencoder wins). Probe accuracies are 5-fold "
    "cross-validated on all rows of the data set (2000 sampled for MNIST). "
    "Written by benchmarks/quality.py."
)
PROBE_ROWS = 2000  # probes on a seeded sample of at most this many rows (time)


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(X float32 in [0, 1], y) of one data set."""
    import scipy.io

    if name == "mnist":
        with gzip.open(DATA / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
            b = f.read()
        X = (
            np.frombuffer(b, np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
            / 255
        )
        with gzip.open(DATA / "mnist" / "t10k-labels-idx1-ubyte.gz") as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
        return X, y
    if name == "coil20":
        m = scipy.io.loadmat(DATA / "coil20" / "COIL20.mat")
        return m["X"].astype(np.float32), m["Y"].ravel().astype(np.int64)
    if name == "olivetti":
        faces = scipy.io.loadmat(DATA / "olivetti" / "olivettifaces.mat")["faces"]
        imgs = faces.T.reshape(400, 64, 64).transpose(0, 2, 1)
        return imgs.reshape(400, 4096).astype(np.float32) / 242.0, np.arange(400) // 10
    raise ValueError(f"unknown data set {name!r}; choose from mnist, coil20, olivetti")


def split(name: str, y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, held-out rows) as sorted index arrays."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    if name == "mnist":  # 8000 / 2000 of the 10000 test images, as in the README
        perm = np.random.default_rng(seed).permutation(len(y))
        n_fit = int(round(0.8 * len(y)))
        return np.sort(perm[:n_fit]), np.sort(perm[n_fit:])
    a, b = train_test_split(idx, test_size=0.2, stratify=y, random_state=seed)
    return np.sort(a), np.sort(b)


def parse_params(items: list[str]) -> dict[str, Any]:
    """["lr=3e-3", "hidden_dims=256,64"] -> {"lr": 0.003, "hidden_dims": (256, 64)}."""
    out: dict[str, Any] = {}
    for item in items:
        key, _, raw = item.partition("=")
        value: Any = raw
        if "," in raw:
            value = tuple(int(v) for v in raw.split(",") if v)
        else:
            for cast in (int, float):
                try:
                    value = cast(raw)
                    break
                except ValueError:
                    pass
            value = {"None": None, "True": True, "False": False}.get(raw, value)
        out[key] = value
    return out


def run(
    name: str, latents: list[int], params: dict[str, Any], quick: bool
) -> list[dict[str, Any]]:
    X, y = load(name)
    if quick:  # a small stratified subset and a few epochs: checks the plumbing only
        keep = np.sort(np.random.default_rng(0).choice(len(X), min(len(X), 600), False))
        X, y = X[keep], y[keep]
        params = {"max_epochs": 3, **params}
    fit_idx, test_idx = split(name, y)
    raw: dict[str, Any] | None = None  # raw-feature probes: the same for every latent
    rows = []
    for latent in latents:
        if latent >= X.shape[1]:
            continue
        est = AutoEncoder(latent_dim=latent, random_state=0, verbose=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dead-unit warnings are reported below
            est.fit(X[fit_idx])
        ev = evaluate_model(est, X[test_idx])
        t0 = time.perf_counter()
        on = (
            ("autoencoder", "pca") if raw is not None else ("autoencoder", "pca", "raw")
        )
        pr = probe_model(est, X, y, on=on, max_rows=PROBE_ROWS).get("results", {})
        raw = pr.get("raw", raw or {})
        rows.append(
            {
                "data": name,
                "rows": f"{len(fit_idx)}/{len(test_idx)}",
                "features": X.shape[1],
                "latent": latent,
                "pca_k": est.metrics_["pca"]["n_components"],
                "ae_mse": ev["mse"],
                "pca_mse": ev["pca"]["mse"]
                if ev["pca"]
                else est.metrics_["pca"]["validation"]["mse"],
                "ae_r2": ev["r2"],
                "ae_log": pr.get("autoencoder", {}).get("logistic"),
                "pca_log": pr.get("pca", {}).get("logistic"),
                "raw_log": raw.get("logistic"),
                "ae_knn": pr.get("autoencoder", {}).get("knn"),
                "pca_knn": pr.get("pca", {}).get("knn"),
                "raw_knn": raw.get("knn"),
                "epochs": f"{est.n_epochs_} ({est.best_epoch_})",
                "seconds": est.fit_seconds_,
                "probe_seconds": time.perf_counter() - t0,
                "gap": ev["training"].get("gap_ratio_at_best"),
                "dead": max(ev["dead_units"].values(), default=0.0),
                "idle": ev["latent"]["n_idle"],
                "warning": ev["training"].get("warning"),
            }
        )
        r = rows[-1]
        print(
            f"{name} latent={latent}: AE {r['ae_mse']:.5f} PCA {r['pca_mse']:.5f} "
            f"ratio {r['ae_mse'] / r['pca_mse']:.2f}; logistic AE {_f(r['ae_log'])} "
            f"PCA {_f(r['pca_log'])}; {r['seconds']:.0f}s, epochs {r['epochs']}",
            file=sys.stderr,
            flush=True,
        )
    return rows


def _f(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}" if abs(v) >= 1e-3 else f"{v:.2e}"
    return str(v)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| data | fit/held-out rows | latent | PCA k | AE MSE | PCA MSE | AE/PCA | "
        "AE R² | logistic AE / PCA / raw | 5-NN AE / PCA / raw | epochs (best) | "
        "fit s | val/train loss | max dead | idle dims |"
    )
    lines = [head, "|" + "---|" * 15]
    for r in rows:
        bold = "**" if r["ae_mse"] < r["pca_mse"] else ""  # the autoencoder wins
        lines.append(
            f"| {r['data']} | {r['rows']} | {r['latent']} | {r['pca_k']} | "
            f"{r['ae_mse']:.5f} | {r['pca_mse']:.5f} | "
            f"{bold}{r['ae_mse'] / r['pca_mse']:.2f}{bold} | {_f(r['ae_r2'])} | "
            f"{_f(r['ae_log'])} / {_f(r['pca_log'])} / {_f(r['raw_log'])} | "
            f"{_f(r['ae_knn'])} / {_f(r['pca_knn'])} / {_f(r['raw_knn'])} | "
            f"{r['epochs']} | "
            f"{r['seconds']:.0f} | {_f(r['gap'], 2)} | {r['dead']:.0%} | {r['idle']} |"
        )
    return "\n".join(lines)


def write_section(path: Path, label: str, text: str) -> None:
    """Put `text` under "### label" in the Quality section; other sections are kept."""
    from aekit.io import write_atomic

    doc = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    part = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    found = part.search(doc)
    quality = found.group(0) if found else f"{SECTION}\n\n{INTRO}\n"
    sub = re.compile(rf"^### {re.escape(label)}\n.*?(?=^### |\Z)", re.M | re.S)
    block = f"### {label}\n\n{text.strip()}\n\n"
    if sub.search(quality):
        quality = sub.sub(lambda _: block, quality)
    else:
        quality = quality.rstrip("\n") + "\n\n" + block
    if found:
        doc = doc[: found.start()] + quality + doc[found.end() :]
    else:
        doc = doc.rstrip("\n") + "\n\n" + quality
    write_atomic(path, (doc.rstrip("\n") + "\n").encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="600-row subsets, 3 epochs: checks that everything runs",
    )
    p.add_argument("--datasets", nargs="+", default=["mnist", "coil20", "olivetti"])
    p.add_argument(
        "--latent",
        nargs="+",
        type=int,
        default=[8, 16, 32, 64],
        help="latent sizes for MNIST and COIL-20 (Olivetti: 1000)",
    )
    p.add_argument("--olivetti-latent", nargs="+", type=int, default=[1000])
    p.add_argument(
        "--param",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="AutoEncoder parameters, e.g. lr=3e-3 batch_size=64",
    )
    p.add_argument(
        "--write", metavar="RESULTS.md", help="write the Quality section there"
    )
    p.add_argument(
        "--label", default="Default settings", help="subsection title in RESULTS.md"
    )
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    params = parse_params(args.param)
    t0 = time.perf_counter()
    rows = []
    for name in args.datasets:
        latents = args.olivetti_latent if name == "olivetti" else args.latent
        rows += run(name, latents, params, args.quick)
    total = time.perf_counter() - t0
    cmd = "python benchmarks/quality.py " + shlex.join(
        argv if argv is not None else sys.argv[1:]
    )
    out = table(rows)
    print(out)
    print(f"\ntotal {total:.0f} s")
    if args.write:
        changed = ", ".join(f"{k}={v!r}" for k, v in params.items())
        env = (
            f"aekit defaults except: {changed or 'none'}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} CPU threads, {platform.machine()}, "
            f"{platform.python_version()}; total {total:.0f} s including probes"
        )
        write_section(
            Path(args.write), args.label, f"Command: `{cmd.strip()}`\n\n{env}\n\n{out}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
