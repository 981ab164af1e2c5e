"""Seconds until the held-out MSE reaches 0.8x the PCA's, on MNIST, in one run.

    python benchmarks/time_to_quality.py               # 40 epochs each
    python benchmarks/time_to_quality.py --epochs 20 --target 0.8

MNIST's test set (10,000 x 784, the copy in ../shared/data): rows permuted with
``np.random.default_rng(0)``, 8,000 fitted and 2,000 held out; min-max scaling
with the fitted rows' range (what aekit's fit does itself); latent 32. The
contenders, one after the other in this process:

- ``default``: ``AutoEncoder(latent_dim=32)`` (pca_anchored), ``fit(evaluate=False)``;
- ``halving``: the founding network in aekit, ``model="halving"``, likewise;
- ``tutorial``: the founding network's widths and activations (ReLU, linear
  code, sigmoid output) as a plain ``nn.Sequential`` in the PyTorch tutorial
  loop: ``DataLoader(shuffle=True)``, batch 256, Adam 1e-3, MSE, trained on
  all 8,000 fitted rows.

After every epoch the held-out MSE (every value, in the scaled space) is
measured with the model in eval mode; the clock excludes that measurement.
The clock of the aekit fits starts when ``fit`` is called (scaling, the PCA
and the split count), that of the tutorial loop when its network is built.
Each contender runs ``--epochs`` epochs (aekit's early stopping off, so all
get the same budget). Printed: seconds to ``--target`` x the PCA's held-out
MSE, the best ratio reached and the seconds to it, and the seconds to the
default's best ratio.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))

from vs_pca import load, pca_mse, protocol  # noqa: E402

from aekit import AutoEncoder  # noqa: E402
from aekit.families import get_family  # noqa: E402
from aekit.train import Callback, TrainState  # noqa: E402

LATENT = 32
FIT_ROWS = 8000


@torch.no_grad()
def held_out_mse(module: nn.Module, test_u: torch.Tensor) -> float:
    was = module.training
    module.eval()
    mse = float(((module(test_u).float() - test_u) ** 2).mean())
    module.train(was)
    return mse


class Clock:
    """Seconds since start, less the time spent measuring; one point per epoch."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.excluded = 0.0
        self.points: list[tuple[float, float]] = []  # (seconds, held-out MSE)

    def mark(self, module: nn.Module, test_u: torch.Tensor) -> None:
        t = time.perf_counter()
        mse = held_out_mse(module, test_u)
        self.points.append((t - self.t0 - self.excluded, mse))
        self.excluded += time.perf_counter() - t


class EpochClock(Callback):
    def __init__(self, clock: Clock, test_u: torch.Tensor) -> None:
        self.clock, self.test_u = clock, test_u

    def on_epoch_end(self, state: TrainState) -> None:
        self.clock.mark(state.module, self.test_u)


def run_aekit(model: str, fit: np.ndarray, test_u: torch.Tensor, epochs: int) -> Clock:
    ae = AutoEncoder(
        model=model, latent_dim=LATENT, max_epochs=epochs, patience=None,
        random_state=0, verbose=0,
    )  # fmt: skip
    clock = Clock()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ae.fit(fit, evaluate=False, callbacks=[EpochClock(clock, test_u)])
    return clock


def tutorial_net(n_features: int) -> nn.Sequential:
    widths = [
        n_features,
        *get_family("halving").hidden_widths(n_features, LATENT),
        LATENT,
    ]
    dims = widths + widths[-2::-1]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        last_enc, last = i == len(widths) - 2, i == len(dims) - 2
        layers.append(
            nn.Sigmoid() if last else nn.Identity() if last_enc else nn.ReLU()
        )
    return nn.Sequential(*layers)


def run_tutorial(fit_u: np.ndarray, test_u: torch.Tensor, epochs: int) -> Clock:
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    clock = Clock()
    net = tutorial_net(fit_u.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(fit_u)), batch_size=256, shuffle=True
    )
    loss_fn = nn.MSELoss()
    for _ in range(epochs):
        for (xb,) in loader:
            opt.zero_grad()
            loss = loss_fn(net(xb), xb)
            loss.backward()
            opt.step()
        clock.mark(net, test_u)
    return clock


def first_at(points: list[tuple[float, float]], mse: float) -> float:
    """Seconds of the first epoch whose held-out MSE is at most `mse` (nan: none)."""
    return next((t for t, m in points if m <= mse), math.nan)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--target", type=float, default=0.8, help="x the PCA's MSE")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X = load("mnist")
    perm = np.random.default_rng(0).permutation(len(X))
    X = X[perm[: FIT_ROWS + 2000]]  # protocol() takes 80% of these: 8,000 rows
    fit, _, fit_u, test_np = protocol(X)
    fit_u = fit_u.astype(np.float32)
    test_u = torch.from_numpy(test_np.astype(np.float32))
    pca = pca_mse(fit_u, test_np, LATENT)
    # warm-up: the first fit's imports and start-up are no contender's
    AutoEncoder(latent_dim=4, max_epochs=1, verbose=0).fit(fit[:256], evaluate=False)
    runs: dict[str, Clock] = {
        "default": run_aekit("pca_anchored", fit, test_u, args.epochs),
        "halving": run_aekit("halving", fit, test_u, args.epochs),
        "tutorial": run_tutorial(fit_u, test_u, args.epochs),
    }
    best_default = min(m for _, m in runs["default"].points)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; MNIST "
        f"{len(fit)} fitted rows, {len(test_np)} held out, latent {LATENT}, "
        f"{args.epochs} epochs each; PCA held-out MSE {pca:.5f}\n"
    )
    print(
        f"| contender | s/epoch | s to {args.target}x PCA | best x PCA | s to its best "
        f"| s to the default's best ({best_default / pca:.3f}x) |\n"
        "|---|---|---|---|---|---|"
    )
    out: dict[str, Any] = {}
    for name, clock in runs.items():
        pts = clock.points
        per_epoch = pts[-1][0] / len(pts)
        t_target = first_at(pts, args.target * pca)
        best = min(m for _, m in pts)
        t_best = first_at(pts, best)
        t_dbest = first_at(pts, best_default)
        out[name] = (t_target, t_best, t_dbest)
        print(
            f"| {name} | {per_epoch:.2f} | {t_target:.1f} | {best / pca:.3f} | "
            f"{t_best:.1f} | {t_dbest:.1f} |"
        )
    d = out["default"]
    for other in ("halving", "tutorial"):
        o = out[other]
        print(
            f"\n{other} / default: {o[0] / d[0]:.2f}x the seconds to {args.target}x PCA, "
            f"{o[2] / d[2]:.2f}x to the default's best"
        )
    print("\nper epoch (seconds, held-out MSE / PCA's):")
    for name, clock in runs.items():
        print(name, " ".join(f"{t:.0f}:{m / pca:.3f}" for t, m in clock.points))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
