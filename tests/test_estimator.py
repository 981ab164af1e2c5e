import numpy as np
import pandas as pd
import pytest
import torch

from aekit import AutoEncoder


def _ae(**kw):
    params = {
        "latent_dim": 4,
        "max_epochs": 3,
        "batch_size": 32,
        "random_state": 0,
        "verbose": 0,
    }
    return AutoEncoder(**{**params, **kw})


@pytest.fixture(scope="module")
def fitted(digits):
    est = AutoEncoder(
        latent_dim=16,
        model="halving",
        max_epochs=40,
        batch_size=32,
        random_state=0,
        verbose=0,
    )
    return est.fit(digits[:1500])


def test_it_learns_digits(fitted, digits):
    """Held-out MSE under half of predicting the training mean."""
    train, test = digits[:1500], digits[1500:]
    mean_mse = ((test - train.mean(axis=0)) ** 2).mean()
    ae_mse = ((fitted.reconstruct(test) - test) ** 2).mean()
    assert ae_mse < 0.5 * mean_mse, (ae_mse, mean_mse)


def test_fitted_attributes(fitted):
    assert fitted.n_features_in_ == 64
    assert fitted.module_.config.widths == [64, 32, 16]
    assert len(fitted.history_) == fitted.n_epochs_ <= 40
    assert fitted.best_epoch_ >= 1
    assert not fitted.module_.training
    assert not hasattr(fitted, "feature_names_in_")


def test_transform_shapes_and_dtype(fitted, digits):
    Z = fitted.transform(digits[:10])
    assert Z.shape == (10, 16) and Z.dtype == np.float32
    R = fitted.inverse_transform(Z)
    assert R.shape == (10, 64) and R.dtype == np.float32
    assert np.allclose(R, fitted.reconstruct(digits[:10]), atol=1e-6)
    assert list(fitted.get_feature_names_out()[:2]) == ["autoencoder0", "autoencoder1"]


def test_batched_encoding_equals_encoding_at_once(fitted, digits, monkeypatch):
    import aekit.fitted

    whole = fitted.transform(digits)
    monkeypatch.setattr(aekit.fitted, "EVAL_BATCH", 7)
    batched = fitted.transform(digits)
    with torch.no_grad():
        direct = fitted.module_.encode(
            torch.from_numpy(fitted.scaling_.transform(digits))
        )
    assert np.allclose(whole, batched, atol=1e-6)
    assert np.allclose(whole, direct.numpy(), atol=1e-6)


def test_score_and_reconstruction_error(fitted, digits):
    err = fitted.reconstruction_error(digits[:50])
    assert err.shape == (50,) and (err >= 0).all()
    assert fitted.score(digits[:50]) == pytest.approx(-err.mean(), rel=1e-6)
    noise = np.random.default_rng(0).random((50, 64)) * 16
    assert fitted.score(noise) < fitted.score(digits[:50])


def test_fit_transform_equals_fit_then_transform(digits):
    a = _ae().fit_transform(digits[:300])
    b = _ae().fit(digits[:300]).transform(digits[:300])
    assert np.array_equal(a, b)


def test_same_seed_bitwise_identical(digits):
    a, b = _ae().fit(digits[:300]), _ae().fit(digits[:300])
    for k, v in a.module_.state_dict().items():
        assert torch.equal(v, b.module_.state_dict()[k])


def test_accepts_dataframes_lists_and_records_names(digits):
    df = pd.DataFrame(digits[:200, :8], columns=[f"f{i}" for i in range(8)])
    ae = _ae(latent_dim=2).fit(df)
    assert list(ae.feature_names_in_) == list(df.columns)
    assert ae.transform(df).shape == (200, 2)
    assert _ae(latent_dim=2).fit(digits[:50, :8].tolist()).n_features_in_ == 8
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        ae.transform(df.rename(columns={"f0": "x"}))


def test_set_output_pandas(digits):
    ae = _ae(latent_dim=2).set_output(transform="pandas").fit(digits[:100, :8])
    out = ae.transform(digits[:5, :8])
    assert list(out.columns) == ["autoencoder0", "autoencoder1"]


def test_scaling_maps_training_range_to_unit_interval():
    rng = np.random.default_rng(0)
    X = np.c_[rng.random((100, 5)) * 1000 - 500, np.full(100, 7.0)]  # a constant column
    ae = _ae(latent_dim=2, model="halving").fit(X)  # its sigmoid bounds the output
    U = ae.scaling_.transform(X.astype(np.float32))
    assert np.allclose(U[:, :5].min(0), 0) and np.allclose(
        U[:, :5].max(0), 1, atol=1e-6
    )
    assert (U[:, 5] == 0).all()  # constant column: no division by zero
    R = ae.reconstruct(X)
    assert R.shape == X.shape and np.isfinite(R).all()
    assert (R[:, :5] >= -500.01).all() and (R[:, :5] <= 500.01).all()  # sigmoid bounds
    assert (R[:, 5] == 7.0).all()  # reconstructed as exactly the constant
    # new data beyond the training range is not clipped on the way in
    far = X[:3].copy()
    far[:, 0] = 5000
    assert (ae.reconstruction_error(far) > ae.reconstruction_error(X[:3])).all()


def test_without_scaling_data_outside_unit_range_is_refused():
    X = np.random.default_rng(0).random((50, 6))
    _ae(latent_dim=2, scale=False).fit(X)
    X[3, 2] = 1.5
    with pytest.raises(
        ValueError, match=r"column 2 spans .* to 1\.5\) but scale=False; set scale=True"
    ):
        _ae(latent_dim=2, scale=False).fit(X)


@pytest.mark.parametrize(
    "kw, msg",
    [
        (
            {"latent_dim": 8},
            r"latent_dim=8 is not smaller than the number of features \(8\)",
        ),
        (
            {"activation": "swish"},
            r"^The 'activation' parameter of AutoEncoder must be one of 'elu', "
            r"'gelu', 'leaky_relu', 'relu', 'tanh'\. Got 'swish' instead\.$",
        ),
        ({"loss": "mae"}, r"'loss' parameter .* one of 'bce', 'mse'\. Got 'mae'"),
        (
            {"validation_fraction": 1.0},
            r"'validation_fraction' .* must be a float in \[0, 1\)\. Got 1\.0",
        ),
        (
            {"device": "tpu"},
            r"unknown device 'tpu'; choose from \['auto', 'cpu', 'cuda'\]",
        ),
        ({"dead_units": "nope"}, "'dead_units' parameter .* Got 'nope' instead"),
        ({"max_epochs": -1}, "'max_epochs' .* must be 'auto' or an int >= 1. Got -1"),
        (
            {"hidden_dims": "16"},
            r"'hidden_dims' .* a sequence of ints from 1 to 2\*\*31 - 1. Got '16'",
        ),
        (
            {"latent_dim": 2.5},
            r"'latent_dim' .* must be an int from 1 to 2\*\*31 - 1. Got 2.5",
        ),
        (
            {"latent_dim": None},
            r"'latent_dim' .* must be an int from 1 to 2\*\*31 - 1. Got None",
        ),
        ({"scale": "no"}, "'scale' .* must be True or False. Got 'no'"),
        ({"dead_unit_threshold": "x"}, "'dead_unit_threshold' .* Got 'x'"),
        ({"weight_decay": float("inf")}, "'weight_decay' .* finite float >= 0"),
        ({"model_options": [1]}, "'model_options' .* a mapping"),
    ],
)
def test_invalid_params_raise_in_fit(kw, msg):
    X = np.random.default_rng(0).random((20, 8))
    est = _ae(**kw)  # __init__ stores, fit validates
    with pytest.raises((ValueError, TypeError), match=msg):
        est.fit(X)


def test_cuda_without_gpu_is_refused():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the refusal cannot happen here")
    with pytest.raises(ValueError, match="no CUDA GPU is available; use device='cpu'"):
        _ae(latent_dim=2, device="cuda").fit(np.random.default_rng(0).random((20, 8)))


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="AutoEncoder instance is not fitted yet"):
        _ae().transform(np.zeros((2, 8)))


def test_wrong_feature_count(fitted):
    with pytest.raises(
        ValueError, match="X has 10 features, but AutoEncoder is expecting 64"
    ):
        fitted.transform(np.zeros((3, 10)))
    with pytest.raises(
        ValueError, match="X has 5 features, but inverse_transform is expecting 16"
    ):
        fitted.inverse_transform(np.zeros((3, 5)))


def test_nan_is_refused(digits):
    X = digits[:50].copy()
    X[4, 3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        _ae().fit(X)


def test_validation_split_is_seeded_and_disjoint():
    from aekit.data.rows import split_rows

    tr, va = split_rows(100, 0.1, seed=3)
    assert len(va) == 10 and len(tr) == 90
    assert not set(tr) & set(va)
    assert np.array_equal(va, split_rows(100, 0.1, seed=3)[1])
    assert len(split_rows(2, 0.9, seed=0)[0]) == 1  # training keeps a row


@pytest.mark.parametrize("scaled", [True, False])
def test_scaled_rows_equal_scaling_first_then_indexing(scaled):
    from aekit.data.rows import ScaledRows, split_rows
    from aekit.scaling import fit_scaling

    X = (np.random.default_rng(1).random((50, 7)) * 9 - 3).astype(np.float32)
    X_before = X.copy()
    scaling = fit_scaling(X) if scaled else None
    U = scaling.transform(X) if scaled else X
    tr, _ = split_rows(len(X), 0.2, seed=5)
    rows = ScaledRows(torch.from_numpy(X), torch.from_numpy(tr), scaling)
    assert len(rows) == len(tr)
    pos = torch.tensor([3, 0, 7, 7])
    # bitwise: the same float32 arithmetic as scaling the whole table first
    np.testing.assert_array_equal(rows.take(pos).numpy(), U[tr][pos.numpy()])
    np.testing.assert_array_equal(torch.cat(list(rows.chunks(6))).numpy(), U[tr])
    np.testing.assert_array_equal(rows.numpy(), U[tr])
    sub = rows.subset(np.array([1, 4]))
    np.testing.assert_array_equal(sub.numpy(), U[tr][[1, 4]])
    whole = ScaledRows(torch.from_numpy(X), None, scaling)
    np.testing.assert_array_equal(torch.cat(list(whole.chunks(16))).numpy(), U)
    np.testing.assert_array_equal(X, X_before)  # the caller's table is never written


def test_fit_releases_training_state_before_its_evaluation(digits, monkeypatch):
    from aekit.fitting import run as ev_mod
    from aekit.train import Callback

    class Keep(Callback):
        def on_train_begin(self, state):
            self.state = state

    keep, seen = Keep(), {}
    real = ev_mod.fit_time_evaluation

    def spy(fitted, *args):
        st = keep.state
        seen["adam moments"] = len(st.optimizer.state)
        seen["best copy"] = st.best_weights is not None
        seen["grads"] = sum(p.grad is not None for p in fitted.module.parameters())
        return real(fitted, *args)

    monkeypatch.setattr(ev_mod, "fit_time_evaluation", spy)
    _ae(latent_dim=4).fit(digits[:200], callbacks=[keep])
    assert seen == {"adam moments": 0, "best copy": False, "grads": 0}


def test_read_only_and_column_major_inputs_train_alike():
    X = np.random.default_rng(2).random((120, 9)).astype(np.float32)
    ref = _ae(latent_dim=3).fit(X).transform(X)
    ro = X.copy()
    ro.setflags(write=False)  # e.g. np.load(..., mmap_mode="r"): read, never written
    np.testing.assert_array_equal(_ae(latent_dim=3).fit(ro).transform(ro), ref)
    col_major = np.asfortranarray(X)  # what a DataFrame's array looks like
    np.testing.assert_array_equal(_ae(latent_dim=3).fit(col_major).transform(X), ref)


def test_gridsearch_routes_the_run_options_to_every_fit(digits):
    from sklearn.model_selection import GridSearchCV

    from aekit.train import Callback

    class Count(Callback):
        begun = 0

        def on_train_begin(self, state):
            Count.begun += 1

    search = GridSearchCV(_ae(max_epochs=1), {"lr": [1e-3, 1e-2]}, cv=2)
    search.fit(digits[:120], callbacks=[Count()], evaluate=False)
    assert Count.begun == 2 * 2 + 1  # each fold of each candidate, then the refit
    assert search.best_estimator_.metrics_ is None  # evaluate=False reached it too
