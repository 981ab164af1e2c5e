"""The estimator's learned state: a FittedModel and a FitRecord, set in one step.

Every learned attribute of `AutoEncoder` (``module_``, ``history_``,
``threshold_``, ...) reads ``fitted_`` or ``record_``; `Learned._set_fitted`
is the one place that sets them, on fit and on load.
"""

from __future__ import annotations

import numpy as np

from ..fitted import FittedModel
from ..record import FitRecord


class Learned:
    """What a fit (or a model folder) gave an estimator, and the attributes over it."""

    fitted_: FittedModel
    record_: FitRecord

    def _set_fitted(self, fitted: FittedModel, record: FitRecord) -> None:
        """Keep a fit's (or a model folder's) model and record as the learned state."""
        self.fitted_ = fitted
        self.record_ = record
        self.n_features_in_ = fitted.n_features
        if fitted.feature_names is not None:
            self.feature_names_in_ = np.asarray(fitted.feature_names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    module_ = property(lambda self: self.fitted_.module, doc="``fitted_.module``")
    scaling_ = property(lambda self: self.fitted_.scaling, doc="``fitted_.scaling``")
    pca_ = property(lambda self: self.fitted_.pca, doc="``fitted_.pca``")
    history_ = property(lambda self: self.record_.history, doc="``record_.history``")
    seed_ = property(lambda self: self.record_.seed, doc="``record_.seed``")
    n_epochs_ = property(lambda self: self.record_.n_epochs, doc="epochs trained")
    best_epoch_ = property(lambda self: self.record_.best_epoch, doc="epoch kept")
    best_loss_ = property(lambda self: self.record_.best_loss, doc="its val loss")
    stopped_early_ = property(lambda self: self.record_.stopped_early)
    fit_seconds_ = property(lambda self: self.record_.seconds, doc="fit wall time")
    fit_timings_ = property(lambda self: self.record_.timings, doc="per phase")
    metrics_ = property(lambda self: self.record_.metrics, doc="fit-time scores")

    @property
    def threshold_(self) -> float | None:
        """The anomaly threshold, ``fitted_.threshold`` (None: not calibrated)."""
        return self.fitted_.threshold

    @threshold_.setter
    def threshold_(self, value: float | None) -> None:
        self.fitted_.threshold = value

    @property
    def _n_features_out(self) -> int:
        """Output width for scikit-learn's get_feature_names_out: the code size."""
        return self.fitted_.latent_dim
