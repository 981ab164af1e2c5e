"""Where a warmed-up training step spends its time, op by op (torch.profiler).

    python benchmarks/profile_step.py --workload L --precision bf16

Runs aekit's step (gathered batch, autocast when bf16, MSE, fused Adam) on the
workload's network at batch 256 with aekit's allocator setting, times 16 steps,
then profiles 4 and prints the ops with the most self time per step.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from throughput import BATCH, WORKLOADS
from torch.profiler import ProfilerActivity, profile

from aekit.allocator import tune_for_training
from aekit.families import AEConfig, AutoEncoderNet
from aekit.train import TrainConfig, make_optimizer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workload", default="L", choices=sorted(WORKLOADS))
    p.add_argument("--precision", default="bf16", choices=["fp32", "bf16"])
    p.add_argument("--top", type=int, default=12)
    a = p.parse_args()
    tune_for_training()
    widths, rows = WORKLOADS[a.workload]
    net = AutoEncoderNet(AEConfig(widths[0], widths[-1], tuple(widths[1:-1])))
    opt = make_optimizer(net, TrainConfig())
    X = torch.rand(rows, widths[0])
    n_batches = rows // BATCH

    def step(k: int) -> None:
        b = k % n_batches
        xb = X.index_select(0, torch.arange(b * BATCH, (b + 1) * BATCH))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            out = net(xb)
        loss = F.mse_loss(out.float(), xb)
        loss.item()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for k in range(5):
        step(k)
    t0 = time.perf_counter()
    for k in range(16):
        step(k)
    ms = (time.perf_counter() - t0) / 16 * 1e3
    print(f"workload {a.workload}, {a.precision}, batch {BATCH}: {ms:.1f} ms a step")
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for k in range(4):
            step(k)
    events = sorted(
        prof.key_averages(group_by_input_shape=True),
        key=lambda e: -e.self_cpu_time_total,
    )
    print("| op | input shapes | ms per step |")
    print("|---|---|---|")
    for e in events[: a.top]:
        shapes = ", ".join(str(s) for s in e.input_shapes[:2] if s)
        print(f"| {e.key} | {shapes} | {e.self_cpu_time_total / 4 / 1000:.2f} |")


if __name__ == "__main__":
    main()
