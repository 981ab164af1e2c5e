"""A fitted model: module, scaling, PCA baseline, threshold; batched encode/decode/errors.

`FittedModel` is what everything below the estimator receives: the
evaluation, anomaly scores, probes, the report, persistence and the CLI
compute with it. It holds no training state (that is the `FitRecord`); a fit
(`aekit.fitting.run_fit`) and a model folder (`aekit.serialize.read_model`)
build one, and the estimator keeps it as ``fitted_``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .allocator import tune_for_training
from .data.rows import ScaledRows, as_float32, as_tensor
from .errors import NotFittedError
from .families import get_family
from .memory import free_memory
from .pca import PCABaseline
from .scaling import MinMaxScaling, check_unit_range

EVAL_BATCH = 4096  # rows per forward pass when nothing is learned
SAMPLE_BLOCK = 65536  # rows per draw of `iter_sample`: a block of new rows
MAX_SAMPLE_ROWS = 2**48  # more rows than any table could hold


def as_codes(Z: Any, latent_dim: int) -> np.ndarray:
    """Codes Z checked against the code size, as float32."""
    from sklearn.utils import check_array

    Z = check_array(Z, dtype=[np.float32, np.float64])
    if Z.shape[1] != latent_dim:
        raise ValueError(
            f"X has {Z.shape[1]} features, but inverse_transform is expecting "
            f"{latent_dim} latent dimensions as input"
        )
    return np.asarray(Z, dtype=np.float32)


class FittedModel:
    """A trained module, the scaling of its inputs, its PCA baseline and threshold.

    Parameters
    ----------
    module : torch.nn.Module
        The family's module (``encode``, ``decode``, ``forward``); put in eval mode.
    family : str
        The registered family that built it.
    scaling : MinMaxScaling or None
        Original units -> the [0, 1] space the module sees; None: data is in
        [0, 1] already.
    feature_names : sequence of str, optional
        Column names the model was fitted on.
    pca : PCABaseline, optional
        The PCA of the same size fitted on the same training rows, scored next
        to the model; None when not computed or too large to keep.
    threshold : float, optional
        Anomaly threshold on the per-row error (`errors`); None: not calibrated.
    loss : {"mse", "bce"}, default="mse"
        The reconstruction loss the module was trained for.
    precision : {"fp32", "bf16"}, default="fp32"
        The precision it was trained in (the evaluation's loss uses it).

    Examples
    --------
    >>> import numpy as np, aekit
    >>> X = np.random.default_rng(0).random((100, 8))
    >>> ae = aekit.AutoEncoder(latent_dim=2, max_epochs=2, verbose=0).fit(X)
    >>> ae.fitted_.encode(ae.fitted_.rows(X)).shape
    (100, 2)
    """

    def __init__(
        self,
        module: nn.Module,
        family: str,
        scaling: MinMaxScaling | None,
        feature_names: Any = None,
        *,
        pca: PCABaseline | None = None,
        threshold: float | None = None,
        loss: str = "mse",
        precision: str = "fp32",
    ) -> None:
        self.module: Any = module.eval()
        self.family_name = family
        self.scaling = scaling
        self.feature_names = (
            None if feature_names is None else [str(n) for n in feature_names]
        )
        self.pca = pca
        self.threshold = threshold
        self.loss = loss
        self.precision = precision

    # -- what it is ------------------------------------------------------------

    @property
    def family(self) -> Any:
        return get_family(self.family_name)

    @property
    def config(self) -> Any:
        return self.module.config

    @property
    def n_features(self) -> int:
        return int(self.module.config.n_features)

    @property
    def latent_dim(self) -> int:
        return int(self.module.config.latent_dim)

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def architecture(self) -> str:
        """One line: the module's shape (see `Family.architecture`)."""
        return self.family.architecture(self.module)

    def layers(self) -> list[dict[str, Any]]:
        return self.family.layers(self.module)

    def n_parameters(self) -> int:
        return int(self.family.n_parameters(self.module))

    # -- input -----------------------------------------------------------------

    def validate(self, X: Any) -> np.ndarray:
        """X as a float32 array with this model's features, finite, in order.

        A DataFrame's columns must be the fitted feature names (when there are
        any), in the same order.
        """
        from sklearn.utils import check_array

        if X is None:
            raise TypeError(
                "X is None; pass an array-like of shape (n_samples, n_features)"
            )
        columns = getattr(X, "columns", None)
        if columns is not None and self.feature_names is not None:
            given = [str(c) for c in columns]
            if given != self.feature_names:
                raise ValueError(
                    "The feature names should match those that were passed during "
                    f"fit: got {given[:5]}{'...' if len(given) > 5 else ''}, "
                    f"expected {self.feature_names[:5]}"
                    f"{'...' if len(self.feature_names) > 5 else ''}"
                )
        A = check_array(X, dtype=[np.float32, np.float64])
        if A.shape[1] != self.n_features:
            raise ValueError(
                f"X has {A.shape[1]} features, but the model is expecting "
                f"{self.n_features} features as input"
            )
        return as_float32(A)

    def unit(self, X: Any) -> np.ndarray:
        """Any rows X, validated against this model, in its [0, 1] space (new array)."""
        return self.to_unit(self.validate(X))

    def feature_labels(self, names: Sequence[str] | None = None) -> list[str]:
        """`names`, else the fitted feature names, else x0, x1, ..."""
        if names is None:
            names = self.feature_names or [f"x{i}" for i in range(self.n_features)]
        if len(names) != self.n_features:
            raise ValueError(
                f"{len(names)} feature names for {self.n_features} features"
            )
        return [str(s) for s in names]

    def rows(self, X: np.ndarray) -> ScaledRows:
        """Validated rows X, scaled a chunk at a time as they are used (no copy)."""
        if self.scaling is None:
            check_unit_range(X)
        return ScaledRows(as_tensor(X, torch.device("cpu")), None, self.scaling)

    def to_unit(self, X: np.ndarray) -> np.ndarray:
        """Validated rows in original units -> the [0, 1] space (a new array)."""
        if self.scaling is not None:
            return self.scaling.transform(X)
        check_unit_range(X)
        return X

    def to_original(self, R: np.ndarray) -> np.ndarray:
        return self.scaling.inverse_transform(R) if self.scaling is not None else R

    # -- computing ---------------------------------------------------------------

    @torch.inference_mode()
    def apply(
        self, fn: Callable[[torch.Tensor], torch.Tensor], A: np.ndarray | ScaledRows
    ) -> np.ndarray:
        """`fn` over chunks of rows, written into one float32 array.

        A holds rows already in [0, 1] space, or is `ScaledRows` scaled a
        chunk at a time (no scaled copy of the input is made).
        """
        tune_for_training()  # large outputs again and again, as in training
        device = self.device
        rows = A if isinstance(A, ScaledRows) else ScaledRows(torch.from_numpy(A))
        out, i = np.zeros((0, 0), np.float32), 0
        for xb in rows.chunks(EVAL_BATCH):
            r = fn(xb.to(device)).float().cpu().numpy()
            if i == 0:
                out = np.empty((len(rows), *r.shape[1:]), np.float32)
            out[i : i + len(r)] = r
            i += len(r)
        if i == 0:  # no rows: the output's width from an empty pass
            empty = fn(torch.zeros((0, self.n_features), device=device))
            out = np.zeros((0, *empty.shape[1:]), np.float32)
        return out

    def encode(self, A: np.ndarray | ScaledRows) -> np.ndarray:
        """Scaled rows -> codes (n, latent_dim)."""
        return self.apply(self.module.encode, A)

    def decode(self, Z: Any) -> np.ndarray:
        """Codes -> reconstructions in the [0, 1] space (n, n_features)."""
        return self.apply(self.module.decode, as_codes(Z, self.latent_dim))

    def reconstruct(self, A: np.ndarray | ScaledRows) -> np.ndarray:
        """Scaled rows -> their reconstructions in the [0, 1] space."""
        return self.apply(self.module, A)

    def errors(
        self, A: np.ndarray | ScaledRows, per_feature: bool = False
    ) -> np.ndarray:
        """Squared reconstruction errors in the [0, 1] space: per row, or per value.

        Each row's error depends on that row alone, whatever rows come with it.
        """

        def squared_error(xb: torch.Tensor) -> torch.Tensor:
            e = (self.module(xb).float() - xb) ** 2
            return e if per_feature else e.mean(dim=1)

        return self.apply(squared_error, A)

    # -- anomalies and drawing ---------------------------------------------------

    def is_anomaly(self, A: np.ndarray | ScaledRows) -> np.ndarray:
        """True for the rows whose error (`errors`) is above ``threshold``."""
        if self.threshold is None:
            raise NotFittedError(
                "this model has no anomaly threshold (fitted with evaluate=False, or "
                "saved by an older aekit); call calibrate_threshold(X) with rows known "
                "to be normal first"
            )
        return self.errors(A) > self.threshold

    def calibrate_threshold(self, A: np.ndarray | ScaledRows, quantile: float) -> None:
        """Set ``threshold`` to the `quantile` of the row errors of A."""
        if isinstance(quantile, bool) or not 0 < quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
        self.threshold = float(np.quantile(self.errors(A), quantile))

    def sample(self, n: int, random_state: Any = None) -> np.ndarray:
        """`n` new rows in the original units, float32 (n, n_features).

        `random_state` (int, numpy Generator or RandomState, or None) seeds
        the draw; the same seed gives the same rows, the concatenation of
        `iter_sample`'s blocks. ValueError when the family is not generative,
        or when `n` rows cannot fit in the memory available (draw them a
        block at a time with `iter_sample` instead).
        """
        n = self._sample_count(n)
        need = n * self.n_features * 4
        free = free_memory(torch.device("cpu"))
        if free is not None and need > free:
            raise ValueError(
                f"{n:,} rows of {self.n_features} features need {need / 2**30:,.1f} "
                f"GiB, more than the {free / 2**30:,.1f} GiB available; draw fewer, "
                "or a block at a time with iter_sample (aekit sample writes blocks)"
            )
        out = np.empty((n, self.n_features), dtype=np.float32)
        done = 0
        for block in self.iter_sample(n, random_state):
            out[done : done + len(block)] = block
            done += len(block)
        return out

    def iter_sample(self, n: int, random_state: Any = None) -> Iterator[np.ndarray]:
        """`sample`'s rows a block of at most `SAMPLE_BLOCK` rows at a time.

        Memory stays that of one block whatever `n`; the blocks are drawn in
        turn from one generator seeded by `random_state`, so they are the same
        rows as ``sample(n, random_state)``.
        """
        from sklearn.utils import check_random_state

        n = self._sample_count(n)
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
        generator = torch.Generator(device=self.device).manual_seed(seed)
        for start in range(0, n, SAMPLE_BLOCK) if n else [0]:
            k = min(SAMPLE_BLOCK, n - start)
            try:
                with torch.inference_mode():
                    rows = self.family.sample(self.module, k, generator)
            except NotImplementedError as e:
                raise ValueError(str(e)) from None
            yield self.to_original(rows.float().cpu().numpy())

    @staticmethod
    def _sample_count(n: Any) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be an integer >= 0, got {n!r}")
        if n > MAX_SAMPLE_ROWS:
            raise ValueError(f"n must be at most 2**48 rows, got {n:.3g}")
        return int(n)
