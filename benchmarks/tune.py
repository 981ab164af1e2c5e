"""A timed `aekit.tune` search on a real data set; the tuned model vs PCA vs default.

Run from the repository root (the data lives in ../shared/data)::

    flock /tmp/bench.lock .venv/bin/python benchmarks/tune.py mnist --latent-dim 32 \
        --timeout 600 --max-epochs 30

It holds out 20% of the rows (seeded) from the search, and prints the held-out
MSE (in the [0, 1] space of the search rows' scaling) of the tuned model, of
the PCA of the same size and of a default AutoEncoder fitted on the same rows
with the same epoch cap, with the two ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATA, load  # noqa: E402

from aekit.search import tune  # noqa: E402


def load_table(name: str) -> np.ndarray:
    """A table of ../shared/data/tables, min-max scaled per column."""
    import scipy.io

    X = scipy.io.loadmat(DATA / "tables" / f"{name}.mat")["X"].astype(np.float32)
    span = X.max(0) - X.min(0)
    return (X - X.min(0)) / np.where(span > 0, span, 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", help="mnist, coil20, olivetti, digits or table:NAME")
    p.add_argument("--latent-dim", type=int, required=True)
    p.add_argument("--timeout", type=float, default=1200)
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--max-epochs", type=int)
    p.add_argument("--pruner", default="hyperband")
    p.add_argument("--json", metavar="FILE", help="write the study summary there")
    p.add_argument("--no-default", action="store_true", help="skip the default model")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    if a.dataset == "digits":
        from sklearn.datasets import load_digits

        X = (load_digits().data / 16).astype(np.float32)
    elif a.dataset.startswith("table:"):
        X = load_table(a.dataset.removeprefix("table:"))
    else:
        X, _ = load(a.dataset)
    fixed = {"device": "cpu"}
    if a.max_epochs:
        fixed["max_epochs"] = a.max_epochs
    t0 = time.perf_counter()
    r = tune(
        X,
        latent_dim=a.latent_dim,
        n_trials=a.trials,
        timeout=a.timeout,
        pruner=a.pruner,
        fixed=fixed,
        compare_default=not a.no_default,
        progress=lambda s: print(s, flush=True),
    )
    s = r.summary()
    t = r.test_mse
    print(
        f"data {a.dataset} {X.shape}, latent {a.latent_dim}, search {a.timeout:.0f} s"
    )
    print(f"trials: {s['trials_by_state']}; total {time.perf_counter() - t0:.0f} s")
    print(f"best params: {r.best_params}")
    print("test MSE " + "  ".join(f"{k} {v:.5f}" for k, v in t.items()))
    print("  ".join(f"{k} {v:.3f}" for k, v in s["test_ratios"].items()))
    if a.json:
        Path(a.json).write_text(json.dumps(s, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
