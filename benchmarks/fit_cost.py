"""Start-up time and peak memory of training, each measured in a fresh process.

    python benchmarks/fit_cost.py [--rows 20000] [--rounds 3]

- help: `aekit --help`, from spawning the process to its exit.
- first step: `aekit train DATA.npy` on workload L (4096-2048-1000, mirrored),
  from spawning the process to the end of the first optimizer step; the data
  is a .npy file of uniform [0, 1) float32 values.
- memory: peak RSS of a process that creates those rows in memory and calls
  `AutoEncoder.fit` for one epoch (and the time from that call to the end of
  the first step, after the imports), against the budget
  data + 3 x model state + 300 MB, where the model state is what training
  keeps per parameter (weights, gradients, Adam's two moments).
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

WIDTHS = (4096, 2048, 1000)  # workload L, mirrored

FIRST_STEP = r"""
import sys, time, json
t_spawn = float(sys.argv[1])
import torch
seen = {}
step = torch.optim.Adam.step
def timed_step(self, *a, **k):
    out = step(self, *a, **k)
    if "t" not in seen:
        seen["t"] = time.time() - t_spawn
    return out
torch.optim.Adam.step = timed_step
from aekit.cli import main
rc = main(sys.argv[2:])
print(json.dumps({"rc": rc, "first_step": seen.get("t"), "total": time.time() - t_spawn}))
"""

MEMORY = r"""
import json, resource, sys
import numpy as np
rows, widths = int(sys.argv[1]), [int(w) for w in sys.argv[2].split(",")]
import time
import torch
from aekit import AutoEncoder
from aekit.train import Callback
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
X = np.random.default_rng(0).random((rows, widths[0]), dtype=np.float32)
est = AutoEncoder(latent_dim=widths[-1], hidden_dims=widths[1:-1], max_epochs=1,
                  batch_size=256, random_state=0, verbose=0, dead_units="ignore")
first = []
class First(Callback):
    def on_batch_end(self, state):
        if not first:
            first.append(time.perf_counter())
t0 = time.perf_counter()
est.fit(X, callbacks=[First()])
n_params = sum(p.numel() for p in est.module_.parameters())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"peak": peak, "after_imports": base, "data": X.nbytes / 2**20,
                  "params": n_params, "pca_seconds": est.metrics_["pca"].get("seconds"),
                  "first_step": first[0] - t0}))
"""


def spawn(code: str, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    widths = ",".join(map(str, WIDTHS))

    helps = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "aekit", "--help"], capture_output=True, check=True
        )
        helps.append(time.perf_counter() - t0)
    print(f"aekit --help: median {statistics.median(helps):.3f} s of 5")

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "L.npy")
        X = np.random.default_rng(0).random((args.rows, WIDTHS[0]), dtype=np.float32)
        np.save(data, X)
        del X
        firsts, totals = [], []
        for r in range(args.rounds):
            out = os.path.join(tmp, f"model{r}")
            res = spawn(
                FIRST_STEP, repr(time.time()), "train", data, "-o", out,
                "--latent-dim", str(WIDTHS[-1]), "--hidden-dims", str(WIDTHS[1]),
                "--max-epochs", "1", "--batch-size", "256", "--random-state", "0",
                "--quiet",
            )  # fmt: skip
            assert res["rc"] == 0, res
            firsts.append(res["first_step"])
            totals.append(res["total"])
        print(
            f"aekit train, {args.rows} x {WIDTHS[0]} .npy, spawn to first step: "
            f"median {statistics.median(firsts):.2f} s "
            f"({min(firsts):.2f}..{max(firsts):.2f}); to exit "
            f"{statistics.median(totals):.1f} s"
        )

    res = spawn(MEMORY, str(args.rows), widths)
    state = res["params"] * 4 * 4 / 2**20  # weights, gradients, two Adam moments
    budget = res["data"] + 3 * state + 300
    print(
        f"fit() on {args.rows} x {WIDTHS[0]}, one epoch: peak RSS {res['peak']:.0f} MB "
        f"(after imports {res['after_imports']:.0f} MB); budget {budget:.0f} MB = "
        f"data {res['data']:.0f} + 3 x state {state:.0f} + 300 "
        f"-> {res['peak'] / budget:.0%} of budget; PCA baseline "
        f"{res['pca_seconds']:.1f} s"
    )
    print(
        f"fit() call to the end of the first step (imports done): "
        f"{res['first_step']:.2f} s"
    )


if __name__ == "__main__":
    main()
