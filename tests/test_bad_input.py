"""Bad input through the Python API: every case raises with its exact message.

Decisions recorded here (and in docs/guarantees.md): booleans are accepted as
0/1, numeric strings and object arrays of numbers are converted (scikit-learn's
behaviour); everything that cannot become a finite float32 matrix is refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

import aekit
from aekit import AutoEncoder
from aekit.errors import DataError, ModelFormatError

RNG = np.random.default_rng(0)
X = RNG.random((20, 4))
DF = pd.DataFrame(X, columns=list("abcd"))
NAN_MSG = r"^Input X contains NaN\.\nAutoEncoder does not accept missing values"
INF_MSG = r"^Input X contains infinity or a value too large for dtype\('float64'\)\.$"


def _ae(**kw: Any) -> AutoEncoder:
    params = dict(
        latent_dim=2, max_epochs=1, verbose=0, random_state=0, dead_units="ignore"
    )
    return AutoEncoder(**{**params, **kw})


def _with(value: Any, dtype: Any = float) -> np.ndarray:
    A = X.astype(dtype)
    A[3, 1] = value
    return A


FIT_CASES: list[tuple[str, Any, type[Exception], str, dict[str, Any]]] = [
    ("nan", _with(np.nan), ValueError, NAN_MSG, {}),
    ("+inf", _with(np.inf), ValueError, INF_MSG, {}),
    ("-inf", _with(-np.inf), ValueError, INF_MSG, {}),
    (
        "beyond float32",
        _with(1e39),
        DataError,
        r"^X has values too large for float32 in column 1 \(up to 1e\+39\); "
        r"aekit computes in float32, whose largest value is 3\.403e\+38: rescale "
        r"that column$",
        {},
    ),
    (
        "range beyond float32",
        np.c_[X, np.r_[-3e38, 3e38, np.zeros(18)]],
        DataError,
        r"^column 4 of X spans -3e\+38 to 3e\+38, a range too wide for float32; "
        r"rescale that column$",
        {},
    ),
    (
        "strings",
        [["a", "b", "c", "d"]] * 3,
        ValueError,
        r"^could not convert string to float: 'a'$",
        {},
    ),
    (
        "mixed types",
        _with("a", object),
        ValueError,
        r"^could not convert string to float: 'a'$",
        {},
    ),
    ("None in objects", _with(None, object), ValueError, NAN_MSG, {}),
    ("complex", X + 1j, ValueError, r"^Complex data not supported\n", {}),
    (
        "empty table",
        np.zeros((0, 4)),
        ValueError,
        r"^Found array with 0 sample\(s\) \(shape=\(0, 4\)\) while a minimum of 1 is "
        r"required by AutoEncoder\.$",
        {},
    ),
    (
        "zero columns",
        np.zeros((5, 0)),
        ValueError,
        r"^Found array with 0 feature\(s\) \(shape=\(5, 0\)\) while a minimum of 1 is "
        r"required by AutoEncoder\.$",
        {},
    ),
    (
        "single row",
        X[:1],
        ValueError,
        r"^Found array with 1 sample\(s\) while a minimum of 2 is required by "
        r"AutoEncoder: it needs rows to learn from$",
        {},
    ),
    (
        "single column",
        X[:, :1],
        ValueError,
        r"^X has 1 feature\(s\), but an autoencoder needs at least 2 features to "
        r"compress into a smaller code$",
        {"latent_dim": 1},
    ),
    ("1-D", X[0], ValueError, r"^Expected 2D array, got 1D array instead:\narray=", {}),
    (
        "3-D",
        X.reshape(20, 2, 2),
        ValueError,
        r"^Found array with dim 3, while dim <= 2 is required by AutoEncoder\.$",
        {},
    ),
    (
        "ragged rows",
        [[1, 2, 3, 4], [1, 2]],
        ValueError,
        r"^setting an array element with a sequence\. The requested array has an "
        r"inhomogeneous shape after 1 dimensions\.",
        {},
    ),
    ("empty list", [], ValueError, r"^Expected 2D array, got 1D array instead", {}),
    ("scalar", 3.0, ValueError, r"^Expected 2D array, got scalar array instead", {}),
    (
        "None",
        None,
        TypeError,
        r"^X is None; pass an array-like of shape \(n_samples, n_features\)$",
        {},
    ),
    (
        "sparse",
        sp.csr_matrix(X),
        TypeError,
        r"^Sparse data was passed for X, but dense data is required\. Use "
        r"'\.toarray\(\)' to convert to a dense numpy array\.$",
        {},
    ),
    (
        "duplicated column names",
        pd.DataFrame(X, columns=list("abca")),
        ValueError,
        r"^Expected unique column names, got:\n- 'a' 2 times$",
        {},
    ),
    (
        "mixed column name types",
        pd.DataFrame(X, columns=["a", 1, "c", "d"]),
        TypeError,
        r"^Feature names are only supported if all input features have string names, "
        r"but your input has \['int', 'str'\] as feature name / column name types\.",
        {},
    ),
    (
        "text column",
        DF.assign(b="x"),
        ValueError,
        r"^could not convert string to float: 'x'$",
        {},
    ),
    (
        "categorical column",
        DF.assign(b=pd.Categorical(["x"] * 20)),
        ValueError,
        r"^column 'b' is categorical; aekit takes numbers only: convert it",
        {},
    ),
    (
        "numeric categorical column",
        DF.assign(b=pd.Categorical([1.0, 2.0] * 10)),
        ValueError,
        r"^column 'b' is categorical; aekit takes numbers only: convert it",
        {},
    ),
    ("pandas NA", DF.astype("Float64").mask(DF > 0.9), ValueError, NAN_MSG, {}),
    (
        "latent_dim too large",
        X,
        ValueError,
        r"^latent_dim=4 is not smaller than the number of features \(4\); an "
        r"undercomplete autoencoder needs latent_dim < 4, e\.g\. latent_dim=1$",
        {"latent_dim": 4},
    ),
    (
        "outside [0, 1] with scale=False",
        X * 3,
        ValueError,
        r"^X has values outside \[0, 1\] \(column 0 spans [\d.]+ to [\d.]+\) but "
        r"scale=False; set scale=True to min-max scale each column",
        {"scale": False},
    ),
]


@pytest.mark.parametrize(
    ("data", "error", "match", "params"),
    [c[1:] for c in FIT_CASES],
    ids=[c[0] for c in FIT_CASES],
)
def test_fit_refuses(data, error, match, params):
    with pytest.raises(error, match=re.compile(match, re.S)):
        _ae(**params).fit(data)


@pytest.fixture(scope="module")
def fitted() -> AutoEncoder:
    return _ae().fit(X)


@pytest.fixture(scope="module")
def fitted_df() -> AutoEncoder:
    return _ae().fit(DF)


TRANSFORM_CASES: list[tuple[str, Any, type[Exception], str]] = [
    (
        "wrong number of features",
        X[:, :3],
        ValueError,
        r"^X has 3 features, but AutoEncoder is expecting 4 features as input\.$",
    ),
    ("nan", _with(np.nan), ValueError, NAN_MSG),
    ("inf", _with(np.inf), ValueError, INF_MSG),
    (
        "beyond float32",
        _with(-1e39),
        DataError,
        r"^X has values too large for float32 in column 1 \(up to 1e\+39\)",
    ),
    ("strings", _with("x", object), ValueError, r"^could not convert string to float"),
    ("1-D", X[0], ValueError, r"^Expected 2D array, got 1D array instead"),
    ("3-D", X.reshape(20, 2, 2), ValueError, r"^Found array with dim 3"),
    (
        "empty table",
        X[:0],
        ValueError,
        r"^Found array with 0 sample\(s\) \(shape=\(0, 4\)\) while a minimum of 1",
    ),
    ("None", None, TypeError, r"^X is None"),
]


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [c[1:] for c in TRANSFORM_CASES],
    ids=[c[0] for c in TRANSFORM_CASES],
)
def test_transform_refuses(fitted, data, error, match):
    with pytest.raises(error, match=re.compile(match, re.S)):
        fitted.transform(data)


DF_CASES: list[tuple[str, Any, str]] = [
    (
        "renamed",
        DF.rename(columns={"a": "z"}),
        r"^The feature names should match those that were passed during fit\.\n"
        r"Feature names unseen at fit time:\n- z\nFeature names seen at fit time, yet "
        r"now missing:\n- a\n$",
    ),
    (
        "reordered",
        DF[["b", "a", "c", "d"]],
        r"^The feature names should match those that were passed during fit\.\n"
        r"Feature names must be in the same order as they were in fit\.\n$",
    ),
    (
        "extra column",
        DF.assign(e=1.0),
        r"^The feature names should match those that were passed during fit\.\n"
        r"Feature names unseen at fit time:\n- e\n$",
    ),
]


@pytest.mark.parametrize(
    ("data", "match"), [c[1:] for c in DF_CASES], ids=[c[0] for c in DF_CASES]
)
def test_dataframe_columns_must_match(fitted_df, data, match):
    with pytest.raises(ValueError, match=re.compile(match, re.S)):
        fitted_df.transform(data)


def test_ndarray_on_a_dataframe_model_warns(fitted_df):
    with pytest.warns(
        UserWarning,
        match="X does not have valid feature names, but "
        "AutoEncoder was fitted with feature names",
    ):
        fitted_df.transform(X)


def test_not_fitted():
    with pytest.raises(
        NotFittedError, match="This AutoEncoder instance is not fitted yet"
    ):
        _ae().transform(X)


def test_inverse_transform_wrong_width(fitted):
    with pytest.raises(
        ValueError,
        match=r"^X has 4 features, but inverse_transform is "
        r"expecting 2 latent dimensions as input$",
    ):
        fitted.inverse_transform(X)


# -- model folders -----------------------------------------------------------


def test_model_from_an_incompatible_version(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    cfg = json.loads(path.read_text())
    cfg["format_version"] = 99
    cfg["aekit_version"] = "9.0.0"
    path.write_text(json.dumps(cfg))
    msg = (
        r"config\.json has format version 99 \(written by aekit 9\.0\.0\); this "
        r"aekit [\d.]+ reads format 1: install a matching aekit version$"
    )
    with pytest.raises(ModelFormatError, match=msg):
        aekit.load(tmp_path / "m")


def test_model_path_that_is_a_file_or_missing(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(
        ModelFormatError,
        match="is a file, not a model folder; pass the folder that holds config.json",
    ):
        aekit.load(tmp_path / "f")
    with pytest.raises(ModelFormatError, match="^model folder .* does not exist$"):
        aekit.load(tmp_path / "nope")


# -- what is accepted --------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda A: A > 0.5, id="booleans as 0/1"),
        pytest.param(lambda A: (A * 10).astype(int), id="integers"),
        pytest.param(lambda A: A.astype(object), id="object array of numbers"),
        pytest.param(lambda A: A.astype(str), id="numeric strings"),
        pytest.param(lambda A: A.astype(np.float16), id="float16"),
        pytest.param(lambda A: A.tolist(), id="nested lists"),
    ],
)
def test_convertible_inputs_are_accepted(fitted, variant):
    data = variant(X)
    expected = fitted.transform(np.asarray(data, dtype=np.float64))
    np.testing.assert_array_equal(fitted.transform(data), expected)
    assert _ae().fit(data).n_features_in_ == 4


def test_latent_dim_one_fits_saves_and_loads(tmp_path):
    """A one-component PCA baseline has a reversed axis of length 1 (F16)."""
    ae = _ae(latent_dim=1).fit(RNG.random((30, 4)))
    ae.save(tmp_path / "m")
    back = aekit.load(tmp_path / "m")
    assert back.transform(X).shape == (20, 1)
