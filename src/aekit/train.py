"""The training loop: batches from one tensor, Adam, early stopping, dead-unit monitor.

It knows nothing of files or the shell. Everything it needs to continue exactly
where it stopped lives in `TrainState`, which callbacks (checkpoints, signals)
can read and save at any step boundary.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .allocator import tune_for_training
from .errors import DeadUnitWarning, DivergenceError
from .prepare import ScaledRows
from .registry import get_loss

DEAD_UNIT_POLICIES = ("warn", "switch", "ignore")
PRECISIONS = ("fp32", "bf16")
EVAL_BATCH = 4096  # rows per forward pass when nothing is learned
EVAL_VALUES = 2**23  # at most this many activations held at once by evaluate_loss
FLUSH_EVERY = 64  # steps between flushes of subnormal Adam moments (and at epoch end)
LARGEST_SUBNORMAL = float(
    torch.nextafter(torch.tensor(torch.finfo(torch.float32).tiny), torch.tensor(0.0))
)


@dataclass
class TrainConfig:
    """Options of the training loop (the model's own options live in AEConfig)."""

    max_epochs: int = 100  # upper bound on passes over the training rows
    batch_size: int = 64  # rows per optimizer step
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 0.0  # Adam L2 penalty
    patience: int | None = 10  # epochs without improvement before stopping; None: never
    loss: str = "mse"  # reconstruction loss, see registry.LOSSES
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
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
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
    epoch: int = 0  # epochs completed
    step: int = 0  # batches completed in the current epoch
    epoch_rng_state: torch.Tensor | None = None  # generator state at the epoch's start
    loss_sum: float = 0.0  # sum of row losses so far in the current epoch
    history: list[dict[str, Any]] = field(default_factory=list)
    best_loss: float = math.inf
    best_epoch: int = 0  # 1-based epoch of best_loss; 0: none yet
    best_weights: dict[str, torch.Tensor] | None = None
    bad_epochs: int = 0  # epochs since the last improvement
    warned_layers: list[str] = field(default_factory=list)
    stop_requested: bool = False  # set by a callback: stop at the next step boundary
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


def new_state(module: nn.Module, cfg: TrainConfig, seed: int) -> TrainState:
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed)
    return TrainState(
        module=module, optimizer=make_optimizer(module, cfg), generator=gen
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


@torch.no_grad()
def evaluate_loss(
    module: nn.Module,
    X: torch.Tensor | ScaledRows,
    loss: str = "mse",
    precision: str = "fp32",
) -> tuple[float, dict[str, float]]:
    """Mean loss over the rows of X and, per hidden layer, the fraction of dead units.

    A unit is dead when its pre-activation is <= 0 for every row: a ReLU then
    outputs zero for all of them and passes no gradient.
    """
    rows = _as_rows(X)
    was_training = module.training
    module.eval()
    loss_fn = get_loss(loss)
    total = 0.0
    alive: dict[str, torch.Tensor] = {}
    with _autocast(rows.device, precision):
        for xb in rows.chunks(eval_rows(module)):
            out, pre = module.forward_with_preactivations(xb)  # type: ignore[operator]
            total += loss_fn(out.float(), xb).item() * len(xb)
            for name, p in pre.items():
                a = (p > 0).any(dim=0)
                alive[name] = a if name not in alive else alive[name] | a
            del out, pre
    module.train(was_training)
    dead = {name: 1.0 - a.float().mean().item() for name, a in alive.items()}
    return total / max(len(rows), 1), dead


def _apply_dead_policy(
    state: TrainState, dead: dict[str, float], cfg: TrainConfig
) -> list[str]:
    """Act on ReLU layers past the threshold; return the layers switched."""
    if cfg.dead_units == "ignore":
        return []
    switched = []
    module = state.module
    for name, stack, idx in module.hidden_layers():  # type: ignore[operator]
        frac = dead.get(name, 0.0)
        if not isinstance(stack[idx], nn.ReLU) or frac < cfg.dead_unit_threshold:
            continue
        if cfg.dead_units == "switch":
            module.switch_activation(name, "leaky_relu")  # type: ignore[operator]
            switched.append(name)
        elif name not in state.warned_layers:
            state.warned_layers.append(name)
            warnings.warn(
                f"{frac:.0%} of the ReLU units in hidden layer {name} output zero for "
                f"every validation row (threshold {cfg.dead_unit_threshold:.0%}); "
                "consider activation='leaky_relu', a lower lr, or dead_units='switch'",
                DeadUnitWarning,
                stacklevel=2,
            )
    return switched


def _progress(cfg: TrainConfig, state: TrainState) -> Any:
    from tqdm.auto import tqdm

    show = cfg.verbose >= 1 and sys.stderr.isatty()
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
    seed: int = 0,
    callbacks: Sequence[Callback] = (),
    state: TrainState | None = None,
) -> TrainState:
    """Train `module` to reconstruct `X_train`; return the final `TrainState`.

    X_train and X_val are (rows, n_features) float32 tensors already on the
    module's device, or `ScaledRows` that scale each batch as it is taken.
    Pass a `state` (from a checkpoint) to resume exactly. The best weights are
    in ``state.best_weights``; the caller decides whether to load them
    (`restore_best`).
    """
    tune_for_training()  # reuse freed memory: no page faults on every step's buffers
    if state is None:
        state = new_state(module, cfg, seed)
    loss_fn = get_loss(cfg.loss)
    data = _as_rows(X_train)
    held_out = X_val is not None and len(X_val) > 0
    monitor = _as_rows(X_val) if X_val is not None and held_out else data
    device = data.device
    n, bs = len(data), cfg.batch_size
    n_batches = math.ceil(n / bs)
    bar = _progress(cfg, state)
    for cb in callbacks:
        cb.on_train_begin(state)
    module.train()
    while state.epoch < cfg.max_epochs and not state.stop_requested:
        if state.stopped_early:  # resumed from a checkpoint that ran out of patience
            break
        t0 = time.perf_counter()
        if state.step == 0:
            state.epoch_rng_state = state.generator.get_state()
            state.loss_sum = 0.0
        else:  # resuming mid-epoch: replay the epoch's permutation
            assert state.epoch_rng_state is not None
            state.generator.set_state(state.epoch_rng_state)
        perm = torch.randperm(n, generator=state.generator).to(device)
        for b in range(state.step, n_batches):
            xb = data.take(perm[b * bs : (b + 1) * bs])  # (batch, n_features)
            with _autocast(device, cfg.precision):
                out = module(xb)
            loss = loss_fn(out.float(), xb)
            value = loss.item()
            if not math.isfinite(value):
                raise DivergenceError(
                    f"training diverged: the loss became {value} at epoch "
                    f"{state.epoch + 1}, step {b + 1}; the learning rate (lr={cfg.lr:g}) "
                    "is the likely cause, try a value 10x smaller"
                )
            state.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            state.optimizer.step()
            state.loss_sum += value * len(xb)
            state.step = b + 1
            if state.step % FLUSH_EVERY == 0:
                flush_subnormal_moments(state.optimizer)
            for cb in callbacks:
                cb.on_batch_end(state)
            if state.stop_requested:
                break
        if state.step < n_batches:  # stopped mid-epoch
            break
        state.step = 0
        state.epoch += 1
        flush_subnormal_moments(state.optimizer)
        val_loss, dead = evaluate_loss(module, monitor, cfg.loss, cfg.precision)
        if val_loss < state.best_loss:
            state.best_loss, state.best_epoch, state.bad_epochs = (
                val_loss,
                state.epoch,
                0,
            )
            _keep_best(state)
        else:
            state.bad_epochs += 1
        switched = _apply_dead_policy(state, dead, cfg)
        state.history.append(
            {
                "epoch": state.epoch,
                "train_loss": state.loss_sum / n,
                "val_loss": val_loss if held_out else None,
                "seconds": time.perf_counter() - t0,
                "dead_fraction": dead,
                "switched": switched,
            }
        )
        if cfg.verbose >= 2:
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
