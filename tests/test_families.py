"""Model families: the registry, the founding design kept exactly, PCA anchoring."""

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import aekit
from aekit import AutoEncoder
from aekit.families import (
    FAMILIES,
    AEConfig,
    PCAAnchoredConfig,
    PCAAnchoredNet,
    get_family,
)

REFERENCE = json.loads(
    (Path(__file__).parent / "data" / "seed_family_reference.json").read_text()
)


def _sha(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize(
    ("key", "cfg"),
    [
        ("64-8-None-relu", AEConfig(64, 8)),
        ("784-32-None-relu", AEConfig(784, 32)),
        ("30-4-(20, 10)-tanh", AEConfig(30, 4, (20, 10), "tanh")),
        ("100-10-None-elu", AEConfig(100, 10, None, "elu")),
    ],
)
def test_halving_family_initialises_as_before_families(key, cfg):
    torch.manual_seed(123)
    net = get_family("halving").build(cfg)
    assert _sha(net) == REFERENCE["init_sha256"][key]


def test_halving_family_trains_to_the_weights_of_before(digits):
    # Bitwise on the CPU that computed the reference; other CPUs' matrix
    # kernels sum in another order, hence the tolerances.
    ref = REFERENCE["trained"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", aekit.DeadUnitWarning)
        ae = AutoEncoder(
            latent_dim=8, model="halving", max_epochs=3, random_state=0, verbose=0
        ).fit(digits)
    assert ae.seed_ == ref["seed"]
    state = ae.module_.state_dict()
    assert sorted(state) == sorted(ref["weights"])
    for name, (abs_sum, head) in ref["weights"].items():
        t = state[name].double()
        assert float(t.abs().sum()) == pytest.approx(abs_sum, rel=1e-4), name
        np.testing.assert_allclose(t.flatten()[:4].numpy(), head, atol=1e-4)
    np.testing.assert_allclose(ae.transform(digits[:3]), ref["codes"], atol=1e-4)
    np.testing.assert_allclose(
        [h["val_loss"] for h in ae.history_], ref["val_loss"], rtol=1e-4
    )


def test_registry_lists_the_built_in_families_and_refuses_others():
    get_family("halving")
    assert {"halving", "pca_anchored"} <= set(FAMILIES)
    with pytest.raises(ValueError, match=r"unknown model 'nope'; choose from \["):
        get_family("nope")
    with pytest.raises(ValueError, match="The 'model' parameter of AutoEncoder"):
        AutoEncoder(model="nope", verbose=0).fit(np.random.rand(20, 4))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_memory_check_counts_every_family_without_building_it(name, monkeypatch):
    from aekit import memory

    family = get_family(name)
    config = family.make_config(
        64, latent_dim=8, hidden_dims=None, activation="relu", options={}
    )
    real = sum(p.numel() for p in family.build(config).parameters())
    assert memory.check_training_memory(family, config, torch.device("cpu")) == real
    # 5 float32 copies of every parameter must fit: one byte short is refused
    monkeypatch.setattr(memory, "free_memory", lambda device: 20 * real - 1)
    with pytest.raises(ValueError, match=f"has {real:,} parameters and needs"):
        memory.check_training_memory(family, config, torch.device("cpu"))


def test_unknown_model_option_is_refused_with_a_suggestion():
    X = np.random.default_rng(0).random((40, 6))
    with pytest.raises(
        ValueError, match=r"unknown model option 'train_pc'.*did you mean 'train_pca'"
    ):
        AutoEncoder(latent_dim=2, model_options={"train_pc": False}, verbose=0).fit(X)
    with pytest.raises(ValueError, match=r"'halving' has no options"):
        AutoEncoder(
            latent_dim=2, model="halving", model_options={"x": 1}, verbose=0
        ).fit(X)


# -- PCA anchoring ---------------------------------------------------------------


def _pca(X: np.ndarray, k: int):
    from sklearn.decomposition import PCA

    return PCA(k, svd_solver="full").fit(X)


def test_pca_anchored_starts_exactly_as_its_pca():
    rng = np.random.default_rng(0)
    X = rng.random((200, 12)).astype(np.float32)
    p = _pca(X, 3)
    net = PCAAnchoredNet(PCAAnchoredConfig(12, 3)).eval()
    net.set_pca(p.components_, p.mean_)
    x = torch.from_numpy(X)
    with torch.no_grad():
        np.testing.assert_allclose(net.encode(x).numpy(), p.transform(X), atol=1e-5)
        expected = p.inverse_transform(p.transform(X))
        np.testing.assert_allclose(net(x).numpy(), expected, atol=1e-5)
    clipped = PCAAnchoredNet(PCAAnchoredConfig(12, 3, clip_output=True)).eval()
    clipped.set_pca(p.components_, p.mean_)
    with torch.no_grad():
        out = clipped(x).numpy()
    np.testing.assert_allclose(out, np.clip(expected, 0, 1), atol=1e-5)


def test_auto_clipping_bounds_only_the_features_that_pile_up_at_a_bound():
    from aekit.data.rows import ScaledRows

    rng = np.random.default_rng(0)
    X = rng.random((400, 4)).astype(np.float32)  # continuous: no pile-up
    X[:, 0] = np.where(rng.random(400) < 0.5, 0.0, X[:, 0])  # half the rows at 0
    X[:, 1] = np.where(rng.random(400) < 0.2, 1.0, X[:, 1])  # a fifth at 1
    X[:3, 2] = 0.0  # 3 rows of 400 at 0: under 5%, not a bound
    X[:, :3] = (X[:, :3] - X[:, :3].min(0)) / (X[:, :3].max(0) - X[:, :3].min(0))
    net = PCAAnchoredNet(PCAAnchoredConfig(4, 2)).eval()
    net.set_bounds(ScaledRows(torch.from_numpy(X)))
    big = float(torch.finfo(torch.float32).max)
    # a pile-up at either bound makes a bounded feature: clipped on both sides
    assert net.lower.tolist() == [0.0, 0.0, -big, -big]
    assert net.upper.tolist() == [1.0, 1.0, big, big]
    with torch.no_grad():
        net.pca_decoder.bias.fill_(-5.0)  # every reconstruction far below 0
        out = net.decode(torch.zeros(1, 2))
        assert (out[0, :2] == 0.0).all() and (out[0, 2:] == -5.0).all()
        net.pca_decoder.bias.fill_(5.0)  # and far above 1
        out = net.decode(torch.zeros(1, 2))
        assert (out[0, :2] == 1.0).all() and (out[0, 2:] == 5.0).all()
        net.pca_decoder.bias.fill_(-5.0)
    net.train()  # training sees the unclipped output
    assert (net.decode(torch.zeros(1, 2)) == -5.0).all()


class Sabotage(aekit.Callback):
    """Make every epoch worse than the start: noise into a correction's last layer."""

    def on_batch_end(self, state):
        with torch.no_grad():
            state.module.decoder[-2].weight.add_(1.0)


def test_when_no_epoch_beats_the_start_the_model_is_the_pca_of_all_rows():
    X = np.random.default_rng(1).random((120, 10)).astype(np.float32)
    ae = AutoEncoder(latent_dim=3, max_epochs=3, random_state=0, verbose=0)
    ae.fit(X, callbacks=[Sabotage()])
    assert ae.best_epoch_ == 0 and "start_refit" in ae.fit_timings_
    assert "rebuilt from all rows" in ae.metrics_["note"]
    assert ae.metrics_["start_test"]["trained_kept"] is False
    Xu = ae.scaling_.transform(X)
    p = _pca(Xu.astype(np.float64), 3)
    expected = p.inverse_transform(p.transform(Xu))
    np.testing.assert_allclose(ae.fitted_.reconstruct(Xu), expected, atol=2e-5)


def test_an_epoch_that_beats_the_start_is_kept():
    X = np.random.default_rng(1).random((120, 10)).astype(np.float32)
    ae = AutoEncoder(latent_dim=3, max_epochs=5, random_state=0, verbose=0).fit(X)
    m = ae.metrics_
    if ae.best_epoch_ > 0:  # then it beat the PCA of the training rows
        assert m["autoencoder"]["validation"]["mse"] < m["pca"]["validation"]["mse"]
    assert "start_refit" in ae.fit_timings_ or ae.best_epoch_ > 0


def test_pca_anchored_beats_its_pca_on_digits(digits):
    # the capability test: a nonlinear correction that really learns
    ae = AutoEncoder(latent_dim=8, random_state=0, verbose=0, max_epochs=40).fit(digits)
    m = ae.metrics_
    assert ae.best_epoch_ > 0
    assert m["autoencoder"]["validation"]["mse"] < 0.9 * m["pca"]["validation"]["mse"]
    t = m["start_test"]
    assert t["trained_kept"] and t["mean_gain"] > t["z"] * t["standard_error"] > 0
    # the start is the PCA, clipped at the bounds the pixels pile up at (0 here)
    assert t["start_mse"] <= m["pca"]["validation"]["mse"] * (1 + 1e-5)


def test_pca_anchored_frozen_pca_keeps_its_maps(digits):
    ae = AutoEncoder(
        latent_dim=4,
        model_options={"train_pca": False},
        max_epochs=2,
        random_state=0,
        verbose=0,
    ).fit(digits)
    p = ae.pca_
    W = ae.module_.pca_encoder.weight.detach().numpy()
    np.testing.assert_allclose(W, p.components, atol=1e-6)


def test_pca_anchored_code_wider_than_its_pca():
    # fewer training rows than code dimensions: the PCA has at most rows - 1
    # useful components, the rest of the code starts at zero and still trains
    X = np.random.default_rng(0).random((12, 40)).astype(np.float32)
    ae = AutoEncoder(latent_dim=20, random_state=0, verbose=0, max_epochs=3).fit(X)
    assert ae.transform(X).shape == (12, 20)
    assert np.isfinite(ae.reconstruction_error(X)).all()


def test_fit_without_evaluation_skips_baseline_scores_and_threshold(digits):
    ae = AutoEncoder(latent_dim=4, max_epochs=2, random_state=0, verbose=0)
    ae.fit(digits, evaluate=False)
    assert ae.metrics_ is None and ae.pca_ is None and ae.threshold_ is None
    assert "evaluation" not in ae.fit_timings_
    with pytest.raises(aekit.NotFittedError, match="evaluate=False"):
        ae.is_anomaly(digits)
    ae.calibrate_threshold(digits)
    assert ae.is_anomaly(digits).mean() <= 0.02


@pytest.mark.parametrize("model", ["halving", "pca_anchored"])
def test_both_families_save_and_load_bitwise(model, digits, tmp_path):
    ae = AutoEncoder(latent_dim=4, model=model, max_epochs=2, random_state=0, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", aekit.DeadUnitWarning)
        ae.fit(digits[:300])
    ae.save(tmp_path / "m")
    back = aekit.load(tmp_path / "m")
    assert back.model == model and type(back.module_) is type(ae.module_)
    for k, v in ae.module_.state_dict().items():
        assert torch.equal(v, back.module_.state_dict()[k]), k
    assert np.array_equal(back.transform(digits), ae.transform(digits))
    assert back.fitted_.architecture() == ae.fitted_.architecture()
