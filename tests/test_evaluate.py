import copy

import numpy as np
import pytest
import torch

import aekit.pca
from aekit import AutoEncoder, ModelFormatError, NotFittedError, load
from aekit import evaluate as ev
from aekit.data.rows import ScaledRows
from aekit.evaluate import ErrorSums, probe, score_table, training_gap
from aekit.layers import hidden_layers


def _subspace(n, d=12, k=3, seed=0, noise=0.0):
    """Rows on a k-dimensional affine subspace of R^d (plus optional noise)."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(k, d))
    X = rng.normal(size=(n, k)) @ W + 5.0
    return (X + noise * rng.normal(size=X.shape)).astype(np.float32), W


@pytest.fixture(scope="module")
def data():
    X, _ = _subspace(400, noise=0.02)
    return X


@pytest.fixture(scope="module")
def fitted(data):
    est = AutoEncoder(
        latent_dim=3,
        model="halving",  # the tests below reach into its layers
        max_epochs=60,
        batch_size=32,
        lr=3e-3,
        random_state=0,
        verbose=0,
        dead_units="ignore",
    )
    return est.fit(data[:300])


# -- the metrics themselves, on known answers ------------------------------------------


def test_error_sums_match_sklearn():
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(1)
    A = rng.random((50, 6)).astype(np.float32)
    R = (A + 0.1 * rng.normal(size=A.shape)).astype(np.float32)
    acc = ErrorSums(6)
    for i in range(0, 50, 7):  # chunked like the real passes
        acc.add(A[i : i + 7], R[i : i + 7])
    res = acc.result()
    assert res["mse"] == pytest.approx(mean_squared_error(A, R), rel=1e-6)
    assert res["mae"] == pytest.approx(mean_absolute_error(A, R), rel=1e-6)
    assert res["r2"] == pytest.approx(
        r2_score(A, R, multioutput="variance_weighted"), rel=1e-5
    )
    assert np.allclose(
        res["per_feature"]["r2"], r2_score(A, R, multioutput="raw_values"), atol=1e-5
    )


def test_error_sums_of_a_second_model_on_the_same_rows_read_the_first_ones_targets():
    rng = np.random.default_rng(2)
    A = rng.random((300, 5)).astype(np.float32)
    R1, R2 = (A + s * rng.normal(size=A.shape).astype(np.float32) for s in (0.1, 0.3))
    first = ErrorSums(5)
    second, alone = ErrorSums(5, targets=first), ErrorSums(5)
    for i in range(0, 300, 64):  # chunks of rows, a large batch of float32 sums
        rows = first.add(A[i : i + 64], R1[i : i + 64])
        second.add(A[i : i + 64], R2[i : i + 64])
        alone.add(A[i : i + 64], R2[i : i + 64])
        expected = ((R1[i : i + 64].astype(float) - A[i : i + 64]) ** 2).mean(axis=1)
        assert np.allclose(rows.numpy(), expected, rtol=1e-6)
    assert second.sx.sum() == 0  # nothing summed twice
    assert second.result() == alone.result()
    assert second.result()["r2"] != first.result()["r2"]


def test_constant_feature_r2_follows_sklearn_rule():
    A = np.zeros((5, 2), np.float32)
    A[:, 1] = np.arange(5)
    acc = ErrorSums(2)
    acc.add(A, A)
    assert acc.result()["per_feature"]["r2"] == [1.0, 1.0]
    acc = ErrorSums(2)
    acc.add(A, A + 0.5)
    assert acc.result()["per_feature"]["r2"][0] == 0.0


def test_pca_baseline_is_exact_on_a_linear_subspace():
    X, _ = _subspace(200)
    est = AutoEncoder(
        latent_dim=3, max_epochs=2, random_state=0, verbose=0, dead_units="ignore"
    ).fit(X)
    m = est.metrics_["pca"]
    assert m["n_components"] == 3 and m["stored"] and m["note"] is None
    assert m["validation"]["mse"] < 1e-10 and m["validation"]["r2"] > 1 - 1e-6
    r = est.evaluate(X[:50])
    assert r["pca"]["mse"] < 1e-10
    assert min(r["pca"]["per_feature"]["r2"]) > 1 - 1e-5
    # two training epochs cannot compete with an exact linear model
    assert any("PCA baseline" in w for w in r["warnings"])


# tall rows: the covariance path; wide rows: the Gram path (chunks of rows or features)
PCA_PATHS = {  # seed, (rows, rank, features), rows sampled
    "pca_by_covariance": (3, (300, 20, 20), 150),
    "pca_by_gram": (4, (40, 12, 150), 25),
}


@pytest.mark.parametrize("path", sorted(PCA_PATHS))
@pytest.mark.parametrize("rows", [None, "sample"])
def test_exact_pca_paths_equal_sklearn_full_svd(monkeypatch, path, rows):
    from sklearn.decomposition import PCA

    monkeypatch.setattr(aekit.pca, "COVARIANCE_CHUNK", 37)  # several chunks
    seed, (n, r, d), m = PCA_PATHS[path]
    rng = np.random.default_rng(seed)
    X = (rng.random((n, r)) @ rng.random((r, d)) / 5).astype(np.float32)
    idx = np.sort(rng.choice(n, m, replace=False)) if rows else None
    data = ScaledRows(torch.from_numpy(X))
    ours = getattr(aekit.pca, path)(data.subset(idx) if rows else data, 6)
    ref = PCA(6, svd_solver="full").fit(
        (X if idx is None else X[idx]).astype(np.float64)
    )
    np.testing.assert_allclose(ours.mean, ref.mean_, rtol=1e-5)
    np.testing.assert_allclose(
        ours.explained_variance, ref.explained_variance_, rtol=1e-4
    )
    # the same components, signs included (scikit-learn's rule)
    np.testing.assert_allclose(ours.components, ref.components_, atol=2e-4)
    np.testing.assert_allclose(
        ours.reconstruct(X), ref.inverse_transform(ref.transform(X)), atol=1e-4
    )


def test_gram_pca_with_as_many_components_as_rows_stays_orthonormal():
    # 5 centred rows span 4 directions: the fifth component has no variance,
    # and must still be a unit vector orthogonal to the other four
    X = np.random.default_rng(5).random((5, 30)).astype(np.float32)
    ours = aekit.pca.pca_by_gram(ScaledRows(torch.from_numpy(X)), 5)
    C = ours.components.astype(np.float64)
    np.testing.assert_allclose(C @ C.T, np.eye(5), atol=1e-5)
    assert ours.explained_variance[4] < 1e-5 * ours.explained_variance[0]
    np.testing.assert_allclose(ours.reconstruct(X), X, atol=1e-5)  # rows in the span


def test_tall_data_uses_the_covariance_path_wide_data_the_gram_path(monkeypatch):
    calls = []
    for name in ("pca_by_covariance", "pca_by_gram", "pca_by_svd"):
        real = getattr(aekit.pca, name)
        monkeypatch.setattr(
            aekit.pca, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a)
        )
    monkeypatch.setattr(aekit.pca, "GRAM_MAX_ROWS", 20)
    rng = np.random.default_rng(0)
    aekit.pca.fit_baseline(rng.random((50, 10), np.float32), 3, 0)
    aekit.pca.fit_baseline(rng.random((10, 50), np.float32), 3, 0)
    gram, _ = aekit.pca.fit_baseline(X := rng.random((30, 50), np.float32), 3, 0)
    assert calls == ["pca_by_covariance", "pca_by_gram", "pca_by_svd"]
    # above GRAM_MAX_ROWS: scikit-learn's randomized solver, the same subspace
    monkeypatch.setattr(aekit.pca, "GRAM_MAX_ROWS", 2048)
    exact, _ = aekit.pca.fit_baseline(X, 3, 0)
    assert gram is not None and exact is not None
    np.testing.assert_allclose(gram.reconstruct(X), exact.reconstruct(X), atol=1e-3)


def test_pca_components_capped_by_rows():
    X = np.random.default_rng(0).random((20, 40)).astype(np.float32)
    est = AutoEncoder(
        latent_dim=30, max_epochs=1, random_state=0, verbose=0, dead_units="ignore"
    ).fit(X)
    m = est.metrics_["pca"]
    assert m["n_components"] == 18 and "capped at 18" in m["note"]
    assert est.pca_.components.shape == (18, 40)


def test_baseline_over_the_size_limit_is_scored_not_kept(monkeypatch):
    monkeypatch.setattr(aekit.pca, "BASELINE_MAX_FLOATS", 10)
    X, _ = _subspace(100)
    est = AutoEncoder(
        latent_dim=3, max_epochs=1, random_state=0, verbose=0, dead_units="ignore"
    ).fit(X)
    assert est.pca_ is None
    assert (
        not est.metrics_["pca"]["stored"] and "not kept" in est.metrics_["pca"]["note"]
    )
    assert est.metrics_["pca"]["validation"]["mse"] < 1e-10
    assert est.evaluate(X)["pca"] is None


def test_without_validation_rows():
    X, _ = _subspace(60)
    est = AutoEncoder(
        latent_dim=3,
        max_epochs=2,
        validation_fraction=0,
        random_state=0,
        verbose=0,
        dead_units="ignore",
    ).fit(X)
    assert est.metrics_["rows"] == {"train": 60, "validation": 0}
    assert est.metrics_["autoencoder"]["validation"] is None
    assert est.metrics_["pca"]["validation"] is None
    assert est.metrics_["pca"]["train"]["mse"] < 1e-10
    r = est.evaluate(X)
    assert not r["training"]["available"] and r["pca"]["mse"] < 1e-10


def test_evaluate_model_keys_and_consistency(fitted, data):
    r = fitted.evaluate(data[300:], n_worst=4)
    assert r["n_rows"] == 100 and r["n_features"] == 12
    assert r["mse"] == pytest.approx(-fitted.score(data[300:]), rel=1e-5)
    assert r["mse"] == pytest.approx(np.mean(list(r["feature_mse"].values())), rel=1e-6)
    assert len(r["worst_features"]) == 4
    worst = [w["mse"] for w in r["worst_features"]]
    assert worst == sorted(worst, reverse=True) and worst[0] == max(
        r["feature_mse"].values()
    )
    assert r["probes"] is None
    assert set(r["dead_units"]) == {
        name for name, _, _ in hidden_layers(fitted.module_)
    }
    import json

    json.dumps(r, allow_nan=False)  # JSON-ready for the command line


def test_the_autoencoder_learns_the_subspace(fitted, data):
    """Held-out R^2 well above zero; the PCA baseline is near-exact on this data."""
    r = fitted.evaluate(data[300:])
    assert r["r2"] > 0.6, r["r2"]
    assert r["pca"]["r2"] > 0.99


def test_dead_units_of_a_silenced_layer(fitted, data):
    est = copy.deepcopy(fitted)
    first = est.module_.encoder[0]
    with torch.no_grad():
        first.weight[:2] = 0.0
        first.bias[:2] = -1.0  # units 0 and 1 get input -1 for every row
    dead = est.evaluate(data)["dead_units"]["encoder.1"]
    assert dead >= 2 / first.out_features - 1e-6


def test_idle_latent_dimensions(fitted, data):
    est = copy.deepcopy(fitted)
    code = est.module_.encoder[-2]  # the Linear producing the code
    with torch.no_grad():
        code.weight[1] = 0.0
        code.bias[1] = 0.3  # dimension 1 is the same for every row
    lat = est.evaluate(data)["latent"]
    assert lat["idle"] == [1] and lat["n_idle"] == 1
    assert lat["variance"][1] == pytest.approx(0.0, abs=1e-10)
    assert "0.001" in lat["idle_threshold"]


def test_output_saturation(fitted, data):
    est = copy.deepcopy(fitted)
    last = est.module_.decoder[-2]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(20.0)  # sigmoid(20) > 0.99 for every output
    sat = est.evaluate(data)["saturation"]
    assert sat["high"] == 1.0 and sat["low"] == 0.0 and sat["fraction"] == 1.0


def _history(train, val):
    return [
        {"epoch": i + 1, "train_loss": t, "val_loss": v}
        for i, (t, v) in enumerate(zip(train, val, strict=False))
    ]


def test_training_gap_warns_when_validation_rises():
    h = _history([1.0, 0.8, 0.6, 0.5, 0.4], [1.0, 0.8, 0.7, 0.8, 0.9])
    g = training_gap(h)
    assert g["best_epoch"] == 3 and g["val_rise_after_best"] == pytest.approx(
        0.9 / 0.7 - 1
    )
    assert "overfits" in g["warning"] and "rose 29%" in g["warning"]


def test_training_gap_warns_on_a_large_final_gap():
    g = training_gap(_history([0.5, 0.2, 0.1], [0.9, 0.5, 0.3]))
    assert g["gap_ratio_at_best"] == pytest.approx(3.0)
    assert "3.00x the training loss" in g["warning"]


def test_training_gap_quiet_when_healthy():
    g = training_gap(_history([1.0, 0.6, 0.5, 0.45], [1.0, 0.62, 0.52, 0.5]))
    assert g["available"] and g["warning"] is None
    assert training_gap([]) == {"available": False, "warning": None}
    assert not training_gap(_history([1.0], [None]))["available"]


# -- probes ----------------------------------------------------------------------------


def test_probe_separable_labels_near_one_random_labels_near_chance():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    Z = rng.normal(size=(120, 4)) + 10.0 * y[:, None]
    res = probe(Z, y)
    assert res["logistic"] > 0.97 and res["knn"] > 0.97
    assert res["cv"] == "stratified 5-fold"
    noise = probe(rng.normal(size=(120, 4)), rng.permutation(y))
    assert noise["logistic"] < 0.6 and noise["knn"] < 0.6


def test_probe_model_side_by_side(fitted, data):
    y = np.where(data[:, 0] > np.median(data[:, 0]), "high", "low")
    p = fitted.evaluate(data, y)["probes"]
    assert set(p["results"]) == {"autoencoder", "pca", "raw"}
    # a linear function of the raw features: linear probes on raw and PCA codes ~ 1
    assert p["results"]["raw"]["logistic"] > 0.95
    assert p["results"]["pca"]["logistic"] > 0.95
    assert p["results"]["autoencoder"]["dims"] == 3


def test_probe_model_caps_rows_and_folds(fitted, data):
    y = np.repeat([0, 1], 200)
    p = ev.probe_model(fitted.fitted_, data, y, on=("raw",), max_rows=50)
    assert p["rows"] == 50 and "50 of 400" in p["note"]
    y3 = np.array([0] * 397 + [1] * 3)
    p = ev.probe_model(fitted.fitted_, data, y3, on=("raw",))
    assert p["results"]["raw"]["cv"] == "stratified 3-fold"


def test_probe_errors(fitted, data):
    with pytest.raises(ValueError, match="y has 3 labels for 400 rows"):
        ev.probe_model(fitted.fitted_, data, [0, 1, 0])
    with pytest.raises(ValueError, match="unknown probe target"):
        ev.probe_model(fitted.fitted_, data, np.zeros(400), on=("latent",))
    p = ev.probe_model(fitted.fitted_, data, np.zeros(400))
    assert "at least 2 classes" in p["skipped"] and p["results"] == {}


# -- anomaly scores --------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector():
    X, W = _subspace(600, noise=0.02, seed=3)
    est = AutoEncoder(
        latent_dim=3,
        model="halving",  # the tests below reach into its layers
        max_epochs=60,
        batch_size=32,
        lr=3e-3,
        random_state=0,
        verbose=0,
        dead_units="ignore",
    )
    return est.fit(X[:500]), X, W


def test_threshold_is_the_99th_percentile_of_fit_rows(detector):
    est, X, _ = detector
    expected = np.quantile(est.reconstruction_error(X[:500]), 0.99)
    assert est.threshold_ == pytest.approx(expected, rel=1e-4)
    assert est.metrics_["threshold"]["quantile"] == 0.99
    assert est.is_anomaly(X[:500]).mean() == pytest.approx(0.01, abs=0.005)


def test_planted_outliers_are_flagged(detector):
    est, X, W = detector
    # off the subspace: a large step along a direction orthogonal to it
    ortho = np.linalg.svd(W)[2][-1]
    outliers = (X[500:520] + 8.0 * ortho).astype(np.float32)
    assert est.is_anomaly(outliers).all()
    clean = X[520:]
    assert est.is_anomaly(clean).mean() < 0.1
    err = est.reconstruction_error(np.vstack([clean, outliers]))
    assert err[len(clean) :].min() > np.sort(err[: len(clean)])[-3]


def test_score_samples_sign_and_per_feature(detector):
    est, X, _ = detector
    e = est.reconstruction_error(X[:20])
    assert np.array_equal(est.score_samples(X[:20]), -e)
    assert est.score(X[:20]) == pytest.approx(est.score_samples(X[:20]).mean())
    E = est.reconstruction_error(X[:20], per_feature=True)
    assert E.shape == (20, 12) and np.allclose(E.mean(axis=1), e, rtol=1e-6)


def test_score_table_columns(detector):
    est, X, _ = detector
    t = score_table(est.fitted_, X[:10], per_feature=True)
    assert list(t)[:3] == ["row", "reconstruction_error", "is_anomaly"]
    assert len(t) == 3 + 12 and "error_x11" in t
    assert np.array_equal(t["row"], np.arange(10))
    assert np.array_equal(t["is_anomaly"], est.is_anomaly(X[:10]))
    assert all(len(c) == 10 for c in t.values())


def test_calibrate_threshold(detector):
    est = copy.deepcopy(detector[0])
    X = detector[1]
    assert est.calibrate_threshold(X[500:], quantile=0.5) is est
    assert est.is_anomaly(X[500:]).mean() == pytest.approx(0.5, abs=0.02)
    with pytest.raises(ValueError, match="quantile must be in"):
        est.calibrate_threshold(X, quantile=1.5)
    est.threshold_ = None
    with pytest.raises(NotFittedError, match="no anomaly threshold"):
        est.is_anomaly(X)
    assert "is_anomaly" not in score_table(est.fitted_, X[:3])


# -- persistence -----------------------------------------------------------------------


def test_baseline_metrics_and_threshold_survive_save(fitted, data, tmp_path):
    fitted.save(tmp_path / "m")
    back = load(tmp_path / "m")
    assert back.threshold_ == fitted.threshold_
    assert back.metrics_ == fitted.metrics_
    assert np.array_equal(back.pca_.components, fitted.pca_.components)
    a, b = fitted.evaluate(data), back.evaluate(data)
    assert a["pca"]["mse"] == b["pca"]["mse"] and a["mse"] == b["mse"]


def test_folder_without_baseline_still_loads(fitted, data, tmp_path):
    from aekit.io import read_folder, save_folder

    fitted.save(tmp_path / "m")
    config, tensors = read_folder(tmp_path / "m")
    for key in (
        "metrics",
        "anomaly_threshold",
        "format",
        "format_version",
        "weights_sha256",
    ):
        config.pop(key)
    save_folder(
        tmp_path / "old",
        config,
        {k: v for k, v in tensors.items() if not k.startswith("baseline.")},
    )
    old = load(tmp_path / "old")
    assert old.pca_ is None and old.threshold_ is None and old.metrics_ == {}
    assert old.evaluate(data)["pca"] is None


def test_inconsistent_baseline_is_refused(fitted, tmp_path):
    from aekit.io import read_folder, save_folder

    fitted.save(tmp_path / "m")
    config, tensors = read_folder(tmp_path / "m")
    for key in ("format", "format_version", "weights_sha256"):
        config.pop(key)
    tensors["baseline.mean"] = torch.zeros(5)
    save_folder(tmp_path / "bad", config, tensors)
    with pytest.raises(ModelFormatError, match="baseline shapes"):
        load(tmp_path / "bad")
