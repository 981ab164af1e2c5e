"""`aekit.tune`: a hyperparameter search over AutoEncoders, on Optuna.

The rows are split once (seeded) into search rows and test rows. Each trial
builds an AutoEncoder from parameters drawn from the space and fits it on the
search rows without the fit-time evaluation (`aekit.search.trial`); a new
study's first trial is the default AutoEncoder, when the space holds it
(`aekit.search.study`). Below `KFOLD_BELOW` search rows each trial is valued
by k-fold cross-validation on them (the same folds for every trial); above,
by one validation split. The answer is the default unless the best trial
beats it clearly on the validation rows (`aekit.search.result.pick_trial`).
It is refitted with the full evaluation, and the test rows, never seen by the search, score it against the
PCA of the same size and the default AutoEncoder (`aekit.search.comparison`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AekitError
from .comparison import held_out_mse
from .result import TuneResult, best_result, by_latent, jsonable, save_result
from .space import check_fixed, check_values, default_space, merge_space
from .storage import damage_named
from .study import (
    PRUNERS,
    import_optuna,
    open_study,
    progress_lines,
    start_from_default,
    trial_line,
    warnings_only,
)
from .trial import (
    Objective,
    PruningCallback,
    epoch_value,
    make_folds,
    validation_mse,
)

if TYPE_CHECKING:
    from ..tracking import MLflowStudy

KFOLD_BELOW = 1000
"""Search rows below which ``cv="auto"`` values trials by k-fold (see docs/tune.md)."""
KFOLD_K = 5


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
    cv: int | str = "auto",
    refit: bool = True,
    compare_default: bool = True,
    verbose: int = 1,
    progress: Callable[[str], None] | None = None,
    tracker: MLflowStudy | None = None,
    backend: str = "optuna",
    trial_resources: Any = None,
    address: str | None = None,
) -> TuneResult:
    """Search AutoEncoder hyperparameters on the rows of X; refit and test the best.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    latent_dim : int
        Size of the code, fixed; put ``latent_dim`` in `space` to search it.
    n_trials, timeout : int or None (default 20), float or None
        Trials this process runs; no trial starts after `timeout` seconds.
    storage, study_name : str, optional
        None: in memory; a journal file (``journal:PATH``) or a database URL
        (``sqlite:///study.db``), where the same name (default ``"aekit"``)
        resumes the study.
    space, fixed : mapping, optional
        Overrides of the default space (`aekit.search.space`); estimator
        parameters of every trial and of the default model.
    random_state, test_fraction : int (default 0), float (default 0.2)
        Seed of the test split, of the trials and, in memory, of the sampler;
        the share of rows held out from the search (0: no test).
    pruner : {"hyperband", "halving", "median", "none"} or optuna pruner
        Default Hyperband: it needs no guess of the epochs that tell trials apart.
        No trial is judged before epoch 5 (`aekit.search.study.MIN_EPOCHS`).
    cv : "auto" or int, default="auto"
        How a trial is valued: k >= 2, by k-fold cross-validation on the
        search rows (folds seeded by `random_state`, the same for every
        trial); 1, by one validation split; "auto": 5-fold below 1000 search
        rows (`KFOLD_BELOW`), one split above.
    refit, compare_default : bool, default=True
        Refit the best with the full evaluation; test a default model too.
    verbose, progress : int (default 1), callable, optional
        1: a line per trial to `progress` (default stderr). See docs/tune.md.
    tracker : aekit.tracking.MLflowStudy, optional
        Log the search to MLflow: a parent run, a nested run per trial (pruned
        ones marked), the best trial and test scores at the end; its
        ``log_artifacts`` adds the saved files. See docs/tracking.md.
    backend : {"optuna", "ray"}, default="optuna"
        "ray": trials run on Ray Tune (`aekit.search.ray_backend`); `storage`
        is then the folder of the Ray experiment, restored when rerun.
    trial_resources, address : str or mapping, str, optional
        Ray only: each trial's share (``"cpu=2,gpu=0.5"``, default 1 CPU);
        a cluster to join (``"auto"``, ``"ray://host:10001"``; default a
        local Ray on this machine's CPUs).

    Examples
    --------
    >>> X = np.random.default_rng(0).random((120, 8))
    >>> r = tune(X, latent_dim=2, n_trials=2, fixed={"max_epochs": 2}, verbose=0)
    >>> r.best_estimator.transform(X).shape
    (120, 2)
    """
    optuna = import_optuna()
    t0 = time.perf_counter()
    check_budget(n_trials, timeout)
    if backend not in ("optuna", "ray"):
        raise ValueError(f"unknown backend {backend!r}; choose from ['optuna', 'ray']")
    plan = _plan(X, latent_dim, space, fixed, random_state, test_fraction, pruner, cv)
    say = progress_lines(verbose, progress)
    if backend == "ray":
        from .ray_backend import run_ray

        with warnings_only(optuna):
            study = run_ray(
                plan,
                latent_dim,
                n_trials,
                timeout,
                storage,
                trial_resources,
                address,
                pruner=pruner,
                say=say,
            )
            study.set_user_attr("setup", plan.setup)
            return _refit_and_test(study, plan, refit, compare_default, t0)
    with warnings_only(optuna), damage_named(storage):
        study = open_study(optuna, storage, study_name, pruner, plan.setup, say)
        start_from_default(study, plan.space, latent_dim)
        if tracker is not None:
            tracker.begin(study.study_name, plan.setup)
        try:
            _optimize(study, plan, latent_dim, n_trials, timeout, say, tracker)
            result = _refit_and_test(study, plan, refit, compare_default, t0)
        except BaseException:
            if tracker is not None:
                tracker.end({}, status="FAILED")
            raise
    if tracker is not None:
        tracker.end(result.summary())
    return result


def check_budget(n_trials: Any, timeout: Any) -> None:
    """Refuse a trial count or a time budget that could run nothing, naming it."""
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1
    ):
        raise ValueError(
            f"n_trials must be an integer >= 1 (or None: until the timeout), "
            f"got {n_trials!r}"
        )
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ValueError(
            f"timeout must be a number of seconds > 0 (or None: no limit), "
            f"got {timeout!r}"
        )
    if n_trials is None and timeout is None:
        raise ValueError("give n_trials or timeout: a search needs an end")


@dataclass
class Plan:
    """What a search runs on: its rows, space and fixed parameters, as checked."""

    X_search: np.ndarray  # (n_search_rows, n_features)
    X_test: np.ndarray  # (n_test_rows, n_features): never seen by the search
    space: dict[str, Any]
    base: dict[str, Any]  # estimator parameters of every trial beside the space's
    setup: dict[str, Any]  # what a resumed study must share (``study.json``'s setup)
    folds: list[np.ndarray] | None = None  # k-fold validation; None: one split


def _plan(
    X: Any,
    latent_dim: int,
    space: Mapping[str, Any] | None,
    fixed: Mapping[str, Any] | None,
    random_state: int,
    test_fraction: float,
    pruner: Any,
    cv: int | str = "auto",
) -> Plan:
    """Check the data and options, split the rows; errors in the order users meet them."""
    from sklearn.utils import check_array

    from ..params import check_params

    X = check_array(X, dtype=np.float32)
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    if isinstance(pruner, str) and pruner not in PRUNERS:
        raise ValueError(f"unknown pruner {pruner!r}; choose from {list(PRUNERS)}")
    space = merge_space(default_space(X.shape[1], latent_dim), space or {})
    check_values(space, X.shape[1], latent_dim)
    fixed = dict(fixed or {})
    check_fixed(space, fixed)
    base = {"latent_dim": latent_dim, "random_state": random_state, "verbose": 0}
    base.update(fixed)
    check_params(base)
    if base.get("validation_fraction", 0.1) <= 0:
        raise ValueError("a search needs validation rows: validation_fraction > 0")
    search_idx, test_idx = _split(len(X), test_fraction, random_state)
    k = folds_for(cv, len(search_idx))
    folds = None if k == 1 else make_folds(len(search_idx), k, random_state)
    setup = {
        "n_rows": len(X),
        "n_features": X.shape[1],
        "n_search_rows": len(search_idx),
        "n_test_rows": len(test_idx),
        "latent_dim": latent_dim,
        "random_state": random_state,
        "test_fraction": test_fraction,
        "fixed": jsonable(fixed),
        "space": jsonable(space),
        "validation": validation_setup(cv, k, folds, random_state),
    }
    return Plan(X[search_idx], X[test_idx], space, base, setup, folds)


def folds_for(cv: Any, n_search: int) -> int:
    """The number of folds `cv` asks for on `n_search` rows (1: one split)."""
    if cv == "auto":
        return KFOLD_K if n_search < KFOLD_BELOW else 1
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 1:
        raise ValueError(f'cv must be "auto" or an integer >= 1, got {cv!r}')
    if cv > n_search // 2:
        raise ValueError(
            f"cv={cv} folds need at least {2 * cv} search rows, there are "
            f"{n_search}: use fewer folds"
        )
    return cv


def validation_setup(
    cv: Any, k: int, folds: list[np.ndarray] | None, seed: int
) -> dict[str, Any]:
    """How trials are valued, as ``study.json`` records it (a resumed study must match)."""
    if folds is None:
        return {"scheme": "split", "cv": cv, "kfold_below": KFOLD_BELOW}
    # a digest of the folds' rows: a resumed study must score on the same ones
    digest = int(sum(int(f.sum()) * (j + 1) for j, f in enumerate(folds)))
    return {
        "scheme": "kfold",
        "cv": cv,
        "k": k,
        "seed": seed,
        "kfold_below": KFOLD_BELOW,
        "fold_rows": [len(f) for f in folds],
        "fold_digest": digest,
    }


def _split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Search and test row indices, seeded; at least one row each side when asked."""
    n_test = round(n * test_fraction)
    if test_fraction > 0:
        n_test = min(max(n_test, 1), n - 2)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _optimize(
    study: Any,
    plan: Plan,
    latent_dim: int,
    n_trials: int | None,
    timeout: float | None,
    say: Callable[[str], None],
    tracker: MLflowStudy | None = None,
) -> None:
    """Run this process's trials, a line each; a trial that raises a usage error fails."""
    study.optimize(
        Objective(
            plan.X_search, plan.base, plan.space, latent_dim, tracker, plan.folds
        ),
        n_trials=n_trials,
        timeout=timeout,
        catch=(AekitError, ValueError),
        callbacks=[lambda study, trial: say(trial_line(study, trial))],
    )


def _refit_and_test(
    study: Any, plan: Plan, refit: bool, compare_default: bool, t0: float
) -> TuneResult:
    """The best trial refitted with the full evaluation, scored on the test rows."""
    from ..estimator import AutoEncoder

    result = best_result(study, plan.setup)
    if refit:
        result.best_estimator = AutoEncoder(**result.best_params).fit(plan.X_search)
    result.by_latent_dim = by_latent(study, "latent_dim" in plan.space)
    if len(plan.X_test) and result.best_estimator is not None:
        result.test_mse = held_out_mse(
            result.best_estimator,
            plan.X_search,
            plan.X_test,
            base=plan.base,
            random_state=plan.setup["random_state"],
            compare_default=compare_default,
        )
    result.seconds = time.perf_counter() - t0
    return result


# the names this module held before its parts moved out stay importable from it
__all__: Sequence[str] = (
    "PRUNERS",
    "PruningCallback",
    "TuneResult",
    "epoch_value",
    "save_result",
    "tune",
    "validation_mse",
)
