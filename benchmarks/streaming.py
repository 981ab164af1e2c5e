"""Memory and throughput of training on a memory-mapped .npy table.

Generates a ROWS x WIDTH float32 table in a temporary folder (deleted at the
end; never commit it), then, each in a fresh process:

- "mmap": `aekit.data.read_table` memory-maps the .npy; `AutoEncoder.fit`
  trains one epoch on it and `transform` encodes every row;
- "memory": the same on a SMALL-row table of the same width held in memory,
  the baseline of the same run.

Printed: the peak of the process's anonymous memory (`RssAnon` in
/proc/self/status, sampled every 20 ms; the page cache holding the mapped
file is not in it) against the bound model state + permutation + 500 MB, and
rows/s of training and of encoding with their ratio to the in-memory path.

    flock /tmp/bench.lock python benchmarks/streaming.py --rows 4000000
    flock /tmp/bench.lock python benchmarks/streaming.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

MB = 2**20


def rss_anon() -> int:
    """The process's anonymous resident memory in bytes (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no RssAnon in /proc/self/status")


def generate(path: str, rows: int, width: int, block: int = 65_536) -> None:
    """Write a rows x width float32 .npy a block at a time (never all in memory)."""
    import numpy as np

    out = np.lib.format.open_memmap(path, "w+", np.float32, (rows, width))
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((16, width)).astype(np.float32)
    for i in range(0, rows, block):
        n = min(block, rows - i)
        codes = rng.standard_normal((n, 16)).astype(np.float32)
        out[i : i + n] = codes @ basis + 0.1 * rng.random((n, width), np.float32)
        out.flush()
    del out


def child(path: str, mode: str, latent: int, batch: int) -> dict[str, float]:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from aekit import AutoEncoder
    from aekit.data import read_table, select_features

    peak = [rss_anon()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], rss_anon())

    threading.Thread(target=sample, daemon=True).start()
    base = rss_anon()
    X = select_features(read_table(path)).X
    if mode == "memory":
        X = np.array(X)  # the whole table in the process's memory
    ae = AutoEncoder(
        latent_dim=latent,
        max_epochs=1,
        batch_size=batch,
        validation_fraction=0.01,
        verbose=0,
        random_state=0,
        device="cpu",
    )
    t0 = time.perf_counter()
    ae.fit(X, evaluate=False)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    codes = ae.transform(X)
    encode_s = time.perf_counter() - t0
    done.set()
    peak[0] = max(peak[0], rss_anon())
    state = sum(p.numel() * 4 for p in ae.fitted_.module.parameters())
    n = len(X)
    return {
        "rows": n,
        # the epoch itself (its steps and the validation pass), not the setup
        # (scaling statistics, the PCA start), which differs with the row count
        "train_rows_per_s": n * (1 - 0.01) / ae.history_[0]["seconds"],
        "fit_s": train_s,
        "encode_rows_per_s": n / encode_s,
        "peak_anon_mb": peak[0] / MB,
        "start_anon_mb": base / MB,
        # weights, gradients, best weights, Adam's two moments; the epoch's
        # permutation (int64); the codes returned by transform
        "bound_mb": (5 * state + 8 * n + codes.nbytes) / MB + 500,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=4_000_000)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--small", type=int, default=200_000, help="in-memory rows")
    ap.add_argument("--latent", type=int, default=16)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--dir", default=None, help="where to write the table")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], a.latent, a.batch)))
        return
    tmp = tempfile.mkdtemp(prefix="aekit-streaming-", dir=a.dir)
    try:
        big, small = os.path.join(tmp, "big.npy"), os.path.join(tmp, "small.npy")
        t0 = time.perf_counter()
        generate(big, a.rows, a.width)
        generate(small, a.small, a.width)
        gb = os.path.getsize(big) / 2**30
        print(f"table {a.rows} x {a.width} float32: {gb:.2f} GiB on disk "
              f"(written in {time.perf_counter() - t0:.0f} s)")  # fmt: skip
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        res = {}
        for mode, path in (("memory", small), ("mmap", big)):
            cmd = [sys.executable, __file__, "--child", path, mode,
                   "--latent", str(a.latent), "--batch", str(a.batch)]  # fmt: skip
            out = subprocess.run(cmd, env=env, check=True, capture_output=True)
            res[mode] = json.loads(out.stdout.decode().strip().splitlines()[-1])
            r = res[mode]
            print(
                f"{mode:6s} {r['rows']:>9d} rows: fit {r['fit_s']:.0f} s, epoch "
                f"{r['train_rows_per_s']:,.0f} rows/s, encode {r['encode_rows_per_s']:,.0f} rows/s, peak RssAnon "
                f"{r['peak_anon_mb']:,.0f} MB (bound {r['bound_mb']:,.0f} MB: "
                f"{'held' if r['peak_anon_mb'] <= r['bound_mb'] else 'EXCEEDED'})"
            )
        m, s = res["memory"], res["mmap"]
        print(
            f"mmap / memory: train {s['train_rows_per_s'] / m['train_rows_per_s']:.2f}"
            f", encode {s['encode_rows_per_s'] / m['encode_rows_per_s']:.2f} "
            "(target >= 0.70)"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
