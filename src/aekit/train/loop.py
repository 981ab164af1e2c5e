"""The training loop: batches from one tensor, the family's objective, Adam.

It knows nothing of files or the shell. Early stopping, the dead-unit policy
and progress are callbacks (`callbacks.default_callbacks`) that run before the
caller's; everything needed to continue exactly where training stopped lives
in the `TrainState`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .. import distributed
from ..allocator import tune_for_training
from ..data.rows import ScaledRows
from ..errors import DivergenceError
from ..families.base import Family
from . import numerics
from .callbacks import Callback, default_callbacks, restore_callbacks
from .config import TrainConfig
from .state import TrainState, keep_best, new_noise_generator, new_state
from .threads import threads_for
from .validation import as_rows, autocast, evaluate_loss


@dataclass
class _Run:
    """What stays fixed while one call of `train` runs."""

    module: nn.Module
    data: ScaledRows  # the training rows
    monitor: ScaledRows  # the rows early stopping watches: validation, else training
    held_out: bool  # whether `monitor` are validation rows
    cfg: TrainConfig
    family: Family
    world: distributed.World
    callbacks: Sequence[Callback]  # the loop's own, then the caller's
    objective: distributed.Objective = field(init=False)  # set once the start is scored

    def evaluate(self) -> tuple[float, dict[str, float], dict[str, float]]:
        """The monitored rows' loss, its parts and the dead share per layer."""
        c = self.cfg
        return evaluate_loss(
            self.module, self.monitor, c.loss, c.precision, self.family, self.world
        )


def train(
    module: nn.Module,
    X_train: torch.Tensor | ScaledRows,
    X_val: torch.Tensor | ScaledRows | None,
    cfg: TrainConfig,
    *,
    family: Family | None = None,
    seed: int = 0,
    callbacks: Sequence[Callback] = (),
    state: TrainState | None = None,
) -> TrainState:
    """Train `module` on its family's objective over `X_train`; return the `TrainState`.

    X_train and X_val are (rows, n_features) float32 tensors already on the
    module's device, or `ScaledRows` that scale each batch as it is taken.
    `family` gives the objective (default: plain reconstruction). Pass a
    `state` (from a checkpoint) to resume exactly. The best weights are in
    ``state.best_weights``; the caller decides whether to load them
    (`restore_best`). A family whose ``start_is_candidate`` is true has its
    starting point scored first: if no epoch beats it, it is what is kept.
    """
    tune_for_training()  # reuse freed memory: no page faults on every step's buffers
    family = family if family is not None else Family()
    world = distributed.world()  # rank 0 of 1 unless launched by torchrun
    if state is None:
        state = new_state(module, cfg, seed)
    if state.noise is None:
        state.noise = new_noise_generator(next(module.parameters()).device, seed)
    data = as_rows(X_train)
    held_out = X_val is not None and len(X_val) > 0
    monitor = as_rows(X_val) if X_val is not None and held_out else data
    hooks = [*default_callbacks(cfg, world), *callbacks]
    run = _Run(module, data, monitor, held_out, cfg, family, world, hooks)
    restore_callbacks(state, hooks)
    with threads_for(module, min(cfg.batch_size, len(data))):
        _run(run, state)
    return state


def _run(run: _Run, state: TrainState) -> None:
    """Score the start, then the epochs until the budget, patience or a stop ends them."""
    module, cfg, world = run.module, run.cfg, run.world
    _score_start(run, state)
    run.objective = distributed.objective(module, run.family, cfg.loss, world)
    for cb in run.callbacks:
        cb.on_train_begin(state)
    module.train()
    while state.epoch < cfg.max_epochs and not agree_to_stop(state, world):
        if state.stopped_early:  # resumed from a checkpoint that ran out of patience
            break
        if not _run_epoch(run, state):  # stopped mid-epoch
            break
        if state.stopped_early:
            break
    for cb in run.callbacks:
        cb.on_train_end(state)


def _score_start(run: _Run, state: TrainState) -> None:
    """Keep the starting point as the best so far, if the family makes it a candidate."""
    config = getattr(run.module, "config", None)
    if run.family.start_candidate(config) and state.epoch == 0 and state.step == 0:
        start_loss, _, _ = run.evaluate()
        if math.isfinite(start_loss) and state.best_weights is None:
            state.best_loss, state.best_epoch = start_loss, 0
            keep_best(state)


def _run_epoch(run: _Run, state: TrainState) -> bool:
    """The rest of the current epoch; False when a stop came before its end."""
    t0 = time.perf_counter()
    if state.step == 0:
        state.epoch_rng_state = state.generator.get_state()
        state.loss_sum = 0.0
        state.part_sums = {}
    else:  # resuming mid-epoch: replay the epoch's permutation
        assert state.epoch_rng_state is not None
        state.generator.set_state(state.epoch_rng_state)
    perm = run.data.order(state.generator).to(run.data.device)
    bs = run.cfg.batch_size
    n_batches = math.ceil(len(run.data) / bs)
    for b in range(state.step, n_batches):
        _step(run, state, perm[b * bs : (b + 1) * bs], b)
        for cb in run.callbacks:
            cb.on_batch_end(state)
        if agree_to_stop(state, run.world):
            break
    if state.step < n_batches:
        return False
    _end_epoch(run, state, t0)
    return True


def _step(run: _Run, state: TrainState, batch: torch.Tensor, b: int) -> None:
    """One optimizer step on the global batch of row positions `batch`, number `b`."""
    world, cfg = run.world, run.cfg
    # this rank's share of the global batch (all of it alone)
    here, weight = distributed.local_batch(batch, world)
    xb = run.data.take(here)  # (batch, n_features)
    with autocast(run.data.device, cfg.precision):
        loss, parts = run.objective(xb, state.noise)
    rows = len(xb) if weight else 0
    keys = list(parts)
    sums = [loss.item() * rows, *(parts[k].item() * rows for k in keys)]
    sums = distributed.all_sum(sums, world)  # the batch's, over all ranks
    if not math.isfinite(sums[0]):
        value = sums[0] / min(cfg.batch_size, len(run.data) - b * cfg.batch_size)
        raise DivergenceError(
            numerics.divergence_message(value, state.epoch, b, cfg, state.module)
        )
    state.optimizer.zero_grad(set_to_none=True)
    (loss * weight if world.enabled else loss).backward()
    state.optimizer.step()
    state.loss_sum += sums[0]
    for k, v in zip(keys, sums[1:], strict=True):
        state.part_sums[k] = state.part_sums.get(k, 0.0) + v
    state.step = b + 1
    if state.step % numerics.FLUSH_EVERY == 0:
        numerics.flush_subnormal_moments(state.optimizer)


def _end_epoch(run: _Run, state: TrainState, t0: float) -> None:
    """Close the epoch: evaluate, record it in the history, run the callbacks."""
    state.step = 0
    state.epoch += 1
    numerics.flush_subnormal_moments(state.optimizer)
    distributed.sync_generator(state.noise, run.world)  # ranks' shares may differ
    val_loss, val_parts, dead = run.evaluate()
    state.monitor_loss = val_loss
    n = len(run.data)
    record: dict[str, Any] = {
        "epoch": state.epoch,
        "train_loss": state.loss_sum / n,
        "val_loss": val_loss if run.held_out else None,
        "seconds": time.perf_counter() - t0,
        "dead_fraction": dead,
        "switched": [],  # filled by the dead-unit policy
    }
    if state.part_sums:
        record["train_parts"] = {k: v / n for k, v in state.part_sums.items()}
        record["val_parts"] = val_parts if run.held_out else None
    state.history.append(record)
    for cb in run.callbacks:
        cb.on_epoch_end(state)


def agree_to_stop(state: TrainState, world: distributed.World) -> bool:
    """Whether training stops here: the same answer, and signal, on every rank.

    A signal handler may set ``stop_requested`` and ``stop_signal`` between
    any two lines; they are read once here and, among ranks, combined (any
    rank's request, the largest signal), so that every rank stops at the same
    step and knows whether a signal stopped it. A request made after the read
    is seen at the next call.
    """
    requested, signum = int(state.stop_requested), state.stop_signal
    if world.enabled:
        requested, signum = distributed.all_max([requested, signum], world)
    if requested:
        state.stop_requested = True
        state.stop_signal = max(signum, state.stop_signal)
    return bool(requested)
