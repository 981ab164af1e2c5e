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


# -- issue 14: hostile files and paths ---------------------------------------------


def _npy_forged_shape(p):
    """A header claiming (2**40, 4) float64 (32 TiB) over a 64-byte body."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 4), }"
    header += " " * (117 - len(header)) + "\n"
    p.write_bytes(
        b"\x93NUMPY\x01\x00"
        + len(header).to_bytes(2, "little")
        + header.encode()
        + bytes(64)
    )
    return p


def _npz_with(p, member, compress):
    import zipfile

    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(p, "w", method) as z:
        z.writestr("x.npy", member)
    return p


def _npz_bad_crc(p):
    import io as _io

    buf = _io.BytesIO()
    np.save(buf, np.random.default_rng(0).random((20, 6)))
    _npz_with(p, buf.getvalue(), compress=False)
    raw = bytearray(p.read_bytes())
    raw[200] ^= 0xFF  # inside the array's data
    p.write_bytes(bytes(raw))
    return p


def _npz_broken_deflate(p):
    import io as _io

    buf = _io.BytesIO()
    np.save(buf, np.random.default_rng(0).random((200, 6)))
    _npz_with(p, buf.getvalue(), compress=True)
    raw = bytearray(p.read_bytes())
    for i in range(120, 400):
        raw[i] = 0xFF
    p.write_bytes(bytes(raw))
    return p


def _npz_forged_shape(p):
    _npy_forged_shape(p.with_suffix(".npy"))
    return _npz_with(p, p.with_suffix(".npy").read_bytes(), compress=False)


HOSTILE_TRAIN_CASES = [
    (
        "npy forged shape",
        _npy_forged_shape,
        r"header claims shape \(1099511627776, 4\)",
    ),
    ("npz forged shape", _npz_forged_shape, r"array 'x' is not a valid \.npy file"),
    ("npz bad crc", _npz_bad_crc, r"array 'x' cannot be read \(Bad CRC-32"),
    ("npz broken deflate", _npz_broken_deflate, r"x\.npz.* (cannot be read|not a val)"),
]


@pytest.mark.parametrize(
    "name, make, message", HOSTILE_TRAIN_CASES, ids=[c[0] for c in HOSTILE_TRAIN_CASES]
)
def test_train_refuses_hostile_arrays(capsys, tmp_path, name, make, message):
    """F9, F10: one line naming the file, no allocation from a forged header."""
    data = make(tmp_path / ("x.npy" if name.startswith("npy") else "x.npz"))
    out = tmp_path / "out-model"
    assert main(["train", str(data), "-o", str(out), "--latent-dim", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: ") and err.count("\n") == 1, err
    assert re.search(message, err), err
    assert not out.exists()


def _deep_json(d):
    (d / "c.json").write_text("[" * 100_000 + "]" * 100_000)
    return d / "c.json"


def _deep_yaml(d):
    (d / "c.yaml").write_text("latent_dim: " + "[" * 5000 + "]" * 5000 + "\n")
    return d / "c.yaml"


def _long_int(d):
    (d / "c.json").write_text('{"latent_dim": ' + "9" * 5000 + "}")
    return d / "c.json"


def _long_int_yaml(d):
    (d / "c.yaml").write_text("max_epochs: 1\nlatent_dim: " + "9" * 5000 + "\n")
    return d / "c.yaml"


def _long_value(d):
    (d / "c.json").write_text(json.dumps({"activation": ["x" * 100] * 10_000}))
    return d / "c.json"


CONFIG_CASES = [
    ("deep JSON", _deep_json, r"c\.json is nested too deeply"),
    ("deep YAML", _deep_yaml, r"c\.yaml is nested too deeply"),
    (
        "5000-digit integer",
        _long_int,
        r"c\.json: line 1 holds a number of 5,000 digits",
    ),
    ("5000-digit YAML", _long_int_yaml, r"c\.yaml: line 2 holds a number of 5,000"),
    ("huge value", _long_value, r"activation must be a string, got a list of 10,000"),
]


@pytest.mark.parametrize(
    "name, make, message", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES]
)
def test_hostile_configs_are_one_short_line(capsys, tmp_path, name, make, message):
    """F15, F19, F13's message: the file named, the message bounded."""
    if "YAML" in name:
        pytest.importorskip("yaml")
    config = make(tmp_path)
    data = _csv(tmp_path / "x.csv")
    argv = ["train", str(data), "-o", str(tmp_path / "m"), "--config", str(config)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: ") and err.count("\n") == 1, err[:3000]
    assert len(err) < 600 and re.search(message, err), err


def test_error_lines_are_bounded(capsys, tmp_path):
    """Whatever quotes user input, the line stays short and says how much was cut."""
    data = _csv(tmp_path / "x.csv", rows=GOOD_ROWS * 5)
    argv = [
        "train",
        str(data),
        "-o",
        str(tmp_path / "m"),
        "--label-column",
        "x" * 100_000,
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 2200 and "characters in all" in err


@pytest.mark.parametrize("command", ["encode", "reconstruct", "score"])
def test_output_over_an_input_is_refused_before_work(capsys, model, tmp_path, command):
    """F1: -o the data file (or a file of the model folder) is refused; both intact."""
    data = _csv(
        tmp_path / "in.csv",
        header="id,a,b,c,d,e,f",
        rows=[f"r{i}," + r for i, r in enumerate(GOOD_ROWS)],
    )
    before = data.read_bytes()
    argv = [command, str(model), str(data), "-o", str(data), "--exclude-columns", "id"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "would overwrite the input" in err and err.count("\n") == 1
    assert data.read_bytes() == before
    history = model / "history.csv"
    kept = history.read_bytes()
    argv = [
        command,
        str(model),
        str(data),
        "-o",
        str(history),
        "--exclude-columns",
        "id",
    ]
    assert main(argv) == 2
    assert history.read_bytes() == kept


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_train_into_a_broken_symlink_is_refused_before_training(capsys, tmp_path, kind):
    """F18: refused at once, not after training with 'File exists'."""
    out = tmp_path / "link"
    out.symlink_to(tmp_path / ("nowhere" if kind == "dangling" else "link"))
    data = _csv(tmp_path / "x.csv", rows=GOOD_ROWS * 5)
    assert main(["train", str(data), "-o", str(out), "--latent-dim", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: -o ") and "symlink that leads nowhere" in err
    assert err.count("\n") == 1


def test_train_into_a_symlink_to_a_folder_saves_there(capsys, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    data = _csv(tmp_path / "x.csv", rows=GOOD_ROWS * 5)
    argv = [
        "train",
        str(data),
        "-o",
        str(tmp_path / "link"),
        "--latent-dim",
        "2",
        "--max-epochs",
        "1",
        "--quiet",
    ]
    assert main(argv) == 0
    assert (tmp_path / "link").is_symlink() and (real / "config.json").is_file()


def test_a_long_text_cell_does_not_make_a_csv_unreadable(capsys, tmp_path):
    """F20: a 200 KiB cell in an excluded column."""
    rows = [
        f"{'y' * 200_000 if i == 0 else 'n'}," + r for i, r in enumerate(GOOD_ROWS * 5)
    ]
    data = _csv(tmp_path / "x.csv", header="note,a,b,c,d,e,f", rows=rows)
    argv = [
        "train",
        str(data),
        "-o",
        str(tmp_path / "m"),
        "--latent-dim",
        "2",
        "--max-epochs",
        "1",
        "--quiet",
        "--exclude-columns",
        "note",
    ]
    assert main(argv) == 0, capsys.readouterr().err


def test_a_parquet_map_column_cannot_be_carried_and_says_so(capsys, model, tmp_path):
    """F14: one line naming the column, no partial output."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    cols = {n: [0.1, 0.5, 0.9] for n in "abcdef"}
    m = pa.array([[("k", 1)], [("k", 2)], []], type=pa.map_(pa.string(), pa.int64()))
    pq.write_table(pa.table({**cols, "m": m}), tmp_path / "x.parquet")
    out = tmp_path / "o.parquet"
    argv = [
        "encode",
        str(model),
        str(tmp_path / "x.parquet"),
        "-o",
        str(out),
        "--carry-columns",
        "m",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: carried column 'm' cannot be written")
    assert err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[" * 100_000, "is nested too deeply"),
        ("[1, 2]", "does not hold a mapping"),
        ("{not json", "is not valid JSON"),
    ],
)
def test_info_on_a_damaged_train_config_warns_and_shows_the_model(
    capsys, model, tmp_path, text, problem
):
    """F12: the damaged record is named and left out; the model is shown."""
    m = tmp_path / "m"
    m.mkdir()
    for f in model.iterdir():
        (m / f.name).write_bytes(f.read_bytes())
    (m / "train_config.json").write_text(text)
    assert main(["info", str(m)]) == 0
    out, err = capsys.readouterr()
    assert "architecture: PCA 6 → " in out
    assert f"train_config.json {problem}" in err and "Traceback" not in err


def test_ctrl_c_during_the_first_imports_is_one_line(tmp_path):
    """F21: SIGINT while scikit-learn is being imported, before any command runs."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys\n"
        "class Hook:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'sklearn':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Hook())\n"
        "from aekit.cli import main\n"
        "sys.exit(main(['info', 'nope']))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert (r.returncode, r.stderr) == (130, "aekit: interrupted\n")


# -- search budgets, a damaged threshold, a sample's seed ------------------------------


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--trials", "-3"], r"--trials must be >= 1, got -3"),
        (["--trials", "0"], r"--trials must be >= 1, got 0"),
        (["--timeout", "-1"], r"--timeout must be a number of seconds > 0, got -1.0"),
        (["--timeout", "nan"], r"--timeout must be a number of seconds > 0, got nan"),
    ],
)
def test_tune_refuses_a_budget_that_runs_nothing(capsys, tmp_path, flags, message):
    pytest.importorskip("optuna")
    data = _csv(tmp_path / "good.csv", rows=GOOD_ROWS * 10)
    argv = ["tune", str(data), "-o", str(tmp_path / "best"), "--latent-dim", "2"]
    assert main([*argv, *flags]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(f"aekit: error: {message}\n", err), err
    assert not (tmp_path / "best").exists()


def test_tune_api_refuses_a_budget_that_runs_nothing():
    pytest.importorskip("optuna")
    from aekit.search import tune

    X = np.random.default_rng(0).random((40, 6))
    for kw, message in [
        ({"n_trials": -3}, "n_trials must be an integer >= 1"),
        ({"timeout": float("nan")}, "timeout must be a number of seconds > 0"),
        ({"n_trials": None}, "give n_trials or timeout"),
    ]:
        with pytest.raises(ValueError, match=message):
            tune(X, latent_dim=2, verbose=0, **kw)


def test_a_damaged_threshold_is_named_not_called_old(capsys, model, tmp_path):
    import shutil

    from aekit import ModelFormatError, load
    from aekit.io import CONFIG_FILE

    bad = tmp_path / "bad"
    shutil.copytree(model, bad)
    config = json.loads((bad / CONFIG_FILE).read_text())
    config["anomaly_threshold"] = "x"
    (bad / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(
        ModelFormatError, match="anomaly_threshold is 'x', not a number"
    ):
        load(bad)
    data = _csv(tmp_path / "new.csv")
    assert main(["score", str(bad), str(data), "-o", str(tmp_path / "s.csv")]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("aekit: error: ") and "damaged" in err and err.count("\n") == 1
    )
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("seed", ["-1", str(2**64)])
def test_sample_names_a_bad_seed(capsys, tmp_path, seed):
    data = _csv(tmp_path / "good.csv", rows=GOOD_ROWS * 10)
    argv = ["train", str(data), "-o", str(tmp_path / "vae"), "--latent-dim", "2"]
    argv += ["--max-epochs", "1", "--quiet", "--model", "variational"]
    assert main([*argv, "--dead-units", "ignore"]) == 0
    capsys.readouterr()
    out = tmp_path / "s.npy"
    assert main(["sample", str(tmp_path / "vae"), "-n", "4", "-o", str(out),
                 "--random-state", seed]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert (
        err == f"aekit: error: --random-state must be in [0, 2**32 - 1], got {seed}\n"
    )
    assert not out.exists()


def _alias_bomb(d):
    lines = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for i in range(1, 9):
        prev = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{prev}]")
    lines.append("model: *a8")
    (d / "s.yaml").write_text("\n".join(lines) + "\n")
    return d / "s.yaml"


def _deep_space_json(d):
    (d / "s.json").write_text('{"lr": ' + "[" * 100_000 + "]" * 100_000 + "}")
    return d / "s.json"


def _deep_space_yaml(d):
    (d / "s.yaml").write_text("lr: " + "[" * 5000 + "]" * 5000 + "\n")
    return d / "s.yaml"


SPACE_CASES = [
    ("alias bomb", _alias_bomb, r"s\.yaml expands to more than 10,000 values"),
    ("deep JSON", _deep_space_json, r"s\.json is nested too deeply"),
    ("deep YAML", _deep_space_yaml, r"s\.yaml is nested too deeply"),
]


@pytest.mark.parametrize(
    "name, make, message", SPACE_CASES, ids=[c[0] for c in SPACE_CASES]
)
def test_hostile_space_files_go_through_the_config_reader(
    capsys, tmp_path, name, make, message
):
    """N1, N5: the space file is read as boundedly as a --config, in one line."""
    pytest.importorskip("optuna")
    if "YAML" in name or "alias" in name:
        pytest.importorskip("yaml")
    data = _csv(tmp_path / "x.csv", rows=GOOD_ROWS * 10)
    argv = ["tune", str(data), "-o", str(tmp_path / "best"), "--latent-dim", "2"]
    assert main([*argv, "--space", str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aekit: error: ") and err.count("\n") == 1, err[:3000]
    assert len(err) < 600 and re.search(message, err), err
    assert not (tmp_path / "best").exists()
