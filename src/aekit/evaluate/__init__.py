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

Everything here takes a `aekit.FittedModel` (``AutoEncoder.fitted_``), never
the estimator. The modules: `metrics` (reconstruction errors in the scaled
space), `probes`, `diagnostics` (`evaluate_model`, `training_gap`), `anomaly`
(`score_table`, the threshold's quantile) and `fit_time` (what `fit` computes
besides the network). The PCA baseline itself is `aekit.pca`, on the ground
floor, since a family's start uses it too; its names are re-exported here.
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
from .metrics import ErrorSums
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
    "ErrorSums",
    "PCABaseline",
    "evaluate_model",
    "fit_baseline",
    "fit_time_evaluation",
    "probe",
    "probe_model",
    "score_table",
    "split_baseline",
    "training_gap",
]
