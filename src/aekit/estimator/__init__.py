"""The scikit-learn face: `AutoEncoder`, and `load` for a saved model folder.

The modules: `autoencoder` (the estimator: parameters, fit, transform, ...),
`learned` (its learned attributes over a FittedModel and a FitRecord),
`outputs` (evaluate, report, export_onnx, save: thin over the floors below) and
`loading` (`load`: a model folder as an estimator).
"""

from __future__ import annotations

from .autoencoder import AutoEncoder
from .loading import load

__all__ = ["AutoEncoder", "load"]
