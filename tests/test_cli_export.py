"""`aekit export`: the graph serves what `aekit encode` and `aekit score` write."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from aekit.cli import main

pytest.importorskip("onnxruntime")


def _cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    X = (np.random.default_rng(0).random((80, 12)) * 5 - 1).astype(np.float32)
    np.save(d / "x.npy", X)
    argv = ["train", d / "x.npy", "-o", d / "model", "--latent-dim", "3"]
    argv += ["--max-epochs", "3", "--random-state", "0", "--quiet"]
    assert main([str(a) for a in argv]) == 0
    return d, X


def _session(path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_encoder_and_score_graphs_match_the_cli(trained, tmp_path, capsys):
    d, X = trained
    new = X * 1.5 + 1  # partly outside the training range
    np.save(tmp_path / "new.npy", new)
    assert (
        _cli(
            capsys,
            "encode",
            d / "model",
            tmp_path / "new.npy",
            "-o",
            tmp_path / "z.npy",
        )[0]
        == 0
    )
    status, out, _ = _cli(capsys, "export", d / "model", "-o", tmp_path / "enc.onnx")
    assert status == 0 and "encoder" in out
    (codes,) = _session(tmp_path / "enc.onnx").run(None, {"rows": new})
    np.testing.assert_allclose(codes, np.load(tmp_path / "z.npy"), rtol=1e-5, atol=1e-6)

    argv = ["export", d / "model", "-o", tmp_path / "s.onnx", "--part", "score"]
    assert _cli(capsys, *argv)[0] == 0
    assert (
        _cli(
            capsys, "score", d / "model", tmp_path / "new.npy", "-o", tmp_path / "s.csv"
        )[0]
        == 0
    )
    expected = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1, usecols=1)
    (scores,) = _session(tmp_path / "s.onnx").run(None, {"rows": new})
    np.testing.assert_allclose(scores.ravel(), expected, rtol=1e-5, atol=1e-7)


def test_export_refuses_bad_arguments_in_one_line(trained, tmp_path, capsys):
    d, _ = trained
    status, _, err = _cli(capsys, "export", d / "model", "-o", tmp_path / "enc.bin")
    assert (
        status == 2
        and err
        == f"aekit: error: -o {tmp_path / 'enc.bin'}: name the output file NAME.onnx\n"
    )
    status, _, err = _cli(
        capsys, "export", d / "model", "-o", tmp_path / "x.onnx", "--part", "nope"
    )
    assert status == 2 and "invalid choice: 'nope'" in err and err.count("\n") == 1
    status, _, err = _cli(capsys, "export", d / "missing", "-o", tmp_path / "x.onnx")
    assert status == 2 and "does not exist" in err
    status, _, err = _cli(
        capsys, "export", d / "model", "-o", tmp_path / "x.onnx", "--opset", "3"
    )
    assert status == 2 and "opset" in err and err.count("\n") == 1
    assert not list(tmp_path.glob("*.onnx"))


def test_export_without_the_extra_names_it(trained, tmp_path, capsys, monkeypatch):
    d, _ = trained
    monkeypatch.setitem(sys.modules, "onnx", None)
    status, _, err = _cli(capsys, "export", d / "model", "-o", tmp_path / "x.onnx")
    assert status == 2 and "pip install aekit[onnx]" in err and err.count("\n") == 1


def test_the_cli_offers_every_part_the_library_exports():
    from aekit.cli.commands import export as command
    from aekit.export import PARTS

    assert command.PARTS == PARTS
