"""The training loop's options, and the "auto" budget in epochs.

`TrainConfig`'s defaults and checks are the estimator's (`aekit.params.PARAMS`),
with max_epochs and patience as the numbers "auto" resolves to at least.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InvalidParameterError
from ..params import PARAMS, check_params

DEAD_UNIT_POLICIES = ("warn", "switch", "ignore")
PRECISIONS = ("fp32", "bf16")

# max_epochs="auto": a budget in optimizer steps as well as epochs, so that a
# small table (one step an epoch) may train as long as a large one. Patience
# stays in epochs: counted in steps, a table of 50 rows waited hundreds of
# epochs on 5 validation rows and kept noise (docs/families.md, "Budget").
AUTO_MIN_EPOCHS = 200  # max_epochs="auto" is at least this
AUTO_STEPS = 10_000  # ... and enough epochs for this many optimizer steps
AUTO_PATIENCE = 20  # patience="auto"


def _label(name: str) -> str:
    """How a TrainConfig field is named in an error message."""
    return f"The {name!r} parameter of TrainConfig"


@dataclass
class TrainConfig:
    """Options of the training loop (the model's own options live in its family's config).

    Defaults and checks are those of the AutoEncoder's parameters of the same
    name; max_epochs and patience are numbers of epochs (`resolve_budget`
    turns "auto" into them).

    >>> TrainConfig(max_epochs=3).patience
    20
    """

    max_epochs: int = AUTO_MIN_EPOCHS  # upper bound on passes over the training rows
    batch_size: int = PARAMS["batch_size"].default  # rows per optimizer step
    lr: float = PARAMS["lr"].default  # Adam learning rate
    weight_decay: float = PARAMS["weight_decay"].default  # Adam L2 penalty
    patience: int | None = AUTO_PATIENCE  # epochs without improvement; None: never
    loss: str = PARAMS["loss"].default  # reconstruction loss, see losses.LOSSES
    # what to do when a ReLU layer dies: warn | switch | ignore
    dead_units: str = PARAMS["dead_units"].default
    # fraction of dead units that triggers the policy
    dead_unit_threshold: float = PARAMS["dead_unit_threshold"].default
    precision: str = "fp32"  # fp32, or bf16 autocast ("auto" is resolved before)
    verbose: int = PARAMS["verbose"].default  # 0 quiet, 1 progress bar, 2 line/epoch

    def __post_init__(self) -> None:
        values = vars(self)
        check_params(values, _label)
        for name in ("max_epochs", "patience"):
            if values[name] == "auto":
                raise InvalidParameterError(
                    f"{_label(name)} must be a number of epochs; 'auto' is resolved "
                    "by resolve_budget first. Got 'auto' instead."
                )
        if values["precision"] not in PRECISIONS:
            raise InvalidParameterError(
                f"{_label('precision')} must be one of {PRECISIONS}; 'auto' is "
                "resolved by aekit.train.choose_precision first. Got "
                f"{values['precision']!r} instead."
            )


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
