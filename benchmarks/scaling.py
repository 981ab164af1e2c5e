"""How aekit's epoch time scales with rows, threads and batch size (CPU, fp32 and bf16).

Each point runs in a fresh process (threads are fixed at start-up), one warm-up
epoch then the median of timed epochs.

    python benchmarks/scaling.py                 # workload S (784-392-196-98-32)
    python benchmarks/scaling.py --workload L    # 4096-2048-1000
    python benchmarks/scaling.py --workload L --rows 20000 --sections rows
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from throughput import WORKLOADS


def worker(workload: str, rows: int, batch: int, precision: str) -> dict:
    import torch

    from aekit.families import AEConfig, AutoEncoderNet
    from aekit.train import Callback, TrainConfig, train

    widths, _ = WORKLOADS[workload]
    X = torch.rand(rows, widths[0], generator=torch.Generator().manual_seed(0))
    net = AutoEncoderNet(AEConfig(widths[0], widths[-1], tuple(widths[1:-1])))
    marks: list[float] = []

    class Clock(Callback):
        def on_epoch_end(self, state) -> None:  # noqa: ANN001
            marks.append(time.perf_counter())

    cfg = TrainConfig(
        max_epochs=3,
        batch_size=batch,
        patience=None,
        verbose=0,
        dead_units="ignore",
        precision=precision,
    )
    train(net, X, None, cfg, callbacks=[Clock()])
    per_epoch = sorted(b - a for a, b in zip(marks[:-1], marks[1:]))
    s = per_epoch[len(per_epoch) // 2]
    return {"seconds_per_epoch": s, "samples_per_s": rows / s}


def point(workload: str, rows: int, batch: int, threads: int, precision: str) -> dict:
    code = (
        "import json, sys, torch; sys.path.insert(0, 'benchmarks'); "
        f"torch.set_num_threads({threads}); import scaling; "
        f"print(json.dumps(scaling.worker({workload!r}, {rows}, {batch}, {precision!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workload", default="S", choices=sorted(WORKLOADS))
    p.add_argument("--rows", type=int, help="base rows (default 20000 on S, 2000 on L)")
    p.add_argument("--sections", default="rows,threads,batch")
    args = p.parse_args()
    base_rows = args.rows or (20_000 if args.workload == "S" else 2_000)
    sections = args.sections.split(",")
    print(f"## scaling, workload {args.workload}")
    if "rows" in sections:
        rows_table(args.workload, base_rows)
    if "threads" in sections:
        threads_table(args.workload, base_rows)
    if "batch" in sections:
        batch_table(args.workload, base_rows)


def rows_table(workload: str, base_rows: int) -> None:
    print("\nrows (batch 256, 2 threads):")
    print("| rows | fp32 s/epoch | fp32 samples/s | bf16 s/epoch | bf16 samples/s |")
    print("|---|---|---|---|---|")
    for mult in (0.5, 1, 2):
        rows = int(base_rows * mult)
        a = point(workload, rows, 256, 2, "fp32")
        b = point(workload, rows, 256, 2, "bf16")
        print(
            f"| {rows} | {a['seconds_per_epoch']:.2f} | {a['samples_per_s']:.0f} | "
            f"{b['seconds_per_epoch']:.2f} | {b['samples_per_s']:.0f} |"
        )


def threads_table(workload: str, base_rows: int) -> None:
    print(f"\nthreads ({base_rows} rows, batch 256):")
    print("| threads | fp32 samples/s | bf16 samples/s |")
    print("|---|---|---|")
    for threads in (1, 2):
        a = point(workload, base_rows, 256, threads, "fp32")
        b = point(workload, base_rows, 256, threads, "bf16")
        print(f"| {threads} | {a['samples_per_s']:.0f} | {b['samples_per_s']:.0f} |")


def batch_table(workload: str, base_rows: int) -> None:
    print(f"\nbatch size ({base_rows} rows, 2 threads):")
    print("| batch | fp32 samples/s | bf16 samples/s |")
    print("|---|---|---|")
    for batch in (64, 128, 256, 512, 1024, 2048):
        a = point(workload, base_rows, batch, 2, "fp32")
        b = point(workload, base_rows, batch, 2, "bf16")
        print(f"| {batch} | {a['samples_per_s']:.0f} | {b['samples_per_s']:.0f} |")


if __name__ == "__main__":
    main()
