"""The start test decided early: the same decision, and the seconds it saves.

The default family starts as the PCA and keeps the trained model only when it
beats that start clearly on the validation rows (`aekit.fitting.start_test`).
`StartDecision` runs the same paired test after every epoch and stops training
once the start has won (see its docstring). Each cell of the protocol of
`benchmarks/vs_pca.py` (rows permuted with seed 0, 80% fitted, the rest held
out; latents 8 and 32, and 16 for the image sets) is fitted twice in one
process:

- before: ``aekit.fitting.start.EARLY_DECISION = False``, the callback records
  its statistics every epoch and the epoch it would have stopped at, and
  training runs the full early-stopping patience as before;
- after: the callback stops (only rerun where it would stop: elsewhere the
  run is the same computation, and ``--rerun-all`` reruns it anyway).

For each: the decision (trained kept or the start), the held-out MSE as a
ratio to an exact PCA of the same size, the seconds of ``fit``, and the
seconds of scikit-learn's ``PCA(k).fit`` on the same scaled rows (median of
5 calls; the target: where the start is kept, fit time at most 5x that plus
the fixed costs)::

    python benchmarks/early_start.py                       # every cell
    python benchmarks/early_start.py --data colon,Yale     # some tables
    python benchmarks/early_start.py --data madelon_like,arcene_like  # generated
    python benchmarks/early_start.py --json traces.json    # the statistics too
    python benchmarks/early_start.py --subsample olivetti:100:8  # rows, code
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))

from vs_pca import ALL, latents_for, load, pca_mse, protocol  # noqa: E402

import aekit.fitting.start as start  # noqa: E402
from aekit import AutoEncoder  # noqa: E402
from aekit.train import Callback, StartDecision, TrainState  # noqa: E402


class Trace(Callback):
    """Copies what the fit's StartDecision saw when training ends."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    def on_train_end(self, state: TrainState) -> None:
        for cb in state.callbacks:
            if isinstance(cb, StartDecision):
                self.seen = cb.state_dict()


def fit_once(X: np.ndarray, k: int, early: bool, params: dict[str, Any]) -> dict:
    start.EARLY_DECISION = early
    trace = Trace()
    ae = AutoEncoder(latent_dim=k, random_state=0, verbose=0, **params)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ae.fit(X, callbacks=[trace])
    seconds = time.perf_counter() - t0
    test = ae.metrics_.get("start_test", {})
    return {
        "ae": ae,
        "kept": bool(test.get("trained_kept", True)),
        "best": ae.best_epoch_,
        "epochs": ae.n_epochs_,
        "seconds": seconds,
        "decided": test.get("decided_epoch"),
        "trace": trace.seen.get("trace", []),
        "timings": dict(ae.record_.timings),
    }


def sklearn_pca_seconds(fit_u: np.ndarray, k: int) -> float:
    """The median of 5 calls, then a second's pause (OpenBLAS's threads spin on)."""
    from sklearn.decomposition import PCA

    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        PCA(min(k, *fit_u.shape), random_state=0).fit(fit_u)
        times.append(time.perf_counter() - t0)
    time.sleep(1)
    return float(np.median(times))


def madelon_like() -> np.ndarray:
    """2,600 x 500 from the generator madelon was made with: 20 of 500 features informative."""
    from sklearn.datasets import make_classification

    X, _ = make_classification(
        2600, 500, n_informative=5, n_redundant=15, n_clusters_per_class=16,
        flip_y=0.01, class_sep=2, random_state=0,
    )  # fmt: skip
    return X.astype(np.float32)


def arcene_like() -> np.ndarray:
    """200 x 10,000 nonnegative rows: 12 gamma sources mixed, plus noise, clipped at 0."""
    rng = np.random.default_rng(0)
    X = rng.gamma(2, 1, (200, 12)) @ rng.gamma(1, 1, (12, 10_000))
    return (X + rng.normal(0, 3, X.shape)).clip(0).astype(np.float32)


# the shapes of two held-out tables the start test was slow on (not their data)
SYNTHETIC = {"madelon_like": madelon_like, "arcene_like": arcene_like}


def load_table(name: str) -> np.ndarray:
    return SYNTHETIC[name]() if name in SYNTHETIC else load(name)


def cell(
    name: str, X: np.ndarray, k: int, rerun_all: bool, before_only: bool, params: dict
) -> dict:
    fit, test, fit_u, test_u = protocol(X)
    base = pca_mse(fit_u, test_u, k)
    before = fit_once(fit, k, False, params)
    b_mse = float(before["ae"].reconstruction_error(test).mean())
    row: dict[str, Any] = {
        "data": name,
        "shape": f"{X.shape[0]} x {X.shape[1]}",
        "k": k,
        "before_kept": before["kept"],
        "before_ratio": b_mse / base,
        "before_epochs": f"{before['best']}/{before['epochs']}",
        "before_s": before["seconds"],
        "would_stop": before["decided"],
        "trace": before["trace"],
        "timings_before": before["timings"],
        "sklearn_pca_s": sklearn_pca_seconds(fit_u, k),
        "pca_mse": base,
    }
    if before_only:
        row.update(after_kept=before["kept"], after_ratio=math.nan, after_epochs="")
        row["after_s"] = None
    elif before["decided"] is not None or rerun_all:
        after = fit_once(fit, k, True, params)
        a_mse = float(after["ae"].reconstruction_error(test).mean())
        row.update(
            after_kept=after["kept"],
            after_ratio=a_mse / base,
            after_epochs=f"{after['best']}/{after['epochs']}",
            after_s=after["seconds"],
            timings_after=after["timings"],
        )
    else:  # not stopped: the same computation as before
        row.update(
            after_kept=before["kept"],
            after_ratio=row["before_ratio"],
            after_epochs=row["before_epochs"],
            after_s=None,
        )
    print(line(row), flush=True)
    return row


def line(r: dict) -> str:
    dec = {True: "trained", False: "start"}
    after_s = "(same run)" if r["after_s"] is None else f"{r['after_s']:.2f}"
    same = "" if r["before_kept"] == r["after_kept"] else " **changed**"
    x_pca = x_train = ""
    if r["after_s"] is not None and not r["after_kept"]:
        x_pca = f"{r['after_s'] / r['sklearn_pca_s']:.1f}x"
        x_train = f"{r['timings_after']['training'] / r['sklearn_pca_s']:.1f}x"
    return (
        f"| {r['data']} | {r['shape']} | {r['k']} | {dec[r['before_kept']]} | "
        f"{dec[r['after_kept']]}{same} | {r['before_ratio']:.3f} | "
        f"{r['after_ratio']:.3f} | {r['before_epochs']} | {r['after_epochs']} | "
        f"{r['before_s']:.2f} | {after_s} | {r['sklearn_pca_s']:.4f} | {x_pca} | "
        f"{x_train} |"
    )


HEADER = (
    "| data | rows x features | k | before | after | AE/PCA before | AE/PCA after "
    "| best/epochs before | after | s before | s after | sklearn PCA s "
    "| after / sklearn PCA | training / sklearn PCA |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def variants(specs: list[str], param_sets: list[dict], draws: int) -> None:
    """Fits of subsampled tables under several settings: what keeps the start."""
    print(
        "| data | draw | settings | decision | AE/PCA | best/epochs | s | best z |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for spec in specs:
        name, n, k = spec.split(":")
        X = load_table(name)
        for draw in range(draws):
            pick = np.random.default_rng(draw).choice(len(X), int(n), replace=False)
            fit, test, fit_u, test_u = protocol(X[np.sort(pick)])
            base = pca_mse(fit_u, test_u, int(k))
            for params in param_sets:
                r = fit_once(fit, int(k), True, dict(params))
                mse = float(r["ae"].reconstruction_error(test).mean())
                z = r["ae"].metrics_.get("start_test", {})
                se = z.get("standard_error", 0.0)
                zb = z["mean_gain"] / se if se > 0 else math.nan  # nan: no trained epoch
                print(
                    f"| {name}[{n}] | {draw} | {json.dumps(params)} | "
                    f"{'trained' if r['kept'] else 'start'} | {mse / base:.3f} | "
                    f"{r['best']}/{r['epochs']} | {r['seconds']:.1f} | {zb:.2f} |",
                    flush=True,
                )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=",".join(ALL))
    ap.add_argument("--latents", default=None, help="e.g. 8,32 (default: vs_pca's)")
    ap.add_argument("--subsample", action="append", default=[], metavar="NAME:ROWS:K")
    ap.add_argument("--rerun-all", action="store_true")
    ap.add_argument("--before-only", action="store_true", help="no after runs")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", metavar="PATH", help="write every row, traces too")
    ap.add_argument(
        "--variants", metavar="JSON", help="a list of parameter sets for --subsample"
    )
    ap.add_argument("--draws", type=int, default=3, help="row draws per --subsample")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads\n\n{HEADER}")
    fit_once(np.random.default_rng(0).random((64, 16), np.float32), 4, True, {})
    if args.variants:
        variants(args.subsample, json.loads(args.variants), args.draws)
        return 0
    rows = []  # (the fit above: the first fit's imports and start-up, not timed)
    jobs: list[tuple[str, np.ndarray, int]] = []
    for spec in args.subsample:
        name, n, k = spec.split(":")
        X = load_table(name)
        pick = np.sort(np.random.default_rng(1).choice(len(X), int(n), replace=False))
        jobs.append((f"{name}[{n} rows]", X[pick], int(k)))
    if not args.subsample:
        for name in (n.strip() for n in args.data.split(",")):
            X = load_table(name)
            ks = latents_for(name, X.shape[1])
            if args.latents:
                ks = [int(k) for k in args.latents.split(",") if int(k) < X.shape[1]]
            jobs += [(name, X, k) for k in ks]
    for name, X, k in jobs:
        rows.append(cell(name, X, k, args.rerun_all, args.before_only, {}))
    changed = sum(r["before_kept"] != r["after_kept"] for r in rows)
    print(f"\n{changed} of {len(rows)} decisions changed")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
