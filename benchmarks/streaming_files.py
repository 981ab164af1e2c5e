"""Memory and throughput of the streamed file paths: `aekit encode` and the Parquet cache.

Generates a ROWS x WIDTH float32 .npy and the same rows as Parquet (row groups
of 65536 rows) in a temporary folder (deleted at the end; never commit it),
trains a small model on the first SMALL rows, then, each in a fresh process
that samples its anonymous memory (`RssAnon`, not the page cache) every 20 ms:

- "encode": `aekit encode MODEL big.npy -o codes.npy`, streamed a block at a
  time; baseline: `transform` of SMALL rows held in memory, the same run.
- "cache": `aekit.data.cached_features` converts big.parquet to its .npy
  cache a record batch at a time; baseline: reading SMALL rows of it whole
  (`read_table` + `select_features`); limit: reading the Parquet file's bytes.

Printed: peak RssAnon against the bound (model state + one block + 500 MB;
for the cache, one block + twice the largest row group's uncompressed size +
500 MB: pyarrow reads a row group whole), rows/s and the ratios.

    flock /tmp/bench.lock python benchmarks/streaming_files.py --rows 4000000
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

from streaming import MB, generate, rss_anon


class Peak:
    """The peak of RssAnon while the block runs, sampled every 20 ms."""

    def __enter__(self) -> Peak:
        self.start = self.peak = rss_anon()
        self._done = threading.Event()

        def sample() -> None:
            while not self._done.wait(0.02):
                self.peak = max(self.peak, rss_anon())

        threading.Thread(target=sample, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.peak = max(self.peak, rss_anon())


def child(mode: str, tmp: str, small: int) -> dict[str, float]:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from aekit import load
    from aekit.cli import main
    from aekit.cli.stream import BLOCK_VALUES
    from aekit.data import cached_features, read_table, select_features

    big_npy, big_pq = os.path.join(tmp, "big.npy"), os.path.join(tmp, "big.parquet")
    model = os.path.join(tmp, "model")
    rows, width = np.load(big_npy, mmap_mode="r").shape
    if mode == "encode-memory":
        ae = load(model)
        X = np.array(np.load(big_npy, mmap_mode="r")[:small])
        with Peak() as p:
            t0 = time.perf_counter()
            ae.transform(X)
            s = time.perf_counter() - t0
        return {"rows": small, "rows_per_s": small / s, "peak_mb": p.peak / MB}
    if mode == "encode":
        ae = load(model)
        state = sum(t.numel() * 4 for t in ae.fitted_.module.parameters())
        with Peak() as p:
            t0 = time.perf_counter()
            assert (
                main(["encode", model, big_npy, "-o", os.path.join(tmp, "codes.npy")])
                == 0
            )
            s = time.perf_counter() - t0
        block = BLOCK_VALUES * 4 * 3  # a block, its scaled copy, its output
        return {"rows": rows, "rows_per_s": rows / s, "peak_mb": p.peak / MB,
                "bound_mb": (state + block) / MB + 500}  # fmt: skip
    if mode == "read-memory":
        with Peak() as p:
            t0 = time.perf_counter()
            X = select_features(read_table(os.path.join(tmp, "small.parquet"))).X
            s = time.perf_counter() - t0
        return {"rows": len(X), "rows_per_s": len(X) / s, "peak_mb": p.peak / MB}
    if mode == "read-bytes":
        size = os.path.getsize(big_pq)
        t0 = time.perf_counter()
        with open(big_pq, "rb", buffering=0) as f:
            while f.read(2**24):
                pass
        s = time.perf_counter() - t0
        return {"rows": rows, "rows_per_s": rows / s, "mb_per_s": size / MB / s}
    if mode == "cache":
        from aekit.data import cache

        with Peak() as p:
            t0 = time.perf_counter()
            f = cached_features(big_pq, os.path.join(tmp, "out"), say=lambda _: None)
            s = time.perf_counter() - t0
        assert f.X.shape == (rows, width)
        import pyarrow.parquet as pq

        # a block as arrow, float64 and float32; a row group's pages and values
        block = cache.BLOCK_VALUES * (8 + 8 + 4)
        meta = pq.ParquetFile(big_pq).metadata
        group = max(
            meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)
        )
        return {"rows": rows, "rows_per_s": rows / s, "peak_mb": p.peak / MB,
                "bound_mb": (block + 2 * group) / MB + 500}  # fmt: skip
    raise ValueError(mode)


def to_parquet(npy: str, out: str, group: int = 65_536) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    X = np.load(npy, mmap_mode="r")
    names = [f"f{j}" for j in range(X.shape[1])]
    schema = pa.schema([(n, pa.float32()) for n in names])
    with pq.ParquetWriter(out, schema) as w:
        for i in range(0, len(X), group):
            block = np.asarray(X[i : i + group])
            w.write_table(pa.table(list(block.T), schema=schema))


def main_() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=4_000_000)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--small", type=int, default=200_000, help="in-memory rows")
    ap.add_argument("--dir", default=None, help="where to write the tables")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child[0], a.child[1], int(a.child[2]))))
        return
    tmp = tempfile.mkdtemp(prefix="aekit-streaming-files-", dir=a.dir)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    try:
        big = os.path.join(tmp, "big.npy")
        t0 = time.perf_counter()
        generate(big, a.rows, a.width)
        to_parquet(big, os.path.join(tmp, "big.parquet"))
        print(f"tables {a.rows} x {a.width} float32: .npy "
              f"{os.path.getsize(big) / 2**30:.2f} GiB, .parquet "
              f"{os.path.getsize(os.path.join(tmp, 'big.parquet')) / 2**30:.2f} GiB "
              f"(written in {time.perf_counter() - t0:.0f} s)")  # fmt: skip
        train = [sys.executable, "-m", "aekit", "train", big, "-o",
                 os.path.join(tmp, "model"), "--latent-dim", "16", "--max-epochs",
                 "1", "--batch-size", "1024", "--quiet", "--random-state", "0"]  # fmt: skip
        small = os.path.join(tmp, "train.npy")
        import numpy as np

        np.save(small, np.load(big, mmap_mode="r")[: a.small])
        train[4] = small
        to_parquet(small, os.path.join(tmp, "small.parquet"))
        subprocess.run(train, env=env, check=True)
        res = {}
        for mode in ("encode-memory", "encode", "read-bytes", "read-memory", "cache"):
            cmd = [sys.executable, __file__, "--child", mode, tmp, str(a.small)]
            out = subprocess.run(cmd, env=env, check=True, capture_output=True)
            res[mode] = r = json.loads(out.stdout.decode().strip().splitlines()[-1])
            held = ""
            if "bound_mb" in r:
                ok = "held" if r["peak_mb"] <= r["bound_mb"] else "EXCEEDED"
                held = f" (bound {r['bound_mb']:,.0f} MB: {ok})"
            peak = f", peak RssAnon {r['peak_mb']:,.0f} MB" if "peak_mb" in r else ""
            mbs = f", {r['mb_per_s']:,.0f} MB/s" if "mb_per_s" in r else ""
            print(f"{mode:13s} {r['rows']:>9d} rows: {r['rows_per_s']:,.0f} rows/s"
                  f"{mbs}{peak}{held}")  # fmt: skip
        e, em = res["encode"], res["encode-memory"]
        c, cm, cb = res["cache"], res["read-memory"], res["read-bytes"]
        print(
            f"encode streamed / in memory: {e['rows_per_s'] / em['rows_per_s']:.2f}; "
            f"cache / whole read: {c['rows_per_s'] / cm['rows_per_s']:.2f}; "
            f"cache / reading the file's bytes: {c['rows_per_s'] / cb['rows_per_s']:.2f}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main_()
