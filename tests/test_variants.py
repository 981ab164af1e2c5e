"""The autoencoder variants: each trains, saves, loads and resumes, and has its property."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import aekit
from aekit import AutoEncoder
from aekit.families.contractive import encoder_jacobian
from aekit.families.sparse import near_zero_shares
from aekit.train import Callback, TrainState

VARIANTS = {
    "sparse": {"l1": 1e-2, "beta": 0.1},
    "sparse_halving": {"base": "halving", "beta": 0.1},
    "denoising": {"noise": "mask", "level": 0.3},
    "denoising_swap": {"noise": "swap", "level": 0.3, "base": "halving"},
    "denoising_gaussian": {"noise": "gaussian", "level": 0.1},
    "contractive": {"contraction": 1e-3},
    "variational": {"beta": 1.0},
    "convolutional": {},
}


def family_of(case: str) -> str:
    return case.split("_")[0]


KW = dict(
    latent_dim=4,
    max_epochs=3,
    batch_size=32,
    patience=None,
    random_state=3,
    verbose=0,
    dead_units="ignore",
)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    from sklearn.datasets import load_digits

    return (load_digits().data / 16.0).astype(np.float32)


class StopAt(Callback):
    def __init__(self, epoch: int, step: int) -> None:
        self.at = (epoch, step)

    def on_batch_end(self, state: TrainState) -> None:
        if (state.epoch, state.step) == self.at:
            state.stop_requested = True


@pytest.mark.parametrize("case", list(VARIANTS))
def test_variant_trains_saves_loads_and_resumes_bitwise(case, digits, tmp_path):
    X = digits[:160]
    kw = {**KW, "model": family_of(case), "model_options": VARIANTS[case]}
    reference = AutoEncoder(**kw).fit(X)
    assert reference.transform(X).shape == (160, 4)
    reference.save(tmp_path / "m")
    back = aekit.load(tmp_path / "m")
    assert back.model == family_of(case)
    assert type(back.module_) is type(reference.module_)
    np.testing.assert_array_equal(back.transform(X), reference.transform(X))
    np.testing.assert_array_equal(back.reconstruct(X), reference.reconstruct(X))
    assert back.fitted_.architecture() == reference.fitted_.architecture()

    ckpt = tmp_path / "ckpt"
    AutoEncoder(**kw).fit(X, checkpoint_dir=ckpt, callbacks=[StopAt(1, 2)])
    resumed = AutoEncoder(**kw).fit(X, resume_from=ckpt)
    for k, v in reference.module_.state_dict().items():
        assert torch.equal(v, resumed.module_.state_dict()[k]), k
    assert reference.history_ == [
        {**h, "seconds": r["seconds"]}
        for h, r in zip(resumed.history_, reference.history_, strict=True)
    ]


def _fit(X: np.ndarray, model: str, options: dict, epochs: int = 12) -> AutoEncoder:
    return AutoEncoder(
        latent_dim=8,
        model=model,
        model_options=options,
        max_epochs=epochs,
        patience=None,
        batch_size=64,
        scale=False,
        random_state=0,
        verbose=0,
        dead_units="ignore",
    ).fit(X)


def test_sparse_has_more_near_zero_activations_than_plain(digits):
    X, held = digits[:800], torch.from_numpy(digits[1400:])
    # the KL target: hidden units mostly off, on either base
    for base in ("pca_anchored", "halving"):
        plain = near_zero_shares(_fit(X, base, {}).module_, held)
        sparse = near_zero_shares(
            _fit(X, "sparse", {"base": base, "l1": 0.0, "beta": 0.3}).module_, held
        )
        assert sparse["hidden"] > plain["hidden"] + 0.3, (base, sparse, plain)
    # the L1 penalty: codes near zero relative to each dimension's range (on the
    # pca_anchored base it mostly shrinks the code's scale instead: docs/variants.md)
    plain = near_zero_shares(_fit(X, "halving", {}).module_, held)
    sparse = near_zero_shares(
        _fit(X, "sparse", {"base": "halving", "l1": 0.1}).module_, held
    )
    assert sparse["code"] > plain["code"] + 0.1, (sparse, plain)


@pytest.mark.slow  # two fits of 50 epochs
def test_denoising_reconstructs_corrupted_rows_better_than_plain(digits):
    X, held = digits[:800], digits[1400:]
    hit = np.random.default_rng(0).random(held.shape) < 0.3
    corrupted = np.where(hit, 0.0, held).astype(np.float32)

    def mse(ae: AutoEncoder) -> float:
        return float(((ae.reconstruct(corrupted) - held) ** 2).mean())

    plain = mse(_fit(X, "pca_anchored", {}, epochs=50))
    denoising = mse(_fit(X, "denoising", {"noise": "mask", "level": 0.3}, epochs=50))
    assert denoising < 0.9 * plain, (denoising, plain)


def test_contractive_has_a_smaller_jacobian_than_plain(digits):
    X, held = digits[:800], torch.from_numpy(digits[1400:])

    def jacobian_norm(ae: AutoEncoder) -> float:
        with torch.no_grad():
            return float(
                encoder_jacobian(ae.module_, held)[1].pow(2).sum((1, 2)).mean()
            )

    for base in ("pca_anchored", "halving"):
        plain = jacobian_norm(_fit(X, base, {}))
        contractive = jacobian_norm(
            _fit(X, "contractive", {"base": base, "contraction": 1e-2})
        )
        assert contractive < 0.5 * plain, (base, contractive, plain)


@pytest.mark.parametrize(
    ("base", "activation"),
    [
        ("halving", "relu"),
        ("pca_anchored", "gelu"),
        ("halving", "tanh"),
        ("halving", "elu"),
    ],
)
def test_the_closed_form_jacobian_is_the_autograd_one(base, activation, digits):
    from aekit import kernels

    ae = AutoEncoder(
        latent_dim=5,
        model="contractive",
        model_options={"base": base},
        activation=activation,
        max_epochs=2,
        verbose=0,
        random_state=1,
        dead_units="ignore",
    ).fit(digits[:200])
    x = torch.from_numpy(digits[200:210])
    _, J = encoder_jacobian(ae.module_, x)
    kernels.set_fast_linear(False)  # the fast path's Function has no functorch rule
    try:
        ref = torch.func.vmap(
            torch.func.jacrev(lambda r: ae.module_.encode(r[None])[0])
        )(x)
    finally:
        kernels.set_fast_linear(None)
    torch.testing.assert_close(J, ref, rtol=1e-5, atol=1e-6)


def test_variational_kl_sample_and_means(digits):
    ae = _fit(digits[:600], "variational", {"beta": 1.0}, epochs=5)
    for h in ae.history_:
        assert h["train_parts"]["kl"] > 0 and h["val_parts"]["kl"] > 0
    S = ae.sample(50, random_state=0)
    assert S.shape == (50, 64) and S.dtype == np.float32
    assert S.min() >= 0 and S.max() <= 1
    np.testing.assert_array_equal(S, ae.sample(50, random_state=0))
    assert not np.array_equal(S, ae.sample(50, random_state=1))
    X = digits[600:700]
    Z = ae.transform(X)
    np.testing.assert_array_equal(Z, ae.transform(X))  # deterministic
    with torch.no_grad():
        mu, _ = ae.module_.posterior(torch.from_numpy(X))
    np.testing.assert_allclose(Z, mu.numpy(), rtol=1e-6, atol=1e-6)


def test_only_generative_families_sample(digits):
    ae = _fit(digits[:100], "pca_anchored", {}, epochs=1)
    with pytest.raises(ValueError, match="not a generative model"):
        ae.sample(3)


def test_convolutional_image_shape_is_inferred_given_and_stored(digits, tmp_path):
    ae = _fit(digits[:300], "convolutional", {}, epochs=2)
    assert ae.module_.config.image_shape == (8, 8, 1)
    ae.save(tmp_path / "m")
    assert aekit.load(tmp_path / "m").module_.config.image_shape == (8, 8, 1)
    rgb = np.random.default_rng(0).random((40, 48)).astype(np.float32)
    ae = _fit(rgb, "convolutional", {"image_shape": "4x4x3"}, epochs=1)
    assert ae.module_.config.sizes == [(4, 4), (2, 2), (1, 1)]
    assert ae.reconstruct(rgb).shape == rgb.shape
    with pytest.raises(ValueError, match="image_shape 5x5x1 has 25 values"):
        _fit(rgb, "convolutional", {"image_shape": "5x5"}, epochs=1)


@pytest.mark.parametrize(
    ("model", "options", "match"),
    [
        ("sparse", {"rho": 1.5}, r"'rho' of model 'sparse' must be a number in \["),
        ("sparse", {"base": "conv"}, "'base' of model 'sparse' must be one of"),
        ("denoising", {"noise": "salt"}, "'noise' of model 'denoising' must be one of"),
        ("denoising", {"level": 2.0}, "level is a share"),
        ("contractive", {"contraction": -1}, r"'contraction' .* in \[0, 100\]"),
        ("variational", {"sigma": 0}, r"'sigma' .* in \[0.001, 1000\]. Got 0 instead"),
        ("sparse", {"l2": 1}, "unknown model option 'l2'"),
    ],
)
def test_bad_options_are_refused(model, options, match, digits):
    with pytest.raises(ValueError, match=match):
        _fit(digits[:50], model, options, epochs=1)


@pytest.mark.slow  # matplotlib and two fits
def test_report_shows_the_family_parts_and_drawn_rows(digits, tmp_path):
    pytest.importorskip("matplotlib")
    from aekit.report import build_report

    vae = _fit(digits[:300], "variational", {"beta": 0.5}, epochs=2)
    page = build_report(vae.fitted_, record=vae.record_)
    assert "Generated rows" in page and "beta=0.5" in page
    assert "The parts of the model family&#x27;s objective" in page or (
        "The parts of the model family's objective" in page
    )
    plain_est = _fit(digits[:300], "denoising", {}, epochs=1)
    plain = build_report(plain_est.fitted_, record=plain_est.record_)
    assert "Generated rows" not in plain and "noise=&#x27;mask&#x27;" in plain
