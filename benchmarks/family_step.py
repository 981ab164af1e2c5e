"""The default family's training step against the founding network's, on S and L.

    python benchmarks/family_step.py                   # S and L, 3 rounds
    python benchmarks/family_step.py --workloads L --rounds 5 --profile

For each workload of `benchmarks/throughput.py` (S: 784-392-196-98-32, L:
4096-2048-1000, mirrored, batch 256) three contenders train in this process,
rounds interleaved:

- ``tutorial``: the founding network's widths in the PyTorch tutorial loop
  (throughput.py's ``run_tutorial``);
- ``halving``: the founding network in aekit's loop as ``fit`` runs it
  (rows gathered and scaled per batch, a validation pass each epoch);
- ``pca_anchored``: the default family at the same code width (its PCA maps
  beside correction networks of `correction_widths`), in the same loop.

Each family's *product limit* is the samples/s of a step that would be
nothing but its own matrix products (forward, input gradient where one is
needed, weight gradient; with the kernel its layers use), measured in the
same run; *products + Adam* adds the fused Adam step on the same parameters
(bound by memory traffic), measured in the same run. ``--profile`` prints
the ops with the most self time in a warmed-up pca_anchored step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from throughput import BATCH, WORKLOADS, run_tutorial
from torch import nn

from aekit.allocator import tune_for_training
from aekit.data.rows import ScaledRows
from aekit.families import get_family
from aekit.kernels import fast_linear_enabled
from aekit.scaling import MinMaxScaling
from aekit.train import Callback, TrainConfig, make_optimizer, train


def build(family: str, widths: list[int]) -> nn.Module:
    f = get_family(family)
    hidden = tuple(widths[1:-1]) if family == "halving" else None
    config = f.make_config(
        widths[0], latent_dim=widths[-1], hidden_dims=hidden, activation="relu",
        options={},
    )  # fmt: skip
    torch.manual_seed(0)
    return f.build(config)


def run_family(family: str, widths: list[int], rows: int, epochs: int) -> float:
    """Samples/s of aekit's loop on `family` (epochs after one warm-up epoch)."""
    g = torch.Generator().manual_seed(0)
    X = torch.rand(rows + rows // 9, widths[0], generator=g)
    scaling = MinMaxScaling.fit(X.numpy())
    idx = torch.arange(len(X))
    net = build(family, widths)
    f = get_family(family)
    marks: list[float] = []

    class Clock(Callback):
        def on_epoch_end(self, state: Any) -> None:
            marks.append(time.perf_counter())

    cfg = TrainConfig(
        max_epochs=epochs + 1, batch_size=BATCH, patience=None, verbose=0,
        dead_units="ignore",
    )  # fmt: skip
    train(
        net, ScaledRows(X, idx[:rows], scaling), ScaledRows(X, idx[rows:], scaling),
        cfg, family=f, callbacks=[Clock()],
    )  # fmt: skip
    return epochs * rows / (marks[-1] - marks[0])


def product_limit(net: nn.Module) -> float:
    """Samples/s of a step that is only `net`'s matrix products, as its layers run them.

    A layer fed by the input (no activation before it) needs no input gradient.
    """
    tune_for_training()
    onednn = fast_linear_enabled()
    lp = torch.ops.mkldnn._linear_pointwise
    first = {id(m) for m in first_layers(net)}
    ops = []
    for m in net.modules():
        if not isinstance(m, nn.Linear):
            continue
        a, b = m.in_features, m.out_features
        x, w, gy = torch.rand(BATCH, a), torch.rand(b, a), torch.rand(BATCH, b)
        if onednn:
            ops.append(lambda x=x, w=w: lp(x, w, None, "none", [], ""))
            ops.append(lambda g=gy, x=x: lp(g.t(), x.t(), None, "none", [], ""))
            if id(m) not in first:
                ops.append(lambda g=gy, w=w: lp(g, w.t(), None, "none", [], ""))
        else:
            ops.append(lambda x=x, w=w: x @ w.t())
            ops.append(lambda g=gy, x=x: g.t() @ x)
            if id(m) not in first:
                ops.append(lambda g=gy, w=w: g @ w)
    for _ in range(3):
        for op in ops:
            op()
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        for op in ops:
            op()
        times.append(time.perf_counter() - t0)
    return BATCH / statistics.median(times)


def adam_seconds(net: nn.Module) -> float:
    """Seconds of one optimizer step on `net`'s parameters (aekit's fused Adam).

    Adam reads and writes each parameter, its gradient and two moments: it is
    bound by memory traffic, not arithmetic, so it bounds a step beside the
    products whatever the loop does.
    """
    for p in net.parameters():
        p.grad = torch.rand_like(p)
    opt = make_optimizer(net, TrainConfig())
    for _ in range(3):
        opt.step()
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def first_layers(net: nn.Module) -> list[nn.Module]:
    """The linear layers that read the input rows directly."""
    if hasattr(net, "pca_encoder"):  # pca_anchored: its PCA map and correction
        return [net.pca_encoder, net.encoder[0]]
    return [next(m for m in net.modules() if isinstance(m, nn.Linear))]


def profile(widths: list[int], top: int) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    rows = 4 * BATCH
    X = torch.rand(rows + rows // 9, widths[0])
    idx = torch.arange(len(X))
    scaling = MinMaxScaling.fit(X.numpy())
    cfg = TrainConfig(max_epochs=2, batch_size=BATCH, patience=None, verbose=0)
    net = build("pca_anchored", widths)
    f = get_family("pca_anchored")
    train(net, ScaledRows(X, idx[:rows], scaling), None, cfg, family=f)  # warm-up
    cfg = TrainConfig(max_epochs=1, batch_size=BATCH, patience=None, verbose=0)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        train(net, ScaledRows(X, idx[:rows], scaling), None, cfg, family=f)
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    steps = rows // BATCH
    print("| op | ms per step |\n|---|---|")
    for e in events[:top]:
        print(f"| {e.key} | {e.self_cpu_time_total / steps / 1000:.2f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="S,L")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs a round")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--top", type=int, default=15)
    a = p.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}"
    )
    for wl in a.workloads.split(","):
        widths, rows = WORKLOADS[wl]
        names = ["tutorial", "halving", "pca_anchored"]
        res: dict[str, list[float]] = {n: [] for n in names}
        for r in range(a.rounds):
            for n in names[r % 3 :] + names[: r % 3]:
                if n == "tutorial":
                    res[n].append(run_tutorial(widths, rows, a.epochs, "cpu"))
                else:
                    res[n].append(run_family(n, widths, rows, a.epochs))
        limits = {n: product_limit(build(n, widths)) for n in names[1:]}
        adam = {n: adam_seconds(build(n, widths)) for n in names[1:]}
        # the step's floor: its products at their limit, then Adam's memory traffic
        floors = {n: BATCH / (BATCH / limits[n] + adam[n]) for n in names[1:]}
        print(f"\n## workload {wl}: {'-'.join(map(str, widths))}, {rows} rows/epoch")
        print(
            "| contender | samples/s (median) | min..max | x tutorial "
            "| x halving's limit | x its own limit | x its products + Adam "
            "|\n|---|---|---|---|---|---|---|"
        )
        base = res["tutorial"]
        for n in names:
            v = statistics.median(res[n])
            x_tut = statistics.median([a_ / b for a_, b in zip(res[n], base)])
            own = f"{v / limits[n]:.2f}" if n in limits else ""
            floor = f"{v / floors[n]:.2f}" if n in floors else ""
            print(
                f"| {n} | {v:.0f} | {min(res[n]):.0f}..{max(res[n]):.0f} | "
                f"{x_tut:.2f} | {v / limits['halving']:.2f} | {own} | {floor} |"
            )
        for n, v in limits.items():
            print(
                f"product limit of {n}: {v:.0f} samples/s; its fused Adam step "
                f"{1e3 * adam[n]:.1f} ms; products + Adam: {floors[n]:.0f} samples/s"
            )
        if a.profile:
            print(f"\npca_anchored step on {wl}, ops by self time:")
            profile(widths, a.top)


if __name__ == "__main__":
    main()
