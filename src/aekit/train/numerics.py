"""Numerical care of the loop: subnormal Adam moments, and the divergence message."""

from __future__ import annotations

import torch

from .config import TrainConfig

FLUSH_EVERY = 64  # steps between flushes of subnormal Adam moments (and at epoch end)
LARGEST_SUBNORMAL = float(
    torch.nextafter(torch.tensor(torch.finfo(torch.float32).tiny), torch.tensor(0.0))
)


@torch.no_grad()
def flush_subnormal_moments(optimizer: torch.optim.Optimizer) -> None:
    """Set Adam moments smaller than float32's smallest normal number to zero.

    A parameter whose gradient is zero in most batches (weights from inputs
    that are nearly always zero, such as MNIST's border pixels, or into a unit
    that died) has moments that decay geometrically into the subnormal range,
    where CPU arithmetic is many times slower: on MNIST at default settings,
    epochs took 1.5x as long from the sixth on (`benchmarks/subnormals.py`).
    The CPU's flush-to-zero mode avoids that, but it is a per-thread setting of
    the whole process; this does the same to the moments every FLUSH_EVERY
    steps and at the end of each epoch, in one pass over them (6 ms for
    workload L, whose steps take 50-100 ms). The update such a moment would
    contribute is below 1e-30.
    """
    for st in optimizer.state.values():
        for key in ("exp_avg", "exp_avg_sq"):
            t = st.get(key)
            if isinstance(t, torch.Tensor) and t.dtype == torch.float32:
                torch.hardshrink(t, LARGEST_SUBNORMAL, out=t)  # |t| <= it -> 0


def divergence_message(value: float, epoch: int, step: int, cfg: TrainConfig) -> str:
    """The one sentence that says training diverged, where, and what to try."""
    return (
        f"training diverged: the loss became {value} at epoch {epoch + 1}, step "
        f"{step + 1}; the learning rate (lr={cfg.lr:g}) is the likely cause, try a "
        "value 10x smaller"
    )
