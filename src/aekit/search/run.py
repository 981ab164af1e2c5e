"""`aekit.tune`: a hyperparameter search over AutoEncoders, on Optuna.

The rows are split once (seeded) into search rows and test rows. Each trial
builds an AutoEncoder from parameters drawn from the space and fits it on the
search rows without the fit-time evaluation; a pruning callback reports every
epoch's validation reconstruction loss to the trial, and when the pruner says
so it asks the loop to stop (a flag) and the trial ends pruned after `fit`
returns. A completed trial's value is the mean squared error on its
validation rows, the same measure for every family whatever its objective adds
(a penalty, a KL term, noise). A new study's first trial is the default
AutoEncoder, when the space holds it. The best configuration is refitted with
the full evaluation, and the test rows, never seen by the search, score it
against the PCA of the same size and the default AutoEncoder.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AekitError, DeadUnitWarning
from ..train import Callback, TrainState
from .space import default_point, default_space, merge_space, sample_params
from .storage import fail_orphans, make_storage, mark_worker

PRUNERS = ("hyperband", "halving", "median", "none")
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


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ImportError(
            "the hyperparameter search needs Optuna: pip install aekit[tune]"
        ) from None
    return optuna


class PruningCallback(Callback):
    """Report each epoch's validation reconstruction loss to an Optuna trial; stop when pruned.

    It only sets ``state.stop_requested``: the caller raises ``optuna.TrialPruned``
    once `fit` has returned, when ``pruned`` is true.
    """

    def __init__(self, trial: Any) -> None:
        self.trial = trial
        self.pruned = False
        self.pruned_at: int | None = None  # the epoch after which it was pruned

    def on_epoch_end(self, state: TrainState) -> None:
        val = epoch_value(state.history[-1])
        if val is None or not math.isfinite(val):
            return
        epoch = len(state.history)
        self.trial.report(float(val), epoch)
        if self.trial.should_prune():
            self.pruned, self.pruned_at = True, epoch
            state.stop_requested = True


def epoch_value(record: Mapping[str, Any]) -> float | None:
    """An epoch's validation reconstruction loss: the objective less any penalty.

    Families whose objective adds a penalty (sparse, contractive, variational)
    record its reconstruction part; a denoising family's loss is already a
    reconstruction loss, of corrupted rows.
    """
    parts = record.get("val_parts") or {}
    return parts.get("reconstruction", record["val_loss"])


def validation_mse(est: Any, X_search: np.ndarray) -> float:
    """Mean squared error of a fitted AutoEncoder on its own validation rows.

    The same measure for every family (no penalty, no noise), and the one the
    test rows report at the end.
    """
    from ..data.rows import split_rows

    _, val_idx = split_rows(len(X_search), est.validation_fraction, est.seed_)
    return float(est.reconstruction_error(X_search[val_idx]).mean())


@dataclass
class TuneResult:
    """What a search produced.

    Attributes
    ----------
    study : optuna.Study
    best_estimator : AutoEncoder or None
        The best configuration refitted on the search rows with the full
        evaluation (None with ``refit=False``).
    best_params : dict
        Its estimator parameters.
    test_mse : dict
        Mean squared error per value on the test rows, in the [0, 1] space of
        the search rows' scaling: ``model`` (the best), ``pca`` (PCA of the
        same size fitted on the search rows) and ``default`` (a default
        AutoEncoder of that size fitted on the search rows); empty without
        test rows.
    by_latent_dim : dict
        With a searched code size: per size, the best validation MSE, its
        trial and the PCA's test MSE.
    """

    study: Any
    best_estimator: Any
    best_params: dict[str, Any]
    best_trial: int
    best_value: float
    test_mse: dict[str, float] = field(default_factory=dict)
    by_latent_dim: dict[int, dict[str, Any]] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The study's summary as JSON-ready values (``study.json``)."""
        from optuna.trial import TrialState

        trials = self.study.get_trials(deepcopy=False)
        counts = {s.name.lower(): 0 for s in TrialState}
        for t in trials:
            counts[t.state.name.lower()] += 1
        t = self.test_mse
        ratios = {}
        if t.get("pca"):
            ratios["model_over_pca"] = t["model"] / t["pca"]
        if t.get("default"):
            ratios["model_over_default"] = t["model"] / t["default"]
        return _jsonable(
            {
                "study_name": self.study.study_name,
                "setup": self.setup,
                "trials_by_state": {k: v for k, v in counts.items() if v},
                "best_trial": self.best_trial,
                "best_value": self.best_value,
                "best_params": self.best_params,
                "test_mse": self.test_mse,
                "test_ratios": ratios,
                "importances": _importances(self.study),
                "by_latent_dim": {str(k): v for k, v in self.by_latent_dim.items()},
                "seconds": self.seconds,
                "trials": [_trial_record(t) for t in trials],
            }
        )


def tune(
    X: Any,
    *,
    latent_dim: int,
    n_trials: int | None = 20,
    timeout: float | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    space: Mapping[str, Any] | None = None,
    random_state: int = 0,
    test_fraction: float = 0.2,
    pruner: Any = "hyperband",
    fixed: Mapping[str, Any] | None = None,
    refit: bool = True,
    compare_default: bool = True,
    verbose: int = 1,
    progress: Callable[[str], None] | None = None,
) -> TuneResult:
    """Search AutoEncoder hyperparameters on the rows of X; refit and test the best.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    latent_dim : int
        Size of the code, fixed (a product decision); put ``latent_dim`` in
        `space` to search it, and `by_latent_dim` gives the loss per size.
    n_trials : int or None, default=20
        Trials this call runs (each process sharing a storage runs its own).
    timeout : float or None
        Stop starting trials after this many seconds.
    storage : str, optional
        None: in memory. A journal file (``journal:PATH`` or a path ending in
        .log/.journal) shared by processes of one machine, or a database URL
        (``sqlite:///study.db``, ``postgresql://...``) shared by many machines.
        The same storage and study name resume the study.
    study_name : str, optional
        Default ``"aekit"`` in a shared storage.
    space : mapping, optional
        Overrides of the default space (see `aekit.search.space`).
    random_state : int, default=0
        Seeds the test split, every trial's weights and validation rows (so
        trials compare on the same rows) and, in memory, the sampler.
    test_fraction : float, default=0.2
        Share of rows held out from the search and scored at the end; 0 skips
        the test.
    pruner : {"hyperband", "halving", "median", "none"} or optuna pruner, default="hyperband"
        Hyperband (successive halving over several brackets of minimum
        resource) is the default: it needs no guess of how many epochs tell a
        good trial from a bad one; see docs/tune.md.
    fixed : mapping, optional
        Estimator parameters of every trial that the space does not vary
        (e.g. ``{"max_epochs": 50, "device": "cpu"}``); they apply to the
        default model too.
    refit : bool, default=True
        Refit the best configuration with the full evaluation.
    compare_default : bool, default=True
        Fit a default AutoEncoder of the same size for the test comparison.
    verbose : int, default=1
        1: a line per trial (to `progress`, by default stderr).

    Returns
    -------
    TuneResult

    Examples
    --------
    >>> import numpy as np
    >>> from aekit.search import tune
    >>> X = np.random.default_rng(0).random((120, 8))
    >>> r = tune(X, latent_dim=2, n_trials=2, fixed={"max_epochs": 2}, verbose=0)
    >>> r.best_estimator.transform(X).shape
    (120, 2)
    """
    optuna = _optuna()
    from sklearn.utils import check_array

    from ..estimator import AutoEncoder
    from ..params import check_params

    t0 = time.perf_counter()
    X = check_array(X, dtype=np.float32)
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    if isinstance(pruner, str) and pruner not in PRUNERS:
        raise ValueError(f"unknown pruner {pruner!r}; choose from {list(PRUNERS)}")
    space = merge_space(default_space(X.shape[1], latent_dim), space or {})
    fixed = dict(fixed or {})
    clash = sorted({SPACE_PARAMS[k] for k in space} & set(fixed))
    if clash:
        raise ValueError(
            f"fixed parameter(s) {clash} are also in the search space; "
            "remove them from one of the two"
        )
    base = {"latent_dim": latent_dim, "random_state": random_state, "verbose": 0}
    base.update(fixed)
    check_params(base)
    if base.get("validation_fraction", 0.1) <= 0:
        raise ValueError("a search needs validation rows: validation_fraction > 0")

    search_idx, test_idx = _split(len(X), test_fraction, random_state)
    X_search, X_test = X[search_idx], X[test_idx]
    setup = {
        "n_rows": len(X),
        "n_features": X.shape[1],
        "n_search_rows": len(search_idx),
        "n_test_rows": len(test_idx),
        "latent_dim": latent_dim,
        "random_state": random_state,
        "test_fraction": test_fraction,
        "fixed": _jsonable(fixed),
        "space": _jsonable(space),
    }

    store = make_storage(storage)
    study = optuna.create_study(
        storage=store,
        study_name=study_name or (None if storage is None else "aekit"),
        direction="minimize",
        sampler=optuna.samplers.TPESampler(
            seed=random_state if storage is None else None
        ),
        pruner=_pruner(optuna, pruner),
        load_if_exists=True,
    )
    _check_same_setup(study, setup)
    for n in fail_orphans(study, store):
        _say(verbose, progress, f"trial {n}: failed (its worker is gone)")
    start = default_point(space, latent_dim)
    if start is not None and not study.get_trials(deepcopy=False):
        study.enqueue_trial(start, user_attrs={"default": True}, skip_if_exists=True)

    def objective(trial: Any) -> float:
        mark_worker(trial)
        params = {**base, **sample_params(trial, space, latent_dim)}
        trial.set_user_attr("params", _jsonable(params))
        cb = PruningCallback(trial)
        t = time.perf_counter()
        with (
            warnings.catch_warnings()
        ):  # a trial's dead units are the search's business
            warnings.simplefilter("ignore", DeadUnitWarning)
            est = AutoEncoder(**params).fit(X_search, evaluate=False, callbacks=[cb])
        trial.set_user_attr("seconds", time.perf_counter() - t)
        trial.set_user_attr("epochs", est.n_epochs_)
        curve = [epoch_value(h) for h in est.history_]
        trial.set_user_attr("curve", [v for v in curve if v is not None])
        if cb.pruned:
            raise optuna.TrialPruned(f"pruned after epoch {cb.pruned_at}")
        trial.set_user_attr("best_loss", float(est.best_loss_))
        return validation_mse(est, X_search)

    def report(study: Any, trial: Any) -> None:
        _say(verbose, progress, _trial_line(study, trial))

    study.optimize(
        objective,
        n_trials=n_trials,
        timeout=timeout,
        catch=(AekitError, ValueError),
        callbacks=[report],
    )
    try:
        best = study.best_trial
    except ValueError:
        raise AekitError(
            "no trial completed; give the search more trials or more time"
        ) from None
    params = _params(best.user_attrs["params"])
    result = TuneResult(
        study, None, params, best.number, float(best.value), setup=setup
    )
    if refit:
        result.best_estimator = AutoEncoder(**params).fit(X_search)
    result.by_latent_dim = _by_latent(study, X_search, X_test, "latent_dim" in space)
    if len(X_test) and result.best_estimator is not None:
        est = result.best_estimator
        result.test_mse["model"] = float(est.reconstruction_error(X_test).mean())
        result.test_mse["pca"] = _pca_mse(
            est.fitted_.to_unit(X_search),
            est.fitted_.to_unit(X_test),
            params["latent_dim"],
            random_state,
        )
        if compare_default:
            default = AutoEncoder(**{**base, "latent_dim": params["latent_dim"]})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeadUnitWarning)
                default.fit(X_search, evaluate=False)
            result.test_mse["default"] = float(
                default.reconstruction_error(X_test).mean()
            )
    result.seconds = time.perf_counter() - t0
    return result


def _importances(study: Any) -> dict[str, float]:
    """fANOVA importances of the parameters; empty when too few trials completed."""
    import optuna

    try:
        return {
            k: float(v)
            for k, v in optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
            ).items()
        }
    except (RuntimeError, ValueError):
        return {}


def _split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Search and test row indices, seeded; at least one row each side when asked."""
    n_test = round(n * test_fraction)
    if test_fraction > 0:
        n_test = min(max(n_test, 1), n - 2)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _pruner(optuna: Any, name: Any) -> Any:
    p = optuna.pruners
    if not isinstance(name, str):
        return name  # an Optuna pruner
    if name == "hyperband":
        return p.HyperbandPruner(min_resource=1, reduction_factor=3)
    if name == "halving":
        return p.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "median":
        return p.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    return p.NopPruner()


def _check_same_setup(study: Any, setup: dict[str, Any]) -> None:
    """Refuse to resume a study run on other rows, another code size or space."""
    before = study.user_attrs.get("setup")
    if before is None:
        study.set_user_attr("setup", setup)
        return
    keys = ("n_rows", "n_features", "latent_dim", "random_state", "test_fraction")
    differ = [k for k in (*keys, "space", "fixed") if before.get(k) != setup.get(k)]
    if differ:
        raise ValueError(
            f"study {study.study_name!r} was run with another {', '.join(differ)}; "
            "use another --study-name, or the same data and options to resume it"
        )


def _by_latent(
    study: Any, X_search: np.ndarray, X_test: np.ndarray, searched: bool
) -> dict[int, dict[str, Any]]:
    """Per searched code size: the best validation MSE and its trial."""
    from optuna.trial import TrialState

    if not searched:
        return {}
    out: dict[int, dict[str, Any]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        k = int(t.user_attrs["params"]["latent_dim"])
        if k not in out or t.value < out[k]["val_mse"]:
            out[k] = {"val_mse": float(t.value), "trial": t.number}
    return dict(sorted(out.items()))


def _pca_mse(U_search: np.ndarray, U_test: np.ndarray, k: int, seed: int) -> float:
    """Test MSE of the PCA with `k` components fitted on the search rows."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=k, random_state=seed).fit(U_search)
    R = pca.inverse_transform(pca.transform(U_test))
    return float(np.mean((U_test.astype(np.float64) - R) ** 2))


def _params(stored: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(stored)
    if params.get("hidden_dims") is not None:
        params["hidden_dims"] = tuple(params["hidden_dims"])
    return params


def _trial_line(study: Any, trial: Any) -> str:
    """One progress line: number, state, value, best so far."""
    state = trial.state.name.lower()
    epoch = max(trial.intermediate_values, default=None)
    if state == "complete":
        what = f"value {trial.value:.6g}"
    elif state == "pruned":
        last = trial.intermediate_values.get(epoch) if epoch is not None else None
        what = f"pruned at epoch {epoch} (val_loss {last:.6g})" if last else "pruned"
    else:
        what = state
    try:
        best = f"best {study.best_value:.6g} (trial {study.best_trial.number})"
    except ValueError:
        best = "no best yet"
    start = " (the default model)" if trial.user_attrs.get("default") else ""
    return f"trial {trial.number}{start}: {what}; {best}"


def _trial_record(t: Any) -> dict[str, Any]:
    return {
        "number": t.number,
        "state": t.state.name.lower(),
        "value": t.value,
        "params": t.params,
        "epochs": t.user_attrs.get("epochs"),
        "seconds": t.user_attrs.get("seconds"),
        "curve": t.user_attrs.get("curve"),
        "default": bool(t.user_attrs.get("default")),
    }


def _say(verbose: int, progress: Callable[[str], None] | None, line: str) -> None:
    if verbose:
        (progress or (lambda s: print(s, file=sys.stderr, flush=True)))(line)


def _jsonable(v: Any) -> Any:
    """Plain JSON values: tuples as lists, numpy scalars as numbers, NaN as None."""
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def save_result(
    result: TuneResult,
    folder: Any,
    extra_files: Mapping[str, bytes] | None = None,
) -> None:
    """Save the best model as a model folder with ``study.json`` beside its files.

    Everything is committed in the one atomic rename of `aekit.io.save_folder`.
    """
    import json

    from ..io import saving_with

    if result.best_estimator is None:
        raise ValueError("nothing to save: the search ran with refit=False")
    text = json.dumps(result.summary(), indent=2, allow_nan=False).encode()
    with saving_with({"study.json": text, **(extra_files or {})}):
        result.best_estimator.save(folder)


__all__: Sequence[str] = ("PruningCallback", "TuneResult", "save_result", "tune")
