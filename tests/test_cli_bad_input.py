"""The bad-input matrix through the command line: one line on stderr, exit 2, no output."""

import json
import re

import numpy as np
import pytest

from aekit.cli import main

HEADER = "a,b,c,d,e,f"
GOOD_ROWS = [
    "0.1,0.2,0.3,0.4,0.5,0.6",
    "0.6,0.5,0.4,0.3,0.2,0.1",
    "0.3,0.3,0.3,0.9,0.1,0.0",
]


def _csv(path, header=HEADER, rows=GOOD_ROWS):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _npy(path, array):
    np.save(path, array, allow_pickle=True)
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("m")
    data = _csv(d / "good.csv", rows=GOOD_ROWS * 10)
    argv = [
        "train",
        str(data),
        "-o",
        str(d / "model"),
        "--latent-dim",
        "2",
        "--max-epochs",
        "2",
        "--quiet",
        "--dead-units",
        "ignore",
    ]
    assert main(argv) == 0
    return d / "model"


def _parquet_truncated(p):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [0.1, 0.2], "b": [0.3, 0.4], "c": [0.5, 0.6]}), p)
    p.write_bytes(p.read_bytes()[:40])
    return p


def _npy_truncated(p):
    np.save(p, np.random.default_rng(0).random((50, 6)))
    p.write_bytes(p.read_bytes()[:200])
    return p


def _model_version_99(model, d):
    m = d / "future"
    m.mkdir()
    for f in model.iterdir():
        (m / f.name).write_bytes(f.read_bytes())
    cfg = json.loads((m / "config.json").read_text())
    cfg["format_version"] = 99
    (m / "config.json").write_text(json.dumps(cfg))
    return m


# (name, make(tmp_path) -> data path, extra argv, expected message)
TRAIN_CASES = [
    (
        "nan",
        lambda d: _csv(d / "x.csv", rows=["0.1,nan,0.3,0.4,0.5,0.6", *GOOD_ROWS]),
        "column 'b' has NaN",
    ),
    (
        "inf",
        lambda d: _csv(d / "x.csv", rows=[*GOOD_ROWS, "0.1,0.2,inf,0.4,0.5,0.6"]),
        "column 'c' has inf",
    ),
    (
        "-inf npy",
        lambda d: _npy(d / "x.npy", np.array([[0.1, -np.inf], [0.2, 0.3], [0.1, 0.1]])),
        "column 1 has -inf at row 0",
    ),
    (
        "string column",
        lambda d: _csv(d / "x.csv", rows=["0.1,0.2,0.3,0.4,0.5,x", *GOOD_ROWS]),
        "column 'f' is not numeric",
    ),
    (
        "mixed types",
        lambda d: _csv(d / "x.csv", rows=[*GOOD_ROWS, "0.1,0.2,0.3,0.4,0.5,abc"]),
        "column 'f' is not numeric",
    ),
    (
        "complex npy",
        lambda d: _npy(d / "x.npy", np.ones((3, 4), dtype=complex)),
        "holds complex128 values",
    ),
    (
        "object npy",
        lambda d: _npy(d / "x.npy", np.array([[1, "a"], [2, "b"]], dtype=object)),
        "Python objects",
    ),
    (
        "text npy",
        lambda d: _npy(d / "x.npy", np.array([["a", "b"], ["c", "d"]])),
        "not numbers",
    ),
    ("header only", lambda d: _csv(d / "x.csv", rows=[]), "has no data rows"),
    ("empty file", lambda d: (d / "x.csv").write_text("") or d / "x.csv", "is empty"),
    (
        "zero columns",
        lambda d: _npy(d / "x.npy", np.zeros((5, 0))),
        r"x\.npy has no columns",
    ),
    (
        "single row",
        lambda d: _csv(d / "x.csv", rows=GOOD_ROWS[:1]),
        "Found array with 1 sample\\(s\\) while a minimum of 2 is required",
    ),
    ("1-D", lambda d: _npy(d / "x.npy", np.zeros(5)), "1-D array"),
    ("3-D", lambda d: _npy(d / "x.npy", np.zeros((2, 3, 4))), "3-D array"),
    (
        "duplicated columns",
        lambda d: _csv(d / "x.csv", header="a,b,c,d,e,a"),
        "column 'a' appears more than once",
    ),
    ("missing label column", lambda d: _csv(d / "x.csv"), "has no column 'label'"),
    ("a directory", lambda d: d, "is a folder"),
    ("missing file", lambda d: d / "nope.csv", "does not exist"),
    ("wrong extension", lambda d: _csv(d / "x.txt"), "unknown extension '.txt'"),
    (
        "truncated parquet",
        lambda d: _parquet_truncated(d / "x.parquet"),
        r"x\.parquet is not a valid Parquet file",
    ),
    (
        "truncated npy",
        lambda d: _npy_truncated(d / "x.npy"),
        r"x\.npy is not a valid \.npy file .*not fully written",
    ),
]


@pytest.mark.parametrize(
    "name, make, message", TRAIN_CASES, ids=[c[0] for c in TRAIN_CASES]
)
def test_train_refuses(capsys, tmp_path, name, make, message):
    data = make(tmp_path)
    out = tmp_path / "out-model"
    argv = [
        "train",
        str(data),
        "-o",
        str(out),
        "--latent-dim",
        "1",
        "--max-epochs",
        "1",
        "--quiet",
    ]
    if name == "missing label column":
        argv += ["--label-column", "label"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert re.search(message, err), err
    assert not out.exists()


def test_encode_refuses_wrong_features_renamed_columns_and_bad_models(
    capsys, model, tmp_path
):
    cases = [
        (
            str(model),
            _csv(tmp_path / "few.csv", header="a,b,c,d,e", rows=["1,2,3,4,5"] * 3),
            "lacks 1 of the model's 6 feature columns: 'f'",
        ),
        (
            str(model),
            _csv(tmp_path / "ren.csv", header="a,b,c,d,e,z"),
            "lacks 1 of the model's 6 feature columns: 'f'",
        ),
        (
            str(model),
            _npy(tmp_path / "wide.npy", np.zeros((3, 7))),
            "7 feature columns, but the model expects 6",
        ),
        (
            str(_model_version_99(model, tmp_path)),
            _csv(tmp_path / "ok.csv"),
            "format version 99",
        ),
        (str(tmp_path / "no-model"), _csv(tmp_path / "ok2.csv"), "does not exist"),
    ]
    for m, data, message in cases:
        out = tmp_path / "codes.csv"
        assert main(["encode", m, str(data), "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("aekit: error: ") and err.count("\n") == 1, err
        assert re.search(message, err), err
        assert not out.exists()


def test_reordered_columns_are_matched_by_name(capsys, model, tmp_path):
    data = _csv(
        tmp_path / "r.csv",
        header="f,e,d,c,b,a",
        rows=[",".join(r.split(",")[::-1]) for r in GOOD_ROWS],
    )
    straight = _csv(tmp_path / "s.csv")
    assert main(["encode", str(model), str(data), "-o", str(tmp_path / "r.npy")]) == 0
    assert (
        main(["encode", str(model), str(straight), "-o", str(tmp_path / "s.npy")]) == 0
    )
    assert np.array_equal(np.load(tmp_path / "r.npy"), np.load(tmp_path / "s.npy"))
