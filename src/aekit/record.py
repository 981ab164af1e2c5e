"""The record of one fit: its history, seed, epochs, timings and fit-time scores.

A `FitRecord` is what a fit produced besides the model (`aekit.FittedModel`);
model folders store it as config.json's ``training`` and ``metrics`` entries,
the report shows it, and the estimator's learned attributes (``history_``,
``best_epoch_``, ...) read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FitRecord:
    """What one fit produced besides the model; None where a model folder lacks it."""

    history: list[dict[str, Any]] = field(default_factory=list)  # one dict an epoch
    seed: int | None = None  # the seed the fit used (weights, split, batch order)
    n_epochs: int | None = None  # epochs trained
    best_epoch: int | None = None  # the epoch kept; 0: the start was never beaten
    best_loss: float = math.inf  # its validation loss
    stopped_early: bool | None = None  # patience ran out
    seconds: float | None = None  # wall time of the whole fit
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    metrics: dict[str, Any] | None = None  # fit-time scores; None: evaluate=False
    # the precision trained in and how it was chosen (precision="auto": a probe,
    # its cache, the device); None in folders written before "auto"
    precision: dict[str, Any] | None = None
