"""One fit, below the estimator: setup, training, the start test, the results.

`AutoEncoder.fit` validates its parameters and X, then calls `run_fit` with
plain values and sets its learned attributes from the `FittedModel` and
`FitRecord` it returns. Nothing here reads or writes the estimator.

The modules: `setup` (the family's config, seed or resume, scaling, rows and
split, the training config and the PCA: one `FitRun`), `start` (does the
trained model beat its start?) and `run` (`run_fit`: setup, train, decide,
evaluate).
"""

from __future__ import annotations

from .run import run_fit
from .setup import FitRun, setup_run
from .start import START_Z, start_test

__all__ = ["START_Z", "FitRun", "run_fit", "setup_run", "start_test"]
