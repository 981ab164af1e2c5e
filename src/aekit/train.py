"""The training loop: batches from one tensor, the family's objective, Adam,
early stopping and the dead-unit monitor.

It knows nothing of files or the shell. Everything it needs to continue exactly
where it stopped lives in `TrainState`, which callbacks (checkpoints, signals)
can read and save at any step boundary.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from . import distributed
from .allocator import tune_for_training
from .data.rows import ScaledRows
from .errors import DeadUnitWarning, DivergenceError
from .families.base import Family
from .fitted import EVAL_BATCH
from .layers import hidden_layers, switch_activation
from .losses import get_loss

DEAD_UNIT_POLICIES = ("warn", "switch", "ignore")
PRECISIONS = ("fp32", "bf16")
EVAL_VALUES = 2**23  # at most this many activations held at once by evaluate_loss
FLUSH_EVERY = 64  # steps between flushes of subnormal Adam moments (and at epoch end)
LARGEST_SUBNORMAL = float(
    torch.nextafter(torch.tensor(torch.finfo(torch.float32).tiny), torch.tensor(0.0))
)


@dataclass
class TrainConfig:
    """Options of the training loop (the model's own options live in its family's config)."""

    max_epochs: int = 100  # upper bound on passes over the training rows
    batch_size: int = 64  # rows per optimizer step
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 0.0  # Adam L2 penalty
    patience: int | None = 10  # epochs without improvement before stopping; None: never
    loss: str = "mse"  # reconstruction loss, see losses.LOSSES
    dead_units: str = (
        "warn"  # what to do when a ReLU layer dies: warn | switch | ignore
    )
    dead_unit_threshold: float = 0.5  # fraction of dead units that triggers the policy
    precision: str = "fp32"  # fp32, or bf16 autocast with fp32 master weights
    verbose: int = 1  # 0 quiet, 1 progress bar on a terminal, 2 a line per epoch

    def __post_init__(self) -> None:
        def positive_int(name: str) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")

        positive_int("max_epochs")
        positive_int("batch_size")
        if self.patience is not None:
            positive_int("patience")
        if not (
            isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0
        ):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}")
        wd = self.weight_decay
        if not (
            isinstance(wd, (int, float))
            and not isinstance(wd, bool)
            and math.isfinite(wd)
            and wd >= 0
        ):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {wd!r}")
        get_loss(self.loss)
        if self.dead_units not in DEAD_UNIT_POLICIES:
            raise ValueError(
                f"unknown dead_units policy {self.dead_units!r}; "
                f"choose from {sorted(DEAD_UNIT_POLICIES)}"
            )
        if not 0 < self.dead_unit_threshold <= 1:
            raise ValueError(
                f"dead_unit_threshold must be in (0, 1], got {self.dead_unit_threshold!r}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"unknown precision {self.precision!r}; choose from {sorted(PRECISIONS)}"
            )


# max_epochs="auto": a budget in optimizer steps as well as epochs, so that a
# small table (one step an epoch) may train as long as a large one. Patience
# stays in epochs: counted in steps, a table of 50 rows waited hundreds of
# epochs on 5 validation rows and kept noise (docs/families.md, "Budget").
AUTO_MIN_EPOCHS = 200  # max_epochs="auto" is at least this
AUTO_STEPS = 10_000  # ... and enough epochs for this many optimizer steps
AUTO_PATIENCE = 20  # patience="auto"


def resolve_budget(
    max_epochs: int | str, patience: int | str | None, n_rows: int, batch_size: int
) -> tuple[int, int | None]:
    """max_epochs and patience as numbers of epochs for `n_rows` training rows.

    max_epochs="auto": at least AUTO_MIN_EPOCHS epochs and AUTO_STEPS
    optimizer steps; patience="auto": AUTO_PATIENCE epochs.

    >>> resolve_budget("auto", "auto", 8000, 64)  # 125 steps an epoch
    (200, 20)
    >>> resolve_budget("auto", "auto", 50, 64)  # one step an epoch
    (10000, 20)
    """
    steps = max(1, math.ceil(n_rows / batch_size))
    if max_epochs == "auto":
        max_epochs = max(AUTO_MIN_EPOCHS, math.ceil(AUTO_STEPS / steps))
    if patience == "auto":
        patience = AUTO_PATIENCE
    return int(max_epochs), None if patience is None else int(patience)


class Callback:
    """Base class of training callbacks; every hook is a no-op until overridden.

    A hook may set ``state.stop_requested = True`` to end training at the next
    step boundary (the state then still describes a consistent point to resume).
    """

    def on_train_begin(self, state: TrainState) -> None:
        pass

    def on_batch_end(self, state: TrainState) -> None:
        pass

    def on_epoch_end(self, state: TrainState) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass


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


NOISE_SEED_OFFSET = 0x5EED  # the noise generator's seed is the run's seed + this


def new_noise_generator(device: torch.device, seed: int) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed + NOISE_SEED_OFFSET)
    return gen


def new_state(module: nn.Module, cfg: TrainConfig, seed: int) -> TrainState:
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    device = next(module.parameters()).device
    return TrainState(
        module=module,
        optimizer=make_optimizer(module, cfg),
        generator=gen,
        noise=new_noise_generator(device, seed),
    )


def _autocast(device: torch.device, precision: str) -> torch.autocast:
    return torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=precision == "bf16"
    )


def _as_rows(X: torch.Tensor | ScaledRows) -> ScaledRows:
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
    full = _as_rows(X)
    w = world if world is not None else distributed.World()
    rows = full
    if w.enabled:
        start, count = distributed.share(len(full), w)
        rows = full.subset(np.arange(start, start + count))
    family = family if family is not None else Family()
    was_training = module.training
    module.eval()
    total, parts = 0.0, dict[str, float]()
    with _watch_units(module) as alive, _autocast(rows.device, precision):
        for xb in rows.chunks(eval_rows(module)):
            value, named = family.objective(module, xb, loss=loss, rng=None)
            total += value.item() * len(xb)
            for k, v in named.items():
                parts[k] = parts.get(k, 0.0) + v.item() * len(xb)
    module.train(was_training)
    if w.enabled:  # the same layers on every rank, seen or not
        for name, stack, i in hidden_layers(module):
            if name not in alive:
                width = getattr(stack[i - 1], "out_features", None) if i else None
                alive[name] = torch.zeros(width or 0, dtype=torch.bool)
        keys = sorted(parts)
        sums = distributed.all_sum([total, *(parts[k] for k in keys)], w)
        total, parts = sums[0], dict(zip(keys, sums[1:], strict=True))
        alive = distributed.all_or(alive, w)
    n = max(len(full), 1)
    dead = {name: 1.0 - a.float().mean().item() for name, a in alive.items()}
    return total / n, {k: v / n for k, v in parts.items()}, dead


def _apply_dead_policy(
    state: TrainState,
    dead: dict[str, float],
    cfg: TrainConfig,
    world: distributed.World | None = None,
) -> list[str]:
    """Act on ReLU layers past the threshold; return the layers switched."""
    if cfg.dead_units == "ignore":
        return []
    switched = []
    module = state.module
    for name, stack, idx in list(hidden_layers(module)):
        frac = dead.get(name, 0.0)
        if not isinstance(stack[idx], nn.ReLU) or frac < cfg.dead_unit_threshold:
            continue
        if cfg.dead_units == "switch":
            switch_activation(module, name, "leaky_relu")
            switched.append(name)
        elif name not in state.warned_layers:
            state.warned_layers.append(name)
            if world is not None and not world.is_main:
                continue  # rank 0 says it for all
            warnings.warn(
                f"{frac:.0%} of the ReLU units in hidden layer {name} output zero for "
                f"every validation row (threshold {cfg.dead_unit_threshold:.0%}); "
                "consider activation='leaky_relu', a lower lr, or dead_units='switch'",
                DeadUnitWarning,
                stacklevel=2,
            )
    return switched


def _progress(cfg: TrainConfig, state: TrainState, world: distributed.World) -> Any:
    from tqdm.auto import tqdm

    show = cfg.verbose >= 1 and sys.stderr.isatty() and world.is_main
    return tqdm(
        total=cfg.max_epochs,
        initial=state.epoch,
        disable=not show,
        unit="epoch",
        leave=False,
        dynamic_ncols=True,
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
    data = _as_rows(X_train)
    held_out = X_val is not None and len(X_val) > 0
    monitor = _as_rows(X_val) if X_val is not None and held_out else data
    device = data.device
    n, bs = len(data), cfg.batch_size
    n_batches = math.ceil(n / bs)
    config = getattr(module, "config", None)
    if family.start_candidate(config) and state.epoch == 0 and state.step == 0:
        start_loss, _, _ = evaluate_loss(
            module, monitor, cfg.loss, cfg.precision, family, world
        )
        if math.isfinite(start_loss) and state.best_weights is None:
            state.best_loss, state.best_epoch = start_loss, 0
            _keep_best(state)
    bar = _progress(cfg, state, world)
    objective = distributed.objective(module, family, cfg.loss, world)
    for cb in callbacks:
        cb.on_train_begin(state)
    module.train()
    while state.epoch < cfg.max_epochs and not agree_to_stop(state, world):
        if state.stopped_early:  # resumed from a checkpoint that ran out of patience
            break
        t0 = time.perf_counter()
        if state.step == 0:
            state.epoch_rng_state = state.generator.get_state()
            state.loss_sum = 0.0
            state.part_sums = {}
        else:  # resuming mid-epoch: replay the epoch's permutation
            assert state.epoch_rng_state is not None
            state.generator.set_state(state.epoch_rng_state)
        perm = data.order(state.generator).to(device)
        for b in range(state.step, n_batches):
            # this rank's share of the global batch (all of it alone)
            here, weight = distributed.local_batch(perm[b * bs : (b + 1) * bs], world)
            xb = data.take(here)  # (batch, n_features)
            with _autocast(device, cfg.precision):
                loss, parts = objective(xb, state.noise)
            rows = len(xb) if weight else 0
            keys = list(parts)
            sums = [loss.item() * rows, *(parts[k].item() * rows for k in keys)]
            sums = distributed.all_sum(sums, world)  # the batch's, over all ranks
            global_rows = min(bs, n - b * bs)
            if not math.isfinite(sums[0]):
                value = sums[0] / global_rows
                raise DivergenceError(divergence_message(value, state.epoch, b, cfg))
            state.optimizer.zero_grad(set_to_none=True)
            (loss * weight if world.enabled else loss).backward()
            state.optimizer.step()
            state.loss_sum += sums[0]
            for k, v in zip(keys, sums[1:], strict=True):
                state.part_sums[k] = state.part_sums.get(k, 0.0) + v
            state.step = b + 1
            if state.step % FLUSH_EVERY == 0:
                flush_subnormal_moments(state.optimizer)
            for cb in callbacks:
                cb.on_batch_end(state)
            if agree_to_stop(state, world):
                break
        if state.step < n_batches:  # stopped mid-epoch
            break
        state.step = 0
        state.epoch += 1
        flush_subnormal_moments(state.optimizer)
        distributed.sync_generator(state.noise, world)  # ranks' shares may differ
        val_loss, val_parts, dead = evaluate_loss(
            module, monitor, cfg.loss, cfg.precision, family, world
        )
        if val_loss < state.best_loss:
            state.best_loss, state.best_epoch, state.bad_epochs = (
                val_loss,
                state.epoch,
                0,
            )
            _keep_best(state)
        else:
            state.bad_epochs += 1
        switched = _apply_dead_policy(state, dead, cfg, world)
        record: dict[str, Any] = {
            "epoch": state.epoch,
            "train_loss": state.loss_sum / n,
            "val_loss": val_loss if held_out else None,
            "seconds": time.perf_counter() - t0,
            "dead_fraction": dead,
            "switched": switched,
        }
        if state.part_sums:
            record["train_parts"] = {k: v / n for k, v in state.part_sums.items()}
            record["val_parts"] = val_parts if held_out else None
        state.history.append(record)
        if cfg.verbose >= 2 and world.is_main:
            print(_epoch_line(state.history[-1], cfg.max_epochs), file=sys.stderr)
        bar.set_postfix(loss=f"{val_loss:.4g}", refresh=False)
        bar.update(1)
        for cb in callbacks:
            cb.on_epoch_end(state)
        if cfg.patience is not None and state.bad_epochs >= cfg.patience:
            state.stopped_early = True
            break
    bar.close()
    for cb in callbacks:
        cb.on_train_end(state)
    return state


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


def _keep_best(state: TrainState) -> None:
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


def _epoch_line(h: dict[str, Any], max_epochs: int) -> str:
    val = "" if h["val_loss"] is None else f" val_loss {h['val_loss']:.5f}"
    dead = max(h["dead_fraction"].values(), default=0.0)
    return (
        f"epoch {h['epoch']}/{max_epochs} train_loss {h['train_loss']:.5f}{val} "
        f"max_dead {dead:.0%} {h['seconds']:.2f}s"
    )
