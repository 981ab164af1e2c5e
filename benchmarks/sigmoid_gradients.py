"""Why the sigmoid output does not starve the network of gradient: measured.

Run from the repository root::

    .venv/bin/python benchmarks/sigmoid_gradients.py          # about a minute
    .venv/bin/python benchmarks/sigmoid_gradients.py --quick  # a few seconds

It uses aekit's own architecture for MNIST at latent_dim=32 (784-392-196-98-49-32
and back, ten linear layers, a sigmoid output) on 256-row batches of the MNIST
test images in ../shared/data (sklearn's 8x8 digits when those are absent), and
prints markdown tables (copied into docs/sigmoid-gradients.md):

1. the gradient norm of every weight matrix at initialisation, ReLU hidden
   layers (PyTorch's default init, and He's init) vs sigmoid hidden layers,
   under MSE and BCE;
2. the gradient at the output pre-activation z for outputs that are confidently
   wrong (saturated), MSE vs BCE;
3. after a fixed number of Adam steps: the held-out MSE of each variant and how
   far its first and last weight layers moved.
"""

from __future__ import annotations

import argparse
import gzip
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aekit.families import AEConfig, AutoEncoderNet

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse": F.mse_loss,
    "bce": F.binary_cross_entropy,
}


def load_rows() -> tuple[np.ndarray, str]:
    """(rows in [0, 1], name): MNIST test images, or sklearn's digits as a fallback."""
    path = DATA / "t10k-images-idx3-ubyte.gz"
    if path.exists():
        with gzip.open(path) as f:
            b = f.read()
        X = (
            np.frombuffer(b, np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
            / 255
        )
        return X, "MNIST test images (784 features)"
    from sklearn.datasets import load_digits

    return (load_digits().data / 16).astype(np.float32), "sklearn digits (64 features)"


HIDDEN = ("relu", "relu-he", "sigmoid")  # relu-he: ReLU with He-normal init


def build(n_features: int, latent: int, hidden: str, seed: int) -> AutoEncoderNet:
    """aekit's network: 'relu-he' as aekit builds it (He-normal weights before a
    ReLU, Xavier elsewhere, zero biases); 'relu' and 'sigmoid' with PyTorch's default
    nn.Linear init, 'sigmoid' also swapping every hidden ReLU for a sigmoid.
    """
    torch.manual_seed(seed)
    net = AutoEncoderNet(AEConfig(n_features=n_features, latent_dim=latent))
    if hidden != "relu-he":
        for layer in net.modules():
            if isinstance(layer, nn.Linear):
                nn.Linear.reset_parameters(layer)
    if hidden == "sigmoid":
        for _, stack, idx in net.hidden_layers():
            stack[idx] = nn.Sigmoid()
    return net


def linear_layers(net: AutoEncoderNet) -> list[tuple[str, nn.Linear]]:
    """The weight layers from input to output, e.g. ('encoder.0', Linear(784, 392))."""
    out = []
    for prefix, stack in (("encoder", net.encoder), ("decoder", net.decoder)):
        out += [
            (f"{prefix}.{i}", m)
            for i, m in enumerate(stack)
            if isinstance(m, nn.Linear)
        ]
    return out


def grad_norms(net: AutoEncoderNet, xb: torch.Tensor, loss: str) -> list[float]:
    net.zero_grad(set_to_none=True)
    LOSSES[loss](net(xb), xb).backward()
    return [float(m.weight.grad.norm()) for _, m in linear_layers(net)]  # type: ignore[union-attr]


def table_at_init(X: np.ndarray, latent: int, seeds: int) -> None:
    rng = np.random.default_rng(0)
    names = [n for n, _ in linear_layers(build(X.shape[1], latent, "relu", 0))]
    shapes = [
        tuple(m.weight.shape[::-1])
        for _, m in linear_layers(build(X.shape[1], latent, "relu", 0))
    ]
    cols: dict[str, np.ndarray] = {}
    for hidden in HIDDEN:
        for loss in ("mse", "bce"):
            runs = []
            for seed in range(seeds):
                xb = torch.from_numpy(X[rng.choice(len(X), 256, replace=False)])
                runs.append(
                    grad_norms(build(X.shape[1], latent, hidden, seed), xb, loss)
                )
            cols[f"{hidden} hidden, {loss}"] = np.mean(runs, axis=0)
    print(
        f"\n### 1. Gradient norm ||dL/dW|| per layer at initialisation "
        f"(mean of {seeds} seeds, 256-row batches)\n"
    )
    print("| layer | in -> out | " + " | ".join(cols) + " |")
    print("|---|---|" + "---:|" * len(cols))
    for i, (name, shape) in enumerate(zip(names, shapes, strict=False)):
        vals = " | ".join(f"{c[i]:.2e}" for c in cols.values())
        print(f"| {name} | {shape[0]} -> {shape[1]} | {vals} |")
    ratio = " | ".join(f"{c[0] / c[-1]:.1e}" for c in cols.values())
    print(f"| **first / last** | | {ratio} |")


def table_saturated() -> None:
    """dL/dz at the output for confidently wrong outputs: y = 1 while z = -b."""
    print(
        "\n### 2. Gradient at the output pre-activation z, per unit, for target y = 1\n"
    )
    print(
        "| z | y_hat = sigmoid(z) | MSE: 2 (y_hat - y) sigmoid'(z) | BCE: y_hat - y |"
    )
    print("|---:|---:|---:|---:|")
    for zv in (0.0, -2.0, -4.0, -8.0):
        z = torch.tensor([zv], requires_grad=True)
        y = torch.ones(1)
        out = []
        for loss in ("mse", "bce"):
            (g,) = torch.autograd.grad(
                LOSSES[loss](torch.sigmoid(z), y, reduction="sum"), z
            )
            out.append(float(g))
        print(
            f"| {zv:g} | {float(torch.sigmoid(torch.tensor(zv))):.4f} | "
            f"{out[0]:.2e} | {out[1]:.2e} |"
        )


def table_training(X: np.ndarray, latent: int, steps: int) -> None:
    """Adam from one start: held-out MSE, and how far the first and last layers moved."""
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(X))
    test = torch.from_numpy(X[perm[:1000]])
    train = torch.from_numpy(X[perm[1000:]])
    print(
        f"\n### 3. After {steps} Adam steps (lr=1e-3, batch 256): held-out MSE on 1000 "
        "rows, and ||W - W_init|| / ||W_init|| of the first and last weight layers\n"
    )
    print("| hidden | loss | held-out MSE | first layer moved | last layer moved |")
    print("|---|---|---:|---:|---:|")
    for hidden in HIDDEN:
        for loss in ("mse", "bce"):
            net = build(X.shape[1], latent, hidden, 0)
            layers = linear_layers(net)
            w0 = [m.weight.detach().clone() for _, m in (layers[0], layers[-1])]
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            g = torch.Generator().manual_seed(0)
            for _ in range(steps):
                xb = train[torch.randint(len(train), (256,), generator=g)]
                opt.zero_grad(set_to_none=True)
                LOSSES[loss](net(xb), xb).backward()
                opt.step()
            with torch.no_grad():
                mse = float(F.mse_loss(net(test), test))
                moved = [
                    float((m.weight - w).norm() / w.norm())
                    for (_, m), w in zip((layers[0], layers[-1]), w0, strict=True)
                ]
            print(
                f"| {hidden} | {loss} | {mse:.4f} | {moved[0]:.3f} | {moved[1]:.3f} |"
            )
    base = float(((test - train.mean(0)) ** 2).mean())
    print(f"| (predict the training mean) | | {base:.4f} | | |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer seeds and steps")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    X, name = load_rows()
    latent = 32 if X.shape[1] > 64 else 8
    widths = AEConfig(n_features=X.shape[1], latent_dim=latent).widths
    print(
        f"data: {name}; network {'-'.join(map(str, widths + widths[-2::-1]))}, "
        f"torch {torch.__version__}"
    )
    table_at_init(X, latent, seeds=2 if args.quick else 5)
    table_saturated()
    table_training(X, latent, steps=30 if args.quick else 300)
    return 0


if __name__ == "__main__":
    sys.exit(main())
