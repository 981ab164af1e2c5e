"""Training: the loop, its state, its options and its callbacks.

The modules: `config` (TrainConfig and the "auto" budget), `state` (TrainState,
the optimizer, the generators, the best weights), `callbacks` (the Callback
hooks, and early stopping, the dead-unit policy and progress built from them),
`validation` (the loss on held-out rows, dead units), `numerics` (subnormal
Adam moments, divergence), `loop` (`train`, and the agreement of ranks to stop),
`timing` (a few timed steps and a timed validation pass), `precision`
(what precision="auto" chooses, from a probe or its cache) and `threads` (one
CPU thread for a network too small to share).
"""

from __future__ import annotations

from .callbacks import (
    Callback,
    DeadUnitPolicy,
    EarlyStopping,
    ProgressBar,
    StartDecision,
    callback_states,
    default_callbacks,
    epoch_line,
    restore_callbacks,
)
from .config import (
    AUTO_MIN_EPOCHS,
    AUTO_PATIENCE,
    AUTO_STEPS,
    DEAD_UNIT_POLICIES,
    PRECISIONS,
    TrainConfig,
    resolve_budget,
)
from .loop import agree_to_stop, train
from .numerics import (
    FLUSH_EVERY,
    LARGEST_SUBNORMAL,
    divergence_message,
    flush_subnormal_moments,
)
from .precision import (
    AUTO_PRECISION,
    BF16_MARGIN,
    PrecisionChoice,
    cache_dir,
    choose_precision,
)
from .state import (
    NOISE_SEED_OFFSET,
    TrainState,
    keep_best,
    make_optimizer,
    new_noise_generator,
    new_state,
    restore_best,
)
from .threads import SMALL_STEP_MACS, step_macs, threads_for, training_threads
from .timing import StepTimes, time_steps, time_validation
from .validation import EVAL_VALUES, as_rows, autocast, eval_rows, evaluate_loss

__all__ = [
    "AUTO_MIN_EPOCHS",
    "AUTO_PRECISION",
    "BF16_MARGIN",
    "AUTO_PATIENCE",
    "AUTO_STEPS",
    "DEAD_UNIT_POLICIES",
    "EVAL_VALUES",
    "FLUSH_EVERY",
    "LARGEST_SUBNORMAL",
    "NOISE_SEED_OFFSET",
    "PRECISIONS",
    "SMALL_STEP_MACS",
    "Callback",
    "DeadUnitPolicy",
    "EarlyStopping",
    "PrecisionChoice",
    "ProgressBar",
    "StartDecision",
    "StepTimes",
    "TrainConfig",
    "TrainState",
    "agree_to_stop",
    "as_rows",
    "autocast",
    "cache_dir",
    "callback_states",
    "choose_precision",
    "default_callbacks",
    "divergence_message",
    "epoch_line",
    "eval_rows",
    "evaluate_loss",
    "flush_subnormal_moments",
    "keep_best",
    "make_optimizer",
    "new_noise_generator",
    "new_state",
    "resolve_budget",
    "restore_callbacks",
    "restore_best",
    "step_macs",
    "threads_for",
    "time_steps",
    "time_validation",
    "train",
    "training_threads",
]
