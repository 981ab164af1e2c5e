"""What `fit` costs besides its epochs, and its end-to-end speed against the limit.

    python benchmarks/fit_overhead.py [--rounds 3]

Workload L (4096-2048-1000, mirrored; the founding `halving` family), 5,120
rows of uniform [0, 1) float32, batch 256, 10% held out, fp32 on the CPU.
Each measurement runs in a fresh process, as a user's `fit` would.

- overhead: a 2-epoch `fit` with its evaluation; seconds inside the epochs
  (the sum of ``history_[i]["seconds"]``) against everything else, and
  `fit_timings_` (the PCA, the evaluation after training).
- end to end: a 10-epoch `fit`, with and without its evaluation, in training
  rows per second over the whole call, as a fraction of the fp32
  matrix-product limit of its steps (throughput.py's `matmul_limit`, the
  faster of MKL and oneDNN, measured after each `fit` in its process; the
  ratio is against the fastest of those measurements in the run, since the
  machine's speed drifts between processes and a limit is what it reached
  at best) and against the
  PyTorch tutorial loop (throughput.py's `run_tutorial`, same widths, rows
  and epochs, measured in its own process in the same round).
- the default family (pca_anchored, same latent size) for its fixed cost.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

WIDTHS = [4096, 2048, 1000]
ROWS = 5120
BATCH = 256

CHILD = r"""
import json, sys, time, warnings
t_start = time.perf_counter()
import numpy as np, torch
sys.path.insert(0, sys.argv[1])
from throughput import matmul_limit, run_tutorial
mode, epochs = sys.argv[2], int(sys.argv[3])
out = {}
if mode == "tutorial":
    out["samples_per_s"] = run_tutorial(%(widths)s, int(0.9 * %(rows)d), epochs, "cpu")
else:
    from aekit import AutoEncoder
    X = np.random.default_rng(0).random((%(rows)d, %(widths0)d), dtype=np.float32)
    family = "pca_anchored" if mode == "default" else "halving"
    kw = dict(hidden_dims=(%(hidden)d,)) if family == "halving" else {}
    ae = AutoEncoder(latent_dim=%(latent)d, model=family, batch_size=%(batch)d,
                     max_epochs=epochs, patience=None, dead_units="ignore",
                     random_state=0, verbose=0, **kw)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ae.fit(X, evaluate=mode != "no-eval")
    total = time.perf_counter() - t0
    inside = sum(h["seconds"] for h in ae.history_)
    n_train = int(round(0.9 * len(X)))
    out.update(total=total, inside=inside, outside=total - inside,
               timings=ae.fit_timings_, samples_per_s=epochs * n_train / total)
    if family == "halving":
        limits = [matmul_limit(%(widths)s, "cpu", k) for k in ("mkl", "onednn")]
        out["limit"] = max(limits)
print(json.dumps(out))
"""


def child(mode: str, epochs: int) -> dict:
    code = CHILD % dict(
        widths=WIDTHS,
        widths0=WIDTHS[0],
        rows=ROWS,
        hidden=WIDTHS[1],
        latent=WIDTHS[-1],
        batch=BATCH,
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), mode, str(epochs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {}
    plan = [
        ("overhead", "eval", 2),
        ("e2e", "eval", 10),
        ("e2e-noeval", "no-eval", 10),
        ("tutorial", "tutorial", 10),
        ("default", "default", 2),
    ]
    for r in range(args.rounds):
        for name, mode, epochs in plan[r % len(plan) :] + plan[: r % len(plan)]:
            runs.setdefault(name, []).append(child(mode, epochs))
            print(
                f"round {r + 1} {name}: {json.dumps(runs[name][-1])}", file=sys.stderr
            )
    med = lambda name, key: statistics.median(x[key] for x in runs[name])  # noqa: E731
    o = runs["overhead"]
    print(
        f"workload L {WIDTHS} mirrored, {ROWS} rows, batch {BATCH}, "
        f"{args.rounds} rounds (medians)"
    )
    print(
        f"2-epoch fit: {med('overhead', 'inside'):.2f} s inside its epochs, "
        f"{med('overhead', 'outside'):.2f} s outside; PCA "
        f"{statistics.median(x['timings'].get('pca', 0) for x in o):.2f} s, "
        f"evaluation {statistics.median(x['timings'].get('evaluation', 0) for x in o):.2f} s"
    )
    tut = med("tutorial", "samples_per_s")
    limits = [x["limit"] for v in runs.values() for x in v if "limit" in x]
    lim = max(limits)
    print(
        f"fp32 matrix-product limit, {len(limits)} measurements: "
        f"{min(limits):.0f}..{lim:.0f} rows/s; ratios below are to the fastest"
    )
    for name in ("e2e", "e2e-noeval"):
        sps = med(name, "samples_per_s")
        print(
            f"10-epoch fit ({'with' if name == 'e2e' else 'without'} evaluation): "
            f"{sps:.0f} rows/s end to end = {sps / lim:.2f} of the fp32 "
            f"matrix-product limit ({lim:.0f} rows/s), {sps / tut:.2f}x the "
            f"tutorial loop ({tut:.0f} rows/s)"
        )
    d = runs["default"]
    print(
        f"default family (pca_anchored, latent {WIDTHS[-1]}), 2-epoch fit: "
        f"{med('default', 'inside'):.2f} s inside its epochs, "
        f"{med('default', 'outside'):.2f} s outside; PCA "
        f"{statistics.median(x['timings'].get('pca', 0) for x in d):.2f} s"
    )


if __name__ == "__main__":
    main()
