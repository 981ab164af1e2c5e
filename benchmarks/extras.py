"""Share of an epoch spent on the per-epoch extras, at default settings.

    python benchmarks/extras.py

Trains each workload with the default settings (batch 64, 10% of rows held out,
dead-unit monitor on, the progress bar object updated) and times, inside the
run, everything between the end of an epoch's last step and the end of the
epoch: the validation pass with the dead-unit fractions, keeping the best
weights, the dead-unit policy, the history entry and the progress bar. Median
over epochs 2-4 (epoch 1 keeps the best weights for the first time).
"""

from __future__ import annotations

import statistics
import time
import warnings

import torch
from throughput import WORKLOADS

from aekit.families import AEConfig, AutoEncoderNet
from aekit.train import Callback, TrainConfig, train


class Clock(Callback):
    def __init__(self) -> None:
        self.last_step = 0.0
        self.epochs: list[tuple[float, float]] = []  # (epoch seconds, extras seconds)
        self.start = time.perf_counter()

    def on_batch_end(self, state) -> None:  # noqa: ANN001
        self.last_step = time.perf_counter()

    def on_epoch_end(self, state) -> None:  # noqa: ANN001
        now = time.perf_counter()
        self.epochs.append((now - self.start, now - self.last_step))
        self.start = now


def main() -> None:
    print("| workload | rows | epoch s | extras s | share |")
    print("|---|---|---|---|---|")
    for name, rows in (("S", 20_000), ("L", 2_000)):
        widths = WORKLOADS[name][0]
        X = torch.rand(rows, widths[0], generator=torch.Generator().manual_seed(0))
        n_val = rows // 10
        net = AutoEncoderNet(AEConfig(widths[0], widths[-1], tuple(widths[1:-1])))
        clock = Clock()
        cfg = TrainConfig(max_epochs=4, patience=None)  # everything else default
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dead-unit warnings on random data
            train(net, X[n_val:], X[:n_val], cfg, callbacks=[clock])
        epoch = statistics.median(e for e, _ in clock.epochs[1:])
        extras = statistics.median(x for _, x in clock.epochs[1:])
        print(
            f"| {name} | {rows} | {epoch:.2f} | {extras:.3f} | {extras / epoch:.1%} |"
        )


if __name__ == "__main__":
    main()
