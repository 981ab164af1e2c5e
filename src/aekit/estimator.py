"""AutoEncoder: the scikit-learn face of aekit (fit / transform / inverse_transform)."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .model import AEConfig, AutoEncoderNet
from .scaling import MinMaxScaling, check_unit_range
from .train import EVAL_BATCH, Callback, TrainConfig, TrainState, restore_best, train

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' without a GPU is refused."""
    if not isinstance(device, str) or device.split(":")[0] not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose from {list(DEVICES)}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but no CUDA GPU is available; use device='cpu'")
    return torch.device(device)


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
    batch_size : int, default=256
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
        hidden_dims: tuple[int, ...] | list[int] | None = None,
        activation: str = "relu",
        loss: str = "mse",
        max_epochs: int = 100,
        batch_size: int = 256,
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
        X = validate_data(
            self, X, reset=reset, dtype=[np.float32, np.float64], ensure_min_samples=1
        )
        return np.asarray(X, dtype=np.float32)

    def _to_unit(self, X: np.ndarray) -> np.ndarray:
        """Original units -> the [0, 1] space the network sees."""
        if self.scaling_ is not None:
            return self.scaling_.transform(X)
        check_unit_range(X)
        return X

    # -- fitting -----------------------------------------------------------------

    def fit(self, X: Any, y: Any = None, *, callbacks: list[Callback] | None = None) -> AutoEncoder:
        """Learn the scaling and the autoencoder from the rows of X; return self.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        callbacks : list of aekit.train.Callback, optional
            Hooks called during training (checkpoints, logging, stopping).
        """
        t0 = time.perf_counter()
        X = self._validate(X, reset=True)
        if X.shape[0] < 2:
            raise ValueError(
                f"Found array with {X.shape[0]} sample(s) while a minimum of 2 is "
                "required by AutoEncoder: it needs rows to learn from"
            )
        arch, tcfg = self._check_params(X.shape[1])
        device = resolve_device(self.device)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if self.scale:
            self.scaling_: MinMaxScaling | None = MinMaxScaling.fit(X)
        else:
            self.scaling_ = None
        Xu = self._to_unit(X)
        train_idx, val_idx = split_rows(len(Xu), self.validation_fraction, seed)
        X_train = torch.from_numpy(Xu[train_idx]).to(device)
        X_val = torch.from_numpy(Xu[val_idx]).to(device) if len(val_idx) else None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = AutoEncoderNet(arch).to(device)
        state = train(module, X_train, X_val, tcfg, seed=seed, callbacks=callbacks or ())
        self._finish(state, seed, time.perf_counter() - t0)
        return self

    def _finish(self, state: TrainState, seed: int, seconds: float) -> None:
        restore_best(state)
        self.module_ = state.module.eval()
        self.history_ = state.history
        self.seed_ = seed
        self.n_epochs_ = state.epoch
        self.best_epoch_ = state.best_epoch
        self.best_loss_ = state.best_loss
        self.stopped_early_ = state.stopped_early
        self.fit_seconds_ = seconds

    @property
    def _n_features_out(self) -> int:
        return int(self.module_.config.latent_dim)

    # -- using a fitted model ----------------------------------------------------

    def _device(self) -> torch.device:
        return next(self.module_.parameters()).device

    @torch.inference_mode()
    def _batched(self, fn: Any, A: np.ndarray) -> np.ndarray:
        device = self._device()
        out = [
            fn(torch.from_numpy(A[i : i + EVAL_BATCH]).to(device)).float().cpu().numpy()
            for i in range(0, len(A), EVAL_BATCH)
        ]
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def transform(self, X: Any) -> np.ndarray:
        """Latent codes, float32 array of shape (n_samples, latent_dim)."""
        check_is_fitted(self)
        Xu = self._to_unit(self._validate(X, reset=False))
        return self._batched(self.module_.encode, Xu)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decode latent codes back to reconstructions in the original units."""
        check_is_fitted(self)
        Z = _as_codes(X, self._n_features_out)
        R = self._batched(self.module_.decode, Z)
        return self.scaling_.inverse_transform(R) if self.scaling_ is not None else R

    def reconstruct(self, X: Any) -> np.ndarray:
        """Reconstruction of X in the original units (encode then decode)."""
        check_is_fitted(self)
        R = self._batched(self.module_, self._to_unit(self._validate(X, reset=False)))
        return self.scaling_.inverse_transform(R) if self.scaling_ is not None else R

    def reconstruction_error(self, X: Any) -> np.ndarray:
        """Per-row mean squared reconstruction error, in the scaled [0, 1] space."""
        check_is_fitted(self)
        Xu = self._to_unit(self._validate(X, reset=False))
        R = self._batched(self.module_, Xu)
        return ((R - Xu) ** 2).mean(axis=1)

    def score(self, X: Any, y: Any = None) -> float:
        """Negative mean squared reconstruction error (higher is better)."""
        return -float(self.reconstruction_error(X).mean())

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

    # -- persistence -------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model to folder `path` (config.json + model.safetensors)."""
        from .serialize import save_estimator

        save_estimator(self, path)


def _as_codes(Z: Any, latent_dim: int) -> np.ndarray:
    from sklearn.utils import check_array

    Z = check_array(Z, dtype=[np.float32, np.float64])
    if Z.shape[1] != latent_dim:
        raise ValueError(
            f"X has {Z.shape[1]} features, but inverse_transform is expecting "
            f"{latent_dim} latent dimensions as input"
        )
    return np.asarray(Z, dtype=np.float32)


def split_rows(n: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of range(n) into (train, validation) row indices; train keeps >= 1 row."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = min(int(round(n * validation_fraction)), n - 1)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
