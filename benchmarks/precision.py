"""bf16 vs fp32: held-out reconstruction MSE on MNIST after the same epochs, and time.

python benchmarks/precision.py                 # latent 32, 20 epochs, 3 seeds
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from quality import load, split

from aekit import AutoEncoder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--latent", type=int, default=32)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
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


if __name__ == "__main__":
    main()
