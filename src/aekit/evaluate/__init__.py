"""How well a model reconstructs and represents data, next to a PCA of the same size.

Every error here is measured in the model's [0, 1] scaled space (the space the
network is trained in), so features in different units compare and the PCA
baseline, fitted on the same scaled rows, competes on equal terms.

At fit time the estimator calls `fit_time_evaluation`: a PCA with as many
components as the code has dimensions is fitted on the training rows and both
models are scored on the validation rows; the anomaly threshold is calibrated
on the rows passed to `fit`. `evaluate_model` reports on any data: errors
overall and per feature for both models, linear and k-NN probes when labels are
given, and diagnostics (dead units, latent statistics, output saturation, the
train/validation gap, the worst reconstructed features).

The modules: `baseline` (the PCA baseline), `metrics` (reconstruction errors in
the scaled space), `probes`, `diagnostics` (`evaluate_model`, `training_gap`),
`anomaly` (`score_table`, the threshold's quantile) and `fit_time` (what `fit`
computes besides the network).
"""

from __future__ import annotations

from ..pca import (
    BASELINE_MAX_FLOATS,
    BASELINE_MAX_ROWS,
    BASELINE_PREFIX,
    PCABaseline,
    fit_baseline,
    split_baseline,
)
from .anomaly import THRESHOLD_QUANTILE, score_table
from .diagnostics import (
    DEAD_WARN,
    LATENT_VARIANCE_FLOOR,
    OVERFIT_GAP,
    OVERFIT_RISE,
    SATURATION,
    evaluate_model,
    training_gap,
)
from .fit_time import fit_time_evaluation
from .metrics import _Errors, fitted_model
from .probes import (
    PROBE_FOLDS,
    PROBE_MAX_ITER,
    PROBE_MAX_ROWS,
    PROBE_NEIGHBORS,
    probe,
    probe_model,
)

__all__ = [
    "BASELINE_MAX_FLOATS",
    "BASELINE_MAX_ROWS",
    "BASELINE_PREFIX",
    "DEAD_WARN",
    "LATENT_VARIANCE_FLOOR",
    "OVERFIT_GAP",
    "OVERFIT_RISE",
    "PROBE_FOLDS",
    "PROBE_MAX_ITER",
    "PROBE_MAX_ROWS",
    "PROBE_NEIGHBORS",
    "SATURATION",
    "THRESHOLD_QUANTILE",
    "PCABaseline",
    "_Errors",
    "evaluate_model",
    "fit_baseline",
    "fit_time_evaluation",
    "fitted_model",
    "probe",
    "probe_model",
    "score_table",
    "split_baseline",
    "training_gap",
]
