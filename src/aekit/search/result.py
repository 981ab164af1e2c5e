"""What a search produced: `TuneResult`, its JSON summary (``study.json``), saving it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import AekitError
from .study import importances, trial_record


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
        return jsonable(
            {
                "study_name": self.study.study_name,
                "setup": self.setup,
                "trials_by_state": {k: v for k, v in counts.items() if v},
                "best_trial": self.best_trial,
                "best_value": self.best_value,
                "best_params": self.best_params,
                "test_mse": self.test_mse,
                "test_ratios": ratios,
                "importances": importances(self.study),
                "by_latent_dim": {str(k): v for k, v in self.by_latent_dim.items()},
                "seconds": self.seconds,
                "trials": [trial_record(t) for t in trials],
            }
        )


def best_result(study: Any, setup: dict[str, Any]) -> TuneResult:
    """The study's best trial as a result, not yet refitted nor tested."""
    try:
        best = study.best_trial
    except ValueError:
        raise AekitError(
            "no trial completed; give the search more trials or more time"
        ) from None
    params = dict(best.user_attrs["params"])
    if params.get("hidden_dims") is not None:
        params["hidden_dims"] = tuple(params["hidden_dims"])
    return TuneResult(study, None, params, best.number, float(best.value), setup=setup)


def by_latent(study: Any, searched: bool) -> dict[int, dict[str, Any]]:
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


def jsonable(v: Any) -> Any:
    """Plain JSON values: tuples as lists, numpy scalars as numbers, NaN as None.

    Unlike `aekit.jsonable.jsonable`, any mapping becomes a dict with str keys,
    so a stored setup compares equal to the one a resumed study computes.
    """
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
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

    if result.best_estimator is None:
        raise ValueError("nothing to save: the search ran with refit=False")
    text = json.dumps(result.summary(), indent=2, allow_nan=False).encode()
    files = {"study.json": text, **(extra_files or {})}
    result.best_estimator.save(folder, extra_files=files)
