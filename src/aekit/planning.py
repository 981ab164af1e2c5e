"""`aekit.plan`: what a fit will cost, before any training.

From the estimator's parameters and the rows, without training: the network
(its layers and parameter count), the memory its training state needs (the
figure the memory check compares with the free memory, `aekit.memory`),
whether the table is streamed from disk, the precision "auto" would choose,
and the seconds of an epoch and of the whole budget, from a few optimizer
steps timed on a copy of the network (`aekit.train.timing`) and a timed
validation pass. Neither the PCA baseline nor the fit-time evaluation is
computed, or counted in the seconds.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_array, check_random_state

from .data.rows import as_float32, is_mapped, refuse_categorical
from .devices import resolve_device
from .families import get_family
from .fitting.setup import family_config, fit_rows, train_config
from .memory import free_memory, training_memory
from .params import PARAMS, check_params
from .scaling import check_unit_range, fit_scaling
from .train import choose_precision, threads_for, time_steps, time_validation

PLAN_STEPS = 5  # timed optimizer steps (after PLAN_WARMUP untimed ones)
PLAN_WARMUP = 2
PLAN_SECONDS = 0.3  # ... and more, up to PLAN_MAX_STEPS, until they add up to this
PLAN_MAX_STEPS = 50
SAMPLE_VALUES = 2**26  # at most this many values of X are copied for timing (256 MB)
VALIDATION_ROWS = 2048  # at most this many rows time the validation pass


def plan(X: Any, **params: Any) -> dict[str, Any]:
    """What ``AutoEncoder(**params).fit(X)`` will cost, measured before training.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The rows the fit would get (a memory-mapped array stays on disk).
    **params
        The AutoEncoder's parameters; those left out take their defaults.

    Returns
    -------
    dict
        ``parameters`` (of the network), ``peak_memory_bytes`` (its training
        state: what the memory check compares with the free memory;
        activations come on top), ``seconds_per_epoch`` and ``epochs_budget``
        (the epochs max_epochs allows; early stopping may end sooner), and
        ``seconds_budget`` (their product), the architecture and ``layers``,
        the rows of training and validation, ``streamed``, the precision and
        why, the step's and the validation pass's seconds. The seconds are
        None when the training state does not fit in memory
        (``fits_in_memory`` False): training would be refused.

    Raises
    ------
    TypeError
        A parameter name the AutoEncoder does not have.
    InvalidParameterError
        A parameter has a value of the wrong type or range.
    ValueError
        X is not a numeric table of at least 2 rows, or holds NaN or inf.

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).random((200, 16), dtype=np.float32)
    >>> p = aekit.plan(X, latent_dim=4, random_state=0)
    >>> p["parameters"] > 0 and p["seconds_per_epoch"] > 0
    True
    """
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise TypeError(
            f"plan() got an unexpected keyword argument {unknown[0]!r}; the "
            f"AutoEncoder's parameters are {', '.join(PARAMS)}"
        )
    refuse_categorical(X)
    X = check_array(X, dtype=[np.float32, np.float64], ensure_min_samples=2)
    return plan_rows(as_float32(X), params, streamed=is_mapped(X))


def plan_rows(
    X: np.ndarray,
    params: Mapping[str, Any],
    *,
    n_rows: int | None = None,
    streamed: bool = False,
) -> dict[str, Any]:
    """The plan of fitting on validated float32 rows X (`plan` checks them).

    `n_rows`: the table has this many rows, of which X are the first (a
    table the command line reads only in part); `streamed`: training would
    read the rows from disk.
    """
    started = time.perf_counter()
    full = {k: v.default for k, v in PARAMS.items()}
    full.update(params)
    check_params(full)
    n = len(X) if n_rows is None else int(n_rows)
    if n < 2:
        raise ValueError(
            f"Found array with {n} sample(s) while a minimum of 2 is required by "
            "AutoEncoder: it needs rows to learn from"
        )
    family = get_family(full["model"])
    config = family_config(family, X.shape[1], full)
    parameters, need = training_memory(family, config)
    device = resolve_device(full["device"])
    free = free_memory(device)
    given = full["random_state"]  # drawn from a copy: the caller's RNG stays as it was
    rng = (
        np.random.RandomState()
        if given is None
        else check_random_state(copy.deepcopy(given))
    )
    seed = int(rng.randint(np.iinfo(np.int32).max))
    n_val = min(int(round(n * full["validation_fraction"])), n - 1)
    n_train = n - n_val
    tcfg = train_config(full, n_train, "fp32")
    with torch.device("meta"):
        shape = family.build(config)
    result: dict[str, Any] = {
        "family": family.name,
        "architecture": family.architecture(shape),
        "layers": family.layers(shape),
        "parameters": parameters,
        "trainable_parameters": sum(
            p.numel() for p in shape.parameters() if p.requires_grad
        ),
        "peak_memory_bytes": need,
        "memory_available_bytes": free,
        "fits_in_memory": free is None or need <= free,
        "rows": n,
        "features": int(X.shape[1]),
        "train_rows": n_train,
        "validation_rows": n_val,
        "streamed": bool(streamed),
        "device": str(device),
        "batch_size": tcfg.batch_size,
        "steps_per_epoch": math.ceil(n_train / tcfg.batch_size),
        "epochs_budget": tcfg.max_epochs,
        "patience": tcfg.patience,
        "precision": None,
        "precision_reason": None,
        "seconds_per_step": None,
        "seconds_validation": None,
        "seconds_per_epoch": None,
        "seconds_budget": None,
    }
    if result["fits_in_memory"]:
        result.update(_timed(X, full, family, config, tcfg, n_train, n_val, seed))
    result["seconds_planning"] = time.perf_counter() - started
    return result


def _timed(
    X: np.ndarray,
    params: Mapping[str, Any],
    family: Any,
    config: Any,
    tcfg: Any,
    n_train: int,
    n_val: int,
    seed: int,
) -> dict[str, Any]:
    """The precision, and the seconds of a step, a validation pass, an epoch, the budget."""
    device = resolve_device(params["device"])
    m = max(2, min(len(X), SAMPLE_VALUES // max(1, X.shape[1])))
    sample = np.ascontiguousarray(X[:m])
    if params["scale"]:
        scaling = fit_scaling(sample)
    else:
        check_unit_range(sample)
        scaling = None
    frac = min(n_val / (n_train + n_val), (m - 1) / m)
    _, train, val = fit_rows(sample, device, scaling, frac, seed)
    choice = choose_precision(params["precision"], family, config, train, tcfg, seed)
    tcfg.precision = choice.precision
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        module = family.build(config).to(device)
    times = time_steps(
        module, train, tcfg, family, (choice.precision,),
        steps=PLAN_STEPS, warmup=PLAN_WARMUP, min_seconds=PLAN_SECONDS,
        max_steps=PLAN_MAX_STEPS, seed=seed,
    )  # fmt: skip
    step = times.seconds[choice.precision]
    monitor = val if val is not None and n_val > 0 else train
    monitor_rows = n_val if n_val > 0 else n_train
    with threads_for(module, min(tcfg.batch_size, n_train)):  # as training runs it
        part = time_validation(
            module, monitor, tcfg.loss, choice.precision, family,
            max_rows=VALIDATION_ROWS,
        )  # fmt: skip
    validation = part / len(monitor) * monitor_rows
    # a partial last batch costs its share of a step; one step when all rows fit
    epoch = step * max(1.0, n_train / times.batch_rows) + validation
    return {
        "precision": choice.precision,
        "precision_reason": choice.reason,
        "seconds_per_step": step,
        "seconds_validation": validation,
        "seconds_per_epoch": epoch,
        "seconds_budget": epoch * tcfg.max_epochs,
    }
