"""The variant families from the command line: train, info, resume, sample."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import aekit
from aekit.cli import main

COMMON = ["--latent-dim", "4", "--max-epochs", "2", "--batch-size", "32"]
COMMON += ["--random-state", "0", "--dead-units", "ignore", "--quiet"]


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def pixels(tmp_path_factory):
    from sklearn.datasets import load_digits

    path = tmp_path_factory.mktemp("data") / "digits.npy"
    np.save(path, (load_digits().data[:200] / 16.0).astype(np.float32))
    return path


@pytest.mark.parametrize(
    ("model", "options", "shown"),
    [
        ("sparse", "l1=1e-3,beta=0.1", "sparse code"),
        ("denoising", "noise=swap,level=0.2,base=halving", "denoising"),
        ("contractive", "contraction=1e-3", "contractive"),
        ("variational", "beta=0.5", "variational"),
        ("convolutional", "image_shape=8x8", "convolutional"),
    ],
)
def test_train_info_and_resume(capsys, pixels, tmp_path, model, options, shown):
    out = tmp_path / "m"
    argv = ["train", pixels, "-o", out, "--model", model, "--model-options", options]
    code, _, err = run(capsys, *argv, *COMMON, "--checkpoint-dir", tmp_path / "c")
    assert code == 0, err
    ae = aekit.load(out)
    assert ae.model == model
    code, text, _ = run(capsys, "info", out)
    assert code == 0 and f"model family: {model} ({shown}" in text
    d = json.loads(run(capsys, "info", out, "--json")[1])
    assert d["family"] == model and d["params"]["model_options"]
    # a finished run resumed with a larger budget continues from its checkpoint
    more = ["--resume", tmp_path / "c", "--max-epochs", "3", "--quiet"]
    code, _, err = run(capsys, "train", pixels, "-o", tmp_path / "m2", *more)
    assert code == 0, err
    assert aekit.load(tmp_path / "m2").n_epochs_ == 3


def test_info_names_the_convolutions(capsys, pixels, tmp_path):
    out = tmp_path / "m"
    run(capsys, "train", pixels, "-o", out, "--model", "convolutional", *COMMON)
    code, text, _ = run(capsys, "info", out)
    assert "architecture: conv 1@8x8 → 16@4x4 → 32@2x2 → code 4" in text
    assert re.search(
        r"conv_encoder\.0 +Conv2d\(1 -> 16\) -> conv_encoder\.1 relu", text
    )
    assert re.search(r"conv_decoder\.2 +ConvTranspose2d\(16 -> 1\) -> .* sigmoid", text)


def test_sample(capsys, pixels, tmp_path):
    out = tmp_path / "m"
    run(capsys, "train", pixels, "-o", out, "--model", "variational", *COMMON)
    code, text, err = run(
        capsys,
        "sample",
        out,
        "-n",
        "5",
        "-o",
        tmp_path / "s.npy",
        "--random-state",
        "1",
    )
    assert code == 0, err
    assert "wrote 5 sampled rows of 64 features" in text
    S = np.load(tmp_path / "s.npy")
    assert S.shape == (5, 64)
    np.testing.assert_array_equal(S, aekit.load(out).sample(5, random_state=1))


def test_sample_refuses_a_non_generative_model(capsys, pixels, tmp_path):
    out = tmp_path / "m"
    run(capsys, "train", pixels, "-o", out, "--model", "sparse", *COMMON)
    code, _, err = run(capsys, "sample", out, "-n", "5", "-o", tmp_path / "s.npy")
    assert code == 2
    assert re.fullmatch(
        r"aekit: error: the 'sparse' family is not a generative model .*\n", err
    ), err
    assert not (tmp_path / "s.npy").exists()
