"""The same MNIST search on the Optuna and the Ray backend: scores and Ray's overhead.

    flock /tmp/aekit-heavy.lock .venv/bin/python benchmarks/tune_backends.py \
        --trials 6 --max-epochs 5 --rows 3000

Prints, per backend, the wall seconds, the best validation MSE, the test MSE
(and its ratio to the PCA), and for Ray its startup seconds and its overhead per
trial: (search wall seconds - the sum of the trials' fit seconds) / trials, with
the Optuna backend's same figure beside it as the baseline.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from quality import load  # noqa: E402

from aekit.search import tune  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=6)
    p.add_argument("--max-epochs", type=int, default=5)
    p.add_argument("--rows", type=int, default=3000)
    a = p.parse_args(argv)
    X = load("mnist")[0][: a.rows]
    fixed = {"max_epochs": a.max_epochs}
    for backend in ("optuna", "ray"):
        extra = {}
        startup = 0.0
        if backend == "ray":
            import ray

            t = time.perf_counter()
            ray.init(
                num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False
            )
            startup = time.perf_counter() - t
            extra = {"storage": tempfile.mkdtemp(prefix="aekit-bench-ray-")}
        t = time.perf_counter()
        r = tune(
            X,
            latent_dim=32,
            n_trials=a.trials,
            fixed=fixed,
            verbose=0,
            backend=backend,
            **extra,
        )
        wall = time.perf_counter() - t
        fits = sum(float(tr.user_attrs.get("seconds", 0.0)) for tr in r.study.trials)
        tm = r.test_mse or {}
        print(
            f"{backend}: wall {wall:.1f}s, startup {startup:.1f}s, "
            f"best val MSE {r.best_value:.5f}, test MSE {tm.get('model', float('nan')):.5f} "
            f"({tm.get('model', float('nan')) / tm.get('pca', float('nan')):.3f}x PCA), "
            f"overhead/trial {(wall - fits) / len(r.study.trials):.2f}s "
            f"(incl. refit+test), trials {len(r.study.trials)}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
