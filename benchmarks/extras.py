"""Share of an epoch spent on the per-epoch extras (validation pass, dead-unit monitor).

    python benchmarks/extras.py

Times a default-settings epoch (batch 64, 10% of rows held out) and, separately,
the validation pass that also computes the dead-unit fractions; history and the
progress bar are a dict append and a counter.
"""

from __future__ import annotations

import time

import torch
from throughput import WORKLOADS

from aekit.model import AEConfig, AutoEncoderNet
from aekit.train import Callback, TrainConfig, evaluate_loss, train


class Clock(Callback):
    def __init__(self) -> None:
        self.marks: list[float] = []

    def on_epoch_end(self, state) -> None:  # noqa: ANN001
        self.marks.append(time.perf_counter())


def main() -> None:
    print("| workload | rows | epoch s | validation + dead units s | share |")
    print("|---|---|---|---|---|")
    for name, rows in (("S", 20_000), ("L", 2_000)):
        widths = WORKLOADS[name][0]
        X = torch.rand(rows, widths[0], generator=torch.Generator().manual_seed(0))
        n_val = rows // 10
        net = AutoEncoderNet(AEConfig(widths[0], widths[-1], tuple(widths[1:-1])))
        clock = Clock()
        cfg = TrainConfig(max_epochs=3, patience=None, verbose=0, dead_units="ignore")
        train(net, X[n_val:], X[:n_val], cfg, callbacks=[clock])
        marks = clock.marks
        epoch = min(b - a for a, b in zip(marks[:-1], marks[1:]))
        vals = []
        for _ in range(5):
            t0 = time.perf_counter()
            evaluate_loss(net, X[:n_val])
            vals.append(time.perf_counter() - t0)
        v = sorted(vals)[2]
        print(f"| {name} | {rows} | {epoch:.2f} | {v:.3f} | {v / epoch:.1%} |")


if __name__ == "__main__":
    main()
