"""Training throughput of aekit against the usual ways of training the same autoencoder.

Every measurement runs in a fresh process; rounds are interleaved with the order
rotated, so drift on the machine hits every contender alike. Printed: median
samples/s (min..max), the ratio to the PyTorch tutorial loop of the same round,
aekit's fraction of the matmul limits, and peak memory.

    python benchmarks/throughput.py --rounds 5                 # S and L, CPU
    python benchmarks/throughput.py --workloads S --rounds 3 --device cuda

    # aekit's loop against an older aekit's, in the same rounds:
    git worktree add /tmp/aekit-old dd451cb
    python benchmarks/throughput.py --contenders tutorial,aekit-fp32,baseline-fp32 \
        --baseline-src /tmp/aekit-old/src --limits mkl,onednn

Output comes at the end of each workload. The bf16 limit runs bf16 products,
which a CPU without bf16 instructions (e.g. AMD Zen 3) emulates, for minutes:
leave it out there with ``--limits mkl,onednn``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# (encoder widths, rows per timed epoch)
WORKLOADS = {
    "S": ([784, 392, 196, 98, 32], 20_480),
    "L": ([4096, 2048, 1000], 2_048),
}
BATCH = 256
# tutorial-kept: the tutorial loop with freed memory kept for reuse as aekit's
# training does (aekit.allocator), to show what that setting alone is worth
CONTENDERS = ["tutorial", "tutorial-kept", "sklearn", "aekit-fp32", "aekit-bf16"]


def _data(widths: list[int], rows: int, device: str):  # noqa: ANN202
    import torch

    g = torch.Generator().manual_seed(0)
    return torch.rand(rows, widths[0], generator=g).to(device)


def _plain_net(widths: list[int]):  # noqa: ANN202
    from torch import nn

    layers: list[nn.Module] = []
    dims = widths + widths[-2::-1]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        last_enc, last = i == len(widths) - 2, i == len(dims) - 2
        layers.append(
            nn.Sigmoid() if last else nn.Identity() if last_enc else nn.ReLU()
        )
    return nn.Sequential(*layers)


def run_tutorial(widths: list[int], rows: int, epochs: int, device: str) -> float:
    """The PyTorch tutorial loop: TensorDataset + DataLoader(shuffle=True), Adam."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    X = _data(widths, rows, "cpu")
    net = _plain_net(widths).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(X), batch_size=BATCH, shuffle=True)
    loss_fn = torch.nn.MSELoss()

    def epoch() -> None:
        for (xb,) in loader:
            xb = xb.to(device)
            opt.zero_grad()
            loss = loss_fn(net(xb), xb)
            loss.backward()
            opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    epoch()  # warm-up
    t0 = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return epochs * rows / (time.perf_counter() - t0)


def run_sklearn(widths: list[int], rows: int, epochs: int, device: str) -> float:
    """scikit-learn's MLPRegressor trained X -> X with Adam, one partial_fit per epoch."""
    import numpy as np
    from sklearn.neural_network import MLPRegressor

    X = np.random.default_rng(0).random((rows, widths[0]), dtype=np.float32)
    hidden = widths[1:] + widths[-2:0:-1]
    mlp = MLPRegressor(
        hidden_layer_sizes=hidden,
        batch_size=BATCH,
        solver="adam",
        learning_rate_init=1e-3,
        shuffle=True,
        random_state=0,
    )
    mlp.partial_fit(X, X)  # warm-up
    t0 = time.perf_counter()
    for _ in range(epochs):
        mlp.partial_fit(X, X)
    return epochs * rows / (time.perf_counter() - t0)


def run_aekit(
    widths: list[int], rows: int, epochs: int, device: str, precision: str
) -> float:
    """aekit's training loop as `fit` runs it: rows gathered and min-max scaled per
    batch, with the per-epoch validation and dead-unit monitor (10% more rows)."""
    import torch

    try:
        from aekit.families import AEConfig, AutoEncoderNet
    except ImportError:  # an aekit from before model families (--baseline-src)
        from aekit.model import AEConfig, AutoEncoderNet  # type: ignore[no-redef]
    try:
        from aekit.data.rows import ScaledRows
    except ImportError:  # an aekit from before the rows moved (--baseline-src)
        from aekit.prepare import ScaledRows  # type: ignore[no-redef]
    from aekit.scaling import MinMaxScaling
    from aekit.train import Callback, TrainConfig, train

    X = _data(widths, rows + rows // 9, device)
    scaling = MinMaxScaling.fit(X.cpu().numpy())
    idx = torch.arange(len(X), device=device)
    X_train = ScaledRows(X, idx[:rows], scaling)
    X_val = ScaledRows(X, idx[rows:], scaling)
    net = AutoEncoderNet(AEConfig(widths[0], widths[-1], tuple(widths[1:-1]))).to(
        device
    )
    marks: list[float] = []

    class Clock(Callback):
        def on_epoch_end(self, state) -> None:  # noqa: ANN001
            if device == "cuda":
                torch.cuda.synchronize()
            marks.append(time.perf_counter())

    cfg = TrainConfig(
        max_epochs=epochs + 1,
        batch_size=BATCH,
        patience=None,
        verbose=0,
        dead_units="ignore",
        precision=precision,
    )
    train(net, X_train, X_val, cfg, callbacks=[Clock()])
    return epochs * rows / (marks[-1] - marks[0])


def matmul_limit(widths: list[int], device: str, kind: str) -> float:
    """Samples/s if a step were nothing but its matrix products (fwd, grad in, grad w).

    Freed memory is kept for reuse (as aekit's training does), so that the
    figure is the products' and not the page faults of their fresh outputs.
    """
    import torch

    from aekit.allocator import tune_for_training

    tune_for_training()
    dims = widths + widths[-2::-1]
    dtype = torch.bfloat16 if kind == "bf16" else torch.float32
    lp = torch.ops.mkldnn._linear_pointwise
    ops = []
    for a, b in zip(dims[:-1], dims[1:]):
        x = torch.rand(BATCH, a, device=device, dtype=dtype)
        w = torch.rand(b, a, device=device, dtype=dtype)
        g = torch.rand(BATCH, b, device=device, dtype=dtype)
        if kind == "onednn":
            ops += [
                lambda x=x, w=w: lp(x, w, None, "none", [], ""),
                lambda g=g, w=w: lp(g, w.t(), None, "none", [], ""),
                lambda g=g, x=x: lp(g.t(), x.t(), None, "none", [], ""),
            ]
        else:
            ops += [
                lambda x=x, w=w: x @ w.t(),
                lambda g=g, w=w: g @ w,
                lambda g=g, x=x: g.t() @ x,
            ]

    def step() -> None:
        for op in ops:
            op()
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):
        step()
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return BATCH / statistics.median(times)


def run_encode(widths: list[int], batch: int) -> dict:
    """Rows/s of AutoEncoder.transform vs the encoder's forward matrix products alone."""
    import numpy as np
    import torch

    import aekit.estimator
    from aekit import AutoEncoder

    rows = 8 * 4096
    X = np.random.default_rng(0).random((rows, widths[0]), dtype=np.float32)
    est = AutoEncoder(
        latent_dim=widths[-1],
        hidden_dims=widths[1:-1],
        max_epochs=1,
        verbose=0,
        dead_units="ignore",
    ).fit(X[:512])
    aekit.estimator.EVAL_BATCH = batch
    est.transform(X[:batch])
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        est.transform(X)
        runs.append(time.perf_counter() - t0)
    encode = rows / statistics.median(runs)
    xs = [torch.rand(batch, a) for a in widths[:-1]]
    ws = [torch.rand(b, a) for a, b in zip(widths[:-1], widths[1:])]
    limits = {}
    products = {
        "mkl": torch.nn.functional.linear,
        "onednn": lambda x, w: torch.ops.mkldnn._linear_pointwise(
            x, w, None, "none", [], ""
        ),
    }
    for name, product in products.items():
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            for x, w in zip(xs, ws):
                product(x, w)
            times.append(time.perf_counter() - t0)
        limits[name] = batch / statistics.median(times)
    best = max(limits, key=limits.__getitem__)
    return {"encode": encode, "limit": limits[best], "limit_kind": best}


def worker(args: argparse.Namespace) -> None:
    if args.worker.startswith("encode-"):
        print(json.dumps(run_encode(WORKLOADS[args.workload][0], int(args.worker[7:]))))
        return
    widths, rows = WORKLOADS[args.workload]
    name = args.worker
    if name.startswith("tutorial"):
        if name == "tutorial-kept":
            from aekit.allocator import tune_for_training

            tune_for_training()
        value = run_tutorial(widths, rows, args.epochs, args.device)
    elif name == "sklearn":
        value = run_sklearn(widths, rows, args.epochs, args.device)
    elif name.startswith(("aekit-", "baseline-")):
        value = run_aekit(widths, rows, args.epochs, args.device, name.split("-")[1])
    else:
        value = matmul_limit(widths, args.device, name.split("-")[1])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"value": value, "peak_mb": peak_mb}))


def measure(name: str, workload: str, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--workload",
        workload,
        "--epochs",
        str(args.epochs),
        "--device",
        args.device,
    ]
    env = dict(os.environ)
    if name.startswith("baseline-"):  # the same loop from another aekit's source
        env["PYTHONPATH"] = os.pathsep.join(
            [args.baseline_src, env.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workloads", default="S,L")
    p.add_argument("--contenders", default=",".join(CONTENDERS))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument(
        "--epochs", type=int, default=2, help="timed epochs after one warm-up"
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--encode", action="store_true", help="measure encoding instead")
    p.add_argument(
        "--baseline-src",
        help="the src/ folder of another aekit, for the baseline-* contenders",
    )
    p.add_argument(
        "--limits",
        default="mkl,bf16,onednn",
        help="matmul limits to measure; bf16 takes minutes on CPUs without bf16 units",
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--workload", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)

    if args.encode:
        print(
            "## encoding (transform) on L vs the encoder's forward products "
            "(fp32, the faster of MKL and oneDNN)"
        )
        print(
            "| batch | transform rows/s | forward limit rows/s | limit from | fraction |"
        )
        print("|---|---|---|---|---|")
        for batch in (256, 1024, 4096):
            r = measure(f"encode-{batch}", "L", args)
            print(
                f"| {batch} | {r['encode']:.0f} | {r['limit']:.0f} | "
                f"{r['limit_kind']} | {r['encode'] / r['limit']:.0%} |"
            )
        return
    contenders = args.contenders.split(",")
    if args.device == "cuda":
        contenders = [c for c in contenders if c != "sklearn"]
    limits = [f"limit-{k}" for k in args.limits.split(",") if k]
    if args.device != "cpu":
        limits = [k for k in limits if k != "limit-onednn"]
    print(
        f"# torch threads: {os.environ.get('OMP_NUM_THREADS', 'default')}, "
        f"device {args.device}, batch {BATCH}, {args.rounds} rounds"
    )
    for wl in args.workloads.split(","):
        results: dict[str, list[dict]] = {c: [] for c in contenders + limits}
        for r in range(args.rounds):
            order = (
                contenders[r % len(contenders) :] + contenders[: r % len(contenders)]
            )
            for c in order:
                results[c].append(measure(c, wl, args))
        for lim in limits:
            results[lim].append(measure(lim, wl, args))
        widths, rows = WORKLOADS[wl]
        print(
            f"\n## workload {wl}: {'-'.join(map(str, widths))} (mirrored), "
            f"{rows} rows/epoch, batch {BATCH}"
        )
        print(
            f"{'contender':14s} {'samples/s':>10s} {'min..max':>19s} {'x tutorial':>10s} "
            f"{'peak MB':>8s}"
        )
        base = [m["value"] for m in results.get("tutorial", [])]
        for c in contenders:
            vals = [m["value"] for m in results[c]]
            ratio = (
                statistics.median([v / b for v, b in zip(vals, base)])
                if base
                else float("nan")
            )
            peak = max(m["peak_mb"] for m in results[c])
            print(
                f"{c:14s} {statistics.median(vals):10.0f} "
                f"{min(vals):9.0f}..{max(vals):<9.0f} {ratio:10.2f} {peak:8.0f}"
            )
        print("matmul limits (samples/s if a step were only its matrix products):")
        for lim in limits:
            v = results[lim][0]["value"]
            frac = {
                c: statistics.median([m["value"] for m in results[c]]) / v
                for c in contenders
                if c.startswith(("aekit", "baseline"))
            }
            fr = ", ".join(f"{c} at {f:.0%}" for c, f in frac.items())
            print(f"  {lim:13s} {v:10.0f}   ({fr})")


if __name__ == "__main__":
    main()
