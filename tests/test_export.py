"""ONNX export: every family and part, run by onnxruntime, matches aekit's own output.

Tolerance: ``assert_allclose(rtol=1e-5, atol=1e-6 * max|expected|)``. The
absolute part is a share of the output's largest magnitude because values
near zero (a code dimension, a pixel that is always 0) have no meaningful
relative difference: onnxruntime's and torch's matrix products sum in another
order, which moves each value by a few ulps of the sums' terms, not of the
result. Measured on these models: max |difference| at most 2.8e-7 of the
largest magnitude, and beyond the relative part at most 7e-8 of it, so the
bound has a margin of 3.6 to 15. (On MNIST's deeper networks the difference
reaches 9e-6, float32's own rounding there: benchmarks/onnx_export.py.)
"""

import re
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

import aekit
from aekit import AutoEncoder, FittedModel
from aekit.export import MAX_OPSET, MIN_OPSET, OPSET, PARTS, to_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RTOL = 1e-5
ATOL_SHARE = 1e-6  # atol as a share of the largest |value| of the expected output
N_TRAIN = 1400

# name -> (model, model_options, hidden_dims): every family, contractive on both bases
MODELS = {
    "halving": ("halving", {}, (32,)),
    "pca_anchored": ("pca_anchored", {}, (32, 16)),
    "sparse": ("sparse", {"beta": 0.1}, (32,)),
    "denoising": ("denoising", {"noise": "gaussian", "level": 0.1}, (32,)),
    "contractive_pca": ("contractive", {}, (32,)),
    "contractive_halving": ("contractive", {"base": "halving"}, (32,)),
    "variational": ("variational", {}, (32,)),
    "convolutional": ("convolutional", {}, (4, 8)),
}


@pytest.fixture(scope="module")
def pixels() -> np.ndarray:
    """scikit-learn's digits in their original units (0..16): (1797, 64) float32."""
    from sklearn.datasets import load_digits

    return load_digits().data.astype(np.float32)


def fit(X: np.ndarray, name: str, **params: Any) -> AutoEncoder:
    model, options, hidden = MODELS[name]
    ae = AutoEncoder(
        latent_dim=8,
        model=model,
        model_options=options,
        hidden_dims=hidden,
        max_epochs=3,
        batch_size=128,
        dead_units="ignore",
        random_state=0,
        **params,
    )
    return ae.fit(X)


@pytest.fixture(scope="module")
def fitted(pixels):
    """name -> an AutoEncoder fitted on the first N_TRAIN digits (fitted when asked)."""
    cache: dict[str, AutoEncoder] = {}

    def get(name: str) -> AutoEncoder:
        if name not in cache:
            torch.manual_seed(0)
            cache[name] = fit(pixels[:N_TRAIN], name)
        return cache[name]

    return get


def run(path, inputs: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: inputs})[0]


def expected(ae: AutoEncoder, part: str, rows: np.ndarray) -> tuple[np.ndarray, Any]:
    """(the graph's input, aekit's own output) for `part` on `rows`."""
    if part == "encoder":
        return rows, ae.transform(rows)
    if part == "decoder":
        codes = ae.transform(rows)
        return codes, ae.inverse_transform(codes)
    if part == "reconstruct":
        return rows, ae.reconstruct(rows)
    return rows, ae.reconstruction_error(rows)


def assert_parity(got: np.ndarray, want: np.ndarray, rtol: float = RTOL) -> None:
    assert got.dtype == np.float32 and got.shape == want.shape
    atol = ATOL_SHARE * float(np.abs(want).max()) * (rtol / RTOL)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def cases(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """Held-out rows, rows outside the training range, and a single row."""
    held = pixels[N_TRAIN:]
    return {
        "held_out": held,
        # 1.5x, shifted by one unit: every column (the constant ones too) leaves
        # its training range in some rows
        "outside": 1.5 * held + 1.0,
        "one_row": held[:1],
    }


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("name", list(MODELS))
def test_onnxruntime_matches_aekit(fitted, pixels, tmp_path, name, part):
    ae = fitted(name)
    path = to_onnx(ae.fitted_, tmp_path / f"{part}.onnx", part=part)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    outputs = {}
    for case, rows in cases(pixels).items():
        given, want = expected(ae, part, rows)
        got = run(path, given)
        try:
            assert_parity(got, want)
        except AssertionError as e:
            raise AssertionError(f"{name} {part} on {case} rows: {e}") from None
        outputs[case] = got
    # the outside rows really are seen as other rows (the check has something to see)
    n = len(outputs["held_out"])
    assert not np.allclose(outputs["outside"][:n], outputs["held_out"])
    # zero rows: onnxruntime allows them (aekit refuses an empty X, so shapes only)
    width = ae.fitted_.latent_dim if part == "decoder" else ae.fitted_.n_features
    empty = run(path, np.zeros((0, width), np.float32))
    assert empty.shape == (0, *outputs["held_out"].shape[1:])


def test_the_parity_check_sees_a_graph_without_its_scaling(
    fitted, pixels, tmp_path, monkeypatch
):
    # the same export with the scaling left out of the graph must fail the check
    ae = fitted("pca_anchored")
    monkeypatch.setattr("aekit.export._Graph.to_unit", lambda self, x: x)
    path = to_onnx(ae.fitted_, tmp_path / "e.onnx", verify=False)
    rows, want = expected(ae, "encoder", pixels[N_TRAIN:])
    with pytest.raises(AssertionError):
        assert_parity(run(path, rows), want)


def test_a_model_without_scaling_exports_without_it(digits, tmp_path):
    # scale=False: the rows are in [0, 1] already and the graph takes them as they are
    ae = AutoEncoder(
        latent_dim=8, hidden_dims=(32,), max_epochs=3, scale=False, random_state=0
    ).fit(digits[:N_TRAIN], evaluate=False)
    held = digits[N_TRAIN:]
    for part in PARTS:
        path = to_onnx(ae.fitted_, tmp_path / f"{part}.onnx", part=part)
        given, want = expected(ae, part, held)
        assert_parity(run(path, given), want)
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert meta["scaling"] == "null"


def test_a_bf16_trained_model_matches(pixels, tmp_path):
    ae = fit(pixels[:N_TRAIN], "pca_anchored", precision="bf16")
    assert ae.fitted_.precision == "bf16"
    assert {p.dtype for p in ae.module_.parameters()} == {torch.float32}
    for part in PARTS:
        path = ae.export_onnx(tmp_path / f"{part}.onnx", part)
        given, want = expected(ae, part, pixels[N_TRAIN:])
        assert_parity(run(path, given), want, rtol=1e-4)
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert meta["precision"] == "bf16"


def test_every_activation_exports(pixels, tmp_path):
    for activation in ("leaky_relu", "elu", "gelu", "tanh"):
        ae = AutoEncoder(
            latent_dim=8,
            model="halving",
            hidden_dims=(32,),
            activation=activation,
            max_epochs=2,
            random_state=0,
        ).fit(pixels[:N_TRAIN], evaluate=False)
        path = to_onnx(ae.fitted_, tmp_path / f"{activation}.onnx", part="reconstruct")
        given, want = expected(ae, "reconstruct", pixels[N_TRAIN:])
        assert_parity(run(path, given), want)


@pytest.mark.parametrize("opset", [MIN_OPSET, MAX_OPSET])
def test_other_opsets(fitted, pixels, tmp_path, opset):
    ae = fitted("pca_anchored")
    path = to_onnx(ae.fitted_, tmp_path / "s.onnx", part="score", opset=opset)
    proto = onnx.load(path)
    assert {o.domain: o.version for o in proto.opset_import}[""] == opset
    given, want = expected(ae, "score", pixels[N_TRAIN:])
    assert_parity(run(path, given), want)


def test_metadata_reads_back(pixels, tmp_path):
    import json

    import pandas as pd

    names = [f"pixel_{i}" for i in range(pixels.shape[1])]
    frame = pd.DataFrame(pixels[:N_TRAIN], columns=names)
    ae = fit(frame, "pca_anchored")  # evaluate=True: it has a threshold
    assert ae.threshold_ is not None
    path = to_onnx(ae.fitted_, tmp_path / "score.onnx", part="score")
    proto = onnx.load(path)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["aekit_version"] == aekit.__version__
    assert meta["family"] == "pca_anchored"
    assert meta["part"] == "score"
    assert int(meta["latent_dim"]) == 8 and int(meta["n_features"]) == 64
    assert json.loads(meta["feature_names"]) == names
    scaling = json.loads(meta["scaling"])
    np.testing.assert_array_equal(scaling["data_min"], ae.scaling_.data_min)
    np.testing.assert_array_equal(scaling["data_range"], ae.scaling_.data_range)
    assert json.loads(meta["threshold"]) == ae.threshold_
    assert (meta["input_units"], meta["output_units"]) == (
        "original",
        "scaled_squared_error",
    )
    assert int(meta["opset"]) == OPSET
    assert {o.domain: o.version for o in proto.opset_import}[""] == OPSET
    # the batch axis is dynamic, the feature axis fixed
    (graph_input,) = proto.graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert (dims[0].dim_param, dims[1].dim_value) == ("batch", 64)
    # the threshold flags the same rows in onnxruntime as in aekit
    rows = pixels[N_TRAIN:]
    flagged = run(path, rows) > json.loads(meta["threshold"])
    assert flagged.any()
    np.testing.assert_array_equal(
        flagged, ae.is_anomaly(pd.DataFrame(rows, columns=names))
    )


def test_a_loaded_model_exports_as_the_cli_will(fitted, pixels, tmp_path):
    ae = fitted("convolutional")
    ae.save(tmp_path / "model")
    path = aekit.to_onnx(aekit.load(tmp_path / "model").fitted_, tmp_path / "e.onnx")
    given, want = expected(ae, "encoder", pixels[N_TRAIN:])
    assert_parity(run(path, given), want)


def test_missing_onnx_names_the_extra(fitted, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    with pytest.raises(ImportError, match=r"pip install aekit\[onnx\]"):
        to_onnx(fitted("halving").fitted_, tmp_path / "e.onnx")
    assert not (tmp_path / "e.onnx").exists()


def test_missing_onnxruntime_names_the_extra_unless_not_verifying(
    fitted, tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"pip install aekit\[onnx\]"):
        to_onnx(fitted("halving").fitted_, tmp_path / "e.onnx")
    to_onnx(fitted("halving").fitted_, tmp_path / "e.onnx", verify=False)
    assert (tmp_path / "e.onnx").stat().st_size > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"part": "decode"}, r"unknown part 'decode'; choose from \['encoder'"),
        ({"part": None}, "unknown part None"),
        ({"opset": 12}, "opset must be an integer from 14 to 20, got 12"),
        ({"opset": 21}, "got 21; the default is 17"),
        ({"opset": "17"}, "got '17'"),
        ({"opset": True}, "got True"),
    ],
)
def test_bad_part_or_opset_is_refused(fitted, tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        to_onnx(fitted("halving").fitted_, tmp_path / "e.onnx", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_bad_path_is_refused(fitted, tmp_path):
    model = fitted("halving").fitted_
    with pytest.raises(ValueError, match="is a folder; pass a file path such as"):
        to_onnx(model, tmp_path)
    with pytest.raises(ValueError, match="the folder .*missing does not exist"):
        to_onnx(model, tmp_path / "missing" / "e.onnx")
    with pytest.raises(ValueError, match="path must be a file path"):
        to_onnx(model, "")
    with pytest.raises(ValueError, match="path must be a file path"):
        to_onnx(model, None)  # type: ignore[arg-type]


def test_not_a_fitted_model_is_refused(fitted, tmp_path):
    with pytest.raises(TypeError, match=r"fitted_, or aekit.load\(folder\).fitted_"):
        to_onnx(fitted("halving"), tmp_path / "e.onnx")  # the estimator itself
    with pytest.raises(NotFittedError):
        AutoEncoder().export_onnx(tmp_path / "e.onnx")


class _Toy(nn.Module):
    """A plugin family's module that a trace cannot record faithfully."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.config = types.SimpleNamespace(n_features=4, latent_dim=2)
        self.lin = nn.Linear(4, 2)
        self.back = nn.Linear(2, 4)
        self.kind = kind

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "unsupported":
            return torch.cummax(self.lin(x), dim=1)[0]
        # through NumPy: the trace records the example's values as a constant
        return self.lin(torch.from_numpy(x.detach().numpy().copy()))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.back(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("unsupported", r"'toy' family's module cannot be exported .*aten::cummax"),
        ("through_numpy", r"'toy' family's encoder disagrees with the model"),
    ],
)
def test_a_module_that_cannot_be_exported_is_refused(tmp_path, kind, match):
    model = FittedModel(_Toy(kind), "toy", scaling=None)
    target = tmp_path / "e.onnx"
    target.write_bytes(b"before")
    with pytest.warns(torch.jit.TracerWarning) if kind != "unsupported" else _none():
        with pytest.raises(ValueError, match=match):
            to_onnx(model, target)
    assert target.read_bytes() == b"before"  # the file is written whole or not at all


def _none() -> Any:
    import contextlib

    return contextlib.nullcontext()


def test_the_docs_examples_run(tmp_path, monkeypatch, capsys):
    doc = Path(__file__).resolve().parents[1] / "docs" / "export.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, str(doc), "exec"), namespace)
    first, second = capsys.readouterr().out.splitlines()
    assert first == "(5, 8) True"
    family, units, n_anomalous = second.split()
    assert (family, units) == ("pca_anchored", "original") and int(n_anomalous) > 0
