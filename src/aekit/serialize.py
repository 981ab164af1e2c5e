"""An AutoEncoder to and from a model folder (see io.py for the file format).

The folder names the model family; loading rebuilds the module through the
registry (`aekit.families.get_family`), shapes first on the meta device, so a
forged config allocates nothing and a mismatch is refused before any weight is
read into a module.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from .errors import ModelFormatError
from .estimator import AutoEncoder
from .evaluate import PCABaseline, split_baseline
from .families import get_family
from .fitted import FittedModel
from .io import CONFIG_FILE, WEIGHTS_FILE, read_folder, save_folder
from .jsonable import jsonable
from .params import PARAMS, to_json
from .scaling import MinMaxScaling

LEGACY_FAMILY = "halving"  # folders written before families were named


def model_config(est: AutoEncoder) -> dict[str, Any]:
    """The config.json entries of a fitted AutoEncoder (without the file format's)."""
    from . import __version__

    fitted = est.fitted_
    params = {k: to_json(k, v) for k, v in est.get_params().items()}
    params["random_state"] = est.seed_  # the seed actually used
    return {
        "aekit_version": __version__,
        "model": fitted.family_name,
        "architecture": fitted.family.config_to_dict(fitted.config),
        "params": params,
        "n_features_in": int(est.n_features_in_),
        "feature_names": fitted.feature_names,
        "scaling": None if fitted.scaling is None else fitted.scaling.to_dict(),
        "training": {
            "epochs": est.n_epochs_,
            "best_epoch": est.best_epoch_,
            "best_loss": jsonable(est.best_loss_),
            "stopped_early": est.stopped_early_,
            "seconds": est.fit_seconds_,
            "history": jsonable(est.history_),
        },
        "metrics": jsonable(getattr(est, "metrics_", None)),
        "anomaly_threshold": jsonable(getattr(est, "threshold_", None)),
    }


def save_estimator(est: AutoEncoder, path: str | os.PathLike[str]) -> None:
    """Write a fitted AutoEncoder to the folder `path`."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    state = dict(est.fitted_.module.state_dict())
    baseline = getattr(est, "pca_", None)
    if baseline is not None:  # the PCA baseline, as baseline.* tensors
        state.update(baseline.to_tensors())
    save_folder(path, model_config(est), state)


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


def _number(v: Any) -> bool:
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


def load(path: str | os.PathLike[str]) -> AutoEncoder:
    """Load a model folder written by `AutoEncoder.save`.

    Raises
    ------
    ModelFormatError
        The folder or a file in it is missing, truncated, corrupted or foreign.

    Examples
    --------
    >>> import aekit, numpy as np, tempfile
    >>> X = np.random.default_rng(0).random((100, 8))
    >>> ae = aekit.AutoEncoder(latent_dim=2, max_epochs=2, verbose=0).fit(X)
    >>> d = tempfile.mkdtemp(); ae.save(d)
    >>> bool((aekit.load(d).transform(X) == ae.transform(X)).all())
    True
    """
    config, tensors = read_folder(path)
    tensors, baseline = split_baseline(tensors)
    where = f"{os.fspath(path)}/{CONFIG_FILE}"
    try:
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
        params = _get(config, "params", dict, where)
        est = AutoEncoder(**{k: params[k] for k in PARAMS if k in params})
        est.model = family.name
        if isinstance(est.hidden_dims, list):
            est.hidden_dims = tuple(est.hidden_dims)
        n_features = _get(config, "n_features_in", int, where)
        if n_features != arch.n_features:
            raise ValueError(
                f"n_features_in {n_features} != architecture {arch.n_features}"
            )
        scaling = config.get("scaling")
        scaling = (
            None if scaling is None else MinMaxScaling.from_dict(scaling, n_features)
        )
        names = _feature_names(config.get("feature_names"), n_features)
        training = _get(config, "training", dict, where)
        _check_training(training)
    except ModelFormatError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as e:
        raise ModelFormatError(f"{where} is inconsistent: {e}") from None
    module = _build_module(family, arch, tensors, os.fspath(path))
    est.fitted_ = FittedModel(module, family.name, scaling, names)
    if names is not None:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    est.n_features_in_ = n_features
    est.seed_ = params.get("random_state")
    est.history_ = training.get("history", [])
    est.n_epochs_ = training.get("epochs")
    est.best_epoch_ = training.get("best_epoch")
    best = training.get("best_loss")
    est.best_loss_ = math.inf if best is None else best
    est.stopped_early_ = training.get("stopped_early")
    est.fit_seconds_ = training.get("seconds")
    try:
        est.pca_ = PCABaseline.from_tensors(baseline, n_features) if baseline else None
    except ValueError as e:
        raise ModelFormatError(f"{os.fspath(path)}/{WEIGHTS_FILE}: {e}") from None
    metrics, threshold = config.get("metrics"), config.get("anomaly_threshold")
    est.metrics_ = metrics if isinstance(metrics, dict) else {}
    est.threshold_ = (
        float(threshold)
        if isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
        else None
    )
    return est
