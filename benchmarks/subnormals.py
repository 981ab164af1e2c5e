"""Epoch times on MNIST with and without flushing subnormal Adam moments.

    python benchmarks/subnormals.py

Trains the default AutoEncoder (latent 32, batch 64) on the MNIST test set
(../shared/data, 10,000 rows) for 8 epochs, each variant in a fresh process:
aekit as it is; with its flush turned off; and with the flush off but the CPU's
flush-to-zero mode set before any other torch work (the reference).
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, sys, time, warnings
import numpy as np, torch
variant = sys.argv[1]
if variant == "cpu flush-to-zero":
    torch.set_flush_denormal(True)
sys.path.insert(0, "benchmarks")
from quality import load
import aekit.train.numerics
from aekit import AutoEncoder
from aekit.train import Callback
if variant != "aekit":
    aekit.train.numerics.flush_subnormal_moments = lambda optimizer: None
X = load("mnist")[0].astype(np.float32)
marks = []
class Clock(Callback):
    def on_train_begin(self, state):
        marks.append(time.perf_counter())
    def on_epoch_end(self, state):
        marks.append(time.perf_counter())
warnings.simplefilter("ignore")
AutoEncoder(latent_dim=32, max_epochs=8, patience=None, random_state=0,
            verbose=0).fit(X, callbacks=[Clock()])
print(json.dumps([b - a for a, b in zip(marks[:-1], marks[1:])]))
"""


def main() -> None:
    print("| variant | seconds per epoch, epochs 1-8 | total |")
    print("|---|---|---|")
    for variant in ("aekit", "no flush", "cpu flush-to-zero"):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, variant],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        times = json.loads(out.stdout.strip().splitlines()[-1])
        cells = " ".join(f"{t:.2f}" for t in times)
        print(f"| {variant} | {cells} | {sum(times):.1f} |")


if __name__ == "__main__":
    main()
