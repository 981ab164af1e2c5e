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
    pick : dict
        Which trial is the answer and why (`pick_trial`): ``picked``
        (``"tuned"``, ``"default"`` or ``"best"`` where the study has no
        default trial), the best and the default trial, and the paired test's
        figures (rows, mean gain, standard error, z).
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
    pick: dict[str, Any] = field(default_factory=dict)

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
                "pick": self.pick,
                "test_mse": self.test_mse,
                "test_ratios": ratios,
                "importances": importances(self.study),
                "by_latent_dim": {str(k): v for k, v in self.by_latent_dim.items()},
                "seconds": self.seconds,
                "trials": [trial_record(t) for t in trials],
            }
        )


PICK_Z = 1.645  # one-sided 5%: a tuned trial must beat the default by this many SEs


def best_result(study: Any, setup: dict[str, Any]) -> TuneResult:
    """The picked trial (`pick_trial`) as a result, not yet refitted nor tested."""
    try:
        best = study.best_trial
    except ValueError:
        raise AekitError(
            "no trial completed; give the search more trials or more time"
        ) from None
    chosen, pick = pick_trial(study, best)
    params = dict(chosen.user_attrs["params"])
    if params.get("hidden_dims") is not None:
        params["hidden_dims"] = tuple(params["hidden_dims"])
    return TuneResult(
        study, None, params, chosen.number, float(chosen.value), setup=setup, pick=pick
    )


def pick_trial(study: Any, best: Any) -> tuple[Any, dict[str, Any]]:
    """The default trial unless the best beats it clearly on the validation rows.

    The lowest validation MSE of many trials is biased low: on a few rows a
    configuration wins by chance and loses on new rows. As the pca_anchored
    start test does (`aekit.fitting.start`), the per-row errors of the best
    and of the default trial on the same validation rows (every fold's rows
    under k-fold) are paired, and the best is picked only when its mean gain
    is above PICK_Z standard errors of that mean (a one-sided test at 5%).
    Without a completed default trial the best is the pick.
    """
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    default = next((t for t in done if t.user_attrs.get("default")), None)
    out: dict[str, Any] = {"best_trial": best.number, "z": PICK_Z}
    if default is None:
        return best, {**out, "picked": "best", "default_trial": None}
    out["default_trial"] = default.number
    if default.number == best.number:
        return best, {**out, "picked": "default", "reason": "the default is the best"}
    e_best = best.user_attrs.get("val_errors")
    e_default = default.user_attrs.get("val_errors")
    if e_best is None or e_default is None or len(e_best) != len(e_default):
        return best, {**out, "picked": "tuned", "reason": "no paired errors"}
    gain = np.asarray(e_default, np.float64) - np.asarray(e_best, np.float64)
    n = len(gain)
    mean = float(gain.mean())
    se = float(gain.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    clear = mean > PICK_Z * se
    out.update(
        picked="tuned" if clear else "default",
        validation_rows=n,
        best_value=float(best.value),
        default_value=float(default.value),
        mean_gain=mean,
        standard_error=se,
    )
    return (best if clear else default), out


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
