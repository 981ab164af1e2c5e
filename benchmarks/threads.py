"""Training on one thread against all of them, and what aekit's rule picks.

    python benchmarks/threads.py                        # every workload, 3 rounds
    python benchmarks/threads.py --data lung_small:32,mnist:32 --rounds 5

For each table and code size (the protocol of benchmarks/vs_pca.py: rows
permuted with seed 0, the first 80% passed to fit), the default family trains
for --epochs epochs (early stopping off, ``fit(evaluate=False)``) in a fresh
process, three ways: ``all`` (torch's thread count; the rule switched off),
``one`` (``torch.set_num_threads(1)`` for the whole fit) and ``rule`` (aekit's
default: one thread below ``aekit.train.SMALL_STEP_MACS`` multiply-adds a
step, all above). Rounds are interleaved with the order rotated. Printed: the
multiply-adds of a step, the training seconds of each (``fit_timings_``,
medians), one / all, and the rule's seconds against the faster of the other
two.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

DEFAULT = (
    "wine:8,digits:16,breast_cancer:8,lung_small:8,lung_small:32,colon:8,"
    "lymphoma:8,lymphoma:32,Yale:32,warpPIE10P:16,coil20:16,mnist:32"
)
EPOCHS = {"mnist": 3, "coil20": 5}  # the large ones: fewer epochs, same per-epoch cost

CHILD = r"""
import json, sys, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np, torch
name, k, mode, epochs = sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
import aekit.train.threads as threads
from aekit import AutoEncoder
from vs_pca import load
if mode == "one":
    torch.set_num_threads(1)
elif mode == "all":
    threads.SMALL_STEP_MACS = 0
X = load(name)
X = X[np.random.default_rng(0).permutation(len(X))][: int(0.8 * len(X))]
kw = dict(latent_dim=k, random_state=0, verbose=0, patience=None)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    AutoEncoder(**kw, max_epochs=1).fit(X, evaluate=False)  # imports, first kernels
    ae = AutoEncoder(**kw, max_epochs=epochs)
    ae.fit(X, evaluate=False)
n_train = len(X) - int(round(ae.validation_fraction * len(X)))  # as fit splits
macs = threads.step_macs(ae.fitted_.module, min(ae.batch_size, n_train))
print(json.dumps(dict(training=ae.fit_timings_["training"], macs=macs)))
"""


def child(name: str, k: int, mode: str, epochs: int) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(Path(__file__).parent), name, str(k), mode,
         str(epochs)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=DEFAULT, help="name:latent, comma-separated")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args()
    import torch

    from aekit.train import SMALL_STEP_MACS

    cells = [(c.split(":")[0], int(c.split(":")[1])) for c in args.data.split(",")]
    modes = ["all", "one", "rule"]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"SMALL_STEP_MACS {SMALL_STEP_MACS:,}; {args.rounds} rounds\n"
    )
    print(
        "| data | code | epochs | multiply-adds a step | all threads s | one thread s "
        "| rule s | one / all | rule picks | rule / faster |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    for name, k in cells:
        epochs = EPOCHS.get(name, args.epochs)
        res: dict[str, list[dict]] = {m: [] for m in modes}
        for r in range(args.rounds):
            for m in modes[r % 3 :] + modes[: r % 3]:
                res[m].append(child(name, k, m, epochs))
        sec = {m: statistics.median(x["training"] for x in res[m]) for m in modes}
        macs = res["rule"][0]["macs"]
        pick = "one" if macs < SMALL_STEP_MACS else "all"
        print(
            f"| {name} | {k} | {epochs} | {macs / 1e6:.1f}M | {sec['all']:.3f} | "
            f"{sec['one']:.3f} | {sec['rule']:.3f} | {sec['one'] / sec['all']:.2f} | "
            f"{pick} | {sec['rule'] / min(sec['all'], sec['one']):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
