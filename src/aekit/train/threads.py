"""One CPU thread for networks too small to share: the loop's thread count.

A training step of a small network (a table of tens of rows and a few hundred
features) is a few dozen kernels of microseconds each, with Python between
them and around the epoch's end (the validation pass, the start test's pass).
With several threads, each kernel then pays for waking the others: on a
2-core Intel Xeon, 10 epochs of the default family on lung_small (58 x 325,
8M multiply-adds a step) trained in 0.122 s with 2 threads and 0.039 s with
one, and on digits (64 features) 0.29 s against 0.22 s; from MNIST's network
at batch 64 (53M a step: 1.39x faster with 2) upwards, more threads win
(`benchmarks/threads.py`). Below SMALL_STEP_MACS multiply-adds a step, `train`
runs on one thread and gives the caller's count back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

SMALL_STEP_MACS = 20_000_000  # a step's multiply-adds below which one thread trains


def step_macs(module: nn.Module, batch_size: int) -> int:
    """Multiply-adds of one forward pass of `batch_size` rows through the linear layers."""
    per_row = sum(
        m.in_features * m.out_features
        for m in module.modules()
        if isinstance(m, nn.Linear)
    )
    return per_row * batch_size


def training_threads(module: nn.Module, batch_size: int) -> int:
    """The threads `train` uses: 1 for a small CPU network, else torch's count."""
    now = torch.get_num_threads()
    on_cpu = all(p.device.type == "cpu" for p in module.parameters())
    if on_cpu and step_macs(module, batch_size) < SMALL_STEP_MACS:
        return 1
    return now


@contextmanager
def threads_for(module: nn.Module, batch_size: int) -> Iterator[int]:
    """Run the block on `training_threads` threads; restore the count after."""
    before = torch.get_num_threads()
    n = training_threads(module, batch_size)
    if n != before:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
