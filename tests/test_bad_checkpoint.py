"""Forged or inconsistent checkpoints: refused in one line before anything is allocated.

N3 and N10 of the second hostile campaign: a checkpoint's state.json edited to
absurd sizes or option values, or whose parameters and architecture disagree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from aekit.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("ck")
    data = d / "x16.npy"
    np.save(data, np.random.default_rng(0).random((120, 16)).astype(np.float32))
    argv = ["train", data, "-o", d / "m", "--model", "sparse", "--latent-dim", "2"]
    argv += ["--checkpoint-dir", d / "ck", "--max-epochs", "2", "--quiet"]
    assert main([str(a) for a in argv]) == 0
    return data, d / "ck"


def forged(tmp_path, ck, edit) -> Path:
    copy = tmp_path / "ck"
    shutil.copytree(ck, copy)
    (state,) = sorted(copy.glob("ckpt-*/state.json"))[-1:]
    d = json.loads(state.read_text())
    edit(d, d["architecture"])
    state.write_text(json.dumps(d))
    return copy


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d, a: a.update(n_features=10**12), "more than the 2147483647 features"),
        (lambda d, a: a.update(hidden_dims=[2**40]), "hidden_dims must be widths"),
        (lambda d, a: a.update(hidden_dims=[2**30]), "GiB of memory to train"),
        (lambda d, a: a.update(l1=10**350), "option 'l1' must be a number in [0, 100]"),
        (
            lambda d, a: d["meta"]["params"].update(model_options={"beta": 0.7}),
            "inconsistent: its parameters say model option beta=0.7",
        ),
        (
            lambda d, a: d["meta"]["params"].update(latent_dim=3),
            "inconsistent: its parameters say latent_dim 3",
        ),
        (lambda d, a: a.update(n_features=15), "n_features 16"),
    ],
    ids=["n_features", "width", "memory", "l1", "options", "latent", "features"],
)
def test_a_forged_checkpoint_is_one_line(capsys, tmp_path, run, edit, message):
    data, ck = run
    bad = forged(tmp_path, ck, edit)
    argv = ["train", data, "-o", tmp_path / "m2", "--resume", bad, "--max-epochs", "4"]
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert message in err
    assert not (tmp_path / "m2").exists()


def test_the_untouched_checkpoint_resumes(tmp_path, run):
    data, ck = run
    good = forged(tmp_path, ck, lambda d, a: None)
    argv = ["train", data, "-o", tmp_path / "m2", "--resume", good]
    assert main([str(a) for a in [*argv, "--max-epochs", "3", "--quiet"]]) == 0
