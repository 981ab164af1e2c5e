"""The search space: what a trial may vary, and how it turns into estimator parameters.

A space is a mapping of names to specs. A spec is a scalar (fixed), a list
(choices), or a mapping ``{low, high, log}`` (a range; ints when both ends are
ints). Names: ``model``, ``depth``, ``width`` (hidden widths are ``width``
halving ``depth`` times, the family's rule when depth is 0), ``lr``,
``batch_size``, ``activation``, ``weight_decay``, ``latent_dim`` (fixed by the
user unless given here) and ``options`` (``{family: {option: spec}}``; a
family's ``depth`` or ``width`` there replaces the common one for its trials).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import DocumentError

NAMES = (
    "model",
    "depth",
    "width",
    "lr",
    "batch_size",
    "activation",
    "weight_decay",
    "latent_dim",
    "options",
)
SPACE_PARAMS = {  # space names -> the estimator parameters they set
    "model": "model",
    "depth": "hidden_dims",
    "width": "hidden_dims",
    "lr": "lr",
    "batch_size": "batch_size",
    "activation": "activation",
    "weight_decay": "weight_decay",
    "latent_dim": "latent_dim",
    "options": "model_options",
}


def default_space(n_features: int, latent_dim: int) -> dict[str, Any]:
    """The default space for a table of `n_features` columns and a code of `latent_dim`.

    Every registered family; 0 to 3 hidden layers (0: the family's own width
    rule, so the default model is a point of the space) whose first width is
    2x the code to min(1024, 2 n_features) on a log scale; Adam's learning rate
    on a log scale, batch size, activation, weight decay, and each family's
    options: its boolean ones and those it declares in ``search_space``.
    """
    from ..families import FAMILIES
    from ..layers import HIDDEN_ACTIVATIONS

    low = max(16, 2 * latent_dim)
    high = max(low, min(1024, 2 * n_features))
    options: dict[str, dict[str, Any]] = {}
    for name in sorted(FAMILIES):
        opts = family_options(FAMILIES[name])
        if opts:
            options[name] = opts
    return {
        "model": sorted(FAMILIES),
        "depth": {"low": 0, "high": 3},
        "width": {"low": low, "high": high, "log": True},
        "lr": {"low": 1e-4, "high": 1e-2, "log": True},
        "batch_size": [32, 64, 128, 256],
        "activation": sorted(HIDDEN_ACTIVATIONS),
        "weight_decay": [0.0, 1e-6, 1e-5, 1e-4],
        "options": options,
    }


def family_options(family: Any) -> dict[str, Any]:
    """The family's searchable options: its bool options, then its ``search_space``."""
    defaults = config_defaults(family)
    options: dict[str, Any] = {
        k: [defaults[k], not defaults[k]]
        for k in family.option_names()
        if isinstance(defaults.get(k), bool)
    }
    declared = getattr(family, "search_space", None)
    if isinstance(declared, Mapping):
        options.update(declared)
    return options


def config_defaults(family: Any) -> dict[str, Any]:
    """The family's config fields and their defaults."""
    return {
        f.name: f.default for f in dataclasses.fields(family.config_class) if f.init
    }


def default_point(space: Mapping[str, Any], latent_dim: int) -> dict[str, Any] | None:
    """The default AutoEncoder as Optuna parameters of `space`; None when outside it.

    A search that starts from this point never ends worse, on its validation
    rows, than the model a user gets without searching.
    """
    from ..estimator import AutoEncoder
    from ..families import get_family

    d = AutoEncoder().get_params()
    model = d["model"]
    config = config_defaults(get_family(model))
    opts, depth, _ = family_specs(space, model, latent_dim)
    wanted: list[tuple[str, Any, Any]] = [  # (parameter, its spec, the default)
        ("latent_dim", space.get("latent_dim", latent_dim), latent_dim),
        ("model", space.get("model", model), model),
        (*depth, 0),  # depth 0: the family's own rule, hidden_dims=None
    ]
    wanted += [(k, space[k], d[k]) for k in _TRAINING if k in space]
    wanted += [(f"{model}.{k}", v, config.get(k)) for k, v in opts.items()]
    point = {}
    for name, spec, value in wanted:
        if not contains(spec, value):
            return None
        if isinstance(spec, (Mapping, list)):
            point[name] = value
    return point


_TRAINING = ("lr", "batch_size", "activation", "weight_decay")


def contains(spec: Any, value: Any) -> bool:
    """Can a trial of `spec` take `value`?"""
    if isinstance(spec, Mapping):
        if isinstance(spec["low"], int) and isinstance(spec["high"], int):
            if not isinstance(value, int) or isinstance(value, bool):
                return False
        return _number(value) and spec["low"] <= value <= spec["high"]
    if isinstance(spec, list):
        return any(type(v) is type(value) and v == value for v in spec)
    return type(spec) is type(value) and spec == value


def read_space(path: str | Path) -> dict[str, Any]:
    """A space from a .json or .yaml file (YAML needs ``pip install aekit[yaml]``).

    Read by `aekit.document.read_document`, the bounded reader of --config files:
    size, nesting, YAML aliases and numbers are bounded before anything is
    built from it.
    """
    from ..document import read_document

    space = read_document(path, "search space", "a search space holds a few specs")
    if not isinstance(space, Mapping):
        raise DocumentError(f"{path}: a search space is a mapping of names to specs")
    return dict(space)


def merge_space(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with the names of `override` replaced (options per family)."""
    unknown = sorted(set(override) - set(NAMES))
    if unknown:
        raise ValueError(
            f"unknown search space name(s) {unknown}; choose from {list(NAMES)}"
        )
    space = dict(base)
    for k, v in override.items():
        if k == "options" and isinstance(v, Mapping):
            space["options"] = {**space.get("options", {}), **v}
        else:
            space[k] = v
    for k, v in space.items():
        if k != "options":
            check_spec(k, v)
    return space


def check_spec(name: str, spec: Any) -> None:
    """Refuse a spec that is neither a scalar, a non-empty list nor a range."""
    if isinstance(spec, Mapping):
        low, high = spec.get("low"), spec.get("high")
        if not (_number(low) and _number(high)) or float(low) > float(high):  # type: ignore[arg-type]
            raise ValueError(
                f"search space {name!r}: a range needs numbers low <= high, "
                f"got {dict(spec)}"
            )
        if spec.get("log") and float(low) <= 0:  # type: ignore[arg-type]
            raise ValueError(f"search space {name!r}: a log range needs low > 0")
    elif isinstance(spec, list) and not spec:
        raise ValueError(f"search space {name!r}: an empty list of choices")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def suggest(trial: Any, name: str, spec: Any) -> Any:
    """The trial's value for `spec` under `name`."""
    if isinstance(spec, Mapping):
        low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
        if isinstance(low, int) and isinstance(high, int):
            return trial.suggest_int(name, low, high, log=log)
        return trial.suggest_float(name, float(low), float(high), log=log)
    if isinstance(spec, list):
        return trial.suggest_categorical(name, spec)
    return spec


def widths(width: int, depth: int, latent_dim: int) -> tuple[int, ...] | None:
    """`depth` widths from `width`, halving, none below the code; None at depth 0."""
    if depth <= 0:
        return None
    return tuple(max(latent_dim, int(width) >> i) for i in range(int(depth)))


def family_specs(
    space: Mapping[str, Any], model: str, latent_dim: int
) -> tuple[dict[str, Any], tuple[str, Any], tuple[str, Any]]:
    """`model`'s own option specs, and its (Optuna name, spec) of depth and width.

    A ``depth`` or ``width`` among the family's options replaces the common
    one, under the name ``model.depth`` / ``model.width``.
    """
    opts = dict((space.get("options") or {}).get(model) or {})
    common = {
        "depth": space.get("depth", 0),
        "width": space.get("width", 2 * latent_dim),
    }
    depth, width = (
        (f"{model}.{k}", opts.pop(k)) if k in opts else (k, common[k])
        for k in ("depth", "width")
    )
    return opts, depth, width


def sample_params(
    trial: Any, space: Mapping[str, Any], latent_dim: int
) -> dict[str, Any]:
    """Estimator parameters for one trial drawn from `space`."""
    from ..families import get_family

    latent = int(suggest(trial, "latent_dim", space.get("latent_dim", latent_dim)))
    model = suggest(trial, "model", space.get("model", "pca_anchored"))
    family = get_family(model)
    opts, depth_spec, width_spec = family_specs(space, model, latent)
    known = set(family.option_names())
    unknown = sorted(set(opts) - known)
    if unknown:
        raise ValueError(
            f"search space options of {model!r}: unknown {unknown}; "
            f"the family's options are {sorted(known)} (and depth, width)"
        )
    depth = int(suggest(trial, *depth_spec))
    params: dict[str, Any] = {"latent_dim": latent, "model": model}
    if depth > 0:
        width = int(suggest(trial, *width_spec))
        params["hidden_dims"] = widths(width, depth, latent)
    for name in _TRAINING:
        if name in space:
            params[name] = suggest(trial, name, space[name])
    if opts:
        params["model_options"] = {
            k: suggest(trial, f"{model}.{k}", v) for k, v in opts.items()
        }
    return params


def check_fixed(space: Mapping[str, Any], fixed: Mapping[str, Any]) -> None:
    """Refuse an estimator parameter that is both fixed and set by `space`."""
    clash = sorted({SPACE_PARAMS[k] for k in space} & set(fixed))
    if clash:
        raise ValueError(
            f"fixed parameter(s) {clash} are also in the search space; "
            "remove them from one of the two"
        )


MAX_DEPTH = 10  # hidden layers a search may build (the default space: 0 to 3)


def corners(spec: Any) -> list[Any]:
    """The values that decide whether a spec is valid: its ends, or every choice."""
    if isinstance(spec, Mapping):
        return [spec["low"], spec["high"]]
    return list(spec) if isinstance(spec, list) else [spec]


def check_values(space: Mapping[str, Any], n_features: int, latent_dim: int) -> None:
    """Refuse, before any trial, a value the space can produce that no trial can use.

    Every choice and both ends of every range go through the estimator's own
    parameter checks (`aekit.params.check_params`); depths are bounded; each
    family's options are checked by building its config with them.
    """
    from ..params import check_params

    for name, spec in space.items():
        if name in ("options", "depth", "width"):
            continue
        param = SPACE_PARAMS[name]
        for value in corners(spec):
            check_params({param: value}, label=_label(name))
            if name == "latent_dim" and not 1 <= value < n_features:
                raise ValueError(
                    f"search space 'latent_dim': {value!r} is not below the "
                    f"{n_features} features of X"
                )
    _check_widths(space)
    _check_options(space, n_features, latent_dim)


def _label(name: str) -> Callable[[str], str]:
    """How a parameter check names a space entry in its message."""
    return lambda param: f"search space {name!r}: {param!r}"


def _check_widths(space: Mapping[str, Any]) -> None:
    """Depths in [0, MAX_DEPTH] and widths >= 1, the common ones and the families'."""
    specs = [("depth", space.get("depth", 0)), ("width", space.get("width", 1))]
    for model, opts in (space.get("options") or {}).items():
        specs += [
            (f"{model}.{k}", v)
            for k, v in (opts or {}).items()
            if k in ("depth", "width")
        ]
    for name, spec in specs:
        low = 0 if name.endswith("depth") else 1
        high = MAX_DEPTH if name.endswith("depth") else None
        for v in corners(spec):
            ok = isinstance(v, int) and not isinstance(v, bool) and v >= low
            if not ok or (high is not None and v > high):
                bound = f"from {low} to {high}" if high is not None else f">= {low}"
                raise ValueError(
                    f"search space {name!r}: {v!r} is not an integer {bound}"
                )


def _check_options(space: Mapping[str, Any], n_features: int, latent_dim: int) -> None:
    """Each family's option specs: a registered family, known options, valid values."""
    from ..families import FAMILIES, get_family

    options = space.get("options") or {}
    if not isinstance(options, Mapping):
        raise ValueError("search space 'options': a mapping of family names to specs")
    unknown = sorted(set(options) - set(FAMILIES))
    if unknown:
        raise ValueError(
            f"search space 'options': unknown model family {unknown[0]!r}; choose "
            f"from {sorted(FAMILIES)}"
        )
    latent = min(corners(space.get("latent_dim", latent_dim)))
    for model in corners(space.get("model", "pca_anchored")):
        family = get_family(model)
        opts, _, _ = family_specs(space, model, latent)
        extra = sorted(set(opts) - set(family.option_names()))
        if extra:
            raise ValueError(
                f"search space options of {model!r}: unknown {extra}; the family's "
                f"options are {sorted(family.option_names())} (and depth, width)"
            )
        first = {k: corners(v)[0] for k, v in opts.items()}
        for opt, spec in opts.items():
            for value in corners(spec):
                try:
                    family.make_config(
                        n_features, latent_dim=latent, hidden_dims=None,
                        activation="relu", options={**first, opt: value},
                    )  # fmt: skip
                except (TypeError, ValueError) as e:
                    raise ValueError(
                        f"search space options of {model!r}: {opt}={value!r}: {e}"
                    ) from None
