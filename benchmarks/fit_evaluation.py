"""The evaluation `fit` adds, against scikit-learn's exact PCA plus one scoring pass.

    python benchmarks/fit_evaluation.py                      # L, mnist, BASEHOCK, olivetti
    python benchmarks/fit_evaluation.py --data mnist --rounds 3

What `fit` adds to training when ``evaluate=True`` (the default) is the PCA
baseline of the code's size (``fit_timings_["pca"]``; the founding `halving`
family is used, so that the PCA serves the evaluation alone) and the
evaluation after training (``fit_timings_["evaluation"]``: both models'
scores on the training and validation rows, the anomaly threshold). The
baseline it is held against, measured in the same process right after the
fit: scikit-learn's exact PCA of the same size fitted on the same number of
scaled rows (the faster of ``svd_solver="full"`` and ``"covariance_eigh"``,
both exact), plus one scoring pass of the fitted model over all rows
(``score_samples``). Target: aekit's evaluation at most 1.25x that.

Each workload runs in a fresh process (1 training epoch, early stopping off);
the ratio printed is the median over ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

WORKLOADS = {  # name: (data, latent, halving's hidden widths; None: the rule)
    "L": ("uniform 5120 x 4096", 1000, (2048,)),
    "mnist": ("MNIST 10000 x 784", 32, None),
    "BASEHOCK": ("BASEHOCK 1993 x 4862 word counts", 16, None),
    "olivetti": ("Olivetti 400 x 4096 faces", 16, None),
}

CHILD = r"""
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
import numpy as np
from sklearn.decomposition import PCA
from aekit import AutoEncoder
name, latent, hidden = sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
if name == "L":
    X = np.random.default_rng(0).random((5120, 4096), dtype=np.float32)
else:
    from vs_pca import load
    X = load(name)
kw = {} if hidden is None else {"hidden_dims": tuple(hidden)}
ae = AutoEncoder(model="halving", latent_dim=latent, max_epochs=1, patience=None,
                 dead_units="ignore", random_state=0, verbose=0, **kw)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    ae.fit(X)
t = ae.fit_timings_
n_train = ae.metrics_["rows"]["train"]
U = ae.scaling_.transform(X)[:n_train].astype(np.float32)
sk = {}
for solver in ("full", "covariance_eigh"):
    t0 = time.perf_counter()
    PCA(latent, svd_solver=solver).fit(U)
    sk[solver] = time.perf_counter() - t0
t0 = time.perf_counter()
ae.score_samples(X)
score = time.perf_counter() - t0
print(json.dumps(dict(pca=t["pca"], evaluation=t["evaluation"], sklearn=sk,
                      score=score, training=t["training"])))
"""


def child(name: str) -> dict:
    _, latent, hidden = WORKLOADS[name]
    r = subprocess.run(
        [
            sys.executable, "-c", CHILD, str(Path(__file__).parent), name,
            str(latent), json.dumps(hidden),
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=",".join(WORKLOADS))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    names = args.data.split(",")
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for r in range(args.rounds):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            runs[n].append(child(n))
            print(f"round {r + 1} {n}: {json.dumps(runs[n][-1])}", file=sys.stderr)
    print(
        "| workload | code | aekit PCA s | aekit evaluation s | sklearn exact PCA s "
        "(full / covariance_eigh) | one scoring pass s | aekit / (sklearn PCA + "
        "scoring) |\n|---|---|---|---|---|---|---|"
    )
    for n in names:
        rs = runs[n]

        def med(f: Callable[[dict], float], rs: list[dict] = rs) -> float:
            return statistics.median(f(x) for x in rs)

        ratio = med(
            lambda x: (x["pca"] + x["evaluation"])
            / (min(x["sklearn"].values()) + x["score"])
        )
        print(
            f"| {WORKLOADS[n][0]} | {WORKLOADS[n][1]} | {med(lambda x: x['pca']):.3f} | "
            f"{med(lambda x: x['evaluation']):.3f} | "
            f"{med(lambda x: x['sklearn']['full']):.3f} / "
            f"{med(lambda x: x['sklearn']['covariance_eigh']):.3f} | "
            f"{med(lambda x: x['score']):.3f} | {ratio:.2f} |"
        )


if __name__ == "__main__":
    main()
