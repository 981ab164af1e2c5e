"""`aekit.plan`'s seconds per epoch against the epochs of a real fit, same process.

    python benchmarks/plan.py                      # S, L and three real tables
    python benchmarks/plan.py --workloads S,PCMAC --epochs 8

Each workload runs in a fresh process: ``aekit.plan(X, **params)`` first (as a
user would before training), then ``AutoEncoder(**params).fit(X,
evaluate=False)`` with early stopping off, for --epochs epochs. Printed per
workload: the planned seconds per epoch, the fit's median and mean epoch (the
history's ``seconds``), planned / measured for each (the target: within 25%),
the parameter count against the fitted module's, and the planner's own
seconds against the fit's. The imports that the first of plan and fit in a
process would pay (torch's compiler stack, which torch's ``Adam`` imports
when the first one is built; scikit-learn and scipy, which aekit imports on
first use) are made before either and their seconds printed apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TABLES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tables"

# name -> (what it is, estimator parameters)
WORKLOADS = {
    "S": (
        "MNIST 8000 x 784, halving 784-392-196-98-32, batch 256",
        {"model": "halving", "hidden_dims": (392, 196, 98), "latent_dim": 32,
         "batch_size": 256},
    ),
    "L": (
        "uniform 2048 x 4096, halving 4096-2048-1000, batch 256",
        {"model": "halving", "hidden_dims": (2048,), "latent_dim": 1000,
         "batch_size": 256},
    ),
    "PCMAC": ("PCMAC 1943 x 3289 word counts, default family, latent 16",
              {"latent_dim": 16}),
    "BASEHOCK": ("BASEHOCK 1993 x 4862 word counts, default family, latent 16",
                 {"latent_dim": 16}),
    "warpPIE10P": ("warpPIE10P 210 x 2420 faces, default family, latent 16",
                   {"latent_dim": 16}),
}  # fmt: skip


def _rows(name: str) -> np.ndarray:
    if name == "S":
        from quality import load, split

        X, y = load("mnist")
        return X[split("mnist", y)[0]]
    if name == "L":
        return np.random.default_rng(0).random((2048, 4096), dtype=np.float32)
    import scipy.io

    X = scipy.io.loadmat(TABLES / f"{name}.mat")["X"]
    return np.asarray(X, dtype=np.float32)


def worker(name: str, epochs: int) -> dict[str, object]:
    """Plan, then fit, one workload in this process."""
    t = time.perf_counter()
    import torch._dynamo  # noqa: F401  # what the first Adam imports (see the docstring)

    import aekit

    _ = aekit.plan, aekit.AutoEncoder  # imported on first use: scikit-learn, scipy
    imports = time.perf_counter() - t
    X = _rows(name)
    params = {**WORKLOADS[name][1], "random_state": 0, "device": "cpu"}
    t = time.perf_counter()
    plan = aekit.plan(X, **params)
    planning = time.perf_counter() - t
    est = aekit.AutoEncoder(
        **params, max_epochs=epochs, patience=None, dead_units="ignore", verbose=0
    )
    t = time.perf_counter()
    est.fit(X, evaluate=False)
    fit = time.perf_counter() - t
    seconds = [h["seconds"] for h in est.history_]
    return {
        "planned": plan["seconds_per_epoch"],
        "median": statistics.median(seconds),
        "mean": statistics.fmean(seconds),
        "first": seconds[0],
        "parameters": [plan["parameters"], est.fitted_.n_parameters()],
        "planning": planning,
        "fit": fit,
        "step": plan["seconds_per_step"],
        "steps": plan["steps_per_epoch"],
        "imports": imports,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workloads", default="S,L,PCMAC,BASEHOCK,warpPIE10P")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.epochs)))
        return
    print(f"{args.epochs} epochs a fit, early stopping off, evaluate=False, one "
          "fresh process a workload\n")  # fmt: skip
    print("| workload | planned s/epoch | measured median (mean) | planned / median | "
          "planned / mean | within 25% | parameters planned = fitted | "
          "planning s / fit s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    imports: list[float] = []
    for name in args.workloads.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", name, "--epochs", str(args.epochs)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        a, b = r["planned"] / r["median"], r["planned"] / r["mean"]
        met = "yes" if abs(a - 1) <= 0.25 else "no"
        same = r["parameters"][0] == r["parameters"][1]
        print(
            f"| {name}: {WORKLOADS[name][0]} | {r['planned']:.4f} | "
            f"{r['median']:.4f} ({r['mean']:.4f}) | {a:.2f} | {b:.2f} | {met} | "
            f"{r['parameters'][0]:,} {'=' if same else '!='} {r['parameters'][1]:,} | "
            f"{r['planning']:.2f} / {r['fit']:.2f} |"
        )
        imports.append(r["imports"])
    print(
        f"\nimports before plan and fit (torch's compiler stack, aekit, scikit-learn): "
        f"{min(imports):.2f}-{max(imports):.2f} s"
    )


if __name__ == "__main__":
    main()
