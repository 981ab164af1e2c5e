"""A few timed optimizer steps of a module on real rows, and a timed validation pass.

What `precision="auto"` (`aekit.train.precision`) and the planner
(`aekit.planning`) measure. The steps are the loop's (`loop._step` alone:
the family's objective under autocast, the loss read back, backward, Adam) and
run on a copy of the module with an Adam of its own, inside a forked RNG: the
module, the caller's generators and torch's global RNG are left as they were,
so a seeded fit that measures first trains exactly as one that does not.
"""

from __future__ import annotations

import copy
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..allocator import tune_for_training
from ..data.rows import ScaledRows
from ..families.base import Family
from .config import TrainConfig
from .state import make_optimizer
from .threads import threads_for
from .validation import autocast, evaluate_loss


@dataclass
class StepTimes:
    """Seconds per optimizer step, measured, per precision."""

    seconds: dict[str, float]  # precision -> the median timed step, in seconds
    fastest: dict[str, float]  # precision -> the fastest timed step, in seconds
    steps: int  # timed steps per precision
    batch_rows: int  # rows per timed step
    total: float  # seconds the measurement took, warm-up and copies included


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(
    module: nn.Module,
    rows: ScaledRows,
    cfg: TrainConfig,
    family: Family,
    precisions: Sequence[str] = ("fp32",),
    *,
    steps: int = 3,
    warmup: int = 2,
    min_seconds: float = 0.0,
    max_steps: int = 50,
    seed: int = 0,
) -> StepTimes:
    """Time optimizer steps of a copy of `module` per precision, interleaved.

    The batch is the first ``cfg.batch_size`` rows of `rows` (taken and
    scaled at every step, as the loop does). The precisions take turns, one
    step each, after `warmup` untimed steps each; at least `steps` are timed
    per precision, more (up to `max_steps`) until the timed steps add up to
    `min_seconds`, so that a small network is timed over enough steps for
    the clock and the machine's other work to even out. bf16 is autocast
    over the copy's fp32 weights, so one copy and one Adam serve every
    precision. The steps run on the threads `train` would use (`threads`).
    """
    t_start = time.perf_counter()
    tune_for_training()  # the allocator setting training runs with
    device = next(module.parameters()).device
    n = min(cfg.batch_size, len(rows))
    positions = torch.arange(n, device=device)
    timed: dict[str, list[float]] = {p: [] for p in precisions}
    forked = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=forked), threads_for(module, n):
        net = copy.deepcopy(module)
        net.train()
        optimizer = make_optimizer(net, cfg)
        noise = torch.Generator(device=device)
        noise.manual_seed(seed)
        i, spent = 0, 0.0
        while True:
            for p in precisions:
                _sync(device)
                t = time.perf_counter()
                xb = rows.take(positions)
                _one_step(net, optimizer, xb, cfg.loss, p, family, noise)
                _sync(device)
                if i >= warmup:
                    timed[p].append(time.perf_counter() - t)
                    spent += timed[p][-1]
            i += 1
            done = len(timed[precisions[0]])
            if done >= steps and (spent >= min_seconds or done >= max_steps):
                break
        del net, optimizer
    return StepTimes(
        {p: statistics.median(v) for p, v in timed.items()},
        {p: min(v) for p, v in timed.items()},
        len(timed[precisions[0]]),
        n,
        time.perf_counter() - t_start,
    )


def _one_step(
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    xb: torch.Tensor,
    loss_name: str,
    precision: str,
    family: Family,
    noise: torch.Generator,
) -> None:
    """One step as the loop takes it: objective, losses read back, backward, Adam."""
    with autocast(xb.device, precision):
        loss, parts = family.objective(net, xb, loss=loss_name, rng=noise)
    loss.item()
    for v in parts.values():
        v.item()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def time_validation(
    module: nn.Module,
    rows: ScaledRows,
    loss: str,
    precision: str,
    family: Family,
    *,
    max_rows: int = 4096,
) -> float:
    """Seconds the end-of-epoch pass (loss, parts, dead units) takes on all of `rows`.

    Timed on at most `max_rows` of them (the second of two passes) and scaled
    to all, as the pass is chunk by chunk; 0.0 for no rows.
    """
    if len(rows) == 0:
        return 0.0
    import numpy as np

    m = min(len(rows), max_rows)
    part = rows.subset(np.arange(m)) if m < len(rows) else rows
    device = rows.device
    seconds = math.inf
    for _ in range(2):
        _sync(device)
        t = time.perf_counter()
        evaluate_loss(module, part, loss, precision, family)
        _sync(device)
        seconds = min(seconds, time.perf_counter() - t)
    return seconds * len(rows) / m
