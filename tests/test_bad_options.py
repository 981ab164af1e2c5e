"""Family options out of their ranges: one InvalidParameterError naming the option.

Every family option is declared with its range on its config (`families.base.option`),
and the estimator's parameter check, the CLI, a checkpoint and a model folder
all go through that one check, before any allocation or training step.
"""

from __future__ import annotations

import numpy as np
import pytest

from aekit import AutoEncoder
from aekit.cli import main
from aekit.errors import InvalidParameterError
from aekit.families import get_family
from aekit.train import numerics

HUGE_INT = int("1" + "0" * 350)
BUILT_IN = ("halving", "pca_anchored", "sparse", "denoising", "contractive")
BUILT_IN += ("variational", "convolutional")  # beyond float's range: no OverflowError


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).random((40, 16)).astype(np.float32)


@pytest.mark.parametrize(
    ("model", "options", "name"),
    [
        ("sparse", {"l1": HUGE_INT}, "l1"),
        ("sparse", {"l1": 1e300}, "l1"),
        ("sparse", {"beta": 1e300}, "beta"),
        ("sparse", {"rho": 1e-300}, "rho"),
        ("sparse", {"l1": float("nan")}, "l1"),
        ("variational", {"sigma": 1e300}, "sigma"),
        ("variational", {"sigma": 1e-30}, "sigma"),
        ("variational", {"beta": 1e300}, "beta"),
        ("contractive", {"contraction": 1e300}, "contraction"),
        ("denoising", {"level": 1e300}, "level"),
    ],
)
def test_an_option_out_of_range_is_refused_before_training(X, model, options, name):
    ae = AutoEncoder(latent_dim=2, model=model, model_options=options, max_epochs=1)
    with pytest.raises(InvalidParameterError, match=f"'{name}' of model '{model}'"):
        ae.fit(X)
    assert not hasattr(ae, "fitted_")


def test_every_numeric_option_has_a_declared_range():
    # a new option without a range would slip past the one check
    import dataclasses

    from aekit.families.options import option_specs

    seen = 0
    for name in BUILT_IN:  # a test may have registered a family of its own
        config = get_family(name).config_class
        for f in dataclasses.fields(config):
            if f.type in ("float", float):
                assert f.name in option_specs(config), (name, f.name)
                seen += 1
    assert seen >= 6  # l1, beta, rho, contraction, level, sigma at least


@pytest.mark.parametrize(
    "option",
    ["l1=1" + "0" * 350, "beta=1e300"],
)
def test_cli_names_the_option_in_one_line(tmp_path, capsys, X, option):
    data = tmp_path / "x.npy"
    np.save(data, X)
    argv = ["train", str(data), "-o", str(tmp_path / "m"), "--latent-dim", "2"]
    argv += ["--model", "sparse", "--model-options", option, "--max-epochs", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"'{option.split('=')[0]}' of model 'sparse'" in err
    assert not (tmp_path / "m").exists()


def test_divergence_names_the_options_moved_from_their_defaults():
    from aekit.train.config import TrainConfig

    config = get_family("sparse").make_config(
        16, latent_dim=2, hidden_dims=None, activation="relu", options={"l1": 50.0}
    )
    module = get_family("sparse").build(config)
    text = numerics.divergence_message(float("inf"), 0, 3, TrainConfig(), module)
    assert "lr=" in text and "l1=50" in text
    plain = get_family("sparse").make_config(
        16, latent_dim=2, hidden_dims=None, activation="relu"
    )
    text = numerics.divergence_message(
        float("inf"), 0, 3, TrainConfig(), get_family("sparse").build(plain)
    )
    assert "option" not in text


def test_an_impossible_width_never_reaches_torch():
    """F8: a width beyond int64 was torch's C++ text; now the width check refuses it."""
    from aekit.families import HalvingConfig

    with pytest.raises(ValueError, match=r"^hidden_dims must be widths from 1 to ") as e:
        HalvingConfig(n_features=16, latent_dim=4, hidden_dims=(10**19,))
    assert "Exception raised from" not in str(e.value)


@pytest.mark.parametrize("model", ["pca_anchored", "sparse", "denoising", "contractive"])
def test_bce_on_a_linear_output_is_refused_before_training(X, model):
    ae = AutoEncoder(latent_dim=2, model=model, loss="bce", max_epochs=1)
    with pytest.raises(InvalidParameterError, match="loss='bce' needs outputs in"):
        ae.fit(X)


def test_bce_on_a_sigmoid_output_trains(X):
    ae = AutoEncoder(latent_dim=2, model="sparse", loss="bce", max_epochs=1)
    ae.set_params(model_options={"base": "halving"}).fit(X)
    assert ae.fitted_.loss == "bce"


def test_cli_bce_on_the_default_family_is_one_line(tmp_path, capsys, X):
    data = tmp_path / "x.npy"
    np.save(data, X)
    argv = ["train", str(data), "-o", str(tmp_path / "m"), "--latent-dim", "2"]
    assert main([*argv, "--loss", "bce", "--max-epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "loss='bce' needs outputs in [0, 1]" in err
