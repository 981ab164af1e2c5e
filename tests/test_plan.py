"""aekit.plan and `aekit plan`: the network, memory and seconds of a fit, before it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import aekit
from aekit import AutoEncoder, InvalidParameterError
from aekit.cli import main
from aekit.families import get_family
from aekit.fitting.setup import family_config
from aekit.memory import TRAINING_COPIES, check_training_memory
from aekit.params import PARAMS
from aekit.train import resolve_budget

TINY = dict(model="halving", latent_dim=4, hidden_dims=(16,), batch_size=32,
            device="cpu", random_state=0)  # fmt: skip
KEYS = {"parameters", "peak_memory_bytes", "seconds_per_epoch", "epochs_budget"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture()
def table(tmp_path, digits):
    path = tmp_path / "digits.npy"
    np.save(path, digits)
    return path


def test_the_plan_counts_the_real_module_and_the_memory_checks_figure(digits):
    plan = aekit.plan(digits, **TINY)
    est = AutoEncoder(**TINY, max_epochs=1, dead_units="ignore").fit(digits)
    assert plan["parameters"] == est.fitted_.n_parameters()
    assert plan["architecture"] == est.fitted_.architecture()
    assert plan["layers"] == est.fitted_.layers()
    family = get_family("halving")
    full = {k: p.default for k, p in PARAMS.items()} | TINY
    config = family_config(family, digits.shape[1], full)
    n = check_training_memory(family, config, torch.device("cpu"))
    assert plan["peak_memory_bytes"] == TRAINING_COPIES * 4 * n
    assert plan["fits_in_memory"] is True


def test_the_plan_has_the_fits_rows_and_budget(digits):
    plan = aekit.plan(digits, **TINY)
    n_val = round(len(digits) * 0.1)
    assert (plan["train_rows"], plan["validation_rows"]) == (len(digits) - n_val, n_val)
    budget = resolve_budget("auto", "auto", len(digits) - n_val, 32)
    assert (plan["epochs_budget"], plan["patience"]) == budget
    assert plan["steps_per_epoch"] == -(-(len(digits) - n_val) // 32)
    assert 0 < plan["seconds_per_step"] < plan["seconds_per_epoch"]
    assert plan["seconds_budget"] == pytest.approx(
        plan["seconds_per_epoch"] * plan["epochs_budget"]
    )
    assert plan["precision"] == "fp32" and plan["streamed"] is False


def test_planning_trains_nothing_and_leaves_the_rngs_alone(digits):
    state = np.random.RandomState(3)
    before = state.get_state()[1].copy()
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    aekit.plan(digits, **{**TINY, "random_state": state})
    assert np.array_equal(state.get_state()[1], before)  # the caller's RandomState
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)


def test_a_network_too_large_to_train_is_planned_not_timed(digits):
    plan = aekit.plan(digits, **{**TINY, "hidden_dims": (2**17, 2**17)})
    assert plan["parameters"] > 2**34 and plan["fits_in_memory"] is False
    assert plan["seconds_per_epoch"] is None and plan["seconds_budget"] is None


def test_plan_refuses_what_fit_refuses(digits):
    with pytest.raises(TypeError, match="unexpected keyword argument 'latent'"):
        aekit.plan(digits, latent=3)
    with pytest.raises(InvalidParameterError, match="'batch_size' parameter"):
        aekit.plan(digits, batch_size=0)
    bad = digits.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        aekit.plan(bad, **TINY)
    with pytest.raises(ValueError, match="minimum of 2"):
        aekit.plan(digits[:1], **TINY)


def test_cli_plan_json(table, capsys):
    args = ["plan", str(table), "--json", "--model", "halving", "--latent-dim", "4",
            "--hidden-dims", "16", "--batch-size", "32", "--max-epochs", "7"]  # fmt: skip
    assert main(args) == 0
    plan = json.loads(capsys.readouterr().out)
    assert KEYS <= set(plan)
    assert plan["epochs_budget"] == 7 and plan["streamed"] is True  # a mapped .npy
    assert plan["parameters"] == aekit.plan(np.load(table), **TINY)["parameters"]
    assert plan["data"] == str(table)


def test_cli_plan_text_and_a_csv_in_memory(tmp_path, digits, capsys):
    path = tmp_path / "t.csv"
    header = ",".join([f"c{i}" for i in range(64)] + ["label"])
    rows = np.column_stack([digits, np.arange(len(digits)) % 10])
    np.savetxt(path, rows, delimiter=",", header=header, comments="", fmt="%.6g")
    assert (
        main(["plan", str(path), "--label-column", "label", "--latent-dim", "4"]) == 0
    )
    out = capsys.readouterr().out
    assert "64 features, 1,797 rows" in out and "in memory" in out
    assert "parameters: " in out and "s at most" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--latent-dim", "0"], "--latent-dim must be an int from 1"),
        (["--precision", "fp16"], "--precision must be one of 'auto', 'bf16'"),
        (["--max-epochs", "x"], "argument --max-epochs"),
        (["--output", "m"], "unrecognized arguments"),
    ],
)
def test_cli_plan_bad_options(table, capsys, args, message):
    assert main(["plan", str(table), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_plan_bad_data(tmp_path, capsys):
    assert main(["plan", str(tmp_path / "missing.npy")]) == 2
    assert "does not exist" in capsys.readouterr().err
    path = tmp_path / "nan.csv"
    path.write_text("a,b\n1,2\nnan,3\n4,5\n")
    assert main(["plan", str(path), "--latent-dim", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error:") and err.count("\n") == 1
