"""Damaged model folders: every variant loads correctly or raises ModelFormatError.

Variants are generated from one saved model by seeded mutators. Each says what
it expects: "error" (must raise ModelFormatError), "ok" (harmless damage, e.g.
JSON whitespace: must load and give the same codes) or "either" (e.g. a bit
flip in a weight with the checksum recomputed: a different but valid model).
No variant may raise another exception type, take a second, or unpickle
anything (a planted pickle would create a marker file).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import random
import signal
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

import aekit
from aekit.errors import ModelFormatError
from aekit.io import CONFIG_FILE, WEIGHTS_FILE

N_FAST = 500  # variants in the default run
N_FULL = 3000  # variants in the slow run
TIME_LIMIT = 1.0  # seconds per variant


@dataclass
class Variant:
    name: str
    expect: str  # "error" | "ok" | "either"
    config: bytes | None  # None: file absent
    weights: bytes | None
    extra: dict[str, bytes] = field(default_factory=dict)  # more files in the folder


class Plant:
    """Unpickling this creates the marker file (pickle calls open(marker, "w"))."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    X = np.random.default_rng(0).random((60, 6)).astype(np.float32) * 10 - 5
    ae = aekit.AutoEncoder(
        latent_dim=2, max_epochs=2, verbose=0, random_state=0, dead_units="ignore"
    ).fit(X)
    folder = tmp_path_factory.mktemp("base") / "model"
    ae.save(folder)
    X01 = X[:10] / 10 + 0.5  # valid for a model whose scaling was removed, too
    return {
        "X": X01,
        "codes": ae.transform(X01),
        "config": (folder / CONFIG_FILE).read_bytes(),
        "weights": (folder / WEIGHTS_FILE).read_bytes(),
        "marker": tmp_path_factory.mktemp("marker") / "PWNED",
    }


# -- helpers -----------------------------------------------------------------


def _cfg(b: dict[str, Any]) -> dict[str, Any]:
    return json.loads(b["config"])


def _dump(cfg: Any) -> bytes:
    return json.dumps(cfg, indent=2).encode()


def _with_sha(cfg: dict[str, Any], weights: bytes) -> bytes:
    """A config that vouches for `weights` (the checksum is forged to match)."""
    cfg = dict(cfg)
    cfg["weights_sha256"] = hashlib.sha256(weights).hexdigest()
    return _dump(cfg)


def _flip(data: bytes, rng: random.Random, n: int = 1) -> bytes:
    a = bytearray(data)
    for _ in range(n):
        i = rng.randrange(len(a))
        a[i] ^= 1 << rng.randrange(8)
    return bytes(a)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside nested dicts/lists."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    obj = obj.copy() if isinstance(obj, (dict, list)) else obj
    obj[path[0]] = _set(obj[path[0]], path[1:], value)
    return obj


def _get_path(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _delete(obj: Any, path: tuple[Any, ...]) -> Any:
    if len(path) == 1:
        obj = obj.copy()
        del obj[path[0]]
        return obj
    obj = obj.copy()
    obj[path[0]] = _delete(obj[path[0]], path[1:])
    return obj


# Config entries without which the weights cannot be used: any change to them
# must be refused. Other entries are records of the run (history, metrics) or
# hyperparameters re-validated on refit, where a change may be harmless.
STRICT = ("format", "format_version", "weights_sha256", "architecture", "n_features_in")

MODULES = ("encoder.", "decoder.")  # the autoencoder's own tensors

ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    -1e308,
    10**30,
    "",
    "x",
    "nan",
    [],
    [1, 2],
    {},
    {"a": 1},
    float("nan"),
    float("inf"),
    [[[]]],
    "A" * 1000,
]


def _safetensors_parts(blob: bytes) -> tuple[dict[str, Any], bytes]:
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8 : 8 + n]), blob[8 + n :]


def _safetensors_join(header: dict[str, Any], data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


# -- mutators: (base, rng) -> Variant ------------------------------------------


def m_flip_weights(b: dict[str, Any], rng: random.Random) -> Variant:
    return Variant(
        "bit flip in weights", "error", b["config"], _flip(b["weights"], rng)
    )


def m_flip_weights_forged(b: dict[str, Any], rng: random.Random) -> Variant:
    w = _flip(b["weights"], rng, rng.choice([1, 1, 2, 8]))
    return Variant(
        "bit flip in weights, checksum forged", "either", _with_sha(_cfg(b), w), w
    )


def m_truncate_weights(b: dict[str, Any], rng: random.Random) -> Variant:
    w = b["weights"][: rng.randrange(len(b["weights"]))]
    forged = rng.random() < 0.5
    cfg = _with_sha(_cfg(b), w) if forged else b["config"]
    return Variant(f"weights truncated to {len(w)} (forged={forged})", "error", cfg, w)


def m_truncate_config(b: dict[str, Any], rng: random.Random) -> Variant:
    c = b["config"][: rng.randrange(len(b["config"]))]
    return Variant(f"config truncated to {len(c)}", "error", c, b["weights"])


def m_flip_config(b: dict[str, Any], rng: random.Random) -> Variant:
    return Variant(
        "bit flip in config", "either", _flip(b["config"], rng), b["weights"]
    )


def m_header_length(b: dict[str, Any], rng: random.Random) -> Variant:
    n = rng.choice([0, 1, 7, 2**32 - 1, 2**63, 2**64 - 1, rng.randrange(2**64)])
    w = struct.pack("<Q", n) + b["weights"][8:]
    return Variant(f"safetensors header length {n}", "error", _with_sha(_cfg(b), w), w)


def m_header_fields(b: dict[str, Any], rng: random.Random) -> Variant:
    header, data = _safetensors_parts(b["weights"])
    name = rng.choice([k for k in header if k != "__metadata__"])
    entry = dict(header[name])
    key = rng.choice(["dtype", "shape", "data_offsets"])
    entry[key] = rng.choice(
        {
            "dtype": ["F64", "F16", "I64", "BOOL", "U8", "XX", 3, None],
            "shape": [[], [0], [1], [2**40, 2**40], [-1], [3, 3, 3], "3", None],
            "data_offsets": [[0, 0], [0, 2**62], [5, 1], [-1, 4], [0], "x", None],
        }[key]
    )
    header[name] = entry
    w = _safetensors_join(header, data)
    return Variant(
        f"safetensors {name}.{key}={entry[key]!r}", "either", _with_sha(_cfg(b), w), w
    )


def m_tensors_edit(b: dict[str, Any], rng: random.Random) -> Variant:
    tensors = st_load(b["weights"])
    kind = rng.choice(["drop", "extra", "reshape", "dtype", "nan", "rename"])
    name = rng.choice(sorted(tensors))
    t = tensors[name]
    if kind == "drop":
        del tensors[name]
    elif kind == "extra":
        tensors["encoder.99.weight"] = torch.zeros(2, 2)
    elif kind == "reshape":
        tensors[name] = torch.zeros(
            t.numel() + rng.choice([1, -1, 5]) if t.numel() > 1 else 3
        )
    elif kind == "dtype":
        tensors[name] = t.to(rng.choice([torch.float64, torch.float16, torch.int32]))
    elif kind == "nan":
        t = t.clone()
        t.view(-1)[rng.randrange(t.numel())] = rng.choice([float("nan"), float("inf")])
        tensors[name] = t
    else:
        tensors[name + "_x"] = tensors.pop(name)
    w = st_save(tensors)
    # a float64 copy of an evaluation record (e.g. baseline.*) is still usable
    expect = "either" if kind == "dtype" and not name.startswith(MODULES) else "error"
    return Variant(f"tensors {kind} {name}", expect, _with_sha(_cfg(b), w), w)


def m_config_type(b: dict[str, Any], rng: random.Random) -> Variant:
    cfg = _cfg(b)
    path = rng.choice([p for p in _paths(cfg) if p])
    value = rng.choice(ODD_VALUES)
    cfg = _set(cfg, path, value)
    try:
        text = json.dumps(cfg).encode()  # NaN/Infinity literals: Python reads them
    except ValueError:
        text = b'{"format": "aekit-model"}'
    expect = "error" if path[0] in STRICT else "either"
    if path[:1] == ("architecture",) and path[1:2] in (
        ("train_pca",),
        ("clip_output",),
    ):
        expect = "either"  # valid either way: how the model trains, or clips
    if value == _get_path(_cfg(b), path):
        expect = "either"  # unchanged after all
    return Variant(f"config {path}={value!r:.40}", expect, text, b["weights"])


def m_config_delete(b: dict[str, Any], rng: random.Random) -> Variant:
    cfg = _cfg(b)
    path = rng.choice([p for p in _paths(cfg) if p])
    return Variant(
        f"config without {path}", "either", _dump(_delete(cfg, path)), b["weights"]
    )


def m_shapes(b: dict[str, Any], rng: random.Random) -> Variant:
    cfg = _cfg(b)
    arch = dict(cfg["architecture"])
    key, value = rng.choice(
        [
            ("n_features", 7),
            ("n_features", 5),
            ("n_features", 10**12),
            ("n_features", 0),
            ("latent_dim", 3),
            ("latent_dim", 1),
            ("latent_dim", 10**9),
            ("hidden_dims", [4]),
            ("hidden_dims", [10**9]),
            ("hidden_dims", [3, 3]),
            ("hidden_dims", [2] * 100_000),
            ("hidden_dims", [-3]),
            ("activation", "sigmoid"),
            ("activation", "nope"),
            ("layer_activations", {"encoder.1": "nope"}),
            ("layer_activations", [1]),
        ]
    )
    arch[key] = value
    cfg["architecture"] = arch
    if key == "n_features" and rng.random() < 0.5:
        cfg["n_features_in"] = value
    return Variant(
        f"architecture {key}={value!r:.30}", "error", _dump(cfg), b["weights"]
    )


def m_pickle(b: dict[str, Any], rng: random.Random) -> Variant:
    plant = Plant(b["marker"])
    payload = pickle.dumps(plant, protocol=rng.choice([0, 2, 4, 5]))
    if rng.random() < 0.5:
        buf = io.BytesIO()
        torch.save(plant, buf)
        payload = buf.getvalue()
    where = rng.choice(["weights", "weights-forged", "config", "extra"])
    cfg, w, extra = b["config"], b["weights"], {}
    if where == "weights":
        w = payload
    elif where == "weights-forged":
        w = payload
        cfg = _with_sha(_cfg(b), w)
    elif where == "config":
        cfg = payload
    else:
        extra = {
            "model.pt": payload,
            "pytorch_model.bin": payload,
            "model.pkl": payload,
        }
    expect = "ok" if where == "extra" else "error"
    return Variant(f"pickle planted as {where}", expect, cfg, w, extra)


def m_json_harmless(b: dict[str, Any], rng: random.Random) -> Variant:
    cfg = _cfg(b)
    kind = rng.choice(["indent", "compact", "reorder", "trailing-ws", "unknown-key"])
    if kind == "indent":
        text = json.dumps(cfg, indent=rng.randrange(0, 8)).encode()
    elif kind == "compact":
        text = json.dumps(cfg, separators=(",", ":")).encode()
    elif kind == "reorder":
        keys = list(cfg)
        rng.shuffle(keys)
        text = json.dumps({k: cfg[k] for k in keys}).encode()
    elif kind == "trailing-ws":
        text = b"\n \t" + b["config"] + b"\n\n  \r\n"
    else:
        cfg["comment"] = "added by hand"
        text = _dump(cfg)
    return Variant(f"harmless JSON edit: {kind}", "ok", text, b["weights"])


def m_files(b: dict[str, Any], rng: random.Random) -> Variant:
    kind = rng.choice(
        [
            "no-config",
            "no-weights",
            "empty-config",
            "empty-weights",
            "swap",
            "non-utf8",
            "deep-json",
            "big-int",
            "not-object",
            "version",
            "sha-type",
        ]
    )
    cfg, w = b["config"], b["weights"]
    if kind == "no-config":
        cfg = None
    elif kind == "no-weights":
        w = None
    elif kind == "empty-config":
        cfg = b""
    elif kind == "empty-weights":
        w = b""
    elif kind == "swap":
        cfg, w = w, cfg
    elif kind == "non-utf8":
        cfg = b'{"format": "\xff\xfe"}'
    elif kind == "deep-json":
        depth = rng.choice([1000, 100_000])
        cfg = b"[" * depth + b"]" * depth
    elif kind == "big-int":
        cfg = b'{"format": "aekit-model", "format_version": ' + b"9" * 5000 + b"}"
    elif kind == "not-object":
        cfg = rng.choice([b"[]", b"null", b"1", b'"aekit-model"'])
    elif kind == "version":
        c = _cfg(b)
        c["format_version"] = rng.choice([99, 0, -1, "1", 1.0, True, None, 2**70])
        cfg = _dump(c)
    else:
        c = _cfg(b)
        c["weights_sha256"] = rng.choice([None, 1, [], {}, "0" * 64])
        cfg = _dump(c)
    return Variant(f"files: {kind}", "error", cfg, w)


MUTATORS: list[Callable[[dict[str, Any], random.Random], Variant]] = [
    m_flip_weights,
    m_flip_weights_forged,
    m_truncate_weights,
    m_truncate_config,
    m_flip_config,
    m_header_length,
    m_header_fields,
    m_tensors_edit,
    m_config_type,
    m_config_delete,
    m_shapes,
    m_pickle,
    m_json_harmless,
    m_files,
]


# -- the check -----------------------------------------------------------------


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def _write(folder: Path, v: Variant) -> None:
    folder.mkdir()
    if v.config is not None:
        (folder / CONFIG_FILE).write_bytes(v.config)
    if v.weights is not None:
        (folder / WEIGHTS_FILE).write_bytes(v.weights)
    for name, data in v.extra.items():
        (folder / name).write_bytes(data)


def check_variant(b: dict[str, Any], v: Variant, folder: Path) -> str:
    """Load one variant; return "error" or "loaded", or fail the test."""
    _write(folder, v)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(10)  # a hang fails instead of blocking the run
    t0 = time.perf_counter()
    try:
        est = aekit.load(folder)
        outcome = "loaded"
    except ModelFormatError:
        outcome = "error"
    except _Timeout:
        pytest.fail(f"{v.name}: load hung")
    except Exception as e:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{v.name}: {type(e).__name__} escaped: {e}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - t0
    assert elapsed < TIME_LIMIT, f"{v.name}: took {elapsed:.2f}s"
    assert not b["marker"].exists(), f"{v.name}: a pickle was executed"
    if outcome == "error":
        assert v.expect != "ok", f"{v.name}: harmless damage was refused"
        return outcome
    assert v.expect != "error", f"{v.name}: damaged model loaded without error"
    codes = est.transform(b["X"])  # a loaded model must be usable
    assert codes.shape == b["codes"].shape
    if v.expect == "ok":
        np.testing.assert_array_equal(codes, b["codes"], err_msg=v.name)
    return outcome


def variants(b: dict[str, Any], n: int, seed: int) -> Iterator[Variant]:
    rng = random.Random(seed)
    for i in range(n):
        mutator = MUTATORS[i % len(MUTATORS)]  # every mutator equally often
        yield mutator(b, random.Random(rng.getrandbits(64)))


def _run(b: dict[str, Any], tmp_path: Path, n: int, seed: int) -> dict[str, Any]:
    counts: dict[str, Any] = {"error": 0, "loaded": 0, "slowest": 0.0}
    for i, v in enumerate(variants(b, n, seed)):
        t0 = time.perf_counter()
        counts[check_variant(b, v, tmp_path / f"v{i}")] += 1
        counts["slowest"] = max(counts["slowest"], time.perf_counter() - t0)
    return counts


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_fuzz_fast(base: dict[str, Any], tmp_path: Path) -> None:
    counts = _run(base, tmp_path, N_FAST, seed=1)
    assert counts["error"] > N_FAST // 2 and counts["loaded"] > 10


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_fuzz_full(base: dict[str, Any], tmp_path: Path) -> None:
    t0 = time.perf_counter()
    counts = _run(base, tmp_path, N_FULL, seed=2)
    seconds = time.perf_counter() - t0
    print(f"\n{N_FULL} variants in {seconds:.1f}s: {counts}")
    assert counts["error"] + counts["loaded"] == N_FULL >= 1000


def test_undamaged_model_loads(base: dict[str, Any], tmp_path: Path) -> None:
    v = Variant("undamaged", "ok", base["config"], base["weights"])
    assert check_variant(base, v, tmp_path / "m") == "loaded"


def test_pickle_payload_works_when_unpickled(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """The planted payload is live: unpickling it really creates the marker."""
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(Plant(marker)))
    assert marker.exists()
    os.unlink(marker)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("mutator", MUTATORS, ids=lambda m: m.__name__)
def test_each_mutator(base: dict[str, Any], tmp_path: Path, mutator: Any) -> None:
    for i in range(5):
        v = mutator(base, random.Random(i))
        check_variant(base, v, tmp_path / f"v{i}")
