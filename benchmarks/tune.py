"""A timed `aekit.tune` search on a real data set; the tuned model vs PCA vs default.

Run from the repository root (the data lives in ../shared/data)::

    flock /tmp/bench.lock .venv/bin/python benchmarks/tune.py mnist --latent-dim 32 \
        --timeout 600 --max-epochs 30

With ``--workers N``, N processes (one thread each; this one and N-1 more)
share a journal file for the search, and this process then refits the best
trial and tests it. With ``--backend ray`` the same search runs on a local Ray
of N CPUs instead, N trials at a time (``cpu=1`` each, one thread).

It also prints the search's idle share: (N x search seconds - the trials'
summed fit seconds) / trials, the seconds per trial a search slot spent
outside a trial's fit (proposing, starting a worker, checkpoints, waiting).

It holds out 20% of the rows (seeded) from the search, and prints the held-out
MSE (in the [0, 1] space of the search rows' scaling) of the tuned model, of
the PCA of the same size and of a default AutoEncoder fitted on the same rows
with the same epoch cap, with the two ratios.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATA, load  # noqa: E402

from aekit.search import tune  # noqa: E402
from aekit.search.study import TPE_OPTIONS  # noqa: E402


def load_table(name: str) -> np.ndarray:
    """A table of ../shared/data/tables, min-max scaled per column."""
    import scipy.io

    X = scipy.io.loadmat(DATA / "tables" / f"{name}.mat")["X"].astype(np.float32)
    span = X.max(0) - X.min(0)
    return (X - X.min(0)) / np.where(span > 0, span, 1)


def worker(
    X: np.ndarray, trials: int, timeout: float, search: dict, tpe: dict
) -> None:
    """One search process: trials until the timeout, no refit."""
    torch.set_num_threads(1)
    TPE_OPTIONS.clear()
    TPE_OPTIONS.update(tpe)
    tune(
        X,
        n_trials=trials,
        timeout=timeout,
        refit=False,
        compare_default=False,
        progress=lambda s: print(s, flush=True),
        **search,
    )


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
    p.add_argument("--backend", choices=("optuna", "ray"), default="optuna")
    p.add_argument(
        "--tpe-independent",
        action="store_true",
        help="independent TPE per parameter (the default is multivariate)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="search processes sharing one journal file, one thread each",
    )
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    if a.tpe_independent:
        TPE_OPTIONS.clear()
    tpe = dict(TPE_OPTIONS)
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
    search = dict(latent_dim=a.latent_dim, pruner=a.pruner, fixed=fixed)
    workers = []
    startup = 0.0
    if a.backend == "ray":
        import ray

        t = time.perf_counter()
        ray.init(
            num_cpus=a.workers,
            include_dashboard=False,
            log_to_driver=False,
            logging_level="ERROR",
        )
        startup = time.perf_counter() - t
        search.update(
            backend="ray",
            trial_resources="cpu=1",
            storage=tempfile.mkdtemp(prefix="aekit-tune-ray-"),
        )
    elif a.workers > 1:
        # N-1 processes search beside this one, as N shells would, on one journal
        # file; this process searches too, then refits the best trial and tests it
        folder = tempfile.mkdtemp(prefix="aekit-tune-")
        search["storage"] = f"journal:{folder}/study.log"
        ctx = multiprocessing.get_context("spawn")
        workers = [
            ctx.Process(
                target=worker, args=(X, a.trials, a.timeout, search, tpe), daemon=True
            )
            for _ in range(a.workers - 1)
        ]
        for w in workers:
            w.start()
    t_search = time.perf_counter()
    last_trial_line = [t_search]

    def progress(line: str) -> None:
        if line.startswith(("trial ", "ray trial ")):
            last_trial_line[0] = time.perf_counter()
        print(line, flush=True)

    r = tune(
        X,
        n_trials=a.trials,
        timeout=a.timeout,
        compare_default=not a.no_default,
        progress=progress,
        **search,
    )
    for w in workers:
        w.join()
    s = r.summary()
    t = r.test_mse
    print(
        f"data {a.dataset} {X.shape}, latent {a.latent_dim}, search {a.timeout:.0f} s"
    )
    print(f"trials: {s['trials_by_state']}; total {time.perf_counter() - t0:.0f} s")
    searched = last_trial_line[0] - t_search
    fits = sum(float(tr.user_attrs.get("seconds", 0.0)) for tr in r.study.trials)
    n = max(1, len(r.study.trials))
    print(
        f"backend {a.backend}: search {searched:.0f} s ({startup:.1f} s to start Ray "
        f"before it), {a.workers} slots, trials' fit seconds {fits:.0f}, "
        f"idle per trial {(a.workers * searched - fits) / n:.2f} s"
    )
    print(f"validation: {s['setup']['validation']}; TPE options {tpe}")
    print(f"pick: {r.pick}")
    print(f"best params: {r.best_params}")
    print("test MSE " + "  ".join(f"{k} {v:.5f}" for k, v in t.items()))
    print("  ".join(f"{k} {v:.3f}" for k, v in s["test_ratios"].items()))
    if a.json:
        Path(a.json).write_text(json.dumps(s, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
