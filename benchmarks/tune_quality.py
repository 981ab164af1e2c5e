"""How much to trust a search's value: one split against k-fold, and the pruner's epoch 1.

Run from the repository root (the data lives in ../shared/data)::

    flock /tmp/aekit-heavy.lock .venv/bin/python benchmarks/tune_quality.py noise \
        table:Yale --latent-dim 16 --seeds 4 --max-epochs 40
    flock /tmp/aekit-heavy.lock .venv/bin/python benchmarks/tune_quality.py prune \
        digits --latent-dim 8 --timeout 60 --max-epochs 30

``noise``: the default AutoEncoder's trial value under seeds 0..S-1, valued by
one validation split (the seed moves the split and the start) and by k-fold
(the seed moves the folds and the start); prints each scheme's mean, standard
deviation and the deviation over the mean (the noise of one trial's value), and
the seconds per trial. ``prune``: a search with the pruner as it is
(`aekit.search.study.MIN_EPOCHS`) and with ``min_resource=1``, counting the
trials of random-start families pruned at epochs below MIN_EPOCHS.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tune import load_table  # noqa: E402

from aekit.search import study as study_mod  # noqa: E402
from aekit.search import tune  # noqa: E402
from aekit.search.trial import fit_trial, make_folds  # noqa: E402


def load_any(name: str, rows: int | None) -> np.ndarray:
    """digits (sklearn), table:NAME (../shared/data/tables), or a quality.py set."""
    if name == "digits":
        from sklearn.datasets import load_digits

        X = (load_digits().data / 16).astype(np.float32)
    elif name.startswith("table:"):
        X = load_table(name.removeprefix("table:"))
    else:
        from quality import load

        X, _ = load(name)
    if rows is not None and rows < len(X):
        X = X[np.random.default_rng(0).choice(len(X), rows, replace=False)]
    return X


def noise(X: np.ndarray, a: argparse.Namespace) -> None:
    n_search = round(len(X) * 0.8)  # the rows a search sees with test_fraction 0.2
    X = X[:n_search]
    never = lambda epoch, value: False  # noqa: E731
    for k in (1, *a.k):
        values, secs = [], []
        for seed in range(a.seeds):
            params = dict(
                latent_dim=a.latent_dim,
                random_state=seed,
                verbose=0,
                device="cpu",
                max_epochs=a.max_epochs,
            )
            folds = None if k == 1 else make_folds(len(X), k, seed)
            t = time.perf_counter()
            fit = fit_trial(params, X, never, folds=folds)
            secs.append(time.perf_counter() - t)
            values.append(fit.value)
        v = np.array(values)
        name = "one split" if k == 1 else f"{k}-fold"
        print(
            f"{a.dataset} {X.shape} code {a.latent_dim} {name:>9}: rows valued "
            f"{len(fit.errors)}, mean {v.mean():.5f} sd {v.std(ddof=1):.5f} "
            f"sd/mean {v.std(ddof=1) / v.mean():.3f}, {np.mean(secs):.1f} s/trial",
            flush=True,
        )


def prune(X: np.ndarray, a: argparse.Namespace) -> None:
    for min_epochs in (1, study_mod.MIN_EPOCHS):
        study_mod.MIN_EPOCHS = min_epochs
        r = tune(
            X,
            latent_dim=a.latent_dim,
            n_trials=1000,
            timeout=a.timeout,
            fixed={"device": "cpu", "max_epochs": a.max_epochs},
            cv=a.cv,
            compare_default=True,
            verbose=0,
        )
        early = {"random": 0, "pca_anchored": 0}
        pruned = {"random": 0, "pca_anchored": 0}
        for t in r.study.trials:
            fam = (
                "pca_anchored" if t.params.get("model") == "pca_anchored" else "random"
            )
            if t.state.name == "PRUNED":
                pruned[fam] += 1
                if max(t.intermediate_values, default=0) < 5:
                    early[fam] += 1
        s = r.summary()
        print(
            f"min_resource {min_epochs}: trials {s['trials_by_state']}; pruned "
            f"{pruned}; pruned before epoch 5 {early}; pick {r.pick['picked']} "
            f"(trial {r.best_trial}); test tuned {r.test_mse['model']:.5f} "
            f"default {r.test_mse['default']:.5f} PCA {r.test_mse['pca']:.5f}",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["noise", "prune"])
    p.add_argument("dataset", help="digits, table:NAME, mnist, coil20, olivetti")
    p.add_argument("--latent-dim", type=int, required=True)
    p.add_argument("--rows", type=int, help="a seeded subsample of this many rows")
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--k", type=int, nargs="*", default=[5])
    p.add_argument("--max-epochs", type=int, default=40)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--cv", default="auto", type=lambda s: s if s == "auto" else int(s))
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    X = load_any(a.dataset, a.rows)
    (noise if a.what == "noise" else prune)(X, a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
