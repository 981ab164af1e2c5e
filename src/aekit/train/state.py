"""What changes while training runs: `TrainState`, its optimizer and generators.

Everything the loop needs to continue exactly where it stopped lives in the
state, which callbacks (checkpoints, signals) can read and save at any step
boundary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .config import TrainConfig

NOISE_SEED_OFFSET = 0x5EED  # the noise generator's seed is the run's seed + this


@dataclass
class TrainState:
    """Everything that changes during training; enough to resume bit for bit."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator  # draws each epoch's permutation (CPU)
    noise: torch.Generator | None = None  # draws the objective's noise (its device)
    epoch: int = 0  # epochs completed
    step: int = 0  # batches completed in the current epoch
    epoch_rng_state: torch.Tensor | None = None  # generator state at the epoch's start
    loss_sum: float = 0.0  # sum of row losses so far in the current epoch
    part_sums: dict[str, float] = field(default_factory=dict)  # likewise, per part
    history: list[dict[str, Any]] = field(default_factory=list)
    best_loss: float = math.inf
    best_epoch: int = 0  # 1-based epoch of best_loss; 0: none yet, or the start
    best_weights: dict[str, torch.Tensor] | None = None
    bad_epochs: int = 0  # epochs since the last improvement
    warned_layers: list[str] = field(default_factory=list)
    stop_requested: bool = False  # set by a callback: stop at the next step boundary
    stop_signal: int = 0  # the signal behind the stop (0: none); agreed among ranks
    stopped_early: bool = False  # patience ran out
    # the latest epoch's loss on the rows early stopping watches (the validation
    # rows, else the training rows); set before on_epoch_end, never saved
    monitor_loss: float = math.nan
    # the callbacks' states from the checkpoint resumed (by state_key); saved again
    callback_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    callbacks: Sequence[Any] = ()  # the hooks of the running `train`; never saved


def make_optimizer(module: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam, fused where the platform supports it, else foreach."""
    params = list(module.parameters())
    try:
        return torch.optim.Adam(
            params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True
        )
    except (RuntimeError, ValueError):
        return torch.optim.Adam(
            params, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True
        )


def new_noise_generator(device: torch.device, seed: int) -> torch.Generator:
    """The generator of the objective's noise on `device`, seeded from `seed`."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed + NOISE_SEED_OFFSET)
    return gen


def new_state(module: nn.Module, cfg: TrainConfig, seed: int) -> TrainState:
    """The state at the start of a run: a fresh optimizer, generators from `seed`."""
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    device = next(module.parameters()).device
    return TrainState(
        module=module,
        optimizer=make_optimizer(module, cfg),
        generator=gen,
        noise=new_noise_generator(device, seed),
    )


def keep_best(state: TrainState) -> None:
    """Copy the module's weights into ``state.best_weights``, reusing its buffers."""
    weights = state.module.state_dict()
    best = state.best_weights
    if best is None or best.keys() != weights.keys():
        state.best_weights = {k: v.detach().clone() for k, v in weights.items()}
        return
    with torch.no_grad():
        for k, v in weights.items():
            best[k].copy_(v)


def restore_best(state: TrainState) -> None:
    """Load the best weights seen (by validation loss) into the module."""
    if state.best_weights is not None:
        state.module.load_state_dict(state.best_weights)
