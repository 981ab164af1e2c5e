"""The AutoEncoder's parameters in one table: defaults, checks, help, resume rules.

The estimator's signature, model folders, checkpoints, `aekit train`'s flags
and --config files all read this table; a test keeps the signature in step.
It imports nothing heavy, so that `aekit --help` stays fast.
`check_params` validates every parameter the way scikit-learn does, in `fit`,
with a message that names the parameter and the values it accepts.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

AUTO = "auto"


@dataclass(frozen=True)
class Param:
    """One estimator parameter."""

    default: Any
    check: Callable[[Any], bool]  # True when the value is acceptable
    accepts: str  # what the check accepts, for the message
    cli: str  # how `aekit train` parses it (see cli.options)
    help: str  # the flag's help, without the default
    resumable: bool = False  # may differ between a checkpoint and its resume


def _int(v: Any, low: int = 1) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) >= low


def _real(v: Any) -> bool:
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:  # an int beyond float's range
        return False


def _width(v: Any) -> bool:
    """An int from 1 to the widest layer (`aekit.families.base.MAX_WIDTH`)."""
    from .families.base import MAX_WIDTH

    return _int(v) and int(v) <= MAX_WIDTH


def _choice(*values: str) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and v in values


def _widths(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        return False
    return all(_width(w) for w in v)


def _hidden_activation(v: Any) -> bool:
    from .layers import HIDDEN_ACTIVATIONS

    return isinstance(v, str) and v in HIDDEN_ACTIVATIONS


def _loss(v: Any) -> bool:
    from .losses import LOSSES

    return isinstance(v, str) and v in LOSSES


def _model(v: Any) -> bool:
    from .families import get_family

    try:
        get_family(v)
    except ValueError:
        return False
    return True


def _families() -> str:
    from .families import family_names

    return ", ".join(repr(f) for f in family_names())


def _model_options(v: Any) -> bool:
    return v is None or (isinstance(v, Mapping) and all(isinstance(k, str) for k in v))


def _random_state(v: Any) -> bool:
    import numpy as np

    return v is None or _int(v, 0) or isinstance(v, np.random.RandomState)


PARAMS: dict[str, Param] = {
    "latent_dim": Param(
        1000,
        _width,
        "an int from 1 to 2**31 - 1",
        "int",
        "size of the code, below the number of features",
    ),
    "model": Param(
        "pca_anchored",
        _model,
        "the name of a registered model family",
        "str",
        "model family, by its registered name (aekit.families.FAMILIES)",
    ),
    "hidden_dims": Param(
        None,
        _widths,
        "None or a sequence of ints from 1 to 2**31 - 1",
        "widths",
        "hidden widths, e.g. 512,128; 'auto': the model family's rule",
    ),
    "activation": Param(
        "relu",
        _hidden_activation,
        "one of 'elu', 'gelu', 'leaky_relu', 'relu', 'tanh'",
        "str",
        "hidden activation: elu, gelu, leaky_relu, relu, tanh",
    ),
    "model_options": Param(
        None,
        _model_options,
        "None or a mapping of option names to values",
        "options",
        "the model family's own options as name=value pairs, e.g. train_pca=false",
    ),
    "loss": Param(
        "mse", _loss, "one of 'bce', 'mse'", "str", "reconstruction loss: bce, mse"
    ),
    "max_epochs": Param(
        AUTO,
        lambda v: v == AUTO or _int(v),
        "'auto' or an int >= 1",
        "int_or_auto",
        "upper bound on passes over the data; 'auto': at least 200, and enough for "
        "10,000 optimizer steps",
        resumable=True,
    ),
    "batch_size": Param(64, _int, "an int >= 1", "int", "rows per optimizer step"),
    "lr": Param(
        1e-3,
        lambda v: _real(v) and v > 0,
        "a finite float > 0",
        "float",
        "Adam learning rate",
        resumable=True,
    ),
    "weight_decay": Param(
        0.0,
        lambda v: _real(v) and v >= 0,
        "a finite float >= 0",
        "float",
        "Adam L2 penalty",
    ),
    "validation_fraction": Param(
        0.1,
        lambda v: _real(v) and 0 <= v < 1,
        "a float in [0, 1)",
        "float",
        "share of rows held out for early stopping, in [0, 1)",
    ),
    "patience": Param(
        AUTO,
        lambda v: v is None or v == AUTO or _int(v),
        "'auto', None or an int >= 1",
        "int_or_auto",
        "stop after this many epochs without a better validation loss; 'none' trains "
        "all epochs; 'auto': 20",
        resumable=True,
    ),
    "scale": Param(
        True,
        lambda v: isinstance(v, bool) or type(v).__name__ == "bool_",
        "True or False",
        "bool",
        "min-max scale each column to [0, 1]",
    ),
    "dead_units": Param(
        "warn",
        _choice("warn", "switch", "ignore"),
        "one of 'ignore', 'switch', 'warn'",
        "str",
        "when a ReLU layer dies: ignore, switch, warn",
    ),
    "dead_unit_threshold": Param(
        0.5,
        lambda v: _real(v) and 0 < v <= 1,
        "a float in (0, 1]",
        "float",
        "dead share of a layer that triggers --dead-units",
    ),
    "device": Param(
        "auto",
        lambda v: isinstance(v, str),
        "'auto', 'cpu', 'cuda' or 'cuda:N'",
        "str",
        "auto, cpu, cuda or cuda:N",
        resumable=True,
    ),
    "precision": Param(
        "fp32",
        _choice("fp32", "bf16", AUTO),
        "one of 'auto', 'bf16', 'fp32'",
        "str",
        "auto, bf16, fp32: bf16 is autocast; auto is bf16 where a short timed probe "
        "at the fit's start shows it faster for this network on this machine",
    ),
    "random_state": Param(
        None,
        _random_state,
        "None, an int >= 0 or a numpy RandomState",
        "int_or_none",
        "seed of weights, split and batch order",
        resumable=True,
    ),
    "verbose": Param(
        0,
        lambda v: _int(v, 0) and v <= 2,
        "0, 1 or 2",
        "verbosity",
        "",
        resumable=True,
    ),
}

RESUME_MAY_CHANGE = tuple(name for name, p in PARAMS.items() if p.resumable)


def check_params(
    params: Mapping[str, Any],
    label: Callable[[str], str] = lambda name: f"The {name!r} parameter of AutoEncoder",
) -> None:
    """Raise InvalidParameterError naming the first parameter with a bad value.

    `label` names a parameter in the message (the CLI names its flag).
    """
    from .errors import InvalidParameterError

    for name, p in PARAMS.items():
        if name not in params:
            continue
        v = params[name]
        if not p.check(v):
            accepts = p.accepts
            if name == "model":
                accepts = f"one of {_families()}"
            raise InvalidParameterError(
                f"{label(name)} must be {accepts}. Got {_short(v)} instead."
            )
    if params.get("model_options") and "model" in params:
        _check_model_options(params["model"], params["model_options"], label)


def _check_model_options(
    model: str, options: Mapping[str, Any], label: Callable[[str], str]
) -> None:
    """The family's own check of its options: known names, values in their ranges."""
    from .errors import InvalidParameterError
    from .families import get_family

    try:
        get_family(model).check_options(options)
    except ValueError as e:
        raise InvalidParameterError(f"{label('model_options')}: {e}") from None


def default_text(name: str) -> str:
    """The default as `aekit train --help` says it."""
    v = PARAMS[name].default
    if name == "scale":
        return "--scale" if v else "--no-scale"
    if v is None:
        return "auto" if PARAMS[name].cli == "widths" else "none"
    return str(v)


def to_json(name: str, v: Any) -> Any:
    """A parameter's value as JSON (tuples as lists, a RandomState as None)."""
    if name == "random_state" and not (v is None or _int(v, 0)):
        return None
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, Mapping):
        return dict(v)
    if hasattr(v, "item") and type(v).__module__ == "numpy":
        return v.item()
    return v


def same(a: Any, b: Any) -> bool:
    """Parameter values equal once tuples and lists are the same thing."""
    plain = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
    return plain(a) == plain(b)


def _short(v: Any, limit: int = 80) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."
