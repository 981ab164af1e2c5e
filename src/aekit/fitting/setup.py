"""A fit's setup: the family's config, seed or resume, scaling, rows, budget and PCA.

`setup_run` turns validated rows and the estimator's parameters into one
`FitRun`, which the rest of the fit (`aekit.fitting.run`) reads; it allocates
nothing for the network before the memory check has passed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state

from .. import checkpoint as ck
from .. import distributed
from ..data.rows import SHUFFLE_BLOCK_ROWS, ScaledRows, as_tensor, is_mapped, split_rows
from ..devices import resolve_device
from ..errors import InvalidParameterError
from ..families import Family, get_family
from ..logs import get_logger, say
from ..memory import check_training_memory
from ..params import to_json
from ..pca import PCABaseline, fit_baseline
from ..scaling import MinMaxScaling, check_unit_range, fit_scaling
from ..train import (
    PRECISIONS,
    Callback,
    PrecisionChoice,
    TrainConfig,
    choose_precision,
    resolve_budget,
)


@dataclass
class FitRun:
    """Everything one fit decided before training; what its end reads."""

    family: Family
    config: Any  # the family's config dataclass
    params: dict[str, Any]  # the estimator's parameters as JSON holds them
    device: torch.device
    world: distributed.World
    seed: int
    scaling: MinMaxScaling | None
    rows: torch.Tensor  # every row passed to fit, unscaled, on `device`
    train: ScaledRows
    val: ScaledRows | None
    tcfg: TrainConfig
    started: float  # time.perf_counter() when the fit began
    evaluate: bool = True  # fit-time scores, PCA baseline and threshold at the end
    feature_names: Sequence[str] | None = None
    callbacks: list[Callback] = field(default_factory=list)  # the caller's
    checkpoint_dir: str | os.PathLike[str] | None = None
    saver: ck.CheckpointCallback | None = None  # rank 0 with a checkpoint_dir
    resumed: ck.Checkpoint | None = None
    fingerprint: dict[str, Any] | None = None  # of the rows, for resume checks
    pca: PCABaseline | None = None  # of the training rows
    pca_info: dict[str, Any] | None = None  # what fit_baseline said of it
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    precision: PrecisionChoice | None = None  # how tcfg.precision was chosen

    @property
    def everything(self) -> ScaledRows:
        """Every row passed to fit, scaled as the network sees it."""
        return ScaledRows(self.rows, None, self.scaling)

    def new_module(self, device: torch.device | None = None) -> torch.nn.Module:
        """A fresh module of the config, seeded with the run's seed."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return self.family.build(self.config).to(device or self.device)


def setup_run(
    X: np.ndarray,
    params: Mapping[str, Any],
    *,
    feature_names: Sequence[str] | None = None,
    callbacks: Sequence[Callback] = (),
    checkpoint_dir: str | os.PathLike[str] | None = None,
    checkpoint_every: int = 1,
    keep_last: int | None = 3,
    resume_from: str | os.PathLike[str] | None = None,
    evaluate: bool = True,
) -> FitRun:
    """The `FitRun` of training the family ``params["model"]`` on the float32 rows X."""
    started = time.perf_counter()
    if X.shape[0] < 2:
        raise ValueError(
            f"Found array with {X.shape[0]} sample(s) while a minimum of 2 is "
            "required by AutoEncoder: it needs rows to learn from"
        )
    family = get_family(params["model"])
    config = family_config(family, X.shape[1], params)
    if params["loss"] == "bce" and not family.unit_output(config):
        raise InvalidParameterError(
            f"loss='bce' needs outputs in [0, 1], and the {params['model']} network's "
            "output is linear; use loss='mse', or a sigmoid output: model='halving' "
            "(or model_options={'base': 'halving'} for a penalized family)"
        )
    # under torchrun: join the ranks (cuda -> cuda:LOCAL_RANK); alone, no-op
    world, device = distributed.setup(resolve_device(params["device"]))
    check_training_memory(family, config, device)  # before any allocation
    json_params = {k: to_json(k, v) for k, v in params.items()}
    fingerprint = None
    if checkpoint_dir is not None or resume_from is not None:
        fingerprint = ck.data_fingerprint(X)
    resumed = None if resume_from is None else ck.load_checkpoint(resume_from)
    if resumed is not None:
        seed, config = ck.check_resume(resumed, json_params, fingerprint, feature_names)
    else:
        rng = check_random_state(params["random_state"])
        seed = int(rng.randint(np.iinfo(np.int32).max))
        seed = distributed.broadcast_int(seed, world)  # one permutation for all ranks
    scaling = _scaling(X, params["scale"], resumed)
    split = params["validation_fraction"]
    rows, train, val = fit_rows(X, device, scaling, split, seed)
    tcfg = train_config(params, len(train), "fp32")
    precision = fit_precision(params, family, config, train, tcfg, seed, world, resumed)
    tcfg.precision = precision.precision
    run = FitRun(
        family, config, json_params, device, world, seed, scaling, rows, train, val,
        tcfg=tcfg, started=started, evaluate=evaluate,
        feature_names=feature_names, callbacks=list(callbacks),
        checkpoint_dir=checkpoint_dir, resumed=resumed, fingerprint=fingerprint,
    )  # fmt: skip
    run.precision = precision
    if precision.probe_seconds:
        run.timings["precision_probe"] = precision.probe_seconds
    if checkpoint_dir is not None and world.is_main:  # rank 0 alone writes
        run.saver = ck.CheckpointCallback(checkpoint_dir, checkpoint_every, keep_last)
    if evaluate or family.needs_pca:  # the PCA once: it serves the family too
        t = time.perf_counter()
        run.pca, run.pca_info = fit_baseline(run.train, config.latent_dim, seed)
        run.timings["pca"] = time.perf_counter() - t
    return run


def family_config(family: Family, n_features: int, params: Mapping[str, Any]) -> Any:
    """The family's config for `n_features` columns from the estimator's parameters."""
    hidden = params["hidden_dims"]
    return family.make_config(
        n_features,
        latent_dim=params["latent_dim"],
        hidden_dims=None if hidden is None else tuple(hidden),
        activation=params["activation"],
        options=params["model_options"],
    )


def train_config(
    params: Mapping[str, Any], n_train: int, precision: str | None = None
) -> TrainConfig:
    """The loop's options, the budget resolved for `n_train` training rows.

    `precision` replaces the parameter's (which must then not be "auto").
    """
    max_epochs, patience = resolve_budget(
        params["max_epochs"], params["patience"], n_train, params["batch_size"]
    )
    return TrainConfig(
        max_epochs=max_epochs,
        batch_size=params["batch_size"],
        lr=params["lr"],
        weight_decay=params["weight_decay"],
        patience=patience,
        loss=params["loss"],
        dead_units=params["dead_units"],
        dead_unit_threshold=params["dead_unit_threshold"],
        precision=params["precision"] if precision is None else precision,
        verbose=int(params["verbose"]),
    )


def fit_precision(
    params: Mapping[str, Any],
    family: Family,
    config: Any,
    train: ScaledRows,
    tcfg: TrainConfig,
    seed: int,
    world: distributed.World,
    resumed: ck.Checkpoint | None = None,
) -> PrecisionChoice:
    """The precision training runs in: as given, or what "auto" chooses here.

    A resumed run keeps the choice its checkpoint recorded; among ranks,
    rank 0's choice is every rank's. With verbose, a line says what "auto"
    chose and why.
    """
    given = params["precision"]
    saved = None if resumed is None else resumed.meta.get("precision")
    if given == "auto" and saved in PRECISIONS:
        choice = PrecisionChoice(
            saved, f"precision='auto' chose {saved} as the checkpointed run did",
            "checkpoint",
        )  # fmt: skip
    else:
        choice = choose_precision(given, family, config, train, tcfg, seed)
    if world.enabled:
        index = distributed.broadcast_int(PRECISIONS.index(choice.precision), world)
        picked = PRECISIONS[index]
        if picked != choice.precision:
            choice = PrecisionChoice(
                picked, f"precision='auto' chose {picked} as rank 0 did", "rank 0"
            )
    if given == "auto" and params["verbose"] and world.is_main:
        say(get_logger("fitting"), choice.reason)
    return choice


def _scaling(
    X: np.ndarray, scale: bool, resumed: ck.Checkpoint | None
) -> MinMaxScaling | None:
    if not scale:
        check_unit_range(X)
        return None
    if resumed is not None:
        return ck.stored_scaling(resumed, X.shape[1])
    return fit_scaling(X)


def fit_rows(
    X: np.ndarray,
    device: torch.device,
    scaling: MinMaxScaling | None,
    validation_fraction: float,
    seed: int,
) -> tuple[torch.Tensor, ScaledRows, ScaledRows | None]:
    """(all rows, training rows, validation rows) without a scaled copy of the data.

    Batches are gathered and scaled as they are used. Rows must be contiguous
    for fast gathers (a DataFrame's array is column-major: that one case is
    copied).
    """
    rows = as_tensor(np.ascontiguousarray(X), device)
    train_idx, val_idx = split_rows(len(X), validation_fraction, seed)
    train = ScaledRows(rows, as_tensor(train_idx, device), scaling)
    if is_mapped(X) and device.type == "cpu":  # on disk: shuffle by blocks
        train.block_rows = SHUFFLE_BLOCK_ROWS
    val = None
    if len(val_idx):
        val = ScaledRows(rows, as_tensor(val_idx, device), scaling)
    return rows, train, val
