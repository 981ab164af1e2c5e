"""ONNX export on MNIST: parity of every family and part, and encode speed.

Run from the repository root (the data lives in ../shared/data, see its README)::

    flock /tmp/bench.lock .venv/bin/python benchmarks/onnx_export.py

Data: the MNIST test set in its original units (pixels 0..255, so the graphs'
min-max scaling is exercised), rows of a permutation with seed 0: the first
2000 to fit, the next 1000 held out. Every family (contractive on both bases,
and pca_anchored trained in bf16 too) is fitted with latent_dim=32, its default
widths, 3 epochs of batch 128, random_state=0.

Parity: for each family and part, onnxruntime's output on the held-out rows
against aekit's own (``transform``, ``inverse_transform`` of those codes,
``reconstruct``, ``reconstruction_error``): the largest absolute difference
divided by the largest absolute value of aekit's output, marked * where
``assert_allclose(rtol=1e-5, atol=1e-5 * max|aekit|)`` fails. For scale, the
last column is the same figure for aekit's own float32 reconstruction against
the same module evaluated in float64: the rounding of float32 itself.

Speed (the default family's encoder): onnxruntime's ``session.run`` on rows in
original units (the scaling is in the graph) against aekit's ``transform``
(validation, scaling, encode) and ``FittedModel.encode`` on rows scaled
beforehand, on one row at a time (median seconds per call) and on batches of
4,096 rows (median rows/s). Rounds interleave the contenders, the order rotated;
ratios are of medians over the rounds, all measured in this run, with torch
and onnxruntime on the same number of threads.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import load  # noqa: E402

from aekit import AutoEncoder  # noqa: E402
from aekit.export import OPSET, PARTS, to_onnx  # noqa: E402

LATENT = 32
# label -> (model, model_options, extra estimator parameters)
MODELS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "halving": ("halving", {}, {}),
    "pca_anchored": ("pca_anchored", {}, {}),
    "pca_anchored, bf16": ("pca_anchored", {}, {"precision": "bf16"}),
    "sparse": ("sparse", {"beta": 0.1}, {}),
    "denoising": ("denoising", {}, {}),
    "contractive (pca_anchored)": ("contractive", {}, {}),
    "contractive (halving)": ("contractive", {"base": "halving"}, {}),
    "variational": ("variational", {}, {}),
    "convolutional": ("convolutional", {"image_shape": "28x28"}, {}),
}


def fit(X: np.ndarray, label: str, epochs: int) -> AutoEncoder:
    model, options, extra = MODELS[label]
    return AutoEncoder(
        latent_dim=LATENT,
        model=model,
        model_options=options,
        max_epochs=epochs,
        patience=None,
        batch_size=128,
        dead_units="ignore",
        random_state=0,
        **extra,
    ).fit(X, evaluate=False)


def own(ae: AutoEncoder, part: str, H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the graph's input, aekit's output) for `part` on the held-out rows H."""
    if part == "encoder":
        return H, ae.transform(H)
    if part == "decoder":
        codes = ae.transform(H)
        return codes, ae.inverse_transform(codes)
    if part == "reconstruct":
        return H, ae.reconstruct(H)
    return H, ae.reconstruction_error(H)


def session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def float64_distance(ae: AutoEncoder, H: np.ndarray) -> float:
    """max |reconstruct - the same in float64| / max |float64|, original units."""
    scaling = ae.fitted_.scaling
    lo = scaling.data_min.astype(np.float64)
    unit = (H.astype(np.float64) - lo) / scaling.divisor
    with torch.inference_mode():
        module = copy.deepcopy(ae.fitted_.module).double()
        r = module(torch.from_numpy(unit)).numpy()
    exact = r * scaling.data_range + lo
    return float(np.abs(ae.reconstruct(H) - exact).max() / np.abs(exact).max())


def parity(X: np.ndarray, H: np.ndarray, args: Any, folder: Path) -> None:
    print(f"## Parity on {len(H)} held-out MNIST rows (opset {OPSET})\n")
    print("max |onnxruntime - aekit| / max |aekit|\n")
    print("| family | " + " | ".join(PARTS) + " | aekit vs float64 | fit s |")
    print("|---|" + "---|" * (len(PARTS) + 2))
    worst = 0.0
    for label in MODELS:
        t = time.perf_counter()
        ae = fit(X, label, args.epochs)
        seconds = time.perf_counter() - t
        cells = []
        for part in PARTS:
            path = to_onnx(ae.fitted_, folder / f"{part}.onnx", part=part)
            s = session(path, args.threads)
            given, want = own(ae, part, H)
            got = s.run(None, {s.get_inputs()[0].name: given})[0]
            scale = float(np.abs(want).max())
            rel = float(np.abs(got - want).max()) / scale
            ok = np.allclose(got, want, rtol=1e-5, atol=1e-5 * scale)
            worst = max(worst, rel)
            cells.append(f"{rel:.1e}" + ("" if ok else " *"))
        cells.append(f"{float64_distance(ae, H):.1e}")
        print(f"| {label} | " + " | ".join(cells) + f" | {seconds:.1f} |")
    print(f"\nlargest: {worst:.2e}\n")


def per_call(fn: Any, calls: int) -> float:
    """Median seconds of one call of `fn` over `calls` calls."""
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def product_limit(fitted: Any, batch: np.ndarray) -> Any:
    """The encoder's matrix products alone, in torch on preallocated tensors.

    The hardware limit of an encode of these rows: each Linear layer of the
    encoder (and pca_anchored's PCA map beside it) as one ``torch.addmm``
    (bias included) into a buffer made once, with nothing else between them
    (no scaling, no activation, no Python per chunk).
    """
    module = fitted.module
    linear = torch.nn.Linear
    chains = [[m for m in module.encoder.modules() if isinstance(m, linear)]]
    if isinstance(getattr(module, "pca_encoder", None), linear):
        chains.append([module.pca_encoder])  # pca_anchored: the PCA map beside
    x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
    outs = [[torch.empty(len(batch), m.out_features) for m in c] for c in chains]

    def run() -> None:
        with torch.inference_mode():
            for chain, bufs in zip(chains, outs):
                h = x
                for m, out in zip(chain, bufs):
                    torch.addmm(m.bias, h, m.weight.t(), out=out)
                    h = out

    return run


def speed(ae: AutoEncoder, H: np.ndarray, args: Any, folder: Path, title: str) -> None:
    fitted = ae.fitted_
    s = session(to_onnx(fitted, folder / "encoder.onnx"), args.threads)
    rng = np.random.default_rng(0)
    batch = H[rng.integers(0, len(H), args.batch)]  # (4096, n_features) original units
    row = H[:1]
    unit_row, unit_batch = fitted.to_unit(row), fitted.to_unit(batch)
    contenders = {
        "onnxruntime": (
            lambda: s.run(None, {"rows": row}),
            lambda: s.run(None, {"rows": batch}),
        ),
        "aekit transform": (lambda: ae.transform(row), lambda: ae.transform(batch)),
        "FittedModel.encode": (
            lambda: fitted.encode(unit_row),
            lambda: fitted.encode(unit_batch),
        ),
        "limit (encoder products)": (
            product_limit(fitted, unit_row),
            product_limit(fitted, unit_batch),
        ),
    }
    names = list(contenders)
    for one, many in contenders.values():  # warm up
        one()
        many()
    latency: dict[str, list[float]] = {n: [] for n in names}
    rate: dict[str, list[float]] = {n: [] for n in names}
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for n in order:
            one, many = contenders[n]
            latency[n].append(per_call(one, args.calls))
            rate[n].append(args.batch / per_call(many, args.batch_calls))
    lat = {n: statistics.median(v) for n, v in latency.items()}
    thr = {n: statistics.median(v) for n, v in rate.items()}
    limit = thr["limit (encoder products)"]
    print(f"## Encode speed: {title}, {args.threads} thread(s), {args.rounds} rounds\n")
    print(
        "| contender | one row: µs per call | onnxruntime faster by | "
        f"{args.batch} rows: rows/s | onnxruntime faster by | share of limit |"
    )
    print("|---|---|---|---|---|---|")
    for n in names:
        lo, hi = min(latency[n]) * 1e6, max(latency[n]) * 1e6
        tlo, thi = min(rate[n]), max(rate[n])
        print(
            f"| {n} | {lat[n] * 1e6:.0f} ({lo:.0f}..{hi:.0f}) | "
            f"{lat[n] / lat['onnxruntime']:.2f}x | "
            f"{thr[n]:,.0f} ({tlo:,.0f}..{thi:,.0f}) | "
            f"{thr['onnxruntime'] / thr[n]:.2f}x | {thr[n] / limit:.0%} |"
        )
    print()


def workload_l(epochs: int) -> tuple[AutoEncoder, np.ndarray]:
    """Workload L of benchmarks/throughput.py (4096-2048-1000, the founding network).

    Rows are uniform in 0..255 (seed 0): 2048 to fit, 1000 held out to encode.
    """
    X = np.random.default_rng(0).random((3048, 4096), dtype=np.float32) * 255
    ae = AutoEncoder(
        latent_dim=1000,
        model="halving",
        hidden_dims=[2048],
        max_epochs=epochs,
        patience=None,
        batch_size=256,
        dead_units="ignore",
        random_state=0,
    ).fit(X[:2048], evaluate=False)
    return ae, X[2048:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=500, help="single-row calls")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--batch-calls", type=int, default=10)
    parser.add_argument(
        "--sections",
        default="parity,mnist,L",
        help="comma-separated: parity, mnist (encode speed), L (encode speed)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, _ = load("mnist")
    X = np.rint(X * 255)  # original units: pixels 0..255
    perm = np.random.default_rng(0).permutation(len(X))
    fit_rows, held = X[perm[:2000]], X[perm[2000:3000]]
    sections = args.sections.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if "parity" in sections:
            parity(fit_rows, held, args, Path(tmp))
        if "mnist" in sections:
            ae = fit(fit_rows, "pca_anchored", args.epochs)
            title = f"pca_anchored on MNIST, 784 -> {LATENT}"
            speed(ae, held, args, Path(tmp), title)
        if "L" in sections:
            ae, rows = workload_l(1)
            speed(ae, rows, args, Path(tmp), "halving on workload L, 4096-2048-1000")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
