"""AutoEncoder: the scikit-learn face of aekit (fit / transform / inverse_transform).

Thin over `fitting` (one fit), `fitted` (computing with a fitted model) and
`serialize` (model folders): it validates its parameters and X, and keeps
what a fit produced (see `learned`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from ..data.rows import ScaledRows, as_float32, refuse_categorical
from ..fitting import run_fit, setup_run
from ..params import check_params
from ..train import Callback
from .learned import Learned
from .outputs import Outputs


class AutoEncoder(
    Outputs, Learned, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """A fully connected autoencoder as a scikit-learn transformer.

    `transform` gives the latent code, `inverse_transform` the reconstruction in
    the original units. The model family (`model`) decides the network: by
    default ``"pca_anchored"``, which starts as the PCA of its size and learns
    a nonlinear correction, so that it does not end worse than that PCA;
    ``"halving"`` is the founding design (widths halving to the code, sigmoid
    output). See docs/families.md.

    Parameters
    ----------
    latent_dim : int, default=1000
        Size of the code; must be smaller than the number of features.
    model : str, default="pca_anchored"
        The model family, by its name in `aekit.families.FAMILIES`.
    hidden_dims : sequence of int, optional
        Hidden widths (the decoder mirrors them). None: the family's rule
        (halving: n/2, n/4, ... down to the code; pca_anchored: min(512, n/2)
        and half of it, for its correction networks).
    activation : {"relu", "leaky_relu", "elu", "gelu", "tanh"}, default="relu"
        Hidden-layer activation.
    model_options : dict, optional
        The family's own options, e.g. ``{"train_pca": False}`` for
        pca_anchored; unknown names are refused with the family's list.
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss on data scaled to [0, 1].
    max_epochs : int or "auto", default="auto"
        Upper bound on passes over the training rows. "auto": at least 200,
        and enough for 10,000 optimizer steps (a table of 50 rows gets one step
        an epoch); a ConvergenceWarning says when that was not enough.
    batch_size : int, default=64
        Rows per optimizer step. Small tables need many steps: at 256, a
        1,000-row table gets only 4 steps an epoch (see benchmarks/RESULTS.md).
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
    validation_fraction : float, default=0.1
        Share of rows held out (seeded) for early stopping and the dead-unit monitor.
    patience : int, "auto" or None, default="auto"
        Stop after this many epochs without a better validation loss; the best
        weights are restored. None trains all `max_epochs`. "auto": 20.
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
    verbose : int, default=0
        0 silent (scikit-learn's default), 1 a progress bar when attached to a
        terminal, 2 a line per epoch. The CLI asks for 1.

    Attributes
    ----------
    fitted_ : aekit.FittedModel
        The trained module with its scaling, PCA baseline and anomaly
        threshold: batched encode/decode/errors. What the evaluation, the
        report, model folders and the CLI receive.
    record_ : aekit.record.FitRecord
        What the fit produced besides the model; the attributes below from
        ``history_`` to ``metrics_`` read it.
    module_ : torch.nn.Module
        The trained torch module (in eval mode), ``fitted_.module``.
    scaling_ : MinMaxScaling or None
        The min-max scaling of the inputs, ``fitted_.scaling``.
    history_ : list of dict
        Per epoch: train_loss, val_loss, seconds, dead_fraction per layer,
        switched, and train_parts/val_parts for objectives with several parts.
    seed_ : int
        The seed the fit used (drawn from `random_state`); a resumed fit
        reuses its checkpoint's.
    n_epochs_ : int
        Epochs trained.
    best_epoch_ : int
        The epoch whose weights were kept; 0 when the starting point (for
        pca_anchored, the PCA) was never beaten.
    best_loss_ : float
        The validation loss of that epoch.
    stopped_early_ : bool
        Whether early stopping ended the fit.
    fit_seconds_ : float
        Wall time of the whole fit.
    fit_timings_ : dict of str to float
        Seconds per phase of the fit (pca, training, start_refit, evaluation).
    metrics_ : dict or None
        Fit-time scores (None after ``fit(X, evaluate=False)``) in the scaled space: the autoencoder and a PCA baseline
        with as many components as the code (fitted on the training rows), on
        the training and validation rows; and the anomaly threshold's origin.
    pca_ : aekit.pca.PCABaseline or None
        That PCA baseline, ``fitted_.pca``; None when its components were too
        large to keep.
    threshold_ : float or None
        Anomaly threshold, ``fitted_.threshold``: the 99th percentile of the
        per-row reconstruction errors of the rows passed to fit (see
        `is_anomaly`, `calibrate_threshold`).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from aekit import AutoEncoder
    >>> X = np.random.default_rng(0).random((200, 16))
    >>> ae = AutoEncoder(latent_dim=4, max_epochs=3, random_state=0, verbose=0).fit(X)
    >>> ae.transform(X).shape
    (200, 4)
    """

    def __init__(
        self,
        latent_dim: int = 1000,
        model: str = "pca_anchored",
        hidden_dims: tuple[int, ...] | list[int] | None = None,
        activation: str = "relu",
        model_options: dict[str, Any] | None = None,
        loss: str = "mse",
        max_epochs: int | str = "auto",
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        validation_fraction: float = 0.1,
        patience: int | str | None = "auto",
        scale: bool = True,
        dead_units: str = "warn",
        dead_unit_threshold: float = 0.5,
        device: str = "auto",
        precision: str = "fp32",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.latent_dim = latent_dim
        self.model = model
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.model_options = model_options
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

    def _validate(self, X: Any, reset: bool) -> np.ndarray:
        if X is None:
            raise TypeError(
                "X is None; pass an array-like of shape (n_samples, n_features)"
            )
        refuse_categorical(X)
        X = validate_data(
            self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=1
        )
        return as_float32(X)

    def _rows(self, X: Any) -> ScaledRows:
        """Validated rows of X, scaled a chunk at a time as they are used."""
        return self.fitted_.rows(self._validate(X, reset=False))

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
        evaluate: bool = True,
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
        evaluate : bool, default=True
            Compute the PCA baseline, the fit-time scores (``metrics_``) and
            the anomaly threshold after training. False skips them (a search
            that trains many models); ``pca_``, ``metrics_`` and
            ``threshold_`` are then None.

        Raises
        ------
        InvalidParameterError
            A parameter has a value of the wrong type or range.
        DivergenceError
            The loss became NaN or infinite; checkpoints already written stay intact.
        TrainingInterrupted
            A StopOnSignal callback caught a signal; ``checkpoint`` names the
            saved point to pass as `resume_from`.

        Notes
        -----
        The keyword options belong to one run, not to the model: where it
        writes, what it continues from, what it computes at the end (as
        Lightning's ``fit(ckpt_path=...)``). ``clone`` leaves them out, and
        ``GridSearchCV(...).fit(X, callbacks=[...])`` passes them to every fit.

        On any error the estimator keeps the fitted state it had before the call.
        """
        before = {k: v for k, v in vars(self).items() if k.endswith("_")}
        try:
            params = self.get_params()
            check_params(params)
            Xv = self._validate(X, reset=True)
            names = getattr(self, "feature_names_in_", None)
            run = setup_run(
                Xv,
                params,
                feature_names=None if names is None else list(names),
                callbacks=list(callbacks or ()),
                checkpoint_dir=checkpoint_dir,
                checkpoint_every=checkpoint_every,
                keep_last=keep_last,
                resume_from=resume_from,
                evaluate=evaluate,
            )
            fitted, record = run_fit(run)
        except BaseException:
            for k in [k for k in vars(self) if k.endswith("_")]:
                delattr(self, k)
            self.__dict__.update(before)
            raise
        self._set_fitted(fitted, record)
        return self

    # -- using a fitted model ----------------------------------------------------

    def transform(self, X: Any) -> np.ndarray:
        """Latent codes, float32 array of shape (n_samples, latent_dim)."""
        check_is_fitted(self)
        return self.fitted_.encode(self._rows(X))

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decode latent codes back to reconstructions in the original units."""
        check_is_fitted(self)
        return self.fitted_.to_original(self.fitted_.decode(X))

    def sample(self, n: int, random_state: Any = None) -> np.ndarray:
        """Draw `n` new rows, in the original units, from a generative family.

        See `FittedModel.sample`; ValueError when the family cannot draw rows
        (only ``"variational"`` can).
        """
        check_is_fitted(self)
        return self.fitted_.sample(n, random_state)

    def reconstruct(self, X: Any) -> np.ndarray:
        """Reconstruction of X in the original units (encode then decode)."""
        check_is_fitted(self)
        return self.fitted_.to_original(self.fitted_.reconstruct(self._rows(X)))

    def reconstruction_error(self, X: Any, per_feature: bool = False) -> np.ndarray:
        """Per-row mean squared reconstruction error, in the scaled [0, 1] space.

        Higher is more anomalous. With ``per_feature=True``: the squared error
        of every value, shape (n_samples, n_features).
        """
        check_is_fitted(self)
        return self.fitted_.errors(self._rows(X), per_feature)

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
        return self.fitted_.is_anomaly(self._rows(X))

    def calibrate_threshold(self, X: Any, quantile: float = 0.99) -> AutoEncoder:
        """Set ``threshold_`` to the `quantile` of the row errors of X; return self.

        Use rows known to be normal that the model did not train on: the
        errors of training rows are optimistic, the more so the more the
        model overfits.
        """
        check_is_fitted(self)
        self.fitted_.calibrate_threshold(self._rows(X), quantile)
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = [
                "float32"
            ]  # codes are always float32
        return tags
