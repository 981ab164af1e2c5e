"""What a fitted estimator hands to the floors below: evaluation, report, export, save.

Each method is a few lines over a function that takes the estimator's
``fitted_`` (and ``record_``), so the same work is open to callers that hold
a `FittedModel` without an estimator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from sklearn.utils.validation import check_is_fitted

from ..serialize import save_model
from .learned import Learned


class Outputs(Learned):
    """`evaluate`, `report`, `export_onnx` and `save` of a fitted estimator."""

    get_params: Callable[..., dict[str, Any]]  # scikit-learn's BaseEstimator's

    def evaluate(self, X: Any, y: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Errors against the PCA baseline, probes and diagnostics on X.

        See `aekit.evaluate.evaluate_model` for the keyword arguments and the
        result.
        """
        check_is_fitted(self)
        from ..evaluate import evaluate_model

        return evaluate_model(self.fitted_, X, y, history=self.history_, **kwargs)

    def report(
        self, path: str | os.PathLike[str], X: Any = None, y: Any = None, **kwargs: Any
    ) -> Any:
        """Write the HTML report of this model (and of X, y) to `path`; return it.

        See `aekit.report.write_report` for the keyword arguments.
        """
        check_is_fitted(self)
        from ..report import write_report

        return write_report(self.fitted_, path, X, y, record=self.record_, **kwargs)

    def export_onnx(
        self, path: str | os.PathLike[str], part: str = "encoder", **kwargs: Any
    ) -> Any:
        """Write `part` of this model to `path` as ONNX, scaling inside; return the path.

        See `aekit.export.to_onnx` for the parts and the keyword arguments
        (needs ``pip install aekit[onnx]``).
        """
        check_is_fitted(self)
        from ..export import to_onnx

        return to_onnx(self.fitted_, path, part=part, **kwargs)


    def save(
        self,
        path: str | os.PathLike[str],
        *,
        extra_files: Mapping[str, bytes] | None = None,
    ) -> None:
        """Write the fitted model to folder `path` (config.json + model.safetensors).

        `extra_files` (name -> bytes) are committed with it, in the same rename.
        """
        check_is_fitted(self)
        save_model(
            path, self.fitted_, self.get_params(), self.record_, extra_files=extra_files
        )

