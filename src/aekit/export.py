"""Deployable graphs: a fitted model as ONNX, with its min-max scaling inside.

`to_onnx` writes one part of a `FittedModel` as an ONNX file that takes rows
in the data's original units, so a server needs onnxruntime and nothing of
aekit's: the graph subtracts ``data_min`` and divides by the range (the
float32 arithmetic of `aekit.scaling.MinMaxScaling.transform`) before the
network, and multiplies and adds them back after the decoder.

The graph is traced by torch's TorchScript-based exporter
(``torch.onnx.export(..., dynamo=False)``): it needs no package beyond
``onnx`` (the torch.export-based default needs onnxscript too), exports the
families' plain layers (linear, convolution, elementwise activations) to the
same ONNX operators, and takes about 0.05 s per graph where the default takes
about 2 s. Every graph is checked with ``onnx.checker.check_model`` and, by
default, run in onnxruntime against the model itself before it is written.
See docs/export.md.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .fitted import FittedModel
from .io import write_atomic
from .version import __version__

OPSET = 17  # the ONNX opset written by default; onnxruntime runs it since 1.12
MIN_OPSET, MAX_OPSET = 14, 20  # what the graphs' operators and torch's exporter allow
PARTS = ("encoder", "decoder", "reconstruct", "score")

# part -> (input name, output name, input units, output units)
_SIGNATURES = {
    "encoder": ("rows", "codes", "original", "code"),
    "decoder": ("codes", "rows", "code", "original"),
    "reconstruct": ("rows", "rows_out", "original", "original"),
    "score": ("rows", "errors", "original", "scaled_squared_error"),
}


def import_onnx() -> Any:
    """The ``onnx`` module; ImportError naming the extra when it is missing."""
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "exporting to ONNX needs the onnx package: pip install aekit[onnx]"
        ) from None
    return onnx


def import_onnxruntime() -> Any:
    """The ``onnxruntime`` module; ImportError naming the extra when it is missing."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(
            "checking an ONNX export needs onnxruntime: pip install aekit[onnx] "
            "(or pass verify=False)"
        ) from None
    return onnxruntime


class _Graph(nn.Module):
    """One part of a fitted module between original units and its outputs."""

    data_min: torch.Tensor  # (n_features,) the scaling's, when it has one
    divisor: torch.Tensor  # (n_features,) the range, 1 for constant columns
    data_range: torch.Tensor  # (n_features,) 0 for constant columns

    def __init__(self, model: FittedModel, part: str) -> None:
        super().__init__()
        self.net = model.module
        self.part = part
        self.scaled = model.scaling is not None
        if model.scaling is not None:
            device = model.device
            for name, values in (
                ("data_min", model.scaling.data_min),
                ("divisor", model.scaling.divisor),
                ("data_range", model.scaling.data_range),
            ):
                t = torch.from_numpy(np.asarray(values, np.float32).copy())
                self.register_buffer(name, t.to(device))  # (n_features,)

    def to_unit(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.data_min) / self.divisor if self.scaled else x

    def to_original(self, r: torch.Tensor) -> torch.Tensor:
        return r * self.data_range + self.data_min if self.scaled else r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.part == "decoder":  # x: codes (batch, latent_dim)
            return self.to_original(self.net.decode(x))
        u = self.to_unit(x)  # (batch, n_features) in [0, 1] space
        if self.part == "encoder":
            return self.net.encode(u)
        r = self.net(u)
        if self.part == "reconstruct":
            return self.to_original(r)
        return ((r - u) ** 2).mean(dim=1)  # (batch,), as FittedModel.errors


def check_part(part: Any) -> str:
    """`part` if it is one of `PARTS`; ValueError naming them otherwise."""
    if not isinstance(part, str) or part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose from {list(PARTS)}")
    return part


def check_opset(opset: Any) -> int:
    """`opset` if it is an int in [MIN_OPSET, MAX_OPSET]; ValueError otherwise."""
    if (
        isinstance(opset, bool)
        or not isinstance(opset, (int, np.integer))
        or not MIN_OPSET <= opset <= MAX_OPSET
    ):
        raise ValueError(
            f"opset must be an integer from {MIN_OPSET} to {MAX_OPSET}, got "
            f"{opset!r}; the default is {OPSET}"
        )
    return int(opset)


def check_path(path: Any) -> Path:
    """The file `path` to write; ValueError when it cannot be one."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ValueError(f"path must be a file path such as 'model.onnx', got {path!r}")
    p = Path(path)
    if p.is_dir():
        raise ValueError(
            f"{p} is a folder; pass a file path such as {p / 'model.onnx'}"
        )
    if not p.parent.is_dir():
        raise ValueError(f"cannot write {p}: the folder {p.parent} does not exist")
    return p


def metadata(model: FittedModel, part: str, opset: int) -> dict[str, str]:
    """The model's facts as ONNX ``metadata_props``: strings, JSON where structured."""
    _, _, units_in, units_out = _SIGNATURES[part]
    scaling = None
    if model.scaling is not None:
        scaling = {
            "data_min": model.scaling.data_min.tolist(),
            "data_range": model.scaling.data_range.tolist(),
        }
    return {
        "aekit_version": __version__,
        "family": model.family_name,
        "part": part,
        "n_features": str(model.n_features),
        "latent_dim": str(model.latent_dim),
        "feature_names": json.dumps(model.feature_names),
        "scaling": json.dumps(scaling),
        "threshold": json.dumps(model.threshold),
        "input_units": units_in,
        "output_units": units_out,
        "loss": model.loss,
        "precision": model.precision,
        "opset": str(opset),
    }


def to_onnx(
    model: FittedModel,
    path: str | os.PathLike[str],
    part: str = "encoder",
    opset: int = OPSET,
    verify: bool = True,
) -> Path:
    """Write one part of a fitted model to `path` as an ONNX graph; return the path.

    The graph takes float32 rows in the data's original units (or codes, for
    the decoder), any number of them (a dynamic batch axis), and holds the
    min-max scaling, so onnxruntime alone serves it.

    Parameters
    ----------
    model : aekit.FittedModel
        ``AutoEncoder.fitted_``, or ``aekit.load(folder).fitted_``.
    path : path
        The file to write (written atomically: whole or not at all).
    part : {"encoder", "decoder", "reconstruct", "score"}, default="encoder"
        encoder: rows (batch, n_features) -> codes (batch, latent_dim), as
        ``transform``; decoder: codes -> rows in original units, as
        ``inverse_transform``; reconstruct: rows -> rows in original units, as
        ``reconstruct``; score: rows -> (batch,) mean squared error in the
        [0, 1] scaled space, as ``reconstruction_error`` (a row is an anomaly
        when it is above the ``threshold`` of the metadata).
    opset : int, default=OPSET
        The ONNX opset to write, from MIN_OPSET to MAX_OPSET.
    verify : bool, default=True
        Before writing, run the graph in onnxruntime on a few rows (a batch
        size other than the trace's) and refuse it when it disagrees with the
        model's own output: a module whose computation depends on its rows in
        a way a trace cannot record (a plugin family's) is caught here.

    Returns
    -------
    pathlib.Path
        `path`.

    Raises
    ------
    ImportError
        ``onnx`` (or, with `verify`, ``onnxruntime``) is missing:
        ``pip install aekit[onnx]``.
    ValueError
        An unknown part, a bad opset or path, or a module that torch cannot
        export or whose graph disagrees with it.

    Examples
    --------
    >>> import numpy as np, aekit, onnxruntime
    >>> X = np.random.default_rng(0).random((100, 8)) * 10
    >>> ae = aekit.AutoEncoder(latent_dim=2, max_epochs=2).fit(X)
    >>> to_onnx(ae.fitted_, "encoder.onnx")
    PosixPath('encoder.onnx')
    >>> session = onnxruntime.InferenceSession("encoder.onnx")
    >>> codes = session.run(None, {"rows": X[:5].astype(np.float32)})[0]
    >>> np.allclose(codes, ae.transform(X[:5]), rtol=1e-5, atol=1e-5)
    True
    """
    if not isinstance(model, FittedModel):
        raise TypeError(
            f"model must be an aekit.FittedModel (an estimator's fitted_, or "
            f"aekit.load(folder).fitted_), got {type(model).__name__}"
        )
    part, opset, target = check_part(part), check_opset(opset), check_path(path)
    onnx = import_onnx()
    ort = import_onnxruntime() if verify else None
    proto = onnx.load_from_string(_trace(model, part, opset))
    for key, value in metadata(model, part, opset).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name, proto.producer_version = "aekit", __version__
    proto.doc_string = (
        f"aekit {model.family_name} model, part {part}: "
        f"{_SIGNATURES[part][0]} -> {_SIGNATURES[part][1]}"
    )
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    if ort is not None:
        _verify(ort, data, model, part)
    write_atomic(target, data)
    return target


def _trace(model: FittedModel, part: str, opset: int) -> bytes:
    """The ONNX bytes of `part` traced by torch's TorchScript-based exporter."""
    graph = _Graph(model, part).eval()
    name_in, name_out, _, _ = _SIGNATURES[part]
    width = model.latent_dim if part == "decoder" else model.n_features
    example = torch.full((2, width), 0.5, device=model.device)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            # the deprecation notice of dynamo=False; see the module docstring
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            torch.onnx.export(
                graph,
                (example,),
                buffer,  # type: ignore[arg-type]  # a file object works too
                dynamo=False,
                input_names=[name_in],
                output_names=[name_out],
                dynamic_axes={name_in: {0: "batch"}, name_out: {0: "batch"}},
                opset_version=opset,
            )
    except (RuntimeError, TypeError, NotImplementedError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(
            f"the {model.family_name!r} family's module cannot be exported to ONNX "
            f"(part {part!r}): {reason}"
        ) from e
    return buffer.getvalue()


def _verify(ort: Any, data: bytes, model: FittedModel, part: str) -> None:
    """ValueError when the graph `data` disagrees with `model` on a few rows."""
    rows = model.to_original(np.random.default_rng(0).random((3, model.n_features)))
    rows = np.asarray(rows, np.float32)
    unit = model.to_unit(rows)
    if part == "encoder":
        given, want = rows, model.encode(unit)
    elif part == "decoder":
        given = model.encode(unit)
        want = model.to_original(model.decode(given))
    elif part == "reconstruct":
        given, want = rows, model.to_original(model.reconstruct(unit))
    else:
        given, want = rows, model.errors(unit)
    name = _SIGNATURES[part][0]
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    if [i.name for i in session.get_inputs()] != [name]:
        got = np.zeros((0,), np.float32)  # the trace kept no input: a constant
    else:
        got = session.run(None, {name: given})[0]
    scale = float(np.abs(want).max()) if want.size else 0.0
    same = got.shape == want.shape
    if not (same and np.allclose(got, want, rtol=1e-4, atol=1e-4 * scale + 1e-7)):
        diff = f", max difference {np.abs(got - want).max():.3g}" if same else ""
        raise ValueError(
            f"the ONNX graph of the {model.family_name!r} family's {part} disagrees "
            f"with the model itself on 3 rows (outputs {got.shape} vs "
            f"{want.shape}{diff}): its module computes something a trace cannot "
            "record (control flow or values that depend on the rows)"
        )
