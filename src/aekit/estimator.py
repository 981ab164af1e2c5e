"""AutoEncoder: the scikit-learn face of aekit (fit / transform / inverse_transform)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from .allocator import tune_for_training
from .fitting import run_fit
from .model import AEConfig, AutoEncoderNet
from .prepare import (
    ScaledRows,
    as_codes,
    as_float32,
    as_tensor,
)
from .scaling import check_unit_range
from .train import EVAL_BATCH, Callback, TrainConfig


class AutoEncoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A fully connected autoencoder as a scikit-learn transformer.

    `transform` gives the latent code, `inverse_transform` the reconstruction in
    the original units. Hidden widths halve from the input size down to
    `latent_dim` unless `hidden_dims` is given; the decoder mirrors the encoder.

    Parameters
    ----------
    latent_dim : int, default=1000
        Size of the code; must be smaller than the number of features.
    hidden_dims : sequence of int, optional
        Encoder hidden widths (the decoder mirrors them). None: the halving rule.
    activation : {"relu", "leaky_relu", "elu", "gelu", "tanh"}, default="relu"
        Hidden-layer activation.
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss on data scaled to [0, 1].
    max_epochs : int, default=100
    batch_size : int, default=64
        Rows per optimizer step. Small tables need many steps: at 256, a
        1,000-row table gets only 4 steps an epoch (see benchmarks/RESULTS.md).
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
    validation_fraction : float, default=0.1
        Share of rows held out (seeded) for early stopping and the dead-unit monitor.
    patience : int or None, default=10
        Stop after this many epochs without a better validation loss; the best
        weights are restored. None trains all `max_epochs`.
    scale : bool, default=True
        Min-max scale each column to [0, 1] with the training rows' range. With
        False, data outside [0, 1] is refused.
    dead_units : {"warn", "switch", "ignore"}, default="warn"
        What to do when a ReLU layer's dead fraction passes `dead_unit_threshold`:
        warn, switch that layer to LeakyReLU (weights kept), or nothing.
    dead_unit_threshold : float, default=0.5
    device : {"auto", "cpu", "cuda"}, default="auto"
    precision : {"fp32", "bf16"}, default="fp32"
        bf16 runs matrix products under autocast with fp32 master weights.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the validation split and the batch order.
        The same integer on CPU gives bitwise identical weights.
    verbose : int, default=1
        0 silent, 1 a progress bar when attached to a terminal, 2 a line per epoch.

    Attributes
    ----------
    module_ : AutoEncoderNet
        The trained torch module (in eval mode).
    history_ : list of dict
        Per epoch: train_loss, val_loss, seconds, dead_fraction per layer, switched.
    scaling_ : MinMaxScaling or None
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.
    metrics_ : dict
        Fit-time scores in the scaled space: the autoencoder and a PCA baseline
        with as many components as the code (fitted on the training rows), on
        the training and validation rows; and the anomaly threshold's origin.
    pca_ : aekit.evaluate.PCABaseline or None
        That PCA baseline; None when its components were too large to keep.
    threshold_ : float
        Anomaly threshold: the 99th percentile of the per-row reconstruction
        errors of the rows passed to fit (see `is_anomaly`).

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((200, 16))
    >>> ae = AutoEncoder(latent_dim=4, max_epochs=3, random_state=0, verbose=0).fit(X)
    >>> ae.transform(X).shape
    (200, 4)
    """

    module_: AutoEncoderNet  # set by fit

    def __init__(
        self,
        latent_dim: int = 1000,
        hidden_dims: tuple[int, ...] | list[int] | None = None,
        activation: str = "relu",
        loss: str = "mse",
        max_epochs: int = 100,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        scale: bool = True,
        dead_units: str = "warn",
        dead_unit_threshold: float = 0.5,
        device: str = "auto",
        precision: str = "fp32",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 1,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.loss = loss
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.scale = scale
        self.dead_units = dead_units
        self.dead_unit_threshold = dead_unit_threshold
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose

    # -- configuration -----------------------------------------------------------

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            patience=self.patience,
            loss=self.loss,
            dead_units=self.dead_units,
            dead_unit_threshold=self.dead_unit_threshold,
            precision=self.precision,
            verbose=int(self.verbose),
        )

    def _check_params(self, n_features: int) -> tuple[AEConfig, TrainConfig]:
        vf = self.validation_fraction
        if isinstance(vf, bool) or not isinstance(vf, (int, float)) or not 0 <= vf < 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got {vf!r}")
        arch = AEConfig(
            n_features=n_features,
            latent_dim=self.latent_dim,
            hidden_dims=None if self.hidden_dims is None else tuple(self.hidden_dims),
            activation=self.activation,
        )
        return arch, self._train_config()

    def _validate(self, X: Any, reset: bool) -> np.ndarray:
        if X is None:
            raise TypeError(
                "X is None; pass an array-like of shape (n_samples, n_features)"
            )
        X = validate_data(
            self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=1
        )
        return as_float32(X)

    def _to_unit(self, X: np.ndarray) -> np.ndarray:
        """Original units -> the [0, 1] space the network sees."""
        if self.scaling_ is not None:
            return self.scaling_.transform(X)
        check_unit_range(X)
        return X

    # -- fitting -----------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        callbacks: list[Callback] | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1,
        keep_last: int | None = 3,
        resume_from: str | os.PathLike[str] | None = None,
    ) -> AutoEncoder:
        """Learn the scaling and the autoencoder from the rows of X; return self.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        callbacks : list of aekit.train.Callback, optional
            Hooks called during training (checkpoints, logging, stopping). With
            an `aekit.checkpoint.StopOnSignal`, SIGINT/SIGTERM stop training at
            the next step and raise `TrainingInterrupted`.
        checkpoint_dir : path, optional
            Save the full training state there every `checkpoint_every` epochs
            and where training stops (see docs/guarantees.md).
        checkpoint_every : int, default=1
        keep_last : int or None, default=3
            Checkpoints kept, newest first; None keeps all.
        resume_from : path, optional
            A checkpoint folder, or a directory of them (the newest is used):
            continue that run exactly. X must be the same rows, and the
            parameters the same except max_epochs, patience, verbose, device,
            random_state (the checkpoint's seed is used) and lr.

        Raises
        ------
        DivergenceError
            The loss became NaN or infinite; checkpoints already written stay intact.
        TrainingInterrupted
            A StopOnSignal callback caught a signal; ``checkpoint`` names the
            saved point to pass as `resume_from`.

        On any error the estimator keeps the fitted state it had before the call.
        """
        before = {k: v for k, v in vars(self).items() if k.endswith("_")}
        try:
            run_fit(
                self,
                X,
                list(callbacks or ()),
                checkpoint_dir,
                checkpoint_every,
                keep_last,
                resume_from,
            )
            return self
        except BaseException:
            for k in [k for k in vars(self) if k.endswith("_")]:
                delattr(self, k)
            self.__dict__.update(before)
            raise

    def _fit_evaluation(self, train: ScaledRows, val: ScaledRows | None) -> None:
        """PCA baseline, held-out metrics and anomaly threshold (see aekit.evaluate)."""
        from .evaluate import fit_time_evaluation

        pca, metrics, threshold = fit_time_evaluation(self, train, val)
        self.metrics_ = metrics
        self.pca_ = pca
        self.threshold_: float | None = threshold

    @property
    def _n_features_out(self) -> int:
        return int(self.module_.config.latent_dim)

    # -- using a fitted model ----------------------------------------------------

    def _device(self) -> torch.device:
        return next(self.module_.parameters()).device

    @torch.inference_mode()
    def _batched(self, fn: Any, A: np.ndarray | ScaledRows) -> np.ndarray:
        """`fn` over chunks of rows, written into one float32 array.

        A holds rows already in [0, 1] space, or is `ScaledRows` scaled a
        chunk at a time (no scaled copy of the input is made).
        """
        tune_for_training()  # large outputs again and again, as in training
        device = self._device()
        rows = A if isinstance(A, ScaledRows) else ScaledRows(torch.from_numpy(A))
        out, i = np.zeros((0, 0), np.float32), 0
        for xb in rows.chunks(EVAL_BATCH):
            r = fn(xb.to(device)).float().cpu().numpy()
            if i == 0:
                out = np.empty((len(rows), *r.shape[1:]), np.float32)
            out[i : i + len(r)] = r
            i += len(r)
        return out

    def _unit_rows(self, X: Any) -> ScaledRows:
        """Validated rows of X, scaled a chunk at a time as `_batched` takes them."""
        X = self._validate(X, reset=False)
        if self.scaling_ is None:
            check_unit_range(X)
        return ScaledRows(as_tensor(X, torch.device("cpu")), None, self.scaling_)

    def transform(self, X: Any) -> np.ndarray:
        """Latent codes, float32 array of shape (n_samples, latent_dim)."""
        check_is_fitted(self)
        return self._batched(self.module_.encode, self._unit_rows(X))

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decode latent codes back to reconstructions in the original units."""
        check_is_fitted(self)
        Z = as_codes(X, self._n_features_out)
        R = self._batched(self.module_.decode, Z)
        return self.scaling_.inverse_transform(R) if self.scaling_ is not None else R

    def reconstruct(self, X: Any) -> np.ndarray:
        """Reconstruction of X in the original units (encode then decode)."""
        check_is_fitted(self)
        R = self._batched(self.module_, self._unit_rows(X))
        return self.scaling_.inverse_transform(R) if self.scaling_ is not None else R

    def reconstruction_error(self, X: Any, per_feature: bool = False) -> np.ndarray:
        """Per-row mean squared reconstruction error, in the scaled [0, 1] space.

        Higher is more anomalous. With ``per_feature=True``: the squared error
        of every value, shape (n_samples, n_features).
        """
        check_is_fitted(self)

        def squared_error(xb: torch.Tensor) -> torch.Tensor:
            e = (self.module_(xb).float() - xb) ** 2
            return e if per_feature else e.mean(dim=1)

        return self._batched(squared_error, self._unit_rows(X))

    def score(self, X: Any, y: Any = None) -> float:
        """Negative mean squared reconstruction error (higher is better)."""
        return -float(self.reconstruction_error(X).mean())

    def score_samples(self, X: Any) -> np.ndarray:
        """Per-row normality: the negative reconstruction error (scikit-learn's sign).

        As for scikit-learn's outlier detectors, *lower* means more anomalous,
        and ``score(X) == score_samples(X).mean()``. For the error itself
        (higher = more anomalous) use `reconstruction_error`.
        """
        return -self.reconstruction_error(X)

    def is_anomaly(self, X: Any) -> np.ndarray:
        """True for the rows whose reconstruction error is above ``threshold_``."""
        check_is_fitted(self)
        if getattr(self, "threshold_", None) is None:
            from .errors import NotFittedError

            raise NotFittedError(
                "this model has no anomaly threshold (saved by an older aekit); call "
                "calibrate_threshold(X) with rows known to be normal first"
            )
        return self.reconstruction_error(X) > self.threshold_

    def calibrate_threshold(self, X: Any, quantile: float = 0.99) -> AutoEncoder:
        """Set ``threshold_`` to the `quantile` of the row errors of X; return self.

        Use rows known to be normal that the model did not train on: the
        errors of training rows are optimistic, the more so the more the
        model overfits.
        """
        if isinstance(quantile, bool) or not 0 < quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
        self.threshold_ = float(np.quantile(self.reconstruction_error(X), quantile))
        return self

    def evaluate(self, X: Any, y: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Errors against the PCA baseline, probes and diagnostics on X.

        See `aekit.evaluate.evaluate_model` for the keyword arguments and the
        result.
        """
        check_is_fitted(self)
        from .evaluate import evaluate_model

        return evaluate_model(self, X, y, **kwargs)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = [
                "float32"
            ]  # codes are always float32
        return tags

    # -- persistence -------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model to folder `path` (config.json + model.safetensors)."""
        from .serialize import save_estimator

        save_estimator(self, path)
