"""A family registered from outside aekit trains, saves, loads and resumes.

Nothing in aekit's own files knows this family: it is one class and one
`register_family` call, as a plugin or a new built-in family would be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

import aekit
from aekit import AutoEncoder
from aekit.families import Family, reconstruction_loss
from aekit.train import Callback, TrainState


@dataclass
class ToyConfig:
    n_features: int
    latent_dim: int = 2
    hidden_dims: tuple[int, ...] | None = None  # unused: one linear map a side
    activation: str = "relu"  # unused
    noise: float = 0.1  # std of the Gaussian noise added to inputs in training
    code_penalty: float = 0.01  # weight of the code's mean square


class ToyNet(nn.Module):
    def __init__(self, config: ToyConfig) -> None:
        super().__init__()
        self.config = config
        self.enc = nn.Linear(config.n_features, config.latent_dim)
        self.dec = nn.Linear(config.latent_dim, config.n_features)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.dec(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class Toy(Family):
    name = "toy_denoising_linear"
    config_class = ToyConfig
    summary = "a linear denoising autoencoder with a code penalty (test only)"

    def build(self, config: ToyConfig) -> nn.Module:
        return ToyNet(config)

    def objective(self, module, xb, *, loss, rng):
        noisy = xb
        if rng is not None:
            noise = torch.randn(xb.shape, generator=rng, device=xb.device)
            noisy = xb + module.config.noise * noise
        z = module.encode(noisy)
        recon = reconstruction_loss(module.decode(z), xb, loss)
        penalty = z.pow(2).mean()
        total = recon + module.config.code_penalty * penalty
        return total, {"reconstruction": recon, "code_penalty": penalty}


aekit.register_family(Toy())

KW = dict(
    latent_dim=2,
    model="toy_denoising_linear",
    model_options={"noise": 0.2},
    max_epochs=4,
    batch_size=16,
    patience=None,
    random_state=3,
    verbose=0,
)


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return np.random.default_rng(7).random((80, 8)).astype(np.float32)


class StopAt(Callback):
    def __init__(self, epoch: int, step: int) -> None:
        self.at = (epoch, step)

    def on_batch_end(self, state: TrainState) -> None:
        if (state.epoch, state.step) == self.at:
            state.stop_requested = True


def test_toy_family_trains_records_its_parts_and_roundtrips(X, tmp_path):
    ae = AutoEncoder(**KW).fit(X)
    assert isinstance(ae.module_, ToyNet) and ae.module_.config.noise == 0.2
    h = ae.history_[-1]
    assert set(h["train_parts"]) == {"reconstruction", "code_penalty"}
    assert set(h["val_parts"]) == {"reconstruction", "code_penalty"}
    ae.save(tmp_path / "m")
    back = aekit.load(tmp_path / "m")
    assert back.model == "toy_denoising_linear"
    assert isinstance(back.module_, ToyNet) and back.module_.config.noise == 0.2
    assert np.array_equal(back.transform(X), ae.transform(X))
    assert back.fitted_.architecture() == "enc 8 → 2; dec 2 → 8"
    assert [row["layer"] for row in back.fitted_.layers()] == ["enc", "dec"]


def test_toy_family_resumes_bitwise_with_its_noise(X, tmp_path):
    reference = AutoEncoder(**KW).fit(X)
    AutoEncoder(**KW).fit(X, checkpoint_dir=tmp_path, callbacks=[StopAt(1, 3)])
    resumed = AutoEncoder(**KW).fit(X, resume_from=tmp_path)
    for k, v in reference.module_.state_dict().items():
        assert torch.equal(v, resumed.module_.state_dict()[k]), k
    assert reference.history_ == [
        {**h, "seconds": r["seconds"]}
        for h, r in zip(resumed.history_, reference.history_, strict=True)
    ]


def test_the_noise_matters_for_the_toy_family(X):
    # the noise generator is really used: other noise, other weights
    a = AutoEncoder(**KW).fit(X)
    b = AutoEncoder(**{**KW, "model_options": {"noise": 0.0}}).fit(X)
    assert not torch.equal(a.module_.enc.weight, b.module_.enc.weight)
