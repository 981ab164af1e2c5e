"""precision="auto": the choice, its cache and record, and fits that stay reproducible."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import aekit
from aekit import AutoEncoder, InvalidParameterError
from aekit.cli import main
from aekit.devices import has_bf16_units
from aekit.families import get_family
from aekit.fitting.setup import family_config, fit_rows, train_config
from aekit.params import PARAMS
from aekit.train import TrainConfig, cache_dir, choose_precision
from aekit.train.precision import CACHE_FILE

SMALL = dict(
    model="halving", latent_dim=4, hidden_dims=(16,), max_epochs=3, batch_size=32,
    dead_units="ignore", device="cpu",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """Every test decides into its own cache folder, never the user's."""
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(tmp_path / "cache"))


def _choice_inputs(X, **params):
    full = {k: p.default for k, p in PARAMS.items()} | SMALL | params
    family = get_family(full["model"])
    config = family_config(family, X.shape[1], full)
    _, train, _ = fit_rows(X, torch.device("cpu"), None, 0.1, 0)
    return family, config, train, train_config(full, len(train), "fp32")


def test_auto_is_accepted_and_resolved_before_the_loop():
    assert PARAMS["precision"].check("auto")
    with pytest.raises(InvalidParameterError, match="'auto' is resolved"):
        TrainConfig(precision="auto")
    with pytest.raises(InvalidParameterError, match="one of 'auto', 'bf16', 'fp32'"):
        AutoEncoder(precision="fp16").fit(np.zeros((10, 3), np.float32))


def test_given_precisions_are_kept_without_a_probe(digits):
    family, config, train, tcfg = _choice_inputs(digits)
    for p in ("fp32", "bf16"):
        choice = choose_precision(p, family, config, train, tcfg)
        assert (choice.precision, choice.source, choice.step_seconds) == (
            p,
            "given",
            {},
        )


def test_auto_decides_from_the_device_or_a_probe_then_from_its_cache(digits):
    family, config, train, tcfg = _choice_inputs(digits)
    first = choose_precision("auto", family, config, train, tcfg)
    assert first.precision in ("fp32", "bf16")
    assert first.reason.startswith(f"precision='auto' chose {first.precision}")
    path = cache_dir() / CACHE_FILE
    if not has_bf16_units(torch.device("cpu")):  # emulated bf16: fp32 at once
        assert (first.precision, first.source) == ("fp32", "device")
        assert "no bf16 instructions" in first.reason
        assert not path.exists()
        return
    assert first.source == "probe" and first.probe_seconds > 0
    assert set(first.step_seconds) == {"fp32", "bf16"}
    picked_bf16 = first.step_seconds["bf16"] <= 0.9 * first.step_seconds["fp32"]
    assert first.precision == ("bf16" if picked_bf16 else "fp32")
    assert path.is_file()
    again = choose_precision("auto", family, config, train, tcfg)
    assert (again.precision, again.source) == (first.precision, "cache")
    assert again.step_seconds == first.step_seconds
    # another batch size is another decision
    other = train_config({**vars(tcfg), "max_epochs": 3, "patience": 20,
                          "batch_size": 8, "validation_fraction": 0.1},
                         len(train), "fp32")  # fmt: skip
    assert choose_precision("auto", family, config, train, other).source == "probe"


def test_an_unreadable_cache_is_ignored(digits, tmp_path, monkeypatch):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / CACHE_FILE).write_text("{not json")
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(folder))
    family, config, train, tcfg = _choice_inputs(digits)
    choice = choose_precision("auto", family, config, train, tcfg)
    assert choice.source in ("probe", "device")


def test_the_probe_leaves_every_rng_as_it_was(digits):
    family, config, train, tcfg = _choice_inputs(digits)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    choose_precision("auto", family, config, train, tcfg)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state[1])


def test_a_seeded_auto_fit_equals_the_fit_in_the_precision_it_chose(digits):
    auto = AutoEncoder(**SMALL, precision="auto", random_state=0).fit(digits)
    picked = auto.fitted_.precision
    assert picked in ("fp32", "bf16")
    assert auto.record_.precision["precision"] == picked
    plain = AutoEncoder(**SMALL, precision=picked, random_state=0).fit(digits)
    a, b = auto.fitted_.module.state_dict(), plain.fitted_.module.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["train_loss"] for h in auto.history_] == [
        h["train_loss"] for h in plain.history_
    ]


def test_the_choice_is_saved_loaded_and_shown_by_info(digits, tmp_path, capsys):
    est = AutoEncoder(**SMALL, precision="auto", random_state=0).fit(digits)
    est.save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "config.json").read_text())
    assert saved["params"]["precision"] == "auto"
    assert saved["training"]["precision"]["precision"] == est.fitted_.precision
    back = aekit.load(tmp_path / "m")
    assert back.precision == "auto"  # the parameter, as given
    assert back.fitted_.precision == est.fitted_.precision  # what training ran in
    assert main(["info", str(tmp_path / "m"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["precision"] == est.fitted_.precision
    assert info["precision_choice"]["reason"].startswith("precision='auto' chose")
    assert main(["info", str(tmp_path / "m")]) == 0
    assert f"precision: {est.fitted_.precision} (precision='auto' chose" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_folders_from_before_auto_still_load(digits, tmp_path, precision):
    est = AutoEncoder(**SMALL, precision=precision, random_state=0).fit(digits)
    est.save(tmp_path / "m")
    path = tmp_path / "m" / "config.json"
    config = json.loads(path.read_text())
    del config["training"]["precision"]  # as folders before "auto" were written
    path.write_text(json.dumps(config))
    back = aekit.load(tmp_path / "m")
    assert back.fitted_.precision == precision
    assert back.record_.precision is None
    assert np.array_equal(back.transform(digits), est.transform(digits))


def test_verbose_says_what_auto_chose(digits, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="aekit"):
        AutoEncoder(**SMALL, precision="auto", random_state=0, verbose=2).fit(digits)
    said = [r.getMessage() for r in caplog.records if r.name == "aekit.fitting"]
    assert any(m.startswith("precision='auto' chose ") for m in said)


def test_a_checkpointed_auto_run_resumes_in_its_choice(digits, tmp_path):
    from aekit.checkpoint import load_checkpoint

    est = AutoEncoder(**SMALL, precision="auto", random_state=0)
    est.fit(digits, checkpoint_dir=tmp_path / "ck")
    ckpt = load_checkpoint(tmp_path / "ck")
    assert ckpt.meta["precision"] == est.fitted_.precision
    more = AutoEncoder(**{**SMALL, "max_epochs": 4}, precision="auto", random_state=0)
    more.fit(digits, resume_from=tmp_path / "ck")
    assert more.record_.precision["source"] == "checkpoint"
    assert more.fitted_.precision == est.fitted_.precision


@pytest.mark.slow
def test_bf16_reconstructs_within_one_percent_of_fp32(digits):
    """What auto may pick must not cost quality: held-out MSE within 1% of fp32."""
    fit, held = digits[:1400], digits[1400:]
    params = dict(latent_dim=16, max_epochs=30, patience=None, random_state=0,
                  device="cpu", dead_units="ignore")  # fmt: skip
    mse = {
        p: -AutoEncoder(**params, precision=p).fit(fit).score(held)
        for p in ("fp32", "bf16")
    }
    assert abs(mse["bf16"] / mse["fp32"] - 1) < 0.01
