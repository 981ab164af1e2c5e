"""bf16 vs fp32, and precision="auto": held-out MSE, time, and what auto picks.

    python benchmarks/precision.py                 # MSE: latent 32, 20 epochs, 3 seeds
    python benchmarks/precision.py --speed --rounds 3   # fp32 / bf16 / auto on S, L, digits

--speed fits each workload in a fresh process per contender, rounds interleaved
with the order rotated: fp32, bf16, auto with an empty decision cache (it
probes) and auto with the cache the cold run left (it reads the decision).
Printed per workload: median fit seconds (min..max), each contender's ratio to
fp32 of the same round, what auto chose, the probe's seconds as a share of the
auto fit, and the MSE of auto against fp32.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from quality import load, split

from aekit import AutoEncoder

# name -> (what it is, estimator parameters besides precision and random_state)
WORKLOADS = {
    "S": (
        "MNIST 8000 rows, halving 784-392-196-98-32, batch 256, 5 epochs",
        {"model": "halving", "hidden_dims": (392, 196, 98), "latent_dim": 32,
         "batch_size": 256, "max_epochs": 5},
    ),
    "L": (
        "uniform 2048 x 4096, halving 4096-2048-1000, batch 256, 5 epochs",
        {"model": "halving", "hidden_dims": (2048,), "latent_dim": 1000,
         "batch_size": 256, "max_epochs": 5},
    ),
    "digits": (
        "digits 1437 rows x 64, default family, latent 16, batch 64, 30 epochs",
        {"latent_dim": 16, "max_epochs": 30},
    ),
}  # fmt: skip
CONTENDERS = ("fp32", "bf16", "auto-cold", "auto-warm")


def _rows(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, rows the MSE is measured on) of a workload."""
    if name == "S":
        X, y = load("mnist")
        fit, held = split("mnist", y)
        return X[fit], X[held]
    if name == "L":
        X = np.random.default_rng(0).random((2048, 4096), dtype=np.float32)
        return X, X
    from sklearn.datasets import load_digits

    X = load_digits().data.astype(np.float32)
    perm = np.random.default_rng(0).permutation(len(X))
    n = int(0.8 * len(X))
    return X[np.sort(perm[:n])], X[np.sort(perm[n:])]


def worker(name: str, contender: str) -> dict[str, object]:
    """Fit one workload once in this process; its seconds, MSE and precision record."""
    fit_rows, held = _rows(name)
    precision = contender.split("-")[0]
    est = AutoEncoder(
        **WORKLOADS[name][1], precision=precision, patience=None, random_state=0,
        verbose=0, dead_units="ignore",
    )  # fmt: skip
    t0 = time.perf_counter()
    est.fit(fit_rows, evaluate=False)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "mse": -est.score(held),
        "precision": est.fitted_.precision,
        "record": est.record_.precision,
    }


def speed(rounds: int, names: list[str]) -> None:
    """fp32 / bf16 / auto fits of each workload, fresh processes, interleaved rounds."""
    for name in names:
        print(f"\n## {name}: {WORKLOADS[name][0]}")
        got: dict[str, list[dict[str, object]]] = {c: [] for c in CONTENDERS}
        for r in range(rounds):
            with tempfile.TemporaryDirectory() as cache:
                order = ["fp32", "bf16"]
                order = order[r % 2 :] + order[: r % 2]
                # the cold auto run fills the cache the warm one reads
                order.insert(r % 3, "auto-cold")
                order.append("auto-warm")
                for c in order:
                    env = dict(os.environ, AEKIT_CACHE_DIR=cache)
                    out = subprocess.run(
                        [sys.executable, __file__, "--worker", f"{name}:{c}"],
                        env=env, capture_output=True, text=True, check=True,
                    )  # fmt: skip
                    got[c].append(json.loads(out.stdout.strip().splitlines()[-1]))
        _print(got, rounds)


def _print(got: dict[str, list[dict[str, object]]], rounds: int) -> None:
    print("| contender | fit s, median (min..max) | x fp32 (median of rounds) | "
          "chose | MSE / fp32 |")  # fmt: skip
    print("|---|---|---|---|---|")
    fp32 = [float(g["seconds"]) for g in got["fp32"]]
    mse32 = [float(g["mse"]) for g in got["fp32"]]
    for c, runs in got.items():
        s = [float(g["seconds"]) for g in runs]
        ratio = statistics.median(a / b for a, b in zip(s, fp32, strict=True))
        mse = statistics.median(
            float(g["mse"]) / m for g, m in zip(runs, mse32, strict=True)
        )
        chose = ",".join(sorted({str(g["precision"]) for g in runs}))
        print(
            f"| {c} | {statistics.median(s):.2f} ({min(s):.2f}..{max(s):.2f}) | "
            f"{ratio:.3f} | {chose} | {mse:.4f} |"
        )
    for g in got["auto-cold"]:
        rec = g["record"]
        assert isinstance(rec, dict)
        share = float(rec["probe_seconds"]) / float(g["seconds"])
        print(f"- cold: probe {rec['probe_seconds']:.3f} s = {share:.3f} of the fit; "
              f"{rec['reason']}")  # fmt: skip


def accuracy(args: argparse.Namespace) -> None:
    """Held-out MSE of bf16 against fp32 on MNIST, seeds in turn."""
    X, y = load("mnist")
    fit, held = split("mnist", y)
    print(
        f"MNIST {len(fit)}/{len(held)} rows, latent {args.latent}, "
        f"{args.epochs} epochs (no early stopping), batch {args.batch_size}"
    )
    print("| seed | fp32 MSE | bf16 MSE | bf16/fp32 | fp32 s | bf16 s |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for seed in range(args.seeds):
        row = {}
        for precision in ("fp32", "bf16"):
            est = AutoEncoder(
                latent_dim=args.latent,
                max_epochs=args.epochs,
                batch_size=args.batch_size,
                patience=None,
                precision=precision,
                random_state=seed,
                verbose=0,
                dead_units="ignore",
            )
            t0 = time.perf_counter()
            est.fit(X[fit])
            row[precision] = (-est.score(X[held]), time.perf_counter() - t0)
        r = row["bf16"][0] / row["fp32"][0]
        ratios.append(r)
        print(
            f"| {seed} | {row['fp32'][0]:.5f} | {row['bf16'][0]:.5f} | {r:.3f} | "
            f"{row['fp32'][1]:.1f} | {row['bf16'][1]:.1f} |"
        )
    print(f"\nmedian bf16/fp32 held-out MSE: {np.median(ratios):.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--latent", type=int, default=32)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--speed", action="store_true", help="fp32 / bf16 / auto timings")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workloads", default="S,L,digits")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        name, contender = args.worker.split(":")
        print(json.dumps(worker(name, contender)))
    elif args.speed:
        speed(args.rounds, args.workloads.split(","))
    else:
        accuracy(args)


if __name__ == "__main__":
    main()
