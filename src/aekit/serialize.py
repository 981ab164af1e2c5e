"""An AutoEncoder to and from a model folder (see io.py for the file format)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import torch

from .errors import ModelFormatError
from .estimator import AutoEncoder
from .evaluate import PCABaseline, split_baseline
from .io import CONFIG_FILE, WEIGHTS_FILE, read_folder, save_folder
from .model import AEConfig, AutoEncoderNet
from .scaling import MinMaxScaling

PARAMS = (
    "latent_dim",
    "hidden_dims",
    "activation",
    "loss",
    "max_epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "validation_fraction",
    "patience",
    "scale",
    "dead_units",
    "dead_unit_threshold",
    "device",
    "precision",
    "random_state",
    "verbose",
)


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


def save_estimator(est: AutoEncoder, path: str | os.PathLike[str]) -> None:
    """Write a fitted AutoEncoder to the folder `path`."""
    from sklearn.utils.validation import check_is_fitted

    from . import __version__

    check_is_fitted(est)
    params = est.get_params()
    params["hidden_dims"] = None if est.hidden_dims is None else list(est.hidden_dims)
    params["random_state"] = est.seed_  # the seed actually used
    names = getattr(est, "feature_names_in_", None)
    config = {
        "aekit_version": __version__,
        "architecture": est.module_.config.to_dict(),
        "params": params,
        "n_features_in": int(est.n_features_in_),
        "feature_names": None if names is None else [str(n) for n in names],
        "scaling": None if est.scaling_ is None else est.scaling_.to_dict(),
        "training": {
            "epochs": est.n_epochs_,
            "best_epoch": est.best_epoch_,
            "best_loss": _jsonable(est.best_loss_),
            "stopped_early": est.stopped_early_,
            "seconds": est.fit_seconds_,
            "history": _jsonable(est.history_),
        },
        "metrics": _jsonable(getattr(est, "metrics_", None)),
        "anomaly_threshold": _jsonable(getattr(est, "threshold_", None)),
    }
    state = {k: v for k, v in est.module_.state_dict().items()}
    baseline = getattr(est, "pca_", None)
    if baseline is not None:  # the PCA baseline, as baseline.* tensors
        state.update(baseline.to_tensors())
    save_folder(path, config, state)


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
    if not all(isinstance(h, dict) for h in t.get("history") or []):
        raise ValueError("training.history must be a list of per-epoch records")


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
        arch = AEConfig.from_dict(_get(config, "architecture", dict, where))
        params = _get(config, "params", dict, where)
        est = AutoEncoder(**{k: params[k] for k in PARAMS if k in params})
        if isinstance(est.hidden_dims, list):
            est.hidden_dims = tuple(est.hidden_dims)
        n_features = _get(config, "n_features_in", int, where)
        if n_features != arch.n_features:
            raise ValueError(
                f"n_features_in {n_features} != architecture {arch.n_features}"
            )
        scaling = config.get("scaling")
        est.scaling_ = (
            None if scaling is None else MinMaxScaling.from_dict(scaling, n_features)
        )
        names = config.get("feature_names")
        if names is not None:
            if not (
                isinstance(names, list)
                and len(names) == n_features
                and all(isinstance(n, str) for n in names)
            ):
                raise ValueError("feature_names must be a list of n_features strings")
            est.feature_names_in_ = np.asarray(names, dtype=object)
        training = _get(config, "training", dict, where)
        _check_training(training)
    except ModelFormatError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as e:
        raise ModelFormatError(f"{where} is inconsistent: {e}") from None
    n_layers = 2 * (len(arch.widths) - 1)  # encoder and decoder Linear layers
    if 2 * n_layers > len(tensors):  # checked before building even an empty model
        raise ModelFormatError(
            f"{os.fspath(path)}/{WEIGHTS_FILE} holds {len(tensors)} tensors, but "
            f"the {n_layers} layers of the architecture in {CONFIG_FILE} need "
            f"{2 * n_layers}"
        )
    with torch.device("meta"):  # shapes only: a forged config allocates nothing
        expected = AutoEncoderNet(arch).state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise ModelFormatError(
            f"{os.fspath(path)}/{WEIGHTS_FILE} does not fit the architecture in "
            f"{CONFIG_FILE}: missing tensors {missing}, unexpected tensors {extra}"
        )
    for k, t in tensors.items():
        if t.shape != expected[k].shape or t.dtype != expected[k].dtype:
            raise ModelFormatError(
                f"{os.fspath(path)}/{WEIGHTS_FILE}: tensor {k!r} has shape "
                f"{tuple(t.shape)} {t.dtype}, the architecture needs "
                f"{tuple(expected[k].shape)} {expected[k].dtype}"
            )
    module = AutoEncoderNet(arch)
    module.load_state_dict(tensors)
    est.module_ = module.eval()
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
