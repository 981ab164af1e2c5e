"""A fitted model, the parameters that made it and its fit record, to and from a folder.

Below the estimator: `save_model` writes a `FittedModel` + parameters +
`FitRecord` (see `aekit.io` for the file format), `read_model` gives them back
as a `SavedModel`; `AutoEncoder.save` and `aekit.load` are thin over them.
The folder names the model family; reading rebuilds the module through the
registry (`aekit.families.get_family`), shapes first on the meta device, so a
forged config allocates nothing and a mismatch is refused before any weight is
read into a module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from .errors import ModelFormatError
from .families import get_family
from .fitted import FittedModel
from .io import CONFIG_FILE, WEIGHTS_FILE, read_folder, save_folder
from .jsonable import jsonable
from .params import PARAMS, to_json
from .pca import PCABaseline, split_baseline
from .record import FitRecord
from .scaling import MinMaxScaling
from .version import __version__

LEGACY_FAMILY = "halving"  # folders written before families were named


@dataclass
class SavedModel:
    """What a model folder holds: the model, the parameters that made it, the record."""

    fitted: FittedModel
    params: dict[str, Any]  # the estimator's parameters, as saved
    record: FitRecord


def model_config(
    fitted: FittedModel, params: Mapping[str, Any], record: FitRecord
) -> dict[str, Any]:
    """The config.json entries of a fitted model (without the file format's)."""
    return {
        "aekit_version": __version__,
        "model": fitted.family_name,
        "architecture": fitted.family.config_to_dict(fitted.config),
        "params": {k: to_json(k, v) for k, v in params.items()},
        "n_features_in": fitted.n_features,
        "feature_names": fitted.feature_names,
        "scaling": None if fitted.scaling is None else fitted.scaling.to_dict(),
        "training": {
            "seed": record.seed,
            "epochs": record.n_epochs,
            "best_epoch": record.best_epoch,
            "best_loss": jsonable(record.best_loss),
            "stopped_early": record.stopped_early,
            "seconds": record.seconds,
            "timings": jsonable(record.timings),
            "history": jsonable(record.history),
            "precision": jsonable(record.precision),
        },
        "metrics": jsonable(record.metrics),
        "anomaly_threshold": jsonable(fitted.threshold),
    }


def save_model(
    path: str | os.PathLike[str],
    fitted: FittedModel,
    params: Mapping[str, Any],
    record: FitRecord,
    *,
    extra_files: Mapping[str, bytes] | None = None,
) -> None:
    """Write a fitted model, its parameters and its fit record to the folder `path`.

    `extra_files` (name -> bytes) are committed with them, in the same rename.
    """
    state = dict(fitted.module.state_dict())
    if fitted.pca is not None:  # the PCA baseline, as baseline.* tensors
        state.update(fitted.pca.to_tensors())
    config = model_config(fitted, params, record)
    save_folder(path, config, state, extra_files=dict(extra_files or {}))


def _get(d: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(d, dict) or key not in d:
        raise ModelFormatError(
            f"{where} has no {key!r} entry; the config is incomplete"
        )
    v = d[key]
    if not isinstance(v, kind) or isinstance(v, bool) and kind in (int, float):
        raise ModelFormatError(
            f"{where}: {key!r} has the wrong type ({type(v).__name__})"
        )
    return v


def _short(v: Any, limit: int = 40) -> str:
    """repr(v), cut to `limit` characters."""
    text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(v: Any) -> bool:
    """A JSON number (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_training(t: dict[str, Any]) -> None:
    """The record of the training run: raise ValueError where a type is wrong."""
    kinds: dict[str, Any] = {
        "history": list,
        "epochs": int,
        "best_epoch": int,
        "best_loss": (int, float),
        "stopped_early": bool,
        "seconds": (int, float),
        "seed": int,
        "timings": dict,
        "precision": dict,
    }
    for key, kind in kinds.items():
        v = t.get(key)
        if v is None:
            continue
        if not isinstance(v, kind) or (isinstance(v, bool) and kind is not bool):
            raise ValueError(f"training.{key} has the wrong type ({type(v).__name__})")
    for i, h in enumerate(t.get("history") or []):
        where = f"training.history[{i}]"
        if not isinstance(h, dict):
            raise ValueError(f"{where} is not a per-epoch record")
        epoch = h.get("epoch")
        if not isinstance(epoch, int) or isinstance(epoch, bool):
            raise ValueError(f"{where}.epoch must be an integer")
        for key in ("train_loss", "val_loss", "seconds"):
            if h.get(key) is not None and not _number(h[key]):
                raise ValueError(f"{where}.{key} must be a number or null")
        dead = h.get("dead_fraction", {})
        if not isinstance(dead, dict) or not all(_number(v) for v in dead.values()):
            raise ValueError(f"{where}.dead_fraction must map layers to numbers")
        switched = h.get("switched", [])
        if not isinstance(switched, list) or not all(
            isinstance(s, str) for s in switched
        ):
            raise ValueError(f"{where}.switched must be a list of layer names")


def _feature_names(names: Any, n_features: int) -> list[str] | None:
    if names is None:
        return None
    if not (
        isinstance(names, list)
        and len(names) == n_features
        and all(isinstance(n, str) for n in names)
    ):
        raise ValueError("feature_names must be a list of n_features strings")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[:3]
        raise ValueError(
            f"feature_names holds duplicates ({dup}); names must be unique"
        )
    return names


def _build_module(
    family: Any, config: Any, tensors: dict[str, torch.Tensor], path: str
) -> Any:
    """The module of `config` with the weights `tensors`, checked shape by shape."""
    hidden = getattr(config, "hidden_dims", None) or ()
    if len(hidden) > len(tensors):  # each layer needs tensors: refuse before building
        raise ModelFormatError(
            f"{path}/{WEIGHTS_FILE} holds {len(tensors)} tensors, too few for the "
            f"{len(hidden)} hidden layers of the architecture in {CONFIG_FILE}"
        )
    try:
        with torch.device("meta"):  # shapes only: a forged config allocates nothing
            expected = family.build(config).state_dict()
    except (TypeError, ValueError, RuntimeError, OverflowError, MemoryError) as e:
        raise ModelFormatError(
            f"{path}/{CONFIG_FILE}: the architecture cannot be built ({e})"
        ) from None
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ModelFormatError(
            f"{path}/{WEIGHTS_FILE} does not fit the architecture in "
            f"{CONFIG_FILE}: missing tensors {missing[:10]}, unexpected tensors "
            f"{extra[:10]}"
        )
    for k, t in tensors.items():
        if t.shape != expected[k].shape or t.dtype != expected[k].dtype:
            raise ModelFormatError(
                f"{path}/{WEIGHTS_FILE}: tensor {k!r} has shape "
                f"{tuple(t.shape)} {t.dtype}, the architecture needs "
                f"{tuple(expected[k].shape)} {expected[k].dtype}"
            )
    module = family.build(config)
    module.load_state_dict(tensors)
    return module


def read_model(path: str | os.PathLike[str]) -> SavedModel:
    """Read a model folder written by `save_model` (or `AutoEncoder.save`).

    Raises
    ------
    ModelFormatError
        The folder or a file in it is missing, truncated, corrupted or foreign.
    """
    config, tensors = read_folder(path)
    tensors, baseline = split_baseline(tensors)
    where = f"{os.fspath(path)}/{CONFIG_FILE}"
    try:
        family, arch, params, scaling, names, record = _read_config(config, where)
    except ModelFormatError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as e:
        raise ModelFormatError(f"{where} is inconsistent: {e}") from None
    module = _build_module(family, arch, tensors, os.fspath(path))
    try:
        pca = PCABaseline.from_tensors(baseline, arch.n_features) if baseline else None
    except ValueError as e:
        raise ModelFormatError(f"{os.fspath(path)}/{WEIGHTS_FILE}: {e}") from None
    threshold: Any = config.get("anomaly_threshold")
    if threshold is not None and not (_number(threshold) and math.isfinite(threshold)):
        raise ModelFormatError(
            f"{where}: anomaly_threshold is {_short(threshold)}, not a number: the "
            "file is damaged; load a good copy, or retrain"
        )
    fitted = FittedModel(
        module,
        family.name,
        scaling,
        names,
        pca=pca,
        threshold=None if threshold is None else float(threshold),
        loss=params.get("loss", PARAMS["loss"].default),
        precision=_precision(params, record),
    )
    return SavedModel(fitted, params, record)


def _precision(params: Mapping[str, Any], record: FitRecord) -> str:
    """The precision a saved model trained in: "auto" as its record says it chose."""
    given = params.get("precision", PARAMS["precision"].default)
    chosen = (record.precision or {}).get("precision")
    if chosen in ("fp32", "bf16"):
        return str(chosen)
    return "fp32" if given == "auto" else str(given)


def _read_config(config: dict[str, Any], where: str) -> tuple[Any, ...]:
    """(family, architecture, params, scaling, feature names, record) of a config."""
    name = config.get("model", LEGACY_FAMILY)
    try:
        family = get_family(name)
    except ValueError as e:
        raise ModelFormatError(
            f"{where} names model family {name!r}, which this aekit does not know "
            f"({e}); import the module that registers it, or install the aekit "
            "version that wrote the model"
        ) from None
    arch = family.config_from_dict(_get(config, "architecture", dict, where))
    saved = _get(config, "params", dict, where)
    params = {k: saved[k] for k in PARAMS if k in saved}
    params["model"] = family.name  # folders before families were named lack it
    n_features = _get(config, "n_features_in", int, where)
    if n_features != arch.n_features:
        raise ValueError(f"n_features_in {n_features} != architecture {arch.n_features}")
    scaling = config.get("scaling")
    if scaling is not None:
        scaling = MinMaxScaling.from_dict(scaling, n_features)
    names = _feature_names(config.get("feature_names"), n_features)
    training = _get(config, "training", dict, where)
    _check_training(training)
    return family, arch, params, scaling, names, _record(training, config, saved)


def _record(
    training: dict[str, Any], config: dict[str, Any], params: dict[str, Any]
) -> FitRecord:
    """The fit record of a checked ``training`` entry and the config's metrics."""
    best = training.get("best_loss")
    metrics = config.get("metrics")
    precision = training.get("precision")
    return FitRecord(
        history=training.get("history") or [],
        # folders before the record had a seed saved the seed as random_state
        seed=training.get("seed", params.get("random_state")),
        n_epochs=training.get("epochs"),
        best_epoch=training.get("best_epoch"),
        best_loss=math.inf if best is None else best,
        stopped_early=training.get("stopped_early"),
        seconds=training.get("seconds"),
        timings=training.get("timings") or {},
        metrics=metrics if isinstance(metrics, dict) else {},
        precision=precision if isinstance(precision, dict) else None,
    )
