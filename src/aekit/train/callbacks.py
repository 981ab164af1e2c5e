"""Callbacks: hooks into the loop, and the loop's own behaviours built from them.

`Callback` has a no-op method per hook. The loop runs `default_callbacks`
(early stopping, the dead-unit policy, progress) before the caller's, at every
hook. They keep what must survive a resume in the `TrainState` (best loss and
weights, bad epochs, layers warned about), which checkpoints save, so they
carry no state of their own. A caller's callback that does (a tracking run's
id, say) returns it from `state_dict`: checkpoints save it under the
callback's `state_key`, and a resumed run hands it back to `load_state_dict`
before ``on_train_begin``.

`AutoEncoder.fit` also calls the fit's hooks: ``on_fit_begin`` with the
estimator's parameters, ``on_fit_end`` with the `FitRecord` (history and
fit-time scores) once the model is final, ``on_exception`` when the fit fails.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import nn

from .. import distributed
from ..errors import DeadUnitWarning
from ..layers import hidden_layers, switch_activation
from ..logs import get_logger, say
from .config import TrainConfig
from .state import TrainState, keep_best

if TYPE_CHECKING:
    from ..record import FitRecord


class Callback:
    """Base class of training callbacks; every hook is a no-op until overridden.

    A hook may set ``state.stop_requested = True`` to end training at the next
    step boundary (the state then still describes a consistent point to resume).
    At ``on_epoch_end``, ``state.history[-1]`` is the epoch's record.
    """

    @property
    def state_key(self) -> str:
        """The name its `state_dict` is saved under in a checkpoint: one per callback."""
        return type(self).__qualname__

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs of this callback, as JSON values; {}: nothing."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from what `state_dict` returned when the checkpoint was saved."""

    def on_fit_begin(self, params: Mapping[str, Any]) -> None:
        """Before training: the estimator's parameters, as JSON values."""

    def on_fit_end(self, record: FitRecord) -> None:
        """After the fit: its record, with the fit-time scores when evaluated."""

    def on_exception(self, error: BaseException) -> None:
        """The fit raised `error` (a divergence, an interrupt, ...); it propagates."""

    def on_train_begin(self, state: TrainState) -> None:
        pass

    def on_batch_end(self, state: TrainState) -> None:
        pass

    def on_epoch_end(self, state: TrainState) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass


class EarlyStopping(Callback):
    """Keep the best weights by ``state.monitor_loss``; stop after `patience` worse.

    `patience` is in epochs; None never stops (the best weights are still kept).
    """

    def __init__(self, patience: int | None) -> None:
        self.patience = patience

    def on_epoch_end(self, state: TrainState) -> None:
        if state.monitor_loss < state.best_loss:
            state.best_loss, state.best_epoch = state.monitor_loss, state.epoch
            state.bad_epochs = 0
            keep_best(state)
        else:
            state.bad_epochs += 1
        if self.patience is not None and state.bad_epochs >= self.patience:
            state.stopped_early = True


class StartDecision(Callback):
    """Stop as soon as the trained model cannot win the start test; the start wins.

    A family whose start is a candidate keeps the trained model only when, at
    its best epoch, the paired per-row gain over the start on the validation
    rows is above `z` standard errors (`aekit.fitting.start_test`). This runs
    the same paired test after every epoch, and stops training when

    - the best epoch so far fails the final test, so that stopping now returns
      the start, as the final test would on the weights kept so far; and
    - the model cannot become the best epoch before early stopping would end
      training anyway: its mean gain plus `futility_z` standard errors, plus
      its rate of gain over the last `epochs` epochs (none if falling) for
      each epoch patience still allows, stays below the best epoch's gain
      (0 while the start is the best).

    `errors` maps the module to its per-row squared errors on the validation
    rows (in eval mode); `start_errors` are the start's. `patience` and
    `max_epochs` are the loop's. With ``stop=False`` it only records (the
    statistics, and the epoch it would have stopped at). What it saw is its
    `state_dict`, so a resumed run decides the same way.
    """

    def __init__(
        self,
        start_errors: np.ndarray,
        errors: Callable[[nn.Module], np.ndarray],
        z: float,
        futility_z: float,
        epochs: int,
        patience: int | None,
        max_epochs: int,
        stop: bool = True,
    ) -> None:
        self.start_errors = np.asarray(start_errors, np.float64)
        self.errors, self.z, self.futility_z = errors, z, futility_z
        self.epochs, self.patience, self.max_epochs = epochs, patience, max_epochs
        self.stop = stop
        self.trace: list[list[float]] = []  # per epoch: [epoch, mean gain, SE]
        self.best_gain = 0.0  # the mean gain of the best epoch so far (start: 0)
        self.best_z = -math.inf  # ... and its paired z (the start: -inf)
        self.decided_epoch: int | None = None  # when it stopped (or would have)

    def state_dict(self) -> dict[str, Any]:
        return {
            "trace": self.trace,
            "best_gain": self.best_gain,
            "best_z": None if math.isinf(self.best_z) else self.best_z,
            "decided_epoch": self.decided_epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.trace = [list(t) for t in state.get("trace", [])]
        self.best_gain = float(state.get("best_gain", 0.0))
        best = state.get("best_z")
        self.best_z = -math.inf if best is None else float(best)
        self.decided_epoch = state.get("decided_epoch")

    def on_epoch_end(self, state: TrainState) -> None:
        if self.decided_epoch is not None:
            if self.stop:
                state.stopped_early = True
            return
        gain = self.start_errors - np.asarray(self.errors(state.module), np.float64)
        n = len(gain)
        mean = float(gain.mean())
        se = float(gain.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
        self.trace.append([state.epoch, mean, se])
        if state.best_epoch == state.epoch:  # early stopping just kept this epoch
            self.best_gain = mean
            self.best_z = mean / se if se > 0 else math.copysign(math.inf, mean)
        if self._settled(state):
            self.decided_epoch = state.epoch
            if self.stop:
                state.stopped_early = True

    def _settled(self, state: TrainState) -> bool:
        """Whether the start test is settled in the start's favour (see the class)."""
        if state.best_epoch > 0 and self.best_z > self.z:
            return False
        if len(self.trace) <= self.epochs:
            return False
        _, mean, se = self.trace[-1]
        rate = max(0.0, (mean - self.trace[-self.epochs - 1][1]) / self.epochs)
        left = self.max_epochs - state.epoch
        if self.patience is not None:
            left = min(left, self.patience - state.bad_epochs)
        return mean + self.futility_z * se + left * rate < max(self.best_gain, 0.0)


class DeadUnitPolicy(Callback):
    """Act on ReLU layers whose dead share reaches `threshold` after an epoch.

    `policy` "warn" warns once per layer (on rank 0 alone), "switch" turns the
    layer into leaky_relu, "ignore" does nothing. The layers switched go into
    the epoch's record, under "switched".
    """

    def __init__(
        self, policy: str, threshold: float, world: distributed.World | None = None
    ) -> None:
        self.policy, self.threshold, self.world = policy, threshold, world

    def on_epoch_end(self, state: TrainState) -> None:
        if self.policy == "ignore":
            return
        record = state.history[-1]
        module = state.module
        for name, stack, idx in list(hidden_layers(module)):
            frac = record["dead_fraction"].get(name, 0.0)
            if not isinstance(stack[idx], nn.ReLU) or frac < self.threshold:
                continue
            if self.policy == "switch":
                switch_activation(module, name, "leaky_relu")
                record["switched"].append(name)
            elif name not in state.warned_layers:
                state.warned_layers.append(name)
                if self.world is not None and not self.world.is_main:
                    continue  # rank 0 says it for all
                warnings.warn(
                    f"{frac:.0%} of the ReLU units in hidden layer {name} output zero "
                    f"for every validation row (threshold {self.threshold:.0%}); "
                    "consider activation='leaky_relu', a lower lr, or "
                    "dead_units='switch'",
                    DeadUnitWarning,
                    stacklevel=2,
                )


class ProgressBar(Callback):
    """On rank 0: a bar of epochs on a terminal (verbose >= 1), a line an epoch (2).

    The bar is tqdm's, on stderr; the lines are records of the ``aekit.train``
    logger (see `aekit.logs`).
    """

    def __init__(
        self, max_epochs: int, verbose: int, world: distributed.World | None = None
    ) -> None:
        self.max_epochs, self.verbose = max_epochs, verbose
        self.is_main = world is None or world.is_main
        self.bar: Any = None

    def on_train_begin(self, state: TrainState) -> None:
        from tqdm.auto import tqdm

        show = self.verbose >= 1 and sys.stderr.isatty() and self.is_main
        self.bar = tqdm(
            total=self.max_epochs,
            initial=state.epoch,
            disable=not show,
            unit="epoch",
            leave=False,
            dynamic_ncols=True,
        )

    def on_epoch_end(self, state: TrainState) -> None:
        if self.verbose >= 2 and self.is_main:
            say(get_logger("train"), epoch_line(state.history[-1], self.max_epochs))
        self.bar.set_postfix(loss=f"{state.monitor_loss:.4g}", refresh=False)
        self.bar.update(1)

    def on_train_end(self, state: TrainState) -> None:
        self.bar.close()


def default_callbacks(
    cfg: TrainConfig, world: distributed.World | None = None
) -> list[Callback]:
    """The loop's own behaviours, in the order they run: stop, dead units, progress."""
    return [
        EarlyStopping(cfg.patience),
        DeadUnitPolicy(cfg.dead_units, cfg.dead_unit_threshold, world),
        ProgressBar(cfg.max_epochs, cfg.verbose, world),
    ]


def restore_callbacks(state: TrainState, callbacks: Sequence[Callback]) -> None:
    """Give each callback its state saved in the checkpoint `state` came from."""
    state.callbacks = callbacks
    for cb in callbacks:
        saved = state.callback_states.get(cb.state_key)
        if saved is not None:
            cb.load_state_dict(saved)


def callback_states(state: TrainState) -> dict[str, dict[str, Any]]:
    """The callbacks' states to save with `state`, by key (and those restored)."""
    states = dict(state.callback_states)
    for cb in state.callbacks:
        saved = cb.state_dict()
        if saved:
            states[cb.state_key] = saved
    return states


def epoch_line(h: dict[str, Any], max_epochs: int) -> str:
    """The line verbose=2 prints for the epoch record `h`."""
    val = "" if h["val_loss"] is None else f" val_loss {h['val_loss']:.5f}"
    dead = max(h["dead_fraction"].values(), default=0.0)
    return (
        f"epoch {h['epoch']}/{max_epochs} train_loss {h['train_loss']:.5f}{val} "
        f"max_dead {dead:.0%} {h['seconds']:.2f}s"
    )
