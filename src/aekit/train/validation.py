"""The loss on held-out rows, and which hidden units are dead, in bounded chunks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import distributed
from ..data.rows import ScaledRows
from ..families.base import Family
from ..fitted import EVAL_BATCH
from ..layers import hidden_layers

EVAL_VALUES = 2**23  # at most this many activations held at once by evaluate_loss


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """bf16 autocast on `device` when `precision` is "bf16", else a no-op."""
    return torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=precision == "bf16"
    )


def as_rows(X: torch.Tensor | ScaledRows) -> ScaledRows:
    """`X` as ScaledRows (a tensor is taken as it is)."""
    return X if isinstance(X, ScaledRows) else ScaledRows(X)


def eval_rows(module: nn.Module) -> int:
    """Rows per validation chunk: the chunk's activations stay within EVAL_VALUES."""
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    per_row = sum(m.in_features + m.out_features for m in linears) or 1
    return max(64, min(EVAL_BATCH, EVAL_VALUES // per_row))


@contextmanager
def _watch_units(module: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """Record, per hidden activation, which units had a positive input on some row."""
    alive: dict[str, torch.Tensor] = {}
    handles = []
    for name, stack, i in hidden_layers(module):

        def hook(_m: nn.Module, args: tuple[Any, ...], name: str = name) -> None:
            a = (args[0] > 0).any(dim=0)
            alive[name] = a if name not in alive else alive[name] | a

        handles.append(stack[i].register_forward_pre_hook(hook))
    try:
        yield alive
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def evaluate_loss(
    module: nn.Module,
    X: torch.Tensor | ScaledRows,
    loss: str = "mse",
    precision: str = "fp32",
    family: Family | None = None,
    world: distributed.World | None = None,
) -> tuple[float, dict[str, float], dict[str, float]]:
    """Mean objective over the rows of X, its parts, and the dead share per layer.

    The module is in eval mode and the objective draws no noise. A unit is dead
    when its pre-activation is <= 0 for every row: a ReLU then outputs zero for
    all of them and passes no gradient. With a `world` of several ranks (every
    rank must call it), each evaluates its share of the rows and the sums and
    the units seen alive are reduced over the ranks.
    """
    full = as_rows(X)
    w = world if world is not None else distributed.World()
    rows = full
    if w.enabled:
        start, count = distributed.share(len(full), w)
        rows = full.subset(np.arange(start, start + count))
    family = family if family is not None else Family()
    was_training = module.training
    module.eval()
    total, parts = 0.0, dict[str, float]()
    with _watch_units(module) as alive, autocast(rows.device, precision):
        for xb in rows.chunks(eval_rows(module)):
            value, named = family.objective(module, xb, loss=loss, rng=None)
            total += value.item() * len(xb)
            for k, v in named.items():
                parts[k] = parts.get(k, 0.0) + v.item() * len(xb)
    module.train(was_training)
    if w.enabled:
        total, parts, alive = _reduce(module, total, parts, alive, w)
    n = max(len(full), 1)
    dead = {name: 1.0 - a.float().mean().item() for name, a in alive.items()}
    return total / n, {k: v / n for k, v in parts.items()}, dead


def _reduce(
    module: nn.Module,
    total: float,
    parts: dict[str, float],
    alive: dict[str, torch.Tensor],
    w: distributed.World,
) -> tuple[float, dict[str, float], dict[str, torch.Tensor]]:
    """The ranks' sums and alive units combined (the same layers on every rank)."""
    for name, stack, i in hidden_layers(module):
        if name not in alive:  # seen on no row of this rank's share
            width = getattr(stack[i - 1], "out_features", None) if i else None
            alive[name] = torch.zeros(width or 0, dtype=torch.bool)
    keys = sorted(parts)
    sums = distributed.all_sum([total, *(parts[k] for k in keys)], w)
    return sums[0], dict(zip(keys, sums[1:], strict=True)), distributed.all_or(alive, w)
