"""The one parameter table: the estimator's signature, validation, resume rules."""

import inspect

import numpy as np
import pytest

from aekit import AutoEncoder, InvalidParameterError
from aekit.params import PARAMS, RESUME_MAY_CHANGE, check_params


def test_the_signature_is_the_table():
    sig = inspect.signature(AutoEncoder).parameters
    assert list(sig) == list(PARAMS)
    for name, p in sig.items():
        assert p.default == PARAMS[name].default, name


def test_every_default_passes_its_own_check():
    check_params({name: p.default for name, p in PARAMS.items()})


def test_the_resumable_parameters():
    assert set(RESUME_MAY_CHANGE) == {
        "max_epochs",
        "lr",
        "patience",
        "device",
        "random_state",
        "verbose",
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("latent_dim", 0),
        ("latent_dim", True),
        ("hidden_dims", [4, 0]),
        ("hidden_dims", b"16"),
        ("lr", float("nan")),
        ("batch_size", 2.0),
        ("patience", 0),
        ("verbose", 3),
        ("random_state", -1),
        ("model", "sparse-ish"),
    ],
)
def test_bad_values_name_the_parameter(name, value):
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter"):
        AutoEncoder(**{"verbose": 0, name: value}).fit(np.random.rand(20, 6))


def test_a_bad_value_is_both_a_value_and_a_type_error():
    # scikit-learn's convention: callers catching either see it
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterError, TypeError)
