"""Numerical care of the loop: subnormal Adam moments, and the divergence message."""

from __future__ import annotations

import dataclasses
from typing import Any

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


def divergence_message(
    value: float, epoch: int, step: int, cfg: TrainConfig, module: Any = None
) -> str:
    """The one sentence that says training diverged, where, and what to try.

    Beside the learning rate it names the family's numeric options of
    `module` that are not at their defaults (a penalty weight, a sigma).
    """
    text = (
        f"training diverged: the loss became {value} at epoch {epoch + 1}, step "
        f"{step + 1}; the learning rate (lr={cfg.lr:g}) is the likely cause, try a "
        "value 10x smaller"
    )
    changed = _changed_options(getattr(module, "config", None))
    if changed:
        them = "it" if len(changed) == 1 else "them"
        text += (
            f", or the model option{'s' if len(changed) > 1 else ''} "
            f"{', '.join(changed)}: try {them} nearer the default"
        )
    return text


def _changed_options(config: Any) -> list[str]:
    """'name=value (default d)' of each numeric family option not at its default."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        return []
    from ..families.options import option_specs

    out = []
    for f in dataclasses.fields(config):
        v, d = getattr(config, f.name), f.default
        if f.name not in option_specs(type(config)) or not isinstance(v, float):
            continue
        if isinstance(d, (int, float)) and v != d:
            out.append(f"{f.name}={v:g} (default {d:g})")
    return out
